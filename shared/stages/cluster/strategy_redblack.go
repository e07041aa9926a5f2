package cluster

import "github.com/gennaker/gennaker/shared/stages"

// redBlackStrategy brings the new server group up next to the old ones,
// and only once it is healthy and taking traffic disables them (after
// delayBeforeDisableSec), optionally scales them down (scaleDown, after
// delayBeforeScaleDownSec), and destroys the oldest beyond maxRemainingAsgs.
// Capacity never drops: the old server groups serve until the new one does.
func redBlackStrategy(c map[string]any) ([]string, error) {
	steps := []string{
		CreateServerGroupTask{}.Name(),
		WaitForUpInstancesTask{}.Name(),
	}
	if n, _, err := stages.Int(c, "delayBeforeDisableSec"); err != nil {
		return nil, err
	} else if n > 0 {
		steps = append(steps, waitBeforeDisable)
	}
	steps = append(steps, DisableOldServerGroupsTask{}.Name())
	scaleDown, _, err := stages.Bool(c, "scaleDown")
	if err != nil {
		return nil, err
	}
	if scaleDown {
		if n, _, err := stages.Int(c, "delayBeforeScaleDownSec"); err != nil {
			return nil, err
		} else if n > 0 {
			steps = append(steps, waitBeforeScaleDown)
		}
		steps = append(steps, ScaleDownOldServerGroupsTask{}.Name())
	}
	if n, _, err := stages.Int(c, "maxRemainingAsgs"); err != nil {
		return nil, err
	} else if n > 0 {
		steps = append(steps, ShrinkOldServerGroupsTask{}.Name())
	}
	return steps, nil
}
