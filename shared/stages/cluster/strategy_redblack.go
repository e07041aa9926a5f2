package cluster

import (
	"time"

	"github.com/gennaker/gennaker/shared/stages"
)

// redBlackStrategy brings the new server group up next to the old ones,
// and only once it is healthy and taking traffic disables them (after
// delayBeforeDisableSec), optionally scales them down (scaleDown, after
// delayBeforeScaleDownSec), and destroys the oldest beyond maxRemainingAsgs.
// Capacity never drops: the old server groups serve until the new one does.
type redBlackStrategy struct {
	// MaxRemainingAsgs is how many server groups the cluster keeps, the new
	// one included; 0 keeps them all.
	MaxRemainingAsgs        int  `json:"maxRemainingAsgs"`
	ScaleDown               bool `json:"scaleDown"`
	DelayBeforeDisableSec   int  `json:"delayBeforeDisableSec"`
	DelayBeforeScaleDownSec int  `json:"delayBeforeScaleDownSec"`
}

func (s *redBlackStrategy) decode(d fieldDecoder) stages.Problems { return decodeFields(d, s) }

func (s *redBlackStrategy) validate(path string, exprs stages.Expressions, p *stages.Problems) {
	checkNotNegative(path, "maxRemainingAsgs", s.MaxRemainingAsgs, exprs, p)
	checkNotNegative(path, "delayBeforeDisableSec", s.DelayBeforeDisableSec, exprs, p)
	checkNotNegative(path, "delayBeforeScaleDownSec", s.DelayBeforeScaleDownSec, exprs, p)
}

func (s *redBlackStrategy) plan() ([]string, error) {
	steps := []string{CreateServerGroupTask{}.Name(), WaitForUpInstancesTask{}.Name()}
	if s.DelayBeforeDisableSec > 0 {
		steps = append(steps, waitBeforeDisable)
	}
	steps = append(steps, DisableOldServerGroupsTask{}.Name())
	if s.ScaleDown {
		if s.DelayBeforeScaleDownSec > 0 {
			steps = append(steps, waitBeforeScaleDown)
		}
		steps = append(steps, ScaleDownOldServerGroupsTask{}.Name())
	}
	if s.MaxRemainingAsgs > 0 {
		steps = append(steps, ShrinkOldServerGroupsTask{}.Name())
	}
	return lockedDeploy(steps...), nil
}

// delay implements delayer.
func (s *redBlackStrategy) delay(step string) time.Duration {
	switch step {
	case waitBeforeDisable:
		return time.Duration(s.DelayBeforeDisableSec) * time.Second
	case waitBeforeScaleDown:
		return time.Duration(s.DelayBeforeScaleDownSec) * time.Second
	}
	return 0
}

// remaining implements shrinker.
func (s *redBlackStrategy) remaining() int { return s.MaxRemainingAsgs }
