package orchestration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gennaker/gennaker/shared/stages/flow"

	"github.com/gennaker/gennaker/shared/expr"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/store"
)

// WindowTask is the task planned first for stages restricted to an
// execution window.
const WindowTask = flow.ExecutionWindowTaskName

// maxTasksPerCall bounds how many consecutive tasks one runStage call runs,
// so a call stays well inside a Lambda's time.
const maxTasksPerCall = 16

// runStage starts the stage if it has not started, then runs its tasks until
// one is still RUNNING or the stage ends. When the stage ends it starts what
// may follow, and carries on with one of those stages itself (see
// stageCall).
func (o *Orchestrator) runStage(ctx context.Context, req Request) (Response, error) {
	c := &stageCall{req: req, budget: maxTasksPerCall, o: o}
	for {
		resp, err := o.runStageRetrying(ctx, c)
		if err != nil {
			return Response{}, err
		}
		if c.carry == nil {
			return c.state(resp), nil
		}
		c.next()
		if c.budget <= 0 {
			return c.state(Response{Next: "run"}), nil
		}
	}
}

func (o *Orchestrator) runStageRetrying(ctx context.Context, c *stageCall) (Response, error) {
	for range maxConflictRetries {
		resp, err := o.runStageOnce(ctx, c)
		if errors.Is(err, store.ErrConflict) {
			c.view = nil
			continue // someone changed the stage meanwhile (a judgment, a cancel): look again
		}
		return resp, err
	}
	return Response{}, transient("stage %s of %s: too many concurrent writers", c.req.StageID, c.req.ExecutionID)
}

func (o *Orchestrator) runStageOnce(ctx context.Context, c *stageCall) (Response, error) {
	req := c.req
	e, err := o.readRun(ctx, c)
	if errors.Is(err, store.ErrNotFound) {
		return Response{}, transient("execution %s: %w", req.ExecutionID, err)
	}
	if err != nil {
		return Response{}, err
	}
	s := e.StageByID(req.StageID)
	if s == nil {
		return Response{}, fmt.Errorf("execution %s has no stage %s", req.ExecutionID, req.StageID)
	}
	if s.Orchestration.Attempt != req.Attempt {
		return done, nil // a restart superseded this run of the stage
	}
	c.current = s
	if s.Status.IsComplete() {
		return done, o.afterStageOf(ctx, c, e.ID)
	}
	if s.Status == model.StatusNotStarted && !c.mayStart(s) {
		return done, nil // the stage was given to another machine, which starts it
	}
	if s.Orchestration.Token != "" || s.Orchestration.WakePending {
		s.Orchestration.Token = ""
		s.Orchestration.WakePending = false
	}
	if s.Status == model.StatusNotStarted {
		if e.Status == model.StatusPaused {
			return o.putAndRespond(ctx, e, s, callback(0))
		}
		if stop := e.Canceled || e.Orchestration.Halted; stop {
			s.Status = model.StatusCanceled
			s.EndTime = o.nowMs()
			return o.putAndFinish(ctx, c, e, s)
		}
		if finished := o.startStage(ctx, e, s); finished {
			return o.putAndFinish(ctx, c, e, s)
		}
	}
	for c.budget > 0 {
		if e.Canceled || e.Orchestration.Halted {
			o.cancelStage(ctx, e, s)
			return o.putAndFinish(ctx, c, e, s)
		}
		if e.Status == model.StatusPaused {
			s.Status = model.StatusPaused
			return o.putAndRespond(ctx, e, s, callback(0))
		}
		if s.Status == model.StatusPaused {
			s.Status = model.StatusRunning
		}
		i := currentTask(s)
		if i < 0 {
			s.Status = model.StatusSucceeded
			s.EndTime = o.nowMs()
			return o.putAndFinish(ctx, c, e, s)
		}
		c.budget--
		resp, finished := o.runTask(ctx, e, s, i)
		if finished {
			return o.putAndFinish(ctx, c, e, s)
		}
		if resp != nil {
			return o.putAndRespond(ctx, e, s, *resp)
		}
	}
	return o.putAndRespond(ctx, e, s, Response{Next: "run"})
}

var done = Response{Next: "done"}

func callback(backoff time.Duration) Response {
	return Response{Next: "callback", Backoff: seconds(backoff)}
}

func seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// startStage decides whether the stage runs at all, evaluates its
// expressions and plans its tasks. It reports true when the stage ended
// without running (skipped, or failed before its first task).
func (o *Orchestrator) startStage(ctx context.Context, e *model.Execution, s *model.StageExecution) bool {
	now := o.nowMs()
	s.StartTime = now
	cfg := s.Orchestration.Config
	if cfg == nil {
		cfg = s.Context
	}
	// Building what expressions see renders the whole run: only do it for
	// a stage that has expressions.
	var ectxCache *expr.Context
	ectx := func() *expr.Context {
		if ectxCache == nil {
			ectxCache = o.exprContext(e, s)
		}
		return ectxCache
	}
	if se, ok := cfg["stageEnabled"].(map[string]any); ok {
		if exp, _ := se["expression"].(string); exp != "" {
			enabled, err := expr.EvaluateBool(exp, ectx())
			if err != nil {
				o.failStart(s, fmt.Sprintf("stageEnabled.expression %q: %v", exp, err))
				return true
			}
			if !enabled {
				s.Status = model.StatusSkipped
				s.EndTime = now
				return true
			}
		}
	}
	evaluated := map[string]any{}
	var exprErrs []string
	for k, v := range cfg {
		if k == "stageEnabled" || !hasExpression(v) {
			evaluated[k] = v
			continue
		}
		out, errs := expr.Evaluate(v, ectx())
		for _, err := range errs {
			path := k
			if err.Path != "" {
				path = k + "." + err.Path
				if err.Path[0] == '[' {
					path = k + err.Path
				}
			}
			exprErrs = append(exprErrs, fmt.Sprintf("%s: expression %q: %v", path, err.Expression, err.Err))
		}
		evaluated[k] = out
	}
	s.Context = evaluated
	if len(exprErrs) > 0 {
		s.Context["expressionEvaluationSummary"] = exprErrs
		if fail, ok := cfg["failOnFailedExpressions"].(bool); !ok || fail {
			o.failStart(s, "failed to evaluate expressions: "+joinLines(exprErrs))
			return true
		}
	}
	if o.guard != nil {
		// After expressions, so that an account named by one is the account
		// checked.
		if err := o.guard(ctx, e, s); err != nil {
			o.failStart(s, err.Error())
			return true
		}
	}
	def, err := o.registry.Definition(s.Type)
	if err != nil {
		o.failStart(s, err.Error())
		return true
	}
	names, err := def.Plan(s)
	if err != nil {
		o.failStart(s, fmt.Sprintf("plan %s stage: %v", s.Type, err))
		return true
	}
	restricted, err := flow.RestrictsExecutionWindow(s.Context)
	if err != nil {
		o.failStart(s, err.Error())
		return true
	}
	if restricted {
		names = append([]string{WindowTask}, names...)
	}
	s.Tasks = make([]model.TaskExecution, len(names))
	for i, n := range names {
		if _, err := o.registry.Task(n); err != nil {
			o.failStart(s, fmt.Sprintf("plan %s stage: %v", s.Type, err))
			return true
		}
		s.Tasks[i] = model.TaskExecution{
			ID:         strconv.Itoa(i + 1),
			Name:       n,
			Status:     model.StatusNotStarted,
			StageStart: i == 0,
			StageEnd:   i == len(names)-1,
		}
	}
	s.Status = model.StatusRunning
	return false
}

// hasExpression reports whether a config value holds a ${…} anywhere.
func hasExpression(v any) bool {
	switch x := v.(type) {
	case string:
		return expr.HasExpression(x)
	case map[string]any:
		for k, e := range x {
			if expr.HasExpression(k) || hasExpression(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasExpression(e) {
				return true
			}
		}
	}
	return false
}

func joinLines(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "; "
		}
		out += l
	}
	return out
}

// failStart fails a stage before its first task, honouring its failure
// behaviour.
func (o *Orchestrator) failStart(s *model.StageExecution, msg string) {
	if s.Context == nil {
		s.Context = map[string]any{}
	}
	maps.Copy(s.Context, stages.ExceptionContext(msg))
	s.Status = failureStatus(s, model.StatusTerminal)
	s.EndTime = o.nowMs()
}

// failureStatus maps a task's failure to the stage's status per the
// stage's "if stage fails" choice.
func failureStatus(s *model.StageExecution, st model.Status) model.Status {
	if st != model.StatusTerminal {
		return st
	}
	b := func(k string) *bool {
		v, ok := s.Context[k].(bool)
		if !ok {
			if cfg, ok := s.Orchestration.Config[k].(bool); ok {
				return &cfg
			}
			return nil
		}
		return &v
	}
	switch model.FailureBehaviourOf(b("failPipeline"), b("continuePipeline"), b("completeOtherBranchesThenFail")) {
	case model.IgnoreFailure:
		return model.StatusFailedContinue
	case model.HaltBranch, model.HaltBranchThenFail:
		return model.StatusStopped
	default:
		return model.StatusTerminal
	}
}

func currentTask(s *model.StageExecution) int {
	for i := range s.Tasks {
		if !s.Tasks[i].Status.IsComplete() {
			return i
		}
	}
	return -1
}

// runTask runs task i once. It returns a response when the stage must wait,
// finished=true when the stage ended, or neither to run the next task now.
func (o *Orchestrator) runTask(ctx context.Context, e *model.Execution, s *model.StageExecution, i int) (resp *Response, finished bool) {
	t := &s.Tasks[i]
	now := o.now()
	if t.StartTime == 0 {
		t.StartTime = now.UnixMilli()
		t.Status = model.StatusRunning
		s.Orchestration.TaskStartTime = t.StartTime
	}
	task, err := o.registry.Task(t.Name)
	if err != nil {
		return nil, o.endTask(s, t, stages.Failed("%v", err))
	}
	if limit := stageTimeout(s); limit > 0 && now.Sub(time.UnixMilli(s.StartTime)) >= limit {
		o.cancelTask(ctx, e, s, task)
		return nil, o.endTask(s, t, stages.Failed("stage %q timed out after %s (stageTimeoutMs %d)", s.Name, limit, limit.Milliseconds()))
	}
	if tt, ok := task.(stages.TimeoutTask); ok {
		if limit := tt.Timeout(s); limit > 0 && now.Sub(time.UnixMilli(t.StartTime)) >= limit {
			o.cancelTask(ctx, e, s, task)
			return nil, o.endTask(s, t, stages.Failed("task %s of stage %q timed out after %s", t.Name, s.Name, limit))
		}
	}
	res := o.execute(ctx, e, s, task)
	if res.Status != model.StatusRunning {
		return nil, o.endTask(s, t, res)
	}
	mergeResult(s, res)
	backoff := res.Backoff
	if backoff <= 0 {
		backoff = time.Second
	}
	if limit := stageTimeout(s); limit > 0 {
		left := limit - now.Sub(time.UnixMilli(s.StartTime))
		if backoff > left || res.Wake == stages.Callback {
			backoff = max(left, time.Millisecond)
			if res.Wake == stages.Callback {
				res.Wake = stages.Sleep
			}
		}
	}
	switch res.Wake {
	case stages.Sleep:
		return &Response{Next: "sleep", Backoff: seconds(backoff)}, false
	case stages.Callback:
		r := callback(0)
		return &r, false
	default:
		return &Response{Next: "poll", Backoff: seconds(backoff)}, false
	}
}

func stageTimeout(s *model.StageExecution) time.Duration {
	switch v := s.Context["stageTimeoutMs"].(type) {
	case float64:
		return time.Duration(v) * time.Millisecond
	case json.Number:
		n, _ := v.Int64()
		return time.Duration(n) * time.Millisecond
	}
	return 0
}

// execute runs a task, turning an error or a panic into a failure that
// names the task, so a broken task never takes the orchestrator down.
func (o *Orchestrator) execute(ctx context.Context, e *model.Execution, s *model.StageExecution, task stages.Task) (res stages.Result) {
	defer func() {
		if r := recover(); r != nil {
			o.log.ErrorContext(ctx, "task panicked", "executionId", e.ID, "stageId", s.ID, "task", task.Name(), "panic", r, "stack", string(debug.Stack()))
			res = stages.Failed("task %s failed: %v", task.Name(), r)
		}
	}()
	run, err := o.runOf(e, s)
	if err != nil {
		return stages.Failed("%v", err)
	}
	res, err = task.Execute(ctx, run)
	if err != nil {
		return stages.Failed("task %s failed: %v", task.Name(), err)
	}
	if !res.Status.Valid() {
		return stages.Failed("task %s returned no status", task.Name())
	}
	return res
}

// runOf is what a task of stage s sees, with the stage's configuration
// decoded once by its definition.
func (o *Orchestrator) runOf(e *model.Execution, s *model.StageExecution) (*stages.Run, error) {
	run := &stages.Run{Execution: e, Stage: s, Services: o.services, Now: o.now()}
	if err := o.registry.Configure(run); err != nil {
		return nil, err
	}
	return run, nil
}

func mergeResult(s *model.StageExecution, res stages.Result) {
	if s.Context == nil {
		s.Context = map[string]any{}
	}
	if s.Outputs == nil {
		s.Outputs = map[string]any{}
	}
	maps.Copy(s.Context, res.Context)
	maps.Copy(s.Outputs, res.Outputs)
}

// endTask records a task's final result and reports whether the stage ended.
func (o *Orchestrator) endTask(s *model.StageExecution, t *model.TaskExecution, res stages.Result) bool {
	mergeResult(s, res)
	t.EndTime = o.nowMs()
	if res.Status == model.StatusSucceeded || res.Status == model.StatusSkipped {
		t.Status = res.Status
		if currentTask(s) >= 0 {
			return false
		}
		s.Status = model.StatusSucceeded
		s.EndTime = o.nowMs()
		return true
	}
	t.Status = res.Status
	s.Status = failureStatus(s, res.Status)
	s.EndTime = o.nowMs()
	return true
}

// cancelStage ends a running stage of a canceled or halted run, telling its
// running task so it may clean up.
func (o *Orchestrator) cancelStage(ctx context.Context, e *model.Execution, s *model.StageExecution) {
	if i := currentTask(s); i >= 0 {
		if task, err := o.registry.Task(s.Tasks[i].Name); err == nil && s.Tasks[i].StartTime != 0 {
			o.cancelTask(ctx, e, s, task)
		}
		s.Tasks[i].Status = model.StatusCanceled
		s.Tasks[i].EndTime = o.nowMs()
	}
	s.Status = model.StatusCanceled
	s.EndTime = o.nowMs()
}

func (o *Orchestrator) cancelTask(ctx context.Context, e *model.Execution, s *model.StageExecution, task stages.Task) {
	c, ok := task.(stages.Canceler)
	if !ok {
		return
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				o.log.ErrorContext(ctx, "task cancel panicked", "task", task.Name(), "panic", r)
			}
		}()
		run, err := o.runOf(e, s)
		if err != nil {
			o.log.WarnContext(ctx, "task cancel skipped", "executionId", e.ID, "stageId", s.ID, "task", task.Name(), "error", err)
			return
		}
		out, err := c.Cancel(ctx, run)
		if err != nil {
			o.log.WarnContext(ctx, "task cancel failed", "executionId", e.ID, "stageId", s.ID, "task", task.Name(), "error", err)
			maps.Copy(s.Context, map[string]any{"cancelError": err.Error()})
		}
		maps.Copy(s.Context, out)
	}()
}

func (o *Orchestrator) putAndRespond(ctx context.Context, e *model.Execution, s *model.StageExecution, resp Response) (Response, error) {
	if err := o.store.Executions().PutStage(ctx, e.ID, s); err != nil {
		return Response{}, err
	}
	return resp, nil
}

// putAndFinish stores an ended stage, applies its failure to the run, and
// starts what may follow.
func (o *Orchestrator) putAndFinish(ctx context.Context, c *stageCall, e *model.Execution, s *model.StageExecution) (Response, error) {
	if err := o.store.Executions().PutStage(ctx, e.ID, s); err != nil {
		return Response{}, err
	}
	return done, o.stageEnded(ctx, c, e, s)
}

// afterStage applies ended stages' failures to the run (a TERMINAL stage
// halts it) and advances it. It is idempotent.
func (o *Orchestrator) afterStage(ctx context.Context, id model.ExecutionID) error {
	return o.afterStageOf(ctx, nil, id)
}

// afterStageOf is afterStage for a stage machine that may carry on with a
// stage that can start (c.carry), or nil.
func (o *Orchestrator) afterStageOf(ctx context.Context, c *stageCall, id model.ExecutionID) error {
	e, err := o.store.Executions().Get(ctx, id)
	if err != nil {
		return err
	}
	halt := false
	for i := range e.Stages {
		if e.Stages[i].Status == model.StatusTerminal {
			halt = true
		}
	}
	if halt && !e.Orchestration.Halted {
		if _, err := o.updateHeader(ctx, id, func(h *model.Execution) (bool, error) {
			if h.Orchestration.Halted {
				return false, nil
			}
			h.Orchestration.Halted = true
			return true, nil
		}); err != nil {
			return err
		}
		if err := o.wakeAll(ctx, e); err != nil {
			return err
		}
		return o.advance(ctx, id)
	}
	return o.advanceRunOf(ctx, c, e)
}

// park records the token a parked stage waits on. A change that arrived
// before the token was recorded sends it back at once, so no wake-up is lost.
func (o *Orchestrator) park(ctx context.Context, req Request) error {
	wakeNow := false
	_, err := o.updateStage(ctx, req.ExecutionID, req.StageID, func(s *model.StageExecution) (bool, error) {
		if s.Orchestration.Attempt != req.Attempt || s.Status.IsComplete() || s.Orchestration.WakePending {
			wakeNow = true
			s.Orchestration.WakePending = false
			s.Orchestration.Token = ""
			return true, nil
		}
		wakeNow = false
		s.Orchestration.Token = req.TaskToken
		return true, nil
	})
	if err != nil {
		return err
	}
	if wakeNow {
		return o.sendToken(ctx, req.TaskToken)
	}
	return nil
}

// wake tells a parked stage that something changed: it runs again now.
func (o *Orchestrator) wake(ctx context.Context, id model.ExecutionID, stageID model.StageID, change func(s *model.StageExecution) error) error {
	var token string
	_, err := o.updateStage(ctx, id, stageID, func(s *model.StageExecution) (bool, error) {
		if change != nil {
			if err := change(s); err != nil {
				return false, err
			}
		}
		token = s.Orchestration.Token
		s.Orchestration.Token = ""
		s.Orchestration.WakePending = true
		return true, nil
	})
	if err != nil {
		return err
	}
	return o.sendToken(ctx, token)
}

// wakeAll wakes every running or paused stage of a run.
func (o *Orchestrator) wakeAll(ctx context.Context, e *model.Execution) error {
	for i := range e.Stages {
		s := &e.Stages[i]
		switch {
		case s.Status == model.StatusRunning, s.Status == model.StatusPaused, s.Status == model.StatusSuspended,
			s.Status == model.StatusNotStarted && (s.Orchestration.Token != "" || s.Orchestration.DispatchedAt > 0):
			if err := o.wake(ctx, e.ID, s.ID, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// failStage records an error the stage machine caught as the stage's
// failure, then lets the run go on as the stage's failure behaviour says.
func (o *Orchestrator) failStage(ctx context.Context, req Request) error {
	msg := "the stage state machine failed"
	if req.Error != nil {
		msg = fmt.Sprintf("%s: %s", req.Error.Error, req.Error.Cause)
	}
	_, err := o.updateStage(ctx, req.ExecutionID, req.StageID, func(s *model.StageExecution) (bool, error) {
		if s.Orchestration.Attempt != req.Attempt || s.Status.IsComplete() {
			return false, nil
		}
		o.failStart(s, msg)
		if i := currentTask(s); i >= 0 {
			s.Tasks[i].Status = model.StatusTerminal
			s.Tasks[i].EndTime = o.nowMs()
		}
		return true, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return o.afterStage(ctx, req.ExecutionID)
}
