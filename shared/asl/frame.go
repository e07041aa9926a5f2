package asl

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// A frame interprets one graph: the execution's top-level states, or one
// Parallel branch or Map iteration. It keeps its position in memory and
// writes it to the journal only at durable points: before a task is
// invoked, when a Wait or retry back-off starts, when a Parallel or Map
// starts its children, when a callback outcome arrives, and when a child
// frame ends. Pass and Choice states (and the input/output processing of
// every state) are deterministic, so after a crash they are simply replayed
// from the last durable point.
type frame struct {
	x       *execution
	id      string
	g       *graph
	input   any // the frame's input when it starts fresh
	pos     position
	dirty   bool  // pos has changed since it was last written
	loadErr error // the resumed record could not be decoded
}

// position is the in-memory form of a frameRecord.
type position struct {
	State        string
	Input        any
	Entered      time.Time
	EnteredEvent int64
	Retries      []int
	RetryCount   int
	NotBefore    time.Time
	Seq, Gen     int
	Token        string
	Waiting      bool
	TaskStarted  time.Time
	Outcome      *outcomeRecord
	Done, Failed bool
	Output       any
	Error, Cause string
}

func (x *execution) newFrame(id string, g *graph, input any) *frame {
	f := &frame{x: x, id: id, g: g, input: input}
	if rec := x.takeFrame(id); rec != nil {
		f.pos, f.loadErr = positionFrom(rec)
	}
	return f
}

func positionFrom(rec *frameRecord) (position, error) {
	p := position{
		State: rec.State, Entered: rec.Entered, EnteredEvent: rec.EnteredEvent,
		Retries: rec.Retries, RetryCount: rec.RetryCount, NotBefore: rec.NotBefore,
		Seq: rec.Seq, Gen: rec.Gen, Token: rec.Token, Waiting: rec.Waiting,
		TaskStarted: rec.TaskStarted, Outcome: rec.Outcome,
		Done: rec.Done, Failed: rec.Failed, Error: rec.Error, Cause: rec.Cause,
	}
	var err error
	if len(rec.Input) > 0 {
		if p.Input, err = decodeJSON(rec.Input); err != nil {
			return p, fmt.Errorf("decode frame input: %w", err)
		}
	}
	if len(rec.Output) > 0 {
		if p.Output, err = decodeJSON(rec.Output); err != nil {
			return p, fmt.Errorf("decode frame output: %w", err)
		}
	}
	return p, nil
}

func (p *position) record(events int64) (*frameRecord, error) {
	rec := &frameRecord{
		State: p.State, Entered: p.Entered, EnteredEvent: p.EnteredEvent,
		Retries: p.Retries, RetryCount: p.RetryCount, NotBefore: p.NotBefore,
		Seq: p.Seq, Gen: p.Gen, Token: p.Token, Waiting: p.Waiting,
		TaskStarted: p.TaskStarted, Outcome: p.Outcome,
		Done: p.Done, Failed: p.Failed, Error: p.Error, Cause: p.Cause,
		Events: events,
	}
	var err error
	if p.State != "" {
		if rec.Input, err = encodeJSON(p.Input); err != nil {
			return nil, err
		}
	}
	if p.Done && !p.Failed {
		if rec.Output, err = encodeJSON(p.Output); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// persist writes the position if it changed.
func (f *frame) persist(ctx context.Context) error {
	if !f.dirty {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rec, err := f.pos.record(f.x.events.Load())
	if err != nil {
		return fmt.Errorf("frame %s: encode position: %w", f.id, err)
	}
	f.x.noteWritten(f.id)
	if err := putJSON(ctx, f.x.rt.journal, frameKey(f.x.arn, f.id), rec); err != nil {
		return err
	}
	f.dirty = false
	return nil
}

// enter moves the frame to a state.
func (f *frame) enter(name string, input any) {
	f.pos = position{
		State:        name,
		Input:        input,
		Entered:      f.x.rt.now().UTC(),
		EnteredEvent: f.x.events.Load() + 1,
		Seq:          f.pos.Seq,
	}
	f.dirty = true
	f.x.addEvents(1) // <Type>StateEntered
	f.x.rt.transitions.Add(1)
	f.x.transitions.Add(1)
}

// run interprets states until the graph ends, returning its output or the
// error it failed with (an *Error), or the context's error if cancelled.
func (f *frame) run(ctx context.Context) (any, error) {
	if f.loadErr != nil {
		return nil, runtimeError("cannot resume frame %s: %v", f.id, f.loadErr)
	}
	if f.pos.Done {
		if f.pos.Failed {
			return nil, &Error{Name: f.pos.Error, Cause: f.pos.Cause}
		}
		return f.pos.Output, nil
	}
	if f.pos.State == "" {
		f.enter(f.g.startAt, f.input)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := f.g.states[f.pos.State]
		if s == nil {
			return nil, runtimeError("frame %s is at unknown state %q", f.id, f.pos.State)
		}
		next, out, err := f.step(ctx, s)
		if err != nil {
			return nil, f.describeRuntimeError(s, err)
		}
		if next == "" {
			return out, nil
		}
		f.enter(next, out)
	}
}

const runtimeErrorPrefix = "An error occurred while executing the state '"

// describeRuntimeError prefixes a States.Runtime cause with the state, as
// Step Functions does.
func (f *frame) describeRuntimeError(s *state, err error) error {
	se, ok := asStatesError(err)
	if !ok || se.Name != ErrorRuntime || strings.HasPrefix(se.Cause, runtimeErrorPrefix) {
		return err
	}
	return &Error{Name: se.Name, Cause: fmt.Sprintf("%s%s' (entered at the event id #%d). %s", runtimeErrorPrefix, s.name, f.pos.EnteredEvent, se.Cause)}
}

// runChild runs a Parallel branch or Map iteration to its end and records
// the outcome, so a resumed parent collects it without running it again.
func (f *frame) runChild(ctx context.Context) (any, error) {
	if f.pos.Done && f.loadErr == nil {
		return f.run(ctx)
	}
	out, err := f.run(ctx)
	seq := f.pos.Seq
	if err != nil {
		se, ok := asStatesError(err)
		if !ok || ctx.Err() != nil {
			return nil, err
		}
		f.pos = position{Done: true, Failed: true, Error: se.Name, Cause: se.Cause, Seq: seq}
	} else {
		f.pos = position{Done: true, Output: out, Seq: seq}
	}
	f.dirty = true
	if perr := f.persist(ctx); perr != nil {
		return nil, perr
	}
	return out, err
}

func (f *frame) step(ctx context.Context, s *state) (string, any, error) {
	switch s.typ {
	case typePass:
		return f.pass(s)
	case typeChoice:
		return f.choice(s)
	case typeWait:
		return f.wait(ctx, s)
	case typeSucceed:
		eff, err := f.selectPath(s, s.inputPath, f.pos.Input, "InputPath")
		if err != nil {
			return "", nil, err
		}
		out, err := f.selectPath(s, s.outputPath, eff, "OutputPath")
		f.x.addEvents(1) // SucceedStateExited
		return "", out, err
	case typeFail:
		return "", nil, f.fail(s)
	case typeTask:
		return f.withRetry(ctx, s, f.taskAttempt)
	case typeParallel:
		return f.withRetry(ctx, s, f.parallelAttempt)
	case typeMap:
		return f.withRetry(ctx, s, f.mapAttempt)
	}
	return "", nil, runtimeError("unknown state type %q", s.typ)
}

// env builds the evaluation environment of a state: input is what "$"
// selects from; the context object is built only if a path asks for it.
func (f *frame) env(s *state, input any, token string, item *mapItem) *evalEnv {
	var ctxObj any
	return &evalEnv{
		input: input,
		context: func() any {
			if ctxObj == nil {
				ctxObj = f.x.contextObject(f, s, token, item)
			}
			return ctxObj
		},
	}
}

// selectPath applies InputPath or OutputPath.
func (f *frame) selectPath(s *state, p optPath, v any, field string) (any, error) {
	if p.null {
		return map[string]any{}, nil
	}
	if p.path == nil {
		return v, nil
	}
	out, ok := f.env(s, v, "", nil).resolve(p.path)
	if !ok {
		return nil, runtimeError("Invalid path '%s' : No results for path: %s (applying %s to %s)", p.path.text, p.path.text, field, mustJSON(v))
	}
	return out, nil
}

// applyResultPath places a result into the state's raw input.
func applyResultPath(p optPath, raw, result any) (any, error) {
	if p.null {
		return raw, nil
	}
	if p.path == nil {
		return result, nil
	}
	out, err := p.path.set(raw, result)
	if err != nil {
		return nil, newError(ErrorResultPathMatchFailure, "Unable to apply ResultPath '%s' to input '%s': %v", p.path.text, mustJSON(raw), err)
	}
	return out, nil
}

// effectiveInput applies InputPath and Parameters.
func (f *frame) effectiveInput(s *state, raw any, token string) (any, error) {
	eff, err := f.selectPath(s, s.inputPath, raw, "InputPath")
	if err != nil || s.parameters == nil {
		return eff, err
	}
	return s.parameters.eval(f.env(s, eff, token, nil))
}

// output applies ResultSelector, ResultPath and OutputPath to a result.
func (f *frame) output(s *state, raw, result any) (any, error) {
	if s.resultSelector != nil {
		var err error
		if result, err = s.resultSelector.eval(f.env(s, result, "", nil)); err != nil {
			return nil, err
		}
	}
	merged, err := applyResultPath(s.resultPath, raw, result)
	if err != nil {
		return nil, err
	}
	return f.selectPath(s, s.outputPath, merged, "OutputPath")
}

func (f *frame) pass(s *state) (string, any, error) {
	raw := f.pos.Input
	eff, err := f.effectiveInput(s, raw, "")
	if err != nil {
		return "", nil, err
	}
	result := eff
	if s.hasResult {
		result = s.result
	}
	merged, err := applyResultPath(s.resultPath, raw, result)
	if err != nil {
		return "", nil, err
	}
	out, err := f.selectPath(s, s.outputPath, merged, "OutputPath")
	f.x.addEvents(1) // PassStateExited
	return s.next, out, err
}

func (f *frame) choice(s *state) (string, any, error) {
	eff, err := f.selectPath(s, s.inputPath, f.pos.Input, "InputPath")
	if err != nil {
		return "", nil, err
	}
	env := f.env(s, eff, "", nil)
	next := ""
	for _, rule := range s.choices {
		ok, err := rule.eval(env)
		if err != nil {
			return "", nil, err
		}
		if ok {
			next = rule.next
			break
		}
	}
	if next == "" {
		if s.defaultNext == "" {
			return "", nil, newError(ErrorNoChoiceMatched, "No Matches! The Choice state %q matched no rule and has no Default.", s.name)
		}
		next = s.defaultNext
	}
	out, err := f.selectPath(s, s.outputPath, eff, "OutputPath")
	f.x.addEvents(1) // ChoiceStateExited
	return next, out, err
}

func (f *frame) wait(ctx context.Context, s *state) (string, any, error) {
	eff, err := f.selectPath(s, s.inputPath, f.pos.Input, "InputPath")
	if err != nil {
		return "", nil, err
	}
	if f.pos.NotBefore.IsZero() {
		now := f.x.rt.now()
		deadline, err := s.waitDeadline(f.env(s, eff, "", nil), now, f.x.rt.duration)
		if err != nil {
			return "", nil, err
		}
		f.pos.NotBefore = deadline
		f.dirty = true
		if deadline.After(now) {
			// The deadline must survive a restart.
			if err := f.persist(ctx); err != nil {
				return "", nil, err
			}
		}
	}
	if err := f.sleepUntil(ctx, f.pos.NotBefore); err != nil {
		return "", nil, err
	}
	out, err := f.selectPath(s, s.outputPath, eff, "OutputPath")
	f.x.addEvents(1) // WaitStateExited
	return s.next, out, err
}

func (f *frame) fail(s *state) error {
	se := &Error{Name: s.errorName, Cause: s.cause}
	env := f.env(s, f.pos.Input, "", nil)
	var err error
	if s.errorPath != nil {
		if se.Name, err = s.errorPath.eval(env); err != nil {
			return err
		}
	}
	if s.causePath != nil {
		if se.Cause, err = s.causePath.eval(env); err != nil {
			return err
		}
	}
	return se
}

func (f *frame) sleepUntil(ctx context.Context, t time.Time) error {
	d := t.Sub(f.x.rt.now())
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attemptFunc runs one attempt of a Task, Parallel or Map state and returns
// its raw result.
type attemptFunc func(ctx context.Context, s *state) (any, error)

// withRetry runs attempts of a state under its Retry and Catch policies.
func (f *frame) withRetry(ctx context.Context, s *state, attempt attemptFunc) (string, any, error) {
	raw := f.pos.Input
	for {
		if err := f.sleepUntil(ctx, f.pos.NotBefore); err != nil {
			return "", nil, err
		}
		result, err := attempt(ctx, s)
		if err == nil {
			var out any
			if out, err = f.output(s, raw, result); err == nil {
				f.x.addEvents(1) // <Type>StateExited
				return s.next, out, nil
			}
		}
		se, ok := asStatesError(err)
		if !ok || ctx.Err() != nil {
			return "", nil, err
		}
		if delay, retry := f.retryDelay(s, se); retry {
			f.pos.RetryCount++
			f.pos.NotBefore = f.x.rt.now().Add(delay)
			f.pos.Token, f.pos.Waiting, f.pos.Outcome = "", false, nil
			f.pos.TaskStarted = time.Time{}
			f.pos.Gen = 0
			f.dirty = true
			// The back-off deadline and retry counters must survive a
			// restart; this write is also the next attempt's durable point.
			if err := f.persist(ctx); err != nil {
				return "", nil, err
			}
			continue
		}
		for _, c := range s.catch {
			if !matchesAny(se, c.errorEquals) {
				continue
			}
			errorOutput := map[string]any{"Error": se.Name, "Cause": se.Cause}
			out, err := applyResultPath(c.resultPath, raw, errorOutput)
			if err != nil {
				return "", nil, err
			}
			f.x.addEvents(1) // <Type>StateExited
			return c.next, out, nil
		}
		return "", nil, se
	}
}

// maxRetryDelaySeconds bounds an exponential back-off (about 31 years).
const maxRetryDelaySeconds = 1e9

// retryDelay applies the first retrier whose ErrorEquals matches: it
// reports whether to retry and after how long. A retrier's attempts count
// across all errors it matches during this visit of the state.
func (f *frame) retryDelay(s *state, se *Error) (time.Duration, bool) {
	for i, r := range s.retry {
		if !matchesAny(se, r.errorEquals) {
			continue
		}
		for len(f.pos.Retries) < len(s.retry) {
			f.pos.Retries = append(f.pos.Retries, 0)
		}
		n := f.pos.Retries[i]
		if n >= r.maxAttempts {
			return 0, false
		}
		f.pos.Retries[i]++
		seconds := r.interval * math.Pow(r.backoff, float64(n))
		if r.maxDelay > 0 {
			seconds = min(seconds, r.maxDelay)
		}
		seconds = min(seconds, maxRetryDelaySeconds) // keep within time.Duration
		if r.jitter {
			seconds *= rand.Float64()
		}
		return f.x.rt.duration(seconds), true
	}
	return 0, false
}

// waitDeadline computes when a Wait state entered at now ends.
func (s *state) waitDeadline(env *evalEnv, now time.Time, scale func(float64) time.Duration) (time.Time, error) {
	switch {
	case s.seconds != nil:
		return now.Add(scale(float64(*s.seconds))), nil
	case s.timestamp != nil:
		return *s.timestamp, nil
	case s.secondsPath != nil:
		v, ok := env.resolve(s.secondsPath)
		if !ok {
			return time.Time{}, runtimeError("Invalid path '%s' : No results for path: %s", s.secondsPath.text, s.secondsPath.text)
		}
		n, ok := intValue(v)
		if !ok || n < 0 || n > 99999999 {
			return time.Time{}, runtimeError("The SecondsPath parameter does not reference a valid integer value: %s", mustJSON(v))
		}
		return now.Add(scale(float64(n))), nil
	default:
		v, ok := env.resolve(s.timestampPath)
		if !ok {
			return time.Time{}, runtimeError("Invalid path '%s' : No results for path: %s", s.timestampPath.text, s.timestampPath.text)
		}
		str, _ := v.(string)
		t, ok := parseTimestamp(str)
		if !ok {
			return time.Time{}, runtimeError("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s", mustJSON(v))
		}
		return t, nil
	}
}
