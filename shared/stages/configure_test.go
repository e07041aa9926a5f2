package stages

import (
	"context"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
)

// typedStage is a stage type with a typed configuration, for the tests of
// Registry.Configure.
type typedStage struct{}

type typedConfig struct {
	Name string `json:"serverGroupName"`
}

func (typedStage) Type() string                                 { return "typed" }
func (typedStage) Validate(*model.Stage) []model.Problem        { return nil }
func (typedStage) Plan(*model.StageExecution) ([]string, error) { return nil, nil }
func (typedStage) Config(s *model.StageExecution) (any, error) {
	var c typedConfig
	return &c, Decode(s.Context, &c).Err()
}

type untypedStage struct{}

func (untypedStage) Type() string                                 { return "untyped" }
func (untypedStage) Validate(*model.Stage) []model.Problem        { return nil }
func (untypedStage) Plan(*model.StageExecution) ([]string, error) { return nil, nil }

type nothingTask struct{}

func (nothingTask) Name() string                                  { return "Nothing" }
func (nothingTask) Execute(context.Context, *Run) (Result, error) { return Succeeded(), nil }

// Configure gives a task call the configuration its stage type decodes, as
// the orchestrator does; ConfigOf hands it to the task or names a mismatch.
func TestConfigure(t *testing.T) {
	r := NewRegistry()
	r.Register(typedStage{}, nothingTask{})
	r.Register(untypedStage{})
	run := &Run{Stage: &model.StageExecution{Name: "Find", Type: "typed", Context: map[string]any{"serverGroupName": "hello-v001"}}}
	if err := r.Configure(run); err != nil {
		t.Fatal(err)
	}
	got, err := ConfigOf[*typedConfig](run)
	if err != nil || got.Name != "hello-v001" {
		t.Fatalf("ConfigOf = %+v, %v", got, err)
	}
	if _, err := ConfigOf[*Problems](run); err == nil || !strings.Contains(err.Error(), "*stages.typedConfig, not *stages.Problems") {
		t.Fatalf("ConfigOf of another type = %v", err)
	}
	run.Stage.Context["serverGroupName"] = 7
	if err := r.Configure(run); err == nil || err.Error() != `stage "Find" (typed): serverGroupName: must be a string, not the number 7` {
		t.Fatalf("Configure of a bad context = %v", err)
	}
	for _, typ := range []string{"untyped", "synthetic"} {
		run := &Run{Stage: &model.StageExecution{Type: typ}, Config: "stale"}
		if err := r.Configure(run); err != nil || run.Config != nil {
			t.Fatalf("%s: Configure = %v, config %v; want none", typ, err, run.Config)
		}
	}
}
