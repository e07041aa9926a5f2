package orchestration

import (
	"context"

	"github.com/gennaker/gennaker/shared/model"
)

// OnRunEnd sets what is called when a run's end has been recorded: the
// pipelines that listen to it start (pipeline triggers). It is called at
// least once per finished run, again if finalizing is retried, so it must
// be idempotent; an error it returns makes the state machine retry.
func (o *Orchestrator) OnRunEnd(fn func(ctx context.Context, e *model.Execution) error) {
	o.onRunEnd = fn
}

// runEnded calls the run-end hook for a finalized run.
func (o *Orchestrator) runEnded(ctx context.Context, e *model.Execution) error {
	if o.onRunEnd == nil || e == nil || !e.Orchestration.Finalized {
		return nil
	}
	if err := o.onRunEnd(ctx, e); err != nil {
		return transient("after the end of run %s: %w", e.ID, err)
	}
	return nil
}
