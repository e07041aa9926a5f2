package asl

import (
	"slices"
	"time"
)

// StateMachine is a parsed and validated state machine definition. It is
// immutable and may be shared by any number of executions.
type StateMachine struct {
	comment        string
	timeoutSeconds int64
	graph          *graph
	definition     []byte
}

// Comment returns the definition's top-level Comment.
func (m *StateMachine) Comment() string { return m.comment }

// StartAt returns the name of the first state.
func (m *StateMachine) StartAt() string { return m.graph.startAt }

// StateNames returns the names of the top-level states, sorted.
func (m *StateMachine) StateNames() []string { return slices.Clone(m.graph.order) }

// Definition returns the definition text the machine was parsed from.
func (m *StateMachine) Definition() []byte { return slices.Clone(m.definition) }

// graph is a set of states with a start: the machine itself, a Parallel
// branch or a Map iterator. Transitions never leave a graph.
type graph struct {
	startAt string
	states  map[string]*state
	order   []string // state names, sorted
}

// State types.
const (
	typePass     = "Pass"
	typeTask     = "Task"
	typeChoice   = "Choice"
	typeWait     = "Wait"
	typeSucceed  = "Succeed"
	typeFail     = "Fail"
	typeParallel = "Parallel"
	typeMap      = "Map"
)

// optPath is InputPath, OutputPath or ResultPath: absent means "$", null
// means "discard" (an empty object for InputPath/OutputPath, the unchanged
// input for ResultPath).
type optPath struct {
	null bool
	path *jsonPath // nil when absent or null
}

// state is one parsed state; which fields are meaningful depends on typ.
type state struct {
	name string
	typ  string
	next string
	end  bool

	inputPath, outputPath, resultPath optPath
	parameters, resultSelector        *template
	result                            any
	hasResult                         bool

	// Task
	resource             *resource
	timeoutSeconds       int64 // 0: none
	timeoutSecondsPath   *jsonPath
	heartbeatSeconds     int64 // 0: none
	heartbeatSecondsPath *jsonPath

	// Task, Parallel, Map
	retry []*retrier
	catch []*catcher

	// Choice
	choices     []*choiceRule
	defaultNext string

	// Wait
	seconds       *int64
	secondsPath   *jsonPath
	timestamp     *time.Time
	timestampPath *jsonPath

	// Fail
	errorName, cause     string
	errorPath, causePath *dynString

	// Parallel
	branches []*graph

	// Map
	iterator         *graph
	itemsPath        *jsonPath
	itemSelector     *template
	maxConcurrency   int
	toleratedCount   *int64
	toleratedPercent *float64
}

// retrier is one entry of a Retry field.
type retrier struct {
	errorEquals []string
	interval    float64 // seconds
	maxAttempts int
	backoff     float64
	maxDelay    float64 // seconds; 0: unbounded
	jitter      bool    // JitterStrategy FULL
}

// catcher is one entry of a Catch field.
type catcher struct {
	errorEquals []string
	next        string
	resultPath  optPath
}

func matchesAny(e *Error, names []string) bool {
	for _, n := range names {
		if e.matches(n) {
			return true
		}
	}
	return false
}

// transitions lists every state s may move to.
func (s *state) transitions() []string {
	var out []string
	if s.next != "" {
		out = append(out, s.next)
	}
	for _, c := range s.choices {
		out = append(out, c.nexts()...)
	}
	if s.defaultNext != "" {
		out = append(out, s.defaultNext)
	}
	for _, c := range s.catch {
		out = append(out, c.next)
	}
	return out
}

// functionNames lists the functions the machine names statically, so that
// registration can reject a typo before any execution runs.
func (g *graph) functionNames() []string {
	var out []string
	for _, name := range g.order {
		s := g.states[name]
		if s.resource != nil {
			if fn := s.resource.staticFunction(); fn != "" {
				out = append(out, fn)
			}
		}
		for _, b := range s.branches {
			out = append(out, b.functionNames()...)
		}
		if s.iterator != nil {
			out = append(out, s.iterator.functionNames()...)
		}
	}
	return out
}
