package stages

// rollingRedBlackStrategy creates the new server group empty and grows it
// through targetPercentages of the desired capacity, waiting at each step
// until its instances are up; the load balancer spreads traffic over the
// old and new instances meanwhile, and the old server groups keep their
// full capacity. After the last step (and delayBeforeCleanup) the old ones
// are disabled, and scaled down if scaleDown is set.
func rollingRedBlackStrategy(c map[string]any) ([]string, error) {
	pcts, err := targetPercentages(c)
	if err != nil {
		return nil, err
	}
	steps := []string{CreateServerGroupTask{}.Name()}
	for range pcts {
		steps = append(steps, ScaleTargetServerGroupTask{}.Name(), WaitForUpInstancesTask{}.Name())
	}
	if n, _, err := Int(c, "delayBeforeCleanup"); err != nil {
		return nil, err
	} else if n > 0 {
		steps = append(steps, waitBeforeCleanup)
	}
	steps = append(steps, DisableOldServerGroupsTask{}.Name())
	scaleDown, _, err := Bool(c, "scaleDown")
	if err != nil {
		return nil, err
	}
	if scaleDown {
		steps = append(steps, ScaleDownOldServerGroupsTask{}.Name())
	}
	return steps, nil
}
