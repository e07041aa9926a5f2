package flow

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/shared/model"
)

func flowControlRegistry() *stages.Registry {
	r := stages.NewRegistry()
	RegisterFlowControl(r)
	return r
}

func loadPipeline(t *testing.T, path string) *model.Pipeline {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p model.Pipeline
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &p
}

func TestRegisterFlowControl(t *testing.T) {
	reg := flowControlRegistry()
	want := []string{"checkPreconditions", "evaluateVariables", "findArtifactFromExecution", "manualJudgment", "noop", "pipeline", "wait", "webhook"}
	if got := reg.StageTypes(); !reflect.DeepEqual(got, want) {
		t.Errorf("stage types = %v, want %v", got, want)
	}
	if _, err := reg.Task(ExecutionWindowTaskName); err != nil {
		t.Errorf("the execution window task is not registered: %v", err)
	}
}

// A pipeline exported from Spinnaker with every flow-control stage saves
// without Problems, and every stage plans tasks the registry knows.
func TestSpinnakerPipelineValidatesAndPlans(t *testing.T) {
	reg := flowControlRegistry()
	p := loadPipeline(t, "testdata/flowcontrol-pipeline.json")
	if err := model.Validate(p, reg); err != nil {
		t.Fatalf("validate: %v", err)
	}
	for i := range p.Stages {
		s := &p.Stages[i]
		t.Run(s.Type, func(t *testing.T) {
			def, err := reg.Definition(s.Type)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := s.Config()
			if err != nil {
				t.Fatal(err)
			}
			names, err := def.Plan(&model.StageExecution{Type: s.Type, Context: cfg})
			if err != nil {
				t.Fatal(err)
			}
			if window, _ := RestrictsExecutionWindow(cfg); window {
				names = append([]string{ExecutionWindowTaskName}, names...)
			}
			if len(names) == 0 {
				t.Fatal("no tasks planned")
			}
			for _, n := range names {
				if _, err := reg.Task(n); err != nil {
					t.Errorf("planned task: %v", err)
				}
			}
		})
	}
}

// Problems are reported at the path a user must fix.
func TestBrokenPipelineProblems(t *testing.T) {
	// Stage fields keep a pipeline from running, not from being saved:
	// they are warnings.
	warnings, err := model.Check(loadPipeline(t, "testdata/flowcontrol-pipeline-broken.json"), flowControlRegistry())
	if err != nil {
		t.Fatalf("check = %v; the pipeline's shape holds together", err)
	}
	stagestest.CheckProblems(t, warnings,
		"stages[0].waitTime: must not be negative",
		`stages[1].variables[1].key: "a" is already used by variables[0]`,
		"stages[2].url: is required",
		`stages[2].method: "SEND" is not an HTTP method`,
		"stages[3].pipeline: is required",
		"stages[4].preconditions[0].context.expression: is required",
	)
}
