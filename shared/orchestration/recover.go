package orchestration

import (
	"context"
	"errors"
	"fmt"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Reconcile finds runs that are stored but that no pipeline state machine
// is running — a process killed between storing a run and starting its
// machine leaves one — and starts their machines. Machines are named
// deterministically, so reconciling a run whose machine exists does nothing.
// It also starts the machines of stages dispatched but not started (see
// resumeDispatched). It returns the runs whose pipeline machine it started.
func (o *Orchestrator) Reconcile(ctx context.Context) ([]model.ExecutionID, error) {
	apps, err := o.store.Applications().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	names := map[model.ApplicationName]bool{}
	for _, a := range apps {
		names[a.Name] = true
	}
	var started []model.ExecutionID
	var errs []error
	for app := range names {
		runs, err := o.store.Executions().ListByApplication(ctx, app, store.ListOptions{
			Statuses: []model.Status{model.StatusNotStarted, model.StatusRunning, model.StatusPaused},
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("reconcile %s: %w", app, err))
			continue
		}
		for _, r := range runs {
			ok, err := o.reconcileRun(ctx, &r)
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				started = append(started, r.ID)
			}
		}
	}
	return started, errors.Join(errs...)
}

func (o *Orchestrator) reconcileRun(ctx context.Context, r *model.Execution) (bool, error) {
	if r.Orchestration.Finalized {
		return false, nil
	}
	if r.Orchestration.Token != "" {
		// Its machine reached StartPipeline: it exists.
		return false, o.resumeDispatched(ctx, r.ID)
	}
	attempt := max(r.Orchestration.Attempt, 1)
	name := string(r.ID)
	if attempt > 1 {
		name = fmt.Sprintf("%s-a%d", r.ID, attempt)
	}
	_, err := o.engine.DescribeExecution(ctx, ExecutionArn(o.machines.Pipeline, name))
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, ErrExecutionNotFound) {
		return false, fmt.Errorf("reconcile %s: %w", r.ID, err)
	}
	o.log.WarnContext(ctx, "starting the state machine of a run that had none", "executionId", r.ID, "attempt", attempt)
	if err := o.startPipelineMachine(ctx, r.ID, attempt); err != nil {
		return false, fmt.Errorf("reconcile %s: %w", r.ID, err)
	}
	return true, nil
}

// ExecutionArn derives a run's ARN from its state machine's ARN and name,
// as Step Functions forms it.
func ExecutionArn(machine, name string) string {
	const marker = ":stateMachine:"
	for i := 0; i+len(marker) <= len(machine); i++ {
		if machine[i:i+len(marker)] == marker {
			return machine[:i] + ":execution:" + machine[i+len(marker):] + ":" + name
		}
	}
	return machine + ":" + name
}

// resumeDispatched advances a running run that has a stage dispatched to a
// machine of its own and not started: a process killed between recording
// the dispatch and starting the machine leaves one, and when the dispatch
// came from an API request (a restart of a stage, say) no machine calls
// the orchestrator again to start it. Starting a stage's machine again is a
// no-op if it runs.
func (o *Orchestrator) resumeDispatched(ctx context.Context, id model.ExecutionID) error {
	e, err := o.store.Executions().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reconcile %s: %w", id, err)
	}
	if e.Status != model.StatusRunning || e.Orchestration.Finalized {
		return nil
	}
	for i := range e.Stages {
		s := &e.Stages[i]
		if scheduled(s) && s.Status == model.StatusNotStarted && s.Orchestration.DispatchedAt > 0 && s.Orchestration.Carrier == "" {
			if err := o.advanceRun(ctx, e); err != nil {
				return fmt.Errorf("reconcile %s: %w", id, err)
			}
			return nil
		}
	}
	return nil
}
