package orchestration

import (
	"context"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// StatusHook sees every write of a run's header or of a stage that the
// orchestrator makes, which is every status change. What it adds to the
// record is stored in the same write (shared/notify records lifecycle
// events there, an outbox); the function it returns, when not nil, runs
// once the write has succeeded.
type StatusHook interface {
	// Header is called before e is written.
	Header(ctx context.Context, e *model.Execution) (written func(context.Context), err error)
	// Stage is called before stage s of run id is written.
	Stage(ctx context.Context, id model.ExecutionID, s *model.StageExecution) (written func(context.Context), err error)
}

// hookedStore is the orchestrator's view of the store when it has a
// StatusHook: every header and stage write passes through the hook.
type hookedStore struct {
	store.Store
	hook StatusHook
}

func (h hookedStore) Executions() store.Executions {
	return hookedExecutions{Executions: h.Store.Executions(), hook: h.hook}
}

type hookedExecutions struct {
	store.Executions
	hook StatusHook
}

func (h hookedExecutions) UpdateHeader(ctx context.Context, e *model.Execution) error {
	written, err := h.hook.Header(ctx, e)
	if err != nil {
		return err
	}
	if err := h.Executions.UpdateHeader(ctx, e); err != nil {
		return err
	}
	if written != nil {
		written(ctx)
	}
	return nil
}

func (h hookedExecutions) PutStage(ctx context.Context, id model.ExecutionID, s *model.StageExecution) error {
	written, err := h.hook.Stage(ctx, id, s)
	if err != nil {
		return err
	}
	if err := h.Executions.PutStage(ctx, id, s); err != nil {
		return err
	}
	if written != nil {
		written(ctx)
	}
	return nil
}
