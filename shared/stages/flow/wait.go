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

// Type implements Definition.
func (WaitStage) Type() string { return "wait" }

// Validate requires waitTime: a non-negative number of seconds, a numeric
// string, or an expression.
func (WaitStage) Validate(s *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(s, &p)
	if stages.IsExpression(cfg["waitTime"]) {
		return p
	}
	switch secs, ok, err := stages.Int(cfg, "waitTime"); {
	case err != nil:
		p.AddErr(err)
	case !ok:
		p.Add("waitTime", "is required (seconds to wait)")
	case secs < 0:
		p.Add("waitTime", "must not be negative, got %d", secs)
	}
	stages.CheckField(cfg, "skipWaitText", &p, stages.ReadsString)
	return p
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
	ctx := run.Stage.Context
	skip, _, err := stages.Bool(ctx, "skipRemainingWait")
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if skip {
		return stages.Succeeded(), nil
	}
	secs, ok, err := stages.Int(ctx, "waitTime")
	switch {
	case err != nil:
		return stages.Failed("%v", err), nil
	case !ok:
		return stages.Failed("waitTime is required (seconds to wait)"), nil
	case secs < 0:
		return stages.Failed("waitTime must not be negative, got %d", secs), nil
	}
	start, err := stages.TaskStart(run, WaitTask{}.Name())
	if err != nil {
		return stages.Result{}, err
	}
	remaining := start.Add(time.Duration(secs) * time.Second).Sub(run.Now)
	if remaining <= 0 {
		return stages.Succeeded(), nil
	}
	return stages.Result{Status: model.StatusRunning, Backoff: remaining, Wake: stages.Sleep}, nil
}
