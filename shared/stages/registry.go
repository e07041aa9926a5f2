package stages

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
)

// HTTPDoer sends HTTP requests; *http.Client is one.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// Registry holds the stage types and tasks a runtime knows. It is filled at
// start-up and only read afterwards.
type Registry struct {
	defs     map[string]Definition
	tasks    map[string]Task
	patchers []Patcher
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{defs: map[string]Definition{}, tasks: map[string]Task{}}
}

// Register adds a stage type and the tasks it plans. Registering a type or a
// task name twice is a programming error and panics.
func (r *Registry) Register(d Definition, tasks ...Task) {
	if _, dup := r.defs[d.Type()]; dup {
		panic(fmt.Sprintf("stages: stage type %q registered twice", d.Type()))
	}
	r.defs[d.Type()] = d
	for _, t := range tasks {
		r.RegisterTask(t)
	}
}

// RegisterTask adds a task shared by several stage types. Registering the
// same task value again is allowed; another task under the same name panics.
func (r *Registry) RegisterTask(t Task) {
	if prev, dup := r.tasks[t.Name()]; dup && prev != t {
		panic(fmt.Sprintf("stages: task %q registered twice", t.Name()))
	}
	r.tasks[t.Name()] = t
}

// RegisterPatcher adds a Patcher that stages of every type answer to, after
// their own definition's: execution windows hold stages of any type, and a
// user may skip the rest of one.
func (r *Registry) RegisterPatcher(p Patcher) {
	r.patchers = append(r.patchers, p)
}

// Patch decides a user's change to a running stage: the stage type's own
// Patcher first, then those every stage answers to. It returns the context
// fields to set, or the first refusal (a *PatchError).
func (r *Registry) Patch(s *model.StageExecution, patch map[string]any) (map[string]any, error) {
	var first error
	candidates := r.patchers
	if p, ok := r.defs[s.Type].(Patcher); ok {
		candidates = append([]Patcher{p}, r.patchers...)
	}
	for _, p := range candidates {
		fields, err := p.Patch(s, patch)
		if err == nil {
			return fields, nil
		}
		var pe *PatchError
		if !errors.As(err, &pe) {
			return nil, err
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = BadPatch("stage %q is a %s stage, which takes no changes while it runs", s.Name, s.Type)
	}
	return nil, first
}

// Definition returns the stage type, or an error naming it and the known ones.
func (r *Registry) Definition(typ string) (Definition, error) {
	d, ok := r.defs[typ]
	if !ok {
		return nil, fmt.Errorf("unknown stage type %q (known types: %s)", typ, strings.Join(r.StageTypes(), ", "))
	}
	return d, nil
}

// Configure decodes the stage's configuration into run.Config with its
// definition's Configurer, as a task call needs it. A stage type without a
// typed configuration, or of no registered type (a synthetic stage), leaves
// run.Config nil. The orchestrator calls it before every task call; so do
// tests that call a task directly.
func (r *Registry) Configure(run *Run) error {
	c, ok := r.defs[run.Stage.Type].(Configurer)
	if !ok {
		run.Config = nil
		return nil
	}
	cfg, err := c.Config(run.Stage)
	if err != nil {
		return fmt.Errorf("stage %q (%s): %w", run.Stage.Name, run.Stage.Type, err)
	}
	run.Config = cfg
	return nil
}

// Task returns the named task, or an error naming it.
func (r *Registry) Task(name string) (Task, error) {
	t, ok := r.tasks[name]
	if !ok {
		return nil, fmt.Errorf("unknown task %q", name)
	}
	return t, nil
}

// ValidateStage implements model.StageValidator.
func (r *Registry) ValidateStage(s *model.Stage) (bool, []model.Problem) {
	d, ok := r.defs[s.Type]
	if !ok {
		return false, nil
	}
	return true, d.Validate(s)
}

// StageTypes lists the known stage types in order.
func (r *Registry) StageTypes() []string {
	types := make([]string, 0, len(r.defs))
	for t := range r.defs {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

var _ model.StageValidator = (*Registry)(nil)

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}
