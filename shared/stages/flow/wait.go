package flow

import (
	"context"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// WaitStage is Spinnaker's "wait" stage: pause for waitTime seconds, unless a
// user skips the rest of the wait (PATCH skipRemainingWait: true).
type WaitStage struct{}

// waitConfig is a wait stage's configuration, plus the skip a user recorded.
type waitConfig struct {
	// WaitTime is in seconds; absent means 0, as in orca.
	WaitTime int64 `json:"waitTime"`
	// SkipWaitText is what Deck shows on the skip button.
	SkipWaitText string `json:"skipWaitText"`
	// SkipRemainingWait is set by a user's PATCH.
	SkipRemainingWait bool `json:"skipRemainingWait"`
}

// Type implements Definition.
func (WaitStage) Type() string { return "wait" }

// Validate checks waitTime: a non-negative number of seconds, a numeric
// string, or an expression. Without one the stage waits no time, as orca's
// does.
func (WaitStage) Validate(s *model.Stage) []model.Problem {
	var cfg waitConfig
	exprs, p := stages.DecodeConfig(s, &cfg)
	if !exprs.Has("waitTime") && !problemAt(p, "waitTime") && cfg.WaitTime < 0 {
		p.Add("waitTime", "must not be negative, got %d", cfg.WaitTime)
	}
	return p
}

// Config implements stages.Configurer.
func (WaitStage) Config(s *model.StageExecution) (any, error) {
	return decodeContext(s.Context, &waitConfig{})
}

// Patch implements stages.Patcher: a user may skip the rest of a running
// wait.
func (WaitStage) Patch(s *model.StageExecution, patch map[string]any) (map[string]any, error) {
	return decidePatch(s, patch, patchRules{skip: func(*model.StageExecution) bool { return true }})
}

// Plan implements Definition.
func (WaitStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{WaitTask{}.Name()}, nil
}

// WaitTask waits until waitTime seconds have passed since it started, or until
// the wait is skipped. It sleeps rather than polls, so a skip or a cancel
// wakes it at once.
type WaitTask struct{}

// Name implements Task.
func (WaitTask) Name() string { return "Wait" }

// Execute implements Task.
//
// The wait is measured from when this task started, which is the stage start
// unless an execution window held the stage first: a wait stage restricted to
// a window waits its full time once the window opens.
func (WaitTask) Execute(_ context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*waitConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	if cfg.SkipRemainingWait {
		return stages.Succeeded(), nil
	}
	if cfg.WaitTime < 0 {
		return stages.Failed("waitTime must not be negative, got %d", cfg.WaitTime), nil
	}
	start, err := stages.TaskStart(run, WaitTask{}.Name())
	if err != nil {
		return stages.Result{}, err
	}
	remaining := start.Add(time.Duration(cfg.WaitTime) * time.Second).Sub(run.Now)
	if remaining <= 0 {
		return stages.Succeeded(), nil
	}
	return stages.Result{Status: model.StatusRunning, Backoff: remaining, Wake: stages.Sleep}, nil
}

var (
	_ stages.Configurer = WaitStage{}
	_ stages.Patcher    = WaitStage{}
)
