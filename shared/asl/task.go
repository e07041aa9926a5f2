package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// This file runs Task states: the Lambda integrations (lambda:invoke, plain
// function ARNs, .waitForTaskToken) and the Step Functions integration
// (states:startExecution, .sync, .sync:2, .waitForTaskToken).

// errTaskTimeout is the cancellation cause when TimeoutSeconds elapses.
var errTaskTimeout = errors.New("task timed out")

// taskAttempt runs one attempt of a Task state.
func (f *frame) taskAttempt(ctx context.Context, s *state) (any, error) {
	r := s.resource
	if r.pattern == patternCallback && f.pos.Token == "" {
		f.pos.Token = newToken(f.x.arn, f.id)
		f.dirty = true
	}
	resumed := !f.pos.TaskStarted.IsZero()
	if !resumed {
		f.pos.TaskStarted = f.x.rt.now().UTC()
		f.dirty = true
	}
	f.x.addEvents(2) // TaskScheduled, TaskStarted
	// The durable point: after a crash the task is invoked again with the
	// same token (at least once, as Lambda retries).
	if err := f.persist(ctx); err != nil {
		return nil, err
	}
	result, err := f.invokeTask(ctx, s)
	f.x.addEvents(1) // TaskSucceeded, TaskFailed or TaskTimedOut
	return result, err
}

func (f *frame) invokeTask(ctx context.Context, s *state) (any, error) {
	eff, err := f.effectiveInput(s, f.pos.Input, f.pos.Token)
	if err != nil {
		return nil, err
	}
	timeout, heartbeat, err := f.taskTimers(s)
	if err != nil {
		return nil, err
	}
	if s.resource.pattern == patternCallback {
		return f.callbackTask(ctx, s, eff, timeout, heartbeat)
	}
	tctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeoutCause(ctx, timeout, errTaskTimeout)
		defer cancel()
	}
	result, err := f.callResource(tctx, s, eff)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(tctx), errTaskTimeout) {
		return nil, timeoutError()
	}
	return result, err
}

func timeoutError() *Error {
	return &Error{Name: ErrorTimeout, Cause: "The task did not finish within TimeoutSeconds."}
}

// taskTimers resolves TimeoutSeconds(Path) and HeartbeatSeconds(Path)
// against the state input.
func (f *frame) taskTimers(s *state) (timeout, heartbeat time.Duration, err error) {
	seconds := func(static int64, path *jsonPath, field string) (time.Duration, error) {
		if path == nil {
			return f.x.rt.duration(float64(static)), nil
		}
		v, ok := f.env(s, f.pos.Input, "", nil).resolve(path)
		n, isInt := intValue(v)
		if !ok || !isInt || n < 1 {
			return 0, runtimeError("%s '%s' does not reference a positive integer in the input", field, path.text)
		}
		return f.x.rt.duration(float64(n)), nil
	}
	if timeout, err = seconds(s.timeoutSeconds, s.timeoutSecondsPath, "TimeoutSecondsPath"); err != nil {
		return 0, 0, err
	}
	heartbeat, err = seconds(s.heartbeatSeconds, s.heartbeatSecondsPath, "HeartbeatSecondsPath")
	return timeout, heartbeat, err
}

// callResource performs a request-response or .sync task.
func (f *frame) callResource(ctx context.Context, s *state, eff any) (any, error) {
	rt := f.x.rt
	switch s.resource.kind {
	case resourceLambdaFunction:
		payload, err := encodeJSON(eff)
		if err != nil {
			return nil, runtimeError("cannot encode the task input: %v", err)
		}
		out, err := rt.invoke(ctx, s.resource.function, payload)
		if err != nil {
			return nil, err
		}
		return functionOutput(out), nil
	case resourceLambdaInvoke:
		return f.lambdaInvoke(ctx, eff)
	}
	arn, started, err := f.startChild(ctx, s, eff)
	if err != nil {
		return nil, err
	}
	if s.resource.pattern == patternRequestResponse {
		return map[string]any{"ExecutionArn": arn, "StartDate": epochMillis(started)}, nil
	}
	d, err := rt.Wait(ctx, arn)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(context.Cause(ctx), errRuntimeClosed) {
			// The parent task was stopped, timed out or cancelled by a
			// failing sibling branch: the child stops too.
			_ = rt.StopExecution(context.WithoutCancel(ctx), arn, "", "the parent task was cancelled")
			return nil, ctx.Err()
		}
		return nil, err
	}
	result := childResult(d, s.resource.pattern == patternSync2)
	if d.Status != StatusSucceeded {
		return nil, &Error{Name: ErrorTaskFailed, Cause: mustJSON(result)}
	}
	return result, nil
}

// lambdaInvoke implements arn:aws:states:::lambda:invoke.
func (f *frame) lambdaInvoke(ctx context.Context, eff any) (any, error) {
	name, payload, async, err := lambdaParameters(eff)
	if err != nil {
		return nil, err
	}
	rt := f.x.rt
	if async {
		if rt.functions[name] == nil {
			return nil, functionNotFound(name)
		}
		// InvocationType Event: Lambda queues the call and answers 202.
		go func() { _, _ = rt.invoke(context.WithoutCancel(ctx), name, payload) }()
		return map[string]any{"Payload": "", "StatusCode": json.Number("202")}, nil
	}
	out, err := rt.invoke(ctx, name, payload)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"ExecutedVersion": "$LATEST",
		"Payload":         functionOutput(out),
		"StatusCode":      json.Number("200"),
	}, nil
}

// lambdaParameters reads FunctionName, Payload and InvocationType.
func lambdaParameters(eff any) (name string, payload []byte, async bool, err error) {
	params, _ := eff.(map[string]any)
	fn, ok := params["FunctionName"].(string)
	if !ok || fn == "" {
		return "", nil, false, runtimeError("lambda:invoke needs a string FunctionName, got %s", mustJSON(params["FunctionName"]))
	}
	payload = []byte("{}")
	if p, ok := params["Payload"]; ok {
		if payload, err = encodeJSON(p); err != nil {
			return "", nil, false, runtimeError("cannot encode the Payload: %v", err)
		}
	}
	async = params["InvocationType"] == "Event"
	return functionNameOf(fn), payload, async, nil
}

// functionOutput parses a function's output, which Step Functions expects
// to be JSON; anything else is passed on as a string.
func functionOutput(out json.RawMessage) any {
	if len(out) == 0 {
		return nil
	}
	v, err := decodeJSON(out)
	if err != nil {
		return string(out)
	}
	return v
}

func functionNotFound(name string) *Error {
	return newError("Lambda.ResourceNotFoundException", "Function not found: %s%s", lambdaArnBase, name)
}

// invoke calls a Function. A function that panics fails the task instead of
// the runtime; one that ignores its context is abandoned when the context
// ends (its goroutine finishes on its own).
func (r *Runtime) invoke(ctx context.Context, name string, payload []byte) (json.RawMessage, error) {
	fn := r.functions[name]
	if fn == nil {
		return nil, functionNotFound(name)
	}
	type result struct {
		out      json.RawMessage
		err      error
		panicked *Error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				// Named as aws-lambda-go names a panic: after the value's type.
				ch <- result{panicked: &Error{Name: errorTypeName(v), Cause: fmt.Sprint(v)}}
			}
		}()
		out, err := fn(ctx, json.RawMessage(payload))
		ch <- result{out: out, err: err}
	}()
	select {
	case res := <-ch:
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case res.panicked != nil:
			r.log.Warn("function panicked", "function", name, "panic", res.panicked.Cause)
			return nil, res.panicked
		case res.err != nil:
			name, cause := lambdaErrorName(res.err)
			return nil, &Error{Name: name, Cause: cause}
		}
		return res.out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// lambdaErrorName names a Function's error as aws-lambda-go does: an
// InvokeResponse_Error keeps its own Type and Message; any other error is
// named after its dynamic type, without the pointer.
func lambdaErrorName(err error) (name, cause string) {
	v := reflect.ValueOf(err)
	if t := v.Type(); t.Kind() == reflect.Struct && t.Name() == "InvokeResponse_Error" && t.PkgPath() == "github.com/aws/aws-lambda-go/lambda/messages" {
		typ, msg := v.FieldByName("Type"), v.FieldByName("Message")
		if typ.Kind() == reflect.String && msg.Kind() == reflect.String {
			return typ.String(), msg.String()
		}
	}
	name = errorTypeName(err)
	if name == "" {
		name = "Lambda.Unknown" // an unnamed type: nothing to match on
	}
	return name, err.Error()
}

// errorTypeName is aws-lambda-go's getErrorType.
func errorTypeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "Lambda.Unknown"
	}
	if t.Kind() == reflect.Pointer {
		return t.Elem().Name()
	}
	return t.Name()
}

// callbackTask invokes the resource of a .waitForTaskToken task (unless a
// previous run already did) and waits for the token's outcome.
func (f *frame) callbackTask(ctx context.Context, s *state, eff any, timeout, heartbeat time.Duration) (any, error) {
	rt := f.x.rt
	if o := f.pos.Outcome; o != nil {
		return o.result()
	}
	p := rt.pendingFor(f)
	defer rt.abandon(p)

	var invoked chan error
	ictx, cancelInvoke := context.WithCancel(ctx)
	defer cancelInvoke()
	if !f.pos.Waiting {
		invoked = make(chan error, 1)
		go func() { invoked <- f.startCallback(ictx, s, eff) }()
	}
	var timeoutC, heartbeatC <-chan time.Time
	if timeout > 0 {
		// The timeout runs from the original start, across restarts.
		t := time.NewTimer(max(f.pos.TaskStarted.Add(timeout).Sub(rt.now()), 0))
		defer t.Stop()
		timeoutC = t.C
	}
	var hb *time.Timer
	if heartbeat > 0 {
		hb = time.NewTimer(heartbeat)
		defer hb.Stop()
		heartbeatC = hb.C
	}
	for {
		select {
		case err := <-invoked:
			invoked = nil
			if err != nil {
				if rt.claim(p) {
					return nil, err
				}
				continue // an outcome is being delivered: it wins
			}
			f.pos.Waiting = true
			f.dirty = true
			if err := f.persist(ctx); err != nil {
				return nil, err
			}
		case d := <-p.outcome:
			f.pos.Outcome = &d.outcome
			f.pos.Waiting = true
			f.dirty = true
			err := f.persist(ctx)
			d.ack <- err
			if err != nil {
				return nil, err
			}
			return d.outcome.result()
		case <-p.beat:
			if hb != nil {
				hb.Reset(heartbeat)
			}
		case <-heartbeatC:
			heartbeatC = nil
			if rt.claim(p) {
				return nil, &Error{Name: ErrorHeartbeatTimeout, Cause: "No heartbeat was received within HeartbeatSeconds."}
			}
		case <-timeoutC:
			timeoutC = nil
			if rt.claim(p) {
				return nil, timeoutError()
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (o *outcomeRecord) result() (any, error) {
	if o.Failed {
		return nil, &Error{Name: o.Error, Cause: o.Cause}
	}
	return functionOutput(o.Output), nil
}

// startCallback hands the token out: it invokes the function or starts the
// child execution of a .waitForTaskToken task.
func (f *frame) startCallback(ctx context.Context, s *state, eff any) error {
	if s.resource.kind == resourceStartExecution {
		_, _, err := f.startChild(ctx, s, eff)
		return err
	}
	name, payload, _, err := lambdaParameters(eff)
	if err != nil {
		return err
	}
	_, err = f.x.rt.invoke(ctx, name, payload)
	return err
}

// startChild starts the child execution of a states:startExecution task.
// Without an explicit Name the child's name derives from this task attempt,
// so a task invoked again after a restart finds the child it started.
func (f *frame) startChild(ctx context.Context, s *state, eff any) (string, time.Time, error) {
	params, _ := eff.(map[string]any)
	smArn, ok := params["StateMachineArn"].(string)
	if !ok {
		return "", time.Time{}, runtimeError("states:startExecution needs a string StateMachineArn, got %s", mustJSON(params["StateMachineArn"]))
	}
	var input []byte
	switch in := params["Input"].(type) {
	case nil:
		input = []byte("{}")
	case string:
		input = []byte(in)
	default:
		input, _ = encodeJSON(in)
	}
	name, _ := params["Name"].(string)
	if name == "" {
		name = nameUUID(f.x.arn, f.id, s.name, fmt.Sprint(f.pos.Entered.UnixNano()), fmt.Sprint(f.pos.RetryCount))
	}
	rt := f.x.rt
	arn, err := rt.startExecution(ctx, smArn, name, input, true)
	if err != nil {
		return "", time.Time{}, stepFunctionsError(err)
	}
	d, err := rt.describe(ctx, arn)
	if err != nil {
		return "", time.Time{}, err
	}
	return arn, d.StartDate, nil
}

// stepFunctionsError names a StartExecution failure as the Step Functions
// integration reports it.
func stepFunctionsError(err error) error {
	var (
		noMachine *StateMachineDoesNotExist
		exists    *ExecutionAlreadyExists
		badName   *InvalidName
		badInput  *InvalidExecutionInput
	)
	switch {
	case errors.As(err, &noMachine):
		return newError("StepFunctions.StateMachineDoesNotExistException", "%v", err)
	case errors.As(err, &exists):
		return newError("StepFunctions.ExecutionAlreadyExistsException", "%v", err)
	case errors.As(err, &badName):
		return newError("StepFunctions.InvalidNameException", "%v", err)
	case errors.As(err, &badInput):
		return newError("StepFunctions.InvalidExecutionInputException", "%v", err)
	}
	return err
}

// childResult renders a finished child as the .sync integrations return
// it: DescribeExecution's fields, with Input and Output as JSON for .sync:2
// and as strings for .sync.
func childResult(d ExecutionDescription, asJSON bool) map[string]any {
	doc := func(raw json.RawMessage) any {
		if asJSON {
			return functionOutput(raw)
		}
		return string(raw)
	}
	out := map[string]any{
		"ExecutionArn":    d.ExecutionArn,
		"StateMachineArn": d.StateMachineArn,
		"Name":            d.Name,
		"Status":          string(d.Status),
		"StartDate":       epochMillis(d.StartDate),
		"StopDate":        epochMillis(d.StopDate),
		"Input":           doc(d.Input),
		"InputDetails":    map[string]any{"Included": true},
	}
	if d.Status == StatusSucceeded {
		out["Output"] = doc(d.Output)
		out["OutputDetails"] = map[string]any{"Included": true}
	} else {
		out["Error"] = d.Error
		out["Cause"] = d.Cause
	}
	return out
}

func epochMillis(t time.Time) json.Number { return intNumber(t.UnixMilli()) }
