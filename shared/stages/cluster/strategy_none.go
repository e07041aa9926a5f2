package cluster

// noneStrategy creates the new server group next to the others and leaves
// them alone.
func noneStrategy(map[string]any) ([]string, error) {
	return []string{
		CreateServerGroupTask{}.Name(),
		WaitForUpInstancesTask{}.Name(),
	}, nil
}
