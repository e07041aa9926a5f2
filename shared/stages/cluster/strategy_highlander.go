package cluster

// highlanderStrategy brings the new server group up, then disables and
// destroys every other server group of the cluster: there can be only one.
func highlanderStrategy(map[string]any) ([]string, error) {
	return []string{
		CreateServerGroupTask{}.Name(),
		WaitForUpInstancesTask{}.Name(),
		DisableOldServerGroupsTask{}.Name(),
		DestroyOldServerGroupsTask{}.Name(),
	}, nil
}
