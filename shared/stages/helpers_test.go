package stages

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
)

// t0 is when test stages start: Monday 10 March 2025, 12:00 UTC.
var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// newRun returns a run of one stage with the given context, started at t0
// and seen at t0.
func newRun(ctx map[string]any) *Run {
	if ctx == nil {
		ctx = map[string]any{}
	}
	return &Run{
		Execution: &model.Execution{
			ID:          "parent-exec",
			Application: "shop",
			Name:        "Deploy shop",
			Status:      model.StatusRunning,
			Trigger:     model.ExecutionTrigger{Type: "manual", User: "alice"},
		},
		Stage: &model.StageExecution{
			ID:        "stage-1",
			RefID:     "1",
			Name:      "the stage",
			Status:    model.StatusRunning,
			StartTime: t0.UnixMilli(),
			Context:   ctx,
			Outputs:   map[string]any{},
		},
		Services: &Services{},
		Now:      t0,
	}
}

// apply merges a result into the stage as the orchestrator does.
func apply(run *Run, r Result) {
	maps.Copy(run.Stage.Context, r.Context)
	maps.Copy(run.Stage.Outputs, r.Outputs)
}

// errorsOf returns the messages a user sees in context.exception.details.errors.
func errorsOf(r Result) []string {
	exc, _ := r.Context["exception"].(map[string]any)
	details, _ := exc["details"].(map[string]any)
	list, _ := details["errors"].([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// stageFromJSON reads a pipeline stage as it is saved.
func stageFromJSON(t *testing.T, js string) *model.Stage {
	t.Helper()
	var s model.Stage
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatalf("stage JSON: %v", err)
	}
	return &s
}

// contextFromJSON reads a stage context as the orchestrator hands it over.
func contextFromJSON(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("context JSON: %v", err)
	}
	return m
}

func problemStrings(ps []model.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	slices.Sort(out)
	return out
}

// checkProblems asserts that validation found exactly the problems whose
// text contains each of want (in any order).
func checkProblems(t *testing.T, got []model.Problem, want ...string) {
	t.Helper()
	gotS := problemStrings(got)
	if len(gotS) != len(want) {
		t.Fatalf("problems = %q, want %d matching %q", gotS, len(want), want)
	}
	for _, w := range want {
		found := false
		for _, g := range gotS {
			if strings.Contains(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("problems = %q, want one containing %q", gotS, w)
		}
	}
}

// checkFailure asserts a result's status and that one of its error messages
// contains each wanted fragment.
func checkFailure(t *testing.T, r Result, status model.Status, fragments ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %s, want %s (errors %q)", r.Status, status, errorsOf(r))
	}
	msgs := strings.Join(errorsOf(r), "\n")
	for _, f := range fragments {
		if !strings.Contains(msgs, f) {
			t.Errorf("errors %q do not mention %q", errorsOf(r), f)
		}
	}
}
