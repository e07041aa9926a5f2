package orchestration_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/store"
)

// newRuntime starts a local runtime on a fresh data directory.
func newRuntime(t testing.TB) *local.Runtime {
	t.Helper()
	rt, err := local.Open(context.Background(), local.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open runtime: %v", err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

// savePipeline stores a pipeline given as Spinnaker JSON.
func savePipeline(t testing.TB, rt *local.Runtime, src string) *model.Pipeline {
	t.Helper()
	var p model.Pipeline
	if err := json.Unmarshal([]byte(src), &p); err != nil {
		t.Fatalf("pipeline JSON: %v", err)
	}
	if p.ID == "" {
		p.ID = model.PipelineID(p.Name + "-id")
	}
	if p.Application == "" {
		p.Application = "demo"
	}
	if _, err := rt.Store.Pipelines().Save(context.Background(), &p, "test", 0); err != nil {
		t.Fatalf("save pipeline: %v", err)
	}
	return &p
}

func trigger(t testing.TB, rt *local.Runtime, p *model.Pipeline, params map[string]any) model.ExecutionID {
	t.Helper()
	id, err := rt.Orchestrator.TriggerPipeline(context.Background(), p, model.ExecutionTrigger{Type: "manual", User: "tester", Parameters: params}, "")
	if err != nil {
		t.Fatalf("trigger %s: %v", p.Name, err)
	}
	return id
}

// waitFor polls the run until cond holds or the timeout passes.
func waitFor(t testing.TB, rt *local.Runtime, id model.ExecutionID, timeout time.Duration, what string, cond func(e *model.Execution) bool) *model.Execution {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var e *model.Execution
	for {
		var err error
		e, err = rt.Store.Executions().Get(context.Background(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get %s: %v", id, err)
		}
		if e != nil && cond(e) {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: %s did not happen within %s; last state: %s", id, what, timeout, describe(e))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitDone(t testing.TB, rt *local.Runtime, id model.ExecutionID, timeout time.Duration) *model.Execution {
	t.Helper()
	return waitFor(t, rt, id, timeout, "completion", func(e *model.Execution) bool {
		return e.Status.IsComplete() && e.Orchestration.Finalized
	})
}

func stageStatus(e *model.Execution, name string) model.Status {
	for _, s := range e.Stages {
		if s.Name == name {
			return s.Status
		}
	}
	return ""
}

func stageNamed(t testing.TB, e *model.Execution, name string) *model.StageExecution {
	t.Helper()
	for i := range e.Stages {
		if e.Stages[i].Name == name {
			return &e.Stages[i]
		}
	}
	t.Fatalf("run %s has no stage %q", e.ID, name)
	return nil
}

func describe(e *model.Execution) string {
	if e == nil {
		return "<none>"
	}
	out := string(e.Status)
	for _, s := range e.Stages {
		out += " | " + s.Name + "=" + string(s.Status)
		if ex, ok := s.Context["exception"]; ok {
			b, _ := json.Marshal(ex)
			out += " " + string(b)
		}
	}
	return out
}

func assertStatus(t testing.TB, e *model.Execution, want model.Status) {
	t.Helper()
	if e.Status != want {
		t.Fatalf("run status = %s, want %s; %s", e.Status, want, describe(e))
	}
}

func assertStage(t testing.TB, e *model.Execution, name string, want model.Status) {
	t.Helper()
	if got := stageStatus(e, name); got != want {
		t.Fatalf("stage %q = %s, want %s; %s", name, got, want, describe(e))
	}
}
