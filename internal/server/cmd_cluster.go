package server

func clusterCommands() []*Command {
	return nil
}
