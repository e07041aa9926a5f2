// Package stagestest helps test stage types: runs of one stage, and checks of
// what a user sees of validation problems and failures.
package stagestest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
)

// T0 is when test stages start: Monday 10 March 2025, 12:00 UTC.
var T0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// NewRun returns a run of one stage with the given context, started at T0
// and seen at T0.
func NewRun(ctx map[string]any) *stages.Run {
	if ctx == nil {
		ctx = map[string]any{}
	}
	return &stages.Run{
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
			StartTime: T0.UnixMilli(),
			Context:   ctx,
			Outputs:   map[string]any{},
		},
		Services: &stages.Services{},
		Now:      T0,
	}
}

// Apply merges a result into the stage as the orchestrator does.
func Apply(run *stages.Run, r stages.Result) {
	maps.Copy(run.Stage.Context, r.Context)
	maps.Copy(run.Stage.Outputs, r.Outputs)
}

// ErrorsOf returns the messages a user sees in context.exception.details.errors.
func ErrorsOf(r stages.Result) []string {
	exc, _ := r.Context["exception"].(map[string]any)
	details, _ := exc["details"].(map[string]any)
	list, _ := details["errors"].([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// StageFromJSON reads a pipeline stage as it is saved.
func StageFromJSON(t *testing.T, js string) *model.Stage {
	t.Helper()
	var s model.Stage
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatalf("stage JSON: %v", err)
	}
	return &s
}

// ContextFromJSON reads a stage context as the orchestrator hands it over.
func ContextFromJSON(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("context JSON: %v", err)
	}
	return m
}

func ProblemStrings(ps []model.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	slices.Sort(out)
	return out
}

// CheckProblems asserts that validation found exactly the Problems whose
// text contains each of want (in any order).
func CheckProblems(t *testing.T, got []model.Problem, want ...string) {
	t.Helper()
	gotS := ProblemStrings(got)
	if len(gotS) != len(want) {
		t.Fatalf("Problems = %q, want %d matching %q", gotS, len(want), want)
	}
	for _, w := range want {
		found := false
		for _, g := range gotS {
			if strings.Contains(g, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("Problems = %q, want one containing %q", gotS, w)
		}
	}
}

// CheckFailure asserts a result's status and that one of its error messages
// contains each wanted fragment.
func CheckFailure(t *testing.T, r stages.Result, status model.Status, fragments ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %s, want %s (errors %q)", r.Status, status, ErrorsOf(r))
	}
	msgs := strings.Join(ErrorsOf(r), "\n")
	for _, f := range fragments {
		if !strings.Contains(msgs, f) {
			t.Errorf("errors %q do not mention %q", ErrorsOf(r), f)
		}
	}
}
