package server

func hashCommands() []*Command {
	return nil
}
