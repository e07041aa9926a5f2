package orchestration

import (
	"context"
	"errors"
	"fmt"

	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/store"
)

// ErrNotRunning: the run or stage is not in a state that allows the action.
var ErrNotRunning = errors.New("not in a state that allows this")

// Cancel cancels a run: running stages are told (their running tasks may
// clean up) and end CANCELED, no stage starts, and the run ends CANCELED.
// Canceling a finished run does nothing.
func (o *Orchestrator) Cancel(ctx context.Context, id model.ExecutionID, user, reason string) error {
	e, err := o.updateHeader(ctx, id, func(e *model.Execution) (bool, error) {
		if e.Status.IsComplete() || e.Canceled {
			return false, nil
		}
		e.Canceled = true
		e.CanceledBy = user
		e.CancellationReason = reason
		if e.Status == model.StatusNotStarted {
			e.Status = model.StatusCanceled
			e.EndTime = o.nowMs()
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	if e.Status == model.StatusCanceled {
		return o.sendToken(ctx, e.Orchestration.Token)
	}
	full, err := o.store.Executions().Get(ctx, id)
	if err != nil {
		return err
	}
	if err := o.wakeAll(ctx, full); err != nil {
		return err
	}
	return o.advance(ctx, id)
}

// Pause pauses a running run: running tasks stop being run and no stage
// starts until Resume.
func (o *Orchestrator) Pause(ctx context.Context, id model.ExecutionID, user string) error {
	e, err := o.updateHeader(ctx, id, func(e *model.Execution) (bool, error) {
		if e.Status != model.StatusRunning {
			return false, fmt.Errorf("pause %s: run is %s: %w", id, e.Status, ErrNotRunning)
		}
		e.Status = model.StatusPaused
		e.Paused = &model.PausedDetails{PauseTime: o.nowMs(), PausedBy: user}
		return true, nil
	})
	if err != nil {
		return err
	}
	full, err := o.store.Executions().Get(ctx, e.ID)
	if err != nil {
		return err
	}
	return o.wakeAll(ctx, full)
}

// Resume resumes a paused run.
func (o *Orchestrator) Resume(ctx context.Context, id model.ExecutionID, user string) error {
	_, err := o.updateHeader(ctx, id, func(e *model.Execution) (bool, error) {
		if e.Status != model.StatusPaused {
			return false, fmt.Errorf("resume %s: run is %s: %w", id, e.Status, ErrNotRunning)
		}
		e.Status = model.StatusRunning
		if e.Paused == nil {
			e.Paused = &model.PausedDetails{}
		}
		e.Paused.ResumeTime = o.nowMs()
		e.Paused.ResumedBy = user
		if e.Paused.PauseTime > 0 {
			e.Paused.PausedMs = e.Paused.ResumeTime - e.Paused.PauseTime
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	full, err := o.store.Executions().Get(ctx, id)
	if err != nil {
		return err
	}
	if err := o.wakeAll(ctx, full); err != nil {
		return err
	}
	return o.advance(ctx, id)
}

// PatchStage applies a user's change to a running stage — a manual
// judgment, skipping a wait or an execution window — and wakes it. The
// stage's definition decides what the change sets (stages.Registry.Patch),
// on the stage as stored, so a judgment racing the stage's end is refused
// rather than recorded late. It returns the run as it stands after the
// change. An unknown run or stage is an error wrapping store.ErrNotFound; a
// refused change is a *stages.PatchError, which for a stage not in a state
// to take it also wraps ErrNotRunning, as a finished run or stage does.
func (o *Orchestrator) PatchStage(ctx context.Context, id model.ExecutionID, stageID model.StageID, user string, patch map[string]any) (*model.Execution, error) {
	e, err := o.store.Executions().Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &notFoundError{fmt.Sprintf("pipeline execution %q not found", id)}
	}
	if err != nil {
		return nil, fmt.Errorf("execution %s: %w", id, err)
	}
	target := e.StageByID(stageID)
	if target == nil {
		return nil, &notFoundError{fmt.Sprintf("execution %s has no stage %q", id, stageID)}
	}
	var stored *model.StageExecution
	err = o.wake(ctx, id, stageID, func(s *model.StageExecution) error {
		// The stage type's rules come first: they name what is wrong with
		// the change itself before the run's state is considered.
		fields, err := o.registry.Patch(s, patch)
		if err != nil {
			var pe *stages.PatchError
			if errors.As(err, &pe) && pe.Conflict {
				return &patchConflict{pe}
			}
			return err
		}
		if e.Status.IsComplete() {
			return fmt.Errorf("execution %s is %s: %w", id, e.Status, ErrNotRunning)
		}
		if s.Status != model.StatusRunning && s.Status != model.StatusPaused {
			return fmt.Errorf("stage %q is %s; only a running stage can be changed: %w", s.Name, s.Status, ErrNotRunning)
		}
		if s.Context == nil {
			s.Context = map[string]any{}
		}
		for k, v := range fields {
			s.Context[k] = v
		}
		if user != "" {
			s.Context["lastModifiedBy"] = user
			s.LastModified = &model.LastModified{User: user, Time: o.nowMs()}
		}
		stored = s
		return nil
	})
	var pe *stages.PatchError
	switch {
	case errors.As(err, &pe):
		return nil, err // its message is the answer a user reads
	case err != nil:
		return nil, fmt.Errorf("update stage %q of %s: %w", target.Name, id, err)
	}
	*target = *stored
	return e, nil
}

// patchConflict is a change the stage refused because of its state; it is
// also ErrNotRunning, as the orchestrator's own refusals of that kind are.
type patchConflict struct{ *stages.PatchError }

func (e *patchConflict) Unwrap() []error { return []error{e.PatchError, ErrNotRunning} }

// notFoundError is an unknown run or stage, worded for the user who named
// it; it is store.ErrNotFound to errors.Is.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

func (e *notFoundError) Is(target error) bool { return target == store.ErrNotFound }

// RestartStage runs a finished stage again, with every stage downstream of
// it. A finished run becomes RUNNING again under a new pipeline machine run.
func (o *Orchestrator) RestartStage(ctx context.Context, id model.ExecutionID, stageID model.StageID, user string) error {
	e, err := o.store.Executions().Get(ctx, id)
	if err != nil {
		return fmt.Errorf("execution %s: %w", id, err)
	}
	target := e.StageByID(stageID)
	if target == nil {
		return fmt.Errorf("execution %s has no stage %s: %w", id, stageID, store.ErrNotFound)
	}
	if !target.Status.IsComplete() {
		return fmt.Errorf("stage %q is %s; only a finished stage can be restarted: %w", target.Name, target.Status, ErrNotRunning)
	}
	reset := downstream(e, target.RefID)
	// The restarted stages act as whoever restarted them.
	var restarter *model.RunAs
	if id, ok := auth.FromContext(ctx); ok {
		restarter = runAsOf(id)
	}
	for _, s := range reset {
		if s.Status == model.StatusRunning || s.Status == model.StatusPaused {
			return fmt.Errorf("stage %q downstream of %q is still %s: %w", s.Name, target.Name, s.Status, ErrNotRunning)
		}
	}
	// Reset stages first: until the header says RUNNING again nothing looks
	// at them, and a crash in between leaves a finished run that can be
	// restarted again.
	for _, s := range reset {
		if _, err := o.updateStage(ctx, id, s.ID, func(st *model.StageExecution) (bool, error) {
			cfg := st.Orchestration.Config
			st.Status = model.StatusNotStarted
			st.StartTime, st.EndTime = 0, 0
			st.Context = copyMap(cfg)
			st.Outputs = map[string]any{}
			st.Tasks = []model.TaskExecution{}
			runAs := st.Orchestration.RunAs
			if restarter != nil {
				runAs = restarter
			}
			st.Orchestration = model.StageOrchestration{Attempt: st.Orchestration.Attempt + 1, Config: cfg, RunAs: runAs}
			if st.ID == target.ID && user != "" {
				st.LastModified = &model.LastModified{User: user, Time: o.nowMs()}
			}
			return true, nil
		}); err != nil {
			return err
		}
	}
	h, err := o.updateHeader(ctx, id, func(h *model.Execution) (bool, error) {
		h.Orchestration.Halted = false
		h.Canceled = false
		h.CanceledBy, h.CancellationReason = "", ""
		if h.Status.IsComplete() {
			h.Status = model.StatusRunning
			h.EndTime = 0
			h.Orchestration.Finalized = false
			h.Orchestration.Token = ""
			h.Orchestration.Attempt++
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if h.Orchestration.Token == "" {
		return o.startPipelineMachine(ctx, id, h.Orchestration.Attempt)
	}
	return o.advance(ctx, id)
}

// downstream returns the stage with refID and every stage that requires it,
// directly or not.
func downstream(e *model.Execution, refID string) []*model.StageExecution {
	in := map[string]bool{refID: true}
	for changed := true; changed; {
		changed = false
		for i := range e.Stages {
			s := &e.Stages[i]
			if in[s.RefID] || !scheduled(s) {
				continue
			}
			for _, r := range s.RequisiteStageRefIDs {
				if in[r] {
					in[s.RefID] = true
					changed = true
					break
				}
			}
		}
	}
	var out []*model.StageExecution
	for i := range e.Stages {
		if in[e.Stages[i].RefID] && scheduled(&e.Stages[i]) {
			out = append(out, &e.Stages[i])
		}
	}
	return out
}

func copyMap(m map[string]any) map[string]any {
	return toMap(m)
}
