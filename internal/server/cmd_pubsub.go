package server

func pubsubCommands() []*Command {
	return nil
}
