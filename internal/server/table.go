package server

// buildTable assembles the command table from each area's list.
func buildTable() Table {
	t := Table{}
	for _, group := range [][]*Command{
		connectionCommands(),
		multiCommands(),
		stringCommands(),
		keyCommands(),
		hashCommands(),
		listCommands(),
		setCommands(),
		zsetCommands(),
		serverCommands(),
		configCommands(),
		pubsubCommands(),
		clusterCommands(),
		replicationCommands(),
	} {
		t.Add(group...)
	}
	return t
}
