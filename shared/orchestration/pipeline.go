package orchestration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// startPipeline runs when the pipeline machine starts (or restarts) a run:
// it records the token the machine waits on, takes a concurrency slot or
// queues the run, and starts the stages that can start.
func (o *Orchestrator) startPipeline(ctx context.Context, req Request) error {
	e, err := o.updateHeader(ctx, req.ExecutionID, func(e *model.Execution) (bool, error) {
		if e.Orchestration.Attempt != req.Attempt || e.Orchestration.Token == req.TaskToken {
			return false, nil
		}
		e.Orchestration.Token = req.TaskToken
		return true, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return transient("execution %s: %w", req.ExecutionID, err)
	}
	if err != nil {
		return err
	}
	if e.Orchestration.Attempt != req.Attempt || e.Status.IsComplete() {
		// A newer attempt owns the run, or it ended while this one started
		// (canceled while queued): let this machine finish.
		return o.sendToken(ctx, req.TaskToken)
	}
	if e.Status == model.StatusNotStarted {
		started, err := o.takeSlot(ctx, e)
		if err != nil || !started {
			return err
		}
	}
	return o.advance(ctx, req.ExecutionID)
}

func pipelineLease(id model.PipelineID) string { return "pipeline/" + string(id) }

// withPipelineLock runs fn holding the pipeline's concurrency lease.
func (o *Orchestrator) withPipelineLock(ctx context.Context, pipeline model.PipelineID, owner string, fn func() error) error {
	name := pipelineLease(pipeline)
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := o.store.Leases().Acquire(ctx, name, owner, 30*time.Second)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if time.Now().After(deadline) {
			return transient("pipeline %s: concurrency lock is busy", pipeline)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	defer func() { _ = o.store.Leases().Release(context.WithoutCancel(ctx), name, owner) }()
	return fn()
}

// takeSlot runs the concurrency queue of e's pipeline now that e has
// arrived, and reports whether e itself may start.
func (o *Orchestrator) takeSlot(ctx context.Context, e *model.Execution) (bool, error) {
	if !e.LimitConcurrent || e.PipelineConfigID == "" {
		return o.markRunning(ctx, e.ID)
	}
	active, err := o.activeRuns(ctx, e.PipelineConfigID)
	if err != nil {
		return false, err
	}
	if slices.Contains(active, e.ID) {
		return o.markRunning(ctx, e.ID) // its slot was reserved when it was triggered
	}
	started, err := o.fillSlots(ctx, e, e.ID)
	if err != nil {
		return false, err
	}
	isE := false
	for _, id := range started {
		if id == e.ID {
			isE = true
			continue
		}
		if err := o.advance(ctx, id); err != nil {
			return false, err
		}
	}
	return isE, nil
}

// fillSlots starts waiting runs of a pipeline while its concurrency limit
// allows, in queue order: the oldest first when keepWaitingPipelines is set,
// else only the newest (the older waiting runs are canceled, superseded). A
// run whose state machine has not yet reached StartPipeline holds its place
// in the queue: it fills the slots itself when it arrives.
func (o *Orchestrator) fillSlots(ctx context.Context, e *model.Execution, owner model.ExecutionID) ([]model.ExecutionID, error) {
	limit := max(e.MaxConcurrentExecutions, 1)
	var started []model.ExecutionID
	err := o.withPipelineLock(ctx, e.PipelineConfigID, string(owner), func() error {
		active, err := o.activeRuns(ctx, e.PipelineConfigID)
		if err != nil {
			return err
		}
		waiting, err := o.store.Executions().ListByPipeline(ctx, e.PipelineConfigID, store.ListOptions{
			Statuses: []model.Status{model.StatusNotStarted},
		})
		if err != nil {
			return err
		}
		// Runs that hold a slot reserved at trigger time are not waiting:
		// they start when their machine arrives, and nothing supersedes them.
		waiting = slices.DeleteFunc(waiting, func(w model.Execution) bool { return slices.Contains(active, w.ID) })
		// Listings are newest first.
		if e.KeepWaitingPipelines {
			sort.SliceStable(waiting, func(i, j int) bool { return olderThan(&waiting[i], &waiting[j]) })
		} else if len(waiting) > 1 {
			for _, w := range waiting[1:] {
				if err := o.cancelWaiting(ctx, w.ID, fmt.Sprintf("superseded by a newer run (%s)", waiting[0].ID)); err != nil {
					return err
				}
			}
			waiting = waiting[:1]
		}
		free := limit - len(active)
		for _, w := range waiting {
			if free <= 0 || w.Orchestration.Token == "" {
				break
			}
			// Record the slot before the run starts, so a crash in between
			// leaves a slot that pruning frees rather than an extra run.
			if err := o.saveActiveRuns(ctx, e.PipelineConfigID, append(active, w.ID)); err != nil {
				return err
			}
			ok, err := o.markRunning(ctx, w.ID)
			if err != nil {
				return err
			}
			if ok {
				active = append(active, w.ID)
				started = append(started, w.ID)
				free--
			}
		}
		return o.saveActiveRuns(ctx, e.PipelineConfigID, active)
	})
	return started, err
}

// reserveSlot gives a run triggered while its pipeline has a free
// concurrency slot, and no older run waiting for one, that slot at once: it
// starts as soon as its machine arrives, and no run triggered after it can
// supersede it, whichever machine reaches StartPipeline first.
func (o *Orchestrator) reserveSlot(ctx context.Context, e *model.Execution) error {
	if !e.LimitConcurrent || e.PipelineConfigID == "" {
		return nil
	}
	limit := max(e.MaxConcurrentExecutions, 1)
	return o.withPipelineLock(ctx, e.PipelineConfigID, "trigger-"+string(e.ID), func() error {
		active, err := o.activeRuns(ctx, e.PipelineConfigID)
		if err != nil || len(active) >= limit || slices.Contains(active, e.ID) {
			return err
		}
		waiting, err := o.store.Executions().ListByPipeline(ctx, e.PipelineConfigID, store.ListOptions{
			Statuses: []model.Status{model.StatusNotStarted},
		})
		if err != nil {
			return err
		}
		for _, w := range waiting {
			if w.ID != e.ID && !slices.Contains(active, w.ID) {
				return nil // an older run waits for the slot
			}
		}
		return o.saveActiveRuns(ctx, e.PipelineConfigID, append(active, e.ID))
	})
}

func slotsKey(id model.PipelineID) string { return "slots/" + string(id) }

// activeRuns returns the runs holding a concurrency slot of a pipeline. The
// slots live in one record read and written under the pipeline's lock:
// listings by pipeline come from an index, which DynamoDB keeps only
// eventually consistent, so they may not show a run that just started.
// Each holder is checked with a consistent read and dropped once finished.
func (o *Orchestrator) activeRuns(ctx context.Context, id model.PipelineID) ([]model.ExecutionID, error) {
	raw, found, err := o.store.Records().Get(ctx, slotsKey(id))
	if err != nil || !found {
		return nil, err
	}
	var held []model.ExecutionID
	if err := json.Unmarshal(raw, &held); err != nil {
		return nil, fmt.Errorf("slots of pipeline %s: %w", id, err)
	}
	var active []model.ExecutionID
	for _, r := range held {
		h, err := o.store.Executions().GetHeader(ctx, r)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !h.Status.IsComplete() {
			active = append(active, r)
		}
	}
	return active, nil
}

func (o *Orchestrator) saveActiveRuns(ctx context.Context, id model.PipelineID, runs []model.ExecutionID) error {
	if runs == nil {
		runs = []model.ExecutionID{}
	}
	b, _ := json.Marshal(runs)
	return o.store.Records().Put(ctx, slotsKey(id), b)
}

func olderThan(a, b *model.Execution) bool {
	if a.BuildTime != b.BuildTime {
		return a.BuildTime < b.BuildTime
	}
	return a.ID < b.ID
}

func (o *Orchestrator) markRunning(ctx context.Context, id model.ExecutionID) (bool, error) {
	e, err := o.updateHeader(ctx, id, func(e *model.Execution) (bool, error) {
		if e.Status != model.StatusNotStarted || e.Canceled {
			return false, nil
		}
		e.Status = model.StatusRunning
		e.StartTime = o.nowMs()
		return true, nil
	})
	if err != nil {
		return false, err
	}
	return e.Status == model.StatusRunning, nil
}

// cancelWaiting cancels a queued run and lets its machine finish.
func (o *Orchestrator) cancelWaiting(ctx context.Context, id model.ExecutionID, reason string) error {
	e, err := o.updateHeader(ctx, id, func(e *model.Execution) (bool, error) {
		if e.Status != model.StatusNotStarted {
			return false, nil
		}
		e.Canceled = true
		e.CancellationReason = reason
		e.Status = model.StatusCanceled
		e.EndTime = o.nowMs()
		return true, nil
	})
	if err != nil {
		return err
	}
	return o.sendToken(ctx, e.Orchestration.Token)
}

// startWaiting gives the slot a finished run frees to the runs waiting.
func (o *Orchestrator) startWaiting(ctx context.Context, e *model.Execution) error {
	if !e.LimitConcurrent || e.PipelineConfigID == "" {
		return nil
	}
	started, err := o.fillSlots(ctx, e, "finalize-"+e.ID)
	if err != nil {
		return err
	}
	for _, id := range started {
		if err := o.advance(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// advance starts every stage that may start now, and hands the pipeline
// machine its token back when no stage is running or can start.
func (o *Orchestrator) advance(ctx context.Context, id model.ExecutionID) error {
	e, err := o.store.Executions().Get(ctx, id)
	if err != nil {
		return err
	}
	return o.advanceRun(ctx, e)
}

// advanceRun is advance on a run just read from the store.
func (o *Orchestrator) advanceRun(ctx context.Context, e *model.Execution) error {
	return o.advanceRunOf(ctx, nil, e)
}

// advanceRunOf is advanceRun for a stage machine that may carry on with a
// stage that can start (c.carry), or nil.
func (o *Orchestrator) advanceRunOf(ctx context.Context, c *stageCall, e *model.Execution) error {
	if e.Status == model.StatusNotStarted {
		return nil
	}
	stopping := e.Canceled || e.Orchestration.Halted
	busy := false
	now := o.nowMs()
	for i := range e.Stages {
		s := &e.Stages[i]
		if !scheduled(s) {
			continue
		}
		dispatched := s.Orchestration.DispatchedAt > 0
		if c.resumes(s) {
			busy = true // this machine took it before a retry: it goes on with it
			continue
		}
		switch {
		case s.Status == model.StatusRunning || s.Status == model.StatusPaused || s.Status == model.StatusSuspended:
			busy = true
		case s.Status != model.StatusNotStarted:
		case stopping:
			if !dispatched {
				continue
			}
			if carriedElsewhere(s, c.carrier(), now) {
				busy = true // its carrier will see the stop and cancel it
				continue
			}
			if s.Orchestration.Carrier == "" {
				busy = true
				// Its machine (started again if the process died before
				// starting it) sees the stop and cancels it.
				if err := o.startStageMachine(ctx, e.ID, s); err != nil {
					return err
				}
				continue
			}
			// Its carrier never came back to it: nothing else will end it.
			if _, err := o.updateStage(ctx, e.ID, s.ID, func(st *model.StageExecution) (bool, error) {
				if st.Status != model.StatusNotStarted || st.Orchestration.Carrier != s.Orchestration.Carrier {
					return false, nil
				}
				st.Status = model.StatusCanceled
				st.EndTime = now
				return true, nil
			}); err != nil {
				return err
			}
		case requisitesMet(e, s):
			busy = true
			if e.Status == model.StatusPaused || carriedElsewhere(s, c.carrier(), now) {
				continue
			}
			// A stage dispatched to a machine of its own that has not
			// started yet is dispatched again: if the process that
			// dispatched it died first, nothing else would start it, and
			// if its machine runs, starting it again does nothing.
			if err := o.dispatch(ctx, c, e.ID, s); err != nil {
				return err
			}
		}
	}
	if busy {
		return nil
	}
	return o.sendToken(ctx, e.Orchestration.Token)
}

// redispatchAfter is how long a stage carried by a machine run may take to
// record that it runs before another caller takes it over.
const redispatchAfter = time.Minute

// dispatch records that a stage's machine is being started, then starts it,
// or hands the stage to the calling stage machine to carry on with. Recording
// first means a stop that comes meanwhile wakes the stage, and a stage is
// never running without the run knowing. The record is a claim (see claim
// and stageCall.mayStart): a stage a machine run carries is left to it, and
// only the machine the claim names starts the stage, so no stage runs twice.
func (o *Orchestrator) dispatch(ctx context.Context, c *stageCall, id model.ExecutionID, s *model.StageExecution) error {
	st, claimed, err := o.claim(ctx, id, s, c.carrierFor(s))
	if err != nil || !claimed {
		return err
	}
	if c.take(st) {
		return nil
	}
	return o.startStageMachine(ctx, id, st)
}

// requisitesMet reports whether every requisite of s has ended successfully.
func requisitesMet(e *model.Execution, s *model.StageExecution) bool {
	for _, ref := range s.RequisiteStageRefIDs {
		r := e.StageByRefID(ref)
		if r == nil || !r.Status.IsSuccessful() {
			return false
		}
	}
	return true
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// stageMachineName is the deterministic name of a stage's run: the stage id,
// its name for people reading the Step Functions console, and the attempt.
func stageMachineName(s *model.StageExecution) string {
	label := unsafeName.ReplaceAllString(s.Name, "_")
	if len(label) > 30 {
		label = label[:30]
	}
	if label == "" {
		label = "stage"
	}
	return fmt.Sprintf("%s-%s-%d", s.ID, label, s.Orchestration.Attempt)
}

func (o *Orchestrator) startStageMachine(ctx context.Context, id model.ExecutionID, s *model.StageExecution) error {
	name := stageMachineName(s)
	input, _ := json.Marshal(map[string]any{
		"executionId": id,
		"stageId":     s.ID,
		"attempt":     s.Orchestration.Attempt,
		"name":        name,
		"generation":  0,
		"polls":       0,
	})
	if _, err := o.engine.StartExecution(ctx, o.stageMachine(s), name, input); err != nil {
		return transient("start stage %q (%s) of %s: %w", s.Name, s.ID, id, err)
	}
	return nil
}

// finalizePipeline decides a run's final status once no stage runs.
func (o *Orchestrator) finalizePipeline(ctx context.Context, req Request) error {
	e, err := o.store.Executions().Get(ctx, req.ExecutionID)
	if err != nil {
		return err
	}
	if e.Orchestration.Attempt != req.Attempt {
		return nil
	}
	final := finalStatus(e)
	h, err := o.updateHeader(ctx, req.ExecutionID, func(h *model.Execution) (bool, error) {
		if h.Orchestration.Finalized || h.Orchestration.Attempt != req.Attempt {
			return false, nil
		}
		h.Status = final
		if h.EndTime == 0 {
			h.EndTime = o.nowMs()
		}
		h.Orchestration.Finalized = true
		h.Orchestration.Token = ""
		return true, nil
	})
	if err != nil {
		return err
	}
	if err := o.startWaiting(ctx, h); err != nil {
		return err
	}
	return o.runEnded(ctx, h)
}

// scheduled reports whether the orchestrator starts s once its requisites
// allow: every stage of the pipeline, and the parts a stage runs as (they
// have refIds of their own), but not synthetic stages their parent runs.
func scheduled(s *model.StageExecution) bool {
	return s.ParentStageID == "" || s.RefID != ""
}

// finalStatus is Spinnaker's rule for a finished run's status.
func finalStatus(e *model.Execution) model.Status {
	if e.Canceled && !e.Orchestration.Halted {
		return model.StatusCanceled
	}
	var top []*model.StageExecution
	for i := range e.Stages {
		if e.Stages[i].ParentStageID == "" {
			top = append(top, &e.Stages[i])
		}
	}
	all := func(ok func(model.Status) bool) bool {
		for _, s := range top {
			if !ok(s.Status) {
				return false
			}
		}
		return true
	}
	anyIs := func(st model.Status) bool {
		for _, s := range top {
			if s.Status == st {
				return true
			}
		}
		return false
	}
	switch {
	case len(top) > 0 && all(func(s model.Status) bool { return s == model.StatusSkipped }):
		return model.StatusSkipped
	case all(model.Status.IsSuccessful):
		return model.StatusSucceeded
	case anyIs(model.StatusTerminal):
		return model.StatusTerminal
	case anyIs(model.StatusCanceled):
		return model.StatusCanceled
	case anyIs(model.StatusStopped):
		for _, s := range top {
			if s.Status == model.StatusStopped && s.Context["completeOtherBranchesThenFail"] == true {
				return model.StatusTerminal
			}
		}
		return model.StatusSucceeded
	default:
		return model.StatusTerminal
	}
}

// failPipeline records an error the pipeline machine caught, so the run
// does not stay RUNNING.
func (o *Orchestrator) failPipeline(ctx context.Context, req Request) error {
	msg := "the pipeline state machine failed"
	if req.Error != nil {
		msg = fmt.Sprintf("the pipeline state machine failed: %s: %s", req.Error.Error, req.Error.Cause)
	}
	o.log.ErrorContext(ctx, "pipeline failed", "executionId", req.ExecutionID, "error", msg)
	h, err := o.updateHeader(ctx, req.ExecutionID, func(h *model.Execution) (bool, error) {
		if h.Orchestration.Attempt != req.Attempt || h.Orchestration.Finalized {
			return false, nil
		}
		h.Status = model.StatusTerminal
		h.CancellationReason = msg
		h.EndTime = o.nowMs()
		h.Orchestration.Finalized = true
		return true, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := o.startWaiting(ctx, h); err != nil {
		return err
	}
	return o.runEnded(ctx, h)
}
