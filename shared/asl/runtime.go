package asl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// Function is a local stand-in for a Lambda function. Its error, if any, is
// named the way aws-lambda-go names it (the dynamic type's name, without the
// pointer), so Retry and Catch match the same names in the cloud and here.
type Function func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// Options configures a Runtime.
type Options struct {
	// Journal persists executions; required.
	Journal Journal
	// Functions are the Lambda stand-ins by function name. A Lambda ARN
	// arn:aws:lambda:REGION:ACCOUNT:function:NAME resolves by NAME.
	Functions map[string]Function
	// Logger receives execution lifecycle and journal problems; optional.
	Logger *slog.Logger
	// MaxHistoryEvents caps an execution's history, as Step Functions
	// Standard does (default 25000); an execution exceeding it fails with
	// States.Runtime.
	MaxHistoryEvents int
	// Now is the clock; default time.Now. It dates executions and states
	// and computes deadlines, so a replacement must advance.
	Now func() time.Time
	// Ended, if set, is told of every execution that ends, once its final
	// record is written, with the state transitions it made in this
	// runtime (since it was resumed, for one a restart brought back).
	Ended func(ExecutionEnd)
}

// ExecutionEnd describes an execution that ended.
type ExecutionEnd struct {
	Arn, Name   string
	Status      ExecutionStatus
	Input       json.RawMessage
	Transitions int64
}

// DefaultMaxHistoryEvents is the history limit of Step Functions Standard.
const DefaultMaxHistoryEvents = 25000

// Local ARN parts.
const (
	arnPrefix     = "arn:aws:states:local:000000000000:"
	roleArn       = "arn:aws:iam::000000000000:role/asl-local"
	lambdaArnBase = "arn:aws:lambda:local:000000000000:function:"
)

// ExecutionStatus is an execution's status as Step Functions reports it.
type ExecutionStatus string

// Execution statuses.
const (
	StatusRunning   ExecutionStatus = "RUNNING"
	StatusSucceeded ExecutionStatus = "SUCCEEDED"
	StatusFailed    ExecutionStatus = "FAILED"
	StatusTimedOut  ExecutionStatus = "TIMED_OUT"
	StatusAborted   ExecutionStatus = "ABORTED"
)

// ExecutionDescription mirrors the DescribeExecution response.
type ExecutionDescription struct {
	ExecutionArn      string
	StateMachineArn   string
	Name              string
	Status            ExecutionStatus
	Input             json.RawMessage
	Output            json.RawMessage // set when SUCCEEDED
	Error             string          // set when FAILED, TIMED_OUT or ABORTED
	Cause             string
	StartDate         time.Time
	StopDate          time.Time // zero while RUNNING
	HistoryEventCount int
}

// StateTransitions returns how many states this runtime has entered, over
// all executions: what Step Functions would bill as state transitions.
func (r *Runtime) StateTransitions() int64 { return r.transitions.Load() }

// Runtime runs state machine executions durably: every execution's position
// is kept in the Journal, so a new Runtime on the same Journal resumes them.
type Runtime struct {
	// transitions counts states entered, what Step Functions bills as
	// state transitions.
	transitions atomic.Int64

	journal   Journal
	ended     func(ExecutionEnd)
	functions map[string]Function
	log       *slog.Logger
	now       func() time.Time
	maxEvents int64
	// scale multiplies every duration a definition specifies (Wait seconds,
	// retry intervals, timeouts); 1 except in tests.
	scale float64

	startMu sync.Mutex // serialises StartExecution's check-then-create

	mu       sync.Mutex
	machines map[string]*machine      // by name
	defs     map[string]*StateMachine // by definition hash
	active   map[string]*execution    // loaded executions by ARN
	tokens   map[string]*pendingTask  // waiting callback tasks by token
	starting bool                     // Start was called
	started  bool                     // Start has loaded the journal
	closed   bool

	ctx    context.Context // cancelled by Close
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
}

type machine struct {
	name    string
	arn     string
	hash    string
	sm      *StateMachine
	created time.Time
}

// errRuntimeClosed is the cancellation cause when Close stops executions,
// which must then leave the journal as it is.
var errRuntimeClosed = errors.New("runtime closed")

// New returns a Runtime. Call RegisterStateMachine for the machines it should
// know, then Start.
func New(opts Options) (*Runtime, error) {
	if opts.Journal == nil {
		return nil, errors.New("asl: Options.Journal is required")
	}
	r := &Runtime{
		journal:   opts.Journal,
		ended:     opts.Ended,
		functions: maps.Clone(opts.Functions),
		log:       opts.Logger,
		now:       opts.Now,
		maxEvents: int64(opts.MaxHistoryEvents),
		scale:     1,
		machines:  map[string]*machine{},
		defs:      map[string]*StateMachine{},
		active:    map[string]*execution{},
		tokens:    map[string]*pendingTask{},
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.maxEvents <= 0 {
		r.maxEvents = DefaultMaxHistoryEvents
	}
	r.ctx, r.cancel = context.WithCancelCause(context.Background())
	return r, nil
}

// duration converts definition seconds to a duration.
func (r *Runtime) duration(seconds float64) time.Duration {
	return time.Duration(seconds * r.scale * float64(time.Second))
}

// StateMachineArn returns the local ARN of the state machine called name.
func StateMachineArn(name string) string { return arnPrefix + "stateMachine:" + name }

// ExecutionArn returns the local ARN of execution name of machine.
func ExecutionArn(machine, name string) string {
	return arnPrefix + "execution:" + machine + ":" + name
}

// machineNameOf accepts any state machine ARN (local or from a real account,
// as definitions written for the cloud contain) and returns its name.
func machineNameOf(arn string) (string, bool) {
	if !strings.HasPrefix(arn, "arn:") {
		return "", false
	}
	_, name, ok := strings.Cut(arn, ":stateMachine:")
	if !ok || name == "" {
		return "", false
	}
	name, _, _ = strings.Cut(name, ":") // drop a version or alias qualifier
	return name, true
}

// validName checks a state machine or execution name as Step Functions does.
func validName(name string) error {
	if name == "" || len([]rune(name)) > 80 {
		return &InvalidName{Name: name, Reason: "must be 1 to 80 characters"}
	}
	for _, c := range name {
		if unicode.IsSpace(c) || unicode.IsControl(c) || strings.ContainsRune("<>{}[]?*\"#%\\^|~`$&,;:/", c) {
			return &InvalidName{Name: name, Reason: fmt.Sprintf("must not contain %q", c)}
		}
	}
	return nil
}

// RegisterStateMachine validates a definition and makes it available under
// name, replacing an earlier definition of the same name for executions
// started from now on (running executions keep the definition they started
// with). A definition that names a function the Runtime does not have is
// rejected.
func (r *Runtime) RegisterStateMachine(name string, definition []byte) (string, error) {
	if err := validName(name); err != nil {
		return "", fmt.Errorf("register state machine: %w", err)
	}
	sm, err := Parse(definition)
	if err != nil {
		return "", fmt.Errorf("register state machine %s: %w", name, err)
	}
	for _, fn := range sm.graph.functionNames() {
		if r.functions[fn] == nil {
			return "", fmt.Errorf("register state machine %s: function %q is not registered with the runtime", name, fn)
		}
	}
	sum := sha256.Sum256(definition)
	hash := hex.EncodeToString(sum[:])
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return "", ErrClosed
	}
	_, known := r.defs[hash]
	r.mu.Unlock()
	if !known {
		if err := r.journal.Put(r.ctx, definitionKey(hash), definition); err != nil {
			return "", fmt.Errorf("register state machine %s: journal put definition: %w", name, err)
		}
	}
	m := &machine{name: name, arn: StateMachineArn(name), hash: hash, sm: sm, created: r.now().UTC()}
	if err := putJSON(r.ctx, r.journal, machineKey(name), machineRecord{Name: name, DefinitionHash: hash, CreationDate: m.created}); err != nil {
		return "", fmt.Errorf("register state machine %s: %w", name, err)
	}
	r.mu.Lock()
	r.defs[hash] = sm
	r.machines[name] = m
	r.mu.Unlock()
	return m.arn, nil
}

// Start loads the state machines and executions in the journal, resumes
// every execution that was running, and returns; executions keep running
// until they end or Close is called. Wait states and retry back-offs keep
// their original deadlines, callback tasks keep their tokens, and a task that
// was being invoked is invoked again.
//
// StartExecution fails with ErrNotStarted until Start has loaded the
// journal. A Start that fails leaves the Runtime unusable: Close it and
// create another. Only one Runtime may use a Journal at a time.
func (r *Runtime) Start(ctx context.Context) error {
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return ErrClosed
	case r.starting:
		r.mu.Unlock()
		return errors.New("asl: runtime already started")
	}
	// New executions wait for started, set once the journal is loaded, so
	// that none can slip between the scans below.
	r.starting = true
	r.mu.Unlock()

	if err := r.loadMachines(ctx); err != nil {
		return fmt.Errorf("start runtime: %w", err)
	}
	running := map[string]*executionRecord{}
	err := r.journal.Scan(ctx, keyExecutionPrefix, func(key string, value []byte) error {
		var rec executionRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		if rec.Status == StatusRunning {
			running[rec.Arn] = &rec
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("start runtime: scan executions: %w", err)
	}
	frames := map[string]map[string]*frameRecord{}
	var stale []string
	err = r.journal.Scan(ctx, keyFramePrefix, func(key string, value []byte) error {
		rest := strings.TrimPrefix(key, keyFramePrefix)
		execArn, id, ok := strings.Cut(rest, "/")
		if !ok || running[execArn] == nil {
			stale = append(stale, key)
			return nil
		}
		var rec frameRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		if frames[execArn] == nil {
			frames[execArn] = map[string]*frameRecord{}
		}
		frames[execArn][id] = &rec
		return nil
	})
	if err != nil {
		return fmt.Errorf("start runtime: scan frames: %w", err)
	}
	var resumed []*execution
	for _, arn := range slices.Sorted(maps.Keys(running)) {
		rec := running[arn]
		sm, err := r.definition(ctx, rec.DefinitionHash)
		if err != nil {
			r.log.Error("cannot resume execution", "execution", arn, "err", err)
			continue
		}
		live := liveFrames(frames[arn])
		for id := range frames[arn] {
			if live[id] == nil {
				stale = append(stale, frameKey(arn, id))
			}
		}
		x, err := r.newExecution(rec, sm, live)
		if err != nil {
			r.log.Error("cannot resume execution", "execution", arn, "err", err)
			continue
		}
		resumed = append(resumed, x)
	}
	for _, key := range stale {
		if err := r.journal.Delete(ctx, key); err != nil {
			r.log.Warn("cannot delete stale frame", "key", key, "err", err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.started = true
	for _, x := range resumed {
		r.active[x.arn] = x
		x.registerResumedTokens()
		r.launch(x)
	}
	if len(resumed) > 0 {
		r.log.Info("resumed executions", "count", len(resumed))
	}
	return nil
}

func (r *Runtime) loadMachines(ctx context.Context) error {
	var recs []machineRecord
	err := r.journal.Scan(ctx, keyMachinePrefix, func(key string, value []byte) error {
		var rec machineRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
		recs = append(recs, rec)
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan state machines: %w", err)
	}
	for _, rec := range recs {
		r.mu.Lock()
		_, registered := r.machines[rec.Name]
		r.mu.Unlock()
		if registered {
			continue // registered by this process: newer than the journal
		}
		sm, err := r.definition(ctx, rec.DefinitionHash)
		if err != nil {
			r.log.Error("cannot load state machine", "name", rec.Name, "err", err)
			continue
		}
		r.mu.Lock()
		if _, registered := r.machines[rec.Name]; !registered {
			r.machines[rec.Name] = &machine{name: rec.Name, arn: StateMachineArn(rec.Name), hash: rec.DefinitionHash, sm: sm, created: rec.CreationDate}
		}
		r.mu.Unlock()
	}
	return nil
}

// definition returns the parsed definition with the given hash, loading it
// from the journal if needed.
func (r *Runtime) definition(ctx context.Context, hash string) (*StateMachine, error) {
	r.mu.Lock()
	sm := r.defs[hash]
	r.mu.Unlock()
	if sm != nil {
		return sm, nil
	}
	b, found, err := r.journal.Get(ctx, definitionKey(hash))
	if err != nil {
		return nil, fmt.Errorf("journal get definition %s: %w", hash, err)
	}
	if !found {
		return nil, fmt.Errorf("definition %s is missing from the journal", hash)
	}
	if sm, err = Parse(b); err != nil {
		return nil, fmt.Errorf("definition %s: %w", hash, err)
	}
	r.mu.Lock()
	r.defs[hash] = sm
	r.mu.Unlock()
	return sm, nil
}

// launch runs x in its own goroutine; r.mu is held.
func (r *Runtime) launch(x *execution) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		x.run()
	}()
}

// Close stops every execution's goroutine and waits for them. Executions are
// not marked failed: a Runtime started later on the same Journal resumes
// them. Close is idempotent.
func (r *Runtime) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel(errRuntimeClosed)
	r.wg.Wait()
	return nil
}

func (r *Runtime) checkOpen() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return ErrClosed
	case !r.started:
		return ErrNotStarted
	}
	return nil
}

// StartExecution starts an execution of the state machine and returns its
// ARN. As in Step Functions, calling it again with the name and input of a
// running execution returns that execution's ARN, while a different input,
// or an execution that has ended, yields *ExecutionAlreadyExists. An empty
// name gets a UUID; an empty input is "{}".
func (r *Runtime) StartExecution(ctx context.Context, stateMachineArn, name string, input json.RawMessage) (string, error) {
	arn, err := r.startExecution(ctx, stateMachineArn, name, input, false)
	if err != nil {
		return "", fmt.Errorf("start execution %q of %s: %w", name, stateMachineArn, err)
	}
	return arn, nil
}

// startExecution implements StartExecution; reuseEnded also returns the ARN
// of an ended execution with the same input, which lets a resumed parent
// task find the child it started before a restart.
func (r *Runtime) startExecution(ctx context.Context, smArn, name string, input json.RawMessage, reuseEnded bool) (string, error) {
	if err := r.checkOpen(); err != nil {
		return "", err
	}
	mname, ok := machineNameOf(smArn)
	r.mu.Lock()
	m := r.machines[mname]
	r.mu.Unlock()
	if !ok || m == nil {
		return "", &StateMachineDoesNotExist{Arn: smArn}
	}
	if name == "" {
		name = newUUID()
	}
	if err := validName(name); err != nil {
		return "", err
	}
	if len(strings.TrimSpace(string(input))) == 0 {
		input = json.RawMessage("{}")
	}
	inputValue, err := decodeJSON(input)
	if err != nil {
		return "", &InvalidExecutionInput{Reason: err.Error()}
	}
	compact, _ := encodeJSON(inputValue)
	arn := ExecutionArn(m.name, name)

	r.startMu.Lock()
	defer r.startMu.Unlock()
	existing, err := r.describe(ctx, arn)
	var missing *ExecutionDoesNotExist
	switch {
	case errors.As(err, &missing):
	case err != nil:
		return "", err
	default:
		if !sameJSON(existing.Input, compact) || (existing.Status != StatusRunning && !reuseEnded) {
			return "", &ExecutionAlreadyExists{Arn: arn}
		}
		return arn, nil
	}
	rec := &executionRecord{
		Arn:             arn,
		Name:            name,
		StateMachineArn: m.arn,
		DefinitionHash:  m.hash,
		Status:          StatusRunning,
		Input:           compact,
		StartDate:       r.now().UTC(),
		Events:          1, // ExecutionStarted
	}
	if err := putJSON(ctx, r.journal, executionKey(arn), rec); err != nil {
		return "", err
	}
	x, err := r.newExecution(rec, m.sm, nil)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return arn, nil // resumes on the next Start
	}
	r.active[arn] = x
	r.launch(x)
	r.log.Debug("execution started", "execution", arn)
	return arn, nil
}

func sameJSON(a, b json.RawMessage) bool {
	va, err1 := decodeJSON(a)
	vb, err2 := decodeJSON(b)
	return err1 == nil && err2 == nil && jsonEqual(va, vb)
}

// StopExecution stops a running execution: it becomes ABORTED with the given
// error and cause, its running tasks are cancelled and its task tokens stop
// working. Stopping an execution that has ended does nothing.
func (r *Runtime) StopExecution(ctx context.Context, executionArn, errorName, cause string) error {
	r.mu.Lock()
	x := r.active[executionArn]
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return fmt.Errorf("stop execution %s: %w", executionArn, ErrClosed)
	}
	if x == nil {
		if _, err := r.describe(ctx, executionArn); err != nil {
			return fmt.Errorf("stop execution %s: %w", executionArn, err)
		}
		return nil
	}
	x.finish(StatusAborted, nil, &Error{Name: errorName, Cause: cause})
	return nil
}

// DescribeExecution reports an execution's status, input and result.
func (r *Runtime) DescribeExecution(ctx context.Context, executionArn string) (ExecutionDescription, error) {
	d, err := r.describe(ctx, executionArn)
	if err != nil {
		return ExecutionDescription{}, fmt.Errorf("describe execution %s: %w", executionArn, err)
	}
	return d, nil
}

func (r *Runtime) describe(ctx context.Context, arn string) (ExecutionDescription, error) {
	r.mu.Lock()
	x := r.active[arn]
	r.mu.Unlock()
	if x != nil {
		return x.describe(), nil
	}
	var rec executionRecord
	found, err := getJSON(ctx, r.journal, executionKey(arn), &rec)
	if err != nil {
		return ExecutionDescription{}, err
	}
	if !found {
		return ExecutionDescription{}, &ExecutionDoesNotExist{Arn: arn}
	}
	return rec.description(), nil
}

func (rec *executionRecord) description() ExecutionDescription {
	return ExecutionDescription{
		ExecutionArn:      rec.Arn,
		StateMachineArn:   rec.StateMachineArn,
		Name:              rec.Name,
		Status:            rec.Status,
		Input:             rec.Input,
		Output:            rec.Output,
		Error:             rec.Error,
		Cause:             rec.Cause,
		StartDate:         rec.StartDate,
		StopDate:          rec.StopDate,
		HistoryEventCount: int(rec.Events),
	}
}

// Wait blocks until the execution ends (or ctx is done) and describes it.
func (r *Runtime) Wait(ctx context.Context, executionArn string) (ExecutionDescription, error) {
	r.mu.Lock()
	x := r.active[executionArn]
	started, closed := r.started, r.closed
	r.mu.Unlock()
	if x != nil {
		select {
		case <-x.done:
		case <-ctx.Done():
			return ExecutionDescription{}, fmt.Errorf("wait for execution %s: %w", executionArn, ctx.Err())
		case <-r.ctx.Done():
			return ExecutionDescription{}, fmt.Errorf("wait for execution %s: %w", executionArn, ErrClosed)
		}
	}
	d, err := r.DescribeExecution(ctx, executionArn)
	if err != nil {
		return d, err
	}
	if d.Status == StatusRunning {
		switch {
		case closed:
			return d, fmt.Errorf("wait for execution %s: %w", executionArn, ErrClosed)
		case !started:
			return d, fmt.Errorf("wait for execution %s: %w", executionArn, ErrNotStarted)
		}
	}
	return d, nil
}

// formatTime renders a timestamp as Step Functions does in the context
// object: UTC with milliseconds.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
