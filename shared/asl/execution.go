package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rootFrameID identifies the frame running an execution's top-level states.
const rootFrameID = "r"

// errExecutionEnded is the cancellation cause once an execution has ended
// (stopped, timed out, failed by the history limit) while states still ran.
var errExecutionEnded = errors.New("execution ended")

// execution is one loaded, running execution.
type execution struct {
	rt *Runtime
	sm *StateMachine
	// Identity, fixed for the execution's life.
	arn, name, smArn, smName string
	startDate                time.Time
	input                    any // decoded execution input, for $$.Execution.Input
	started                  string

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the execution has ended and is cleaned up
	ended  chan struct{} // closed once the final record is written

	events atomic.Int64
	// transitions counts the states this execution entered in this runtime.
	transitions atomic.Int64

	mu      sync.Mutex
	rec     executionRecord
	frames  map[string]*frameRecord // resumed records not yet taken by a frame
	pending map[string]*pendingTask // resumed callback tasks by frame ID
	written map[string]bool         // frame IDs with a journal record
	timer   *time.Timer             // execution TimeoutSeconds
}

func (r *Runtime) newExecution(rec *executionRecord, sm *StateMachine, frames map[string]*frameRecord) (*execution, error) {
	input, err := decodeJSON(rec.Input)
	if err != nil {
		return nil, fmt.Errorf("execution %s: decode input: %w", rec.Arn, err)
	}
	smName, _ := machineNameOf(rec.StateMachineArn)
	x := &execution{
		rt:        r,
		sm:        sm,
		arn:       rec.Arn,
		name:      rec.Name,
		smArn:     rec.StateMachineArn,
		smName:    smName,
		startDate: rec.StartDate,
		input:     input,
		started:   formatTime(rec.StartDate),
		done:      make(chan struct{}),
		ended:     make(chan struct{}),
		rec:       *rec,
		frames:    frames,
		pending:   map[string]*pendingTask{},
		written:   map[string]bool{},
	}
	for id := range frames {
		x.written[id] = true
	}
	events := rec.Events
	for _, f := range frames {
		events = max(events, f.Events)
	}
	x.events.Store(events)
	x.ctx, x.cancel = context.WithCancelCause(r.ctx)
	return x, nil
}

// registerResumedTokens makes the task tokens of resumed callback tasks
// usable before their frames' goroutines get to them. r.mu is held.
func (x *execution) registerResumedTokens() {
	for id, rec := range x.frames {
		if rec.Token == "" || rec.Outcome != nil || rec.Done {
			continue
		}
		p := newPendingTask(rec.Token, x, id)
		x.rt.tokens[rec.Token] = p
		x.pending[id] = p
	}
}

// run interprets the execution until it ends or the runtime closes.
func (x *execution) run() {
	if x.sm.timeoutSeconds > 0 {
		deadline := x.startDate.Add(x.rt.duration(float64(x.sm.timeoutSeconds)))
		x.mu.Lock()
		x.timer = time.AfterFunc(max(deadline.Sub(x.rt.now()), 0), func() {
			x.finish(StatusTimedOut, nil, &Error{Name: ErrorTimeout, Cause: fmt.Sprintf("The execution timed out after %d seconds.", x.sm.timeoutSeconds)})
		})
		x.mu.Unlock()
	}
	root := x.newFrame(rootFrameID, x.sm.graph, x.input)
	out, err := root.run(x.ctx)
	if errors.Is(context.Cause(x.ctx), errRuntimeClosed) {
		x.stopTimer()
		return // resumes on the next Start
	}
	switch se, isStates := asStatesError(err); {
	case err == nil:
		x.finish(StatusSucceeded, out, nil)
	case isStates:
		x.finish(StatusFailed, nil, se)
	case x.ctx.Err() == nil:
		// A journal failure: the execution cannot record progress. It stays
		// RUNNING in the journal and resumes on the next Start.
		x.rt.log.Error("execution stalled", "execution", x.arn, "err", err)
		x.stopTimer()
		return
	}
	// Ended here or by StopExecution, a timeout or the history limit;
	// whoever ended it writes the final record.
	select {
	case <-x.ended:
		x.cleanup()
	case <-x.rt.ctx.Done():
	}
}

// finish ends the execution once: it records the final status durably,
// then cancels whatever still runs. It reports whether this call ended it.
func (x *execution) finish(status ExecutionStatus, output any, se *Error) bool {
	x.mu.Lock()
	if x.rec.Status != StatusRunning || errors.Is(context.Cause(x.ctx), errRuntimeClosed) {
		// Ended already, or the runtime is closing: a closing runtime
		// leaves executions RUNNING for the next Start.
		x.mu.Unlock()
		return false
	}
	if x.timer != nil {
		x.timer.Stop()
	}
	x.rec.Status = status
	x.rec.StopDate = x.rt.now().UTC()
	if status == StatusSucceeded {
		b, err := encodeJSON(output)
		if err != nil {
			x.rec.Status, se = StatusFailed, runtimeError("cannot encode the execution output: %v", err)
		} else {
			x.rec.Output = b
		}
	}
	if se != nil {
		x.rec.Error, x.rec.Cause = se.Name, se.Cause
	}
	x.rec.Events = x.events.Add(1) // ExecutionSucceeded, Failed, Aborted or TimedOut
	rec := x.rec
	x.mu.Unlock()

	// The final record must be written even though the execution's own
	// context is about to be cancelled.
	ctx := context.WithoutCancel(x.ctx)
	if err := putJSON(ctx, x.rt.journal, executionKey(rec.Arn), &rec); err != nil {
		x.rt.log.Error("cannot record execution end", "execution", rec.Arn, "status", rec.Status, "err", err)
	}
	x.cancel(errExecutionEnded)
	close(x.ended)
	if x.rt.ended != nil {
		x.rt.ended(ExecutionEnd{Arn: rec.Arn, Name: rec.Name, Status: rec.Status, Input: rec.Input, Transitions: x.transitions.Load()})
	}
	x.rt.log.Debug("execution ended", "execution", rec.Arn, "status", rec.Status, "error", rec.Error)
	return true
}

func (x *execution) stopTimer() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.timer != nil {
		x.timer.Stop()
	}
}

// cleanup deletes the frame records of an ended execution and forgets it.
func (x *execution) cleanup() {
	ctx := context.WithoutCancel(x.ctx)
	x.mu.Lock()
	ids := make([]string, 0, len(x.written))
	for id := range x.written {
		ids = append(ids, id)
	}
	pending := x.pending
	x.pending = map[string]*pendingTask{}
	x.mu.Unlock()
	for _, id := range ids {
		if err := x.rt.journal.Delete(ctx, frameKey(x.arn, id)); err != nil {
			x.rt.log.Warn("cannot delete frame record", "execution", x.arn, "frame", id, "err", err)
		}
	}
	for _, p := range pending {
		x.rt.abandon(p)
	}
	x.rt.mu.Lock()
	delete(x.rt.active, x.arn)
	x.rt.mu.Unlock()
	close(x.done)
}

func (x *execution) describe() ExecutionDescription {
	x.mu.Lock()
	defer x.mu.Unlock()
	d := x.rec.description()
	if x.rec.Status == StatusRunning {
		d.HistoryEventCount = int(x.events.Load())
	}
	return d
}

// addEvents counts history events; an execution that exceeds the limit
// fails with States.Runtime, as in Step Functions.
func (x *execution) addEvents(n int64) {
	if x.events.Add(n) > x.rt.maxEvents {
		x.finish(StatusFailed, nil, runtimeError("The execution reached the maximum number of history events (%d).", x.rt.maxEvents))
	}
}

// takeFrame hands a resumed frame record to the frame that continues it.
func (x *execution) takeFrame(id string) *frameRecord {
	x.mu.Lock()
	defer x.mu.Unlock()
	rec := x.frames[id]
	delete(x.frames, id)
	return rec
}

// takePending hands a resumed callback task to its frame.
func (x *execution) takePending(id, token string) *pendingTask {
	x.mu.Lock()
	defer x.mu.Unlock()
	p := x.pending[id]
	if p == nil || p.token != token {
		return nil
	}
	delete(x.pending, id)
	return p
}

// dropFramesUnder forgets resumed records and tokens of the children of a
// Parallel or Map that has finished: they will not run again.
func (x *execution) dropFramesUnder(prefix string) {
	x.mu.Lock()
	var drop []*pendingTask
	for id, p := range x.pending {
		if strings.HasPrefix(id, prefix) {
			drop = append(drop, p)
			delete(x.pending, id)
		}
	}
	for id := range x.frames {
		if strings.HasPrefix(id, prefix) {
			delete(x.frames, id)
		}
	}
	x.mu.Unlock()
	for _, p := range drop {
		x.rt.abandon(p)
	}
}

func (x *execution) noteWritten(id string) {
	x.mu.Lock()
	x.written[id] = true
	x.mu.Unlock()
}

// contextObject builds the context object ($$) for a state.
func (x *execution) contextObject(f *frame, s *state, token string, item *mapItem) any {
	c := map[string]any{
		"Execution": map[string]any{
			"Id":           x.arn,
			"Input":        x.input,
			"Name":         x.name,
			"RoleArn":      roleArn,
			"StartTime":    x.started,
			"RedriveCount": json.Number("0"),
		},
		"State": map[string]any{
			"EnteredTime": formatTime(f.pos.Entered),
			"Name":        s.name,
			"RetryCount":  intNumber(int64(f.pos.RetryCount)),
		},
		"StateMachine": map[string]any{
			"Id":   x.smArn,
			"Name": x.smName,
		},
	}
	if token != "" {
		c["Task"] = map[string]any{"Token": token}
	}
	if item != nil {
		c["Map"] = map[string]any{"Item": map[string]any{"Index": intNumber(int64(item.index)), "Value": item.value}}
	}
	return c
}

type mapItem struct {
	index int
	value any
}
