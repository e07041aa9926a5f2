package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpinDrivesGennaker runs the real spin CLI, unchanged and without a
// config file, against `gennaker up`: applications, pipelines, executions.
func TestSpinDrivesGennaker(t *testing.T) {
	needBinaries(t)
	s := startServer(t, filepath.Join(t.TempDir(), "data"))

	// Applications.
	ok(t, s.spin(t, "application", "save", "-f", filepath.Join(repoRoot, "examples", "application.json"), "--application-name", "spinapp"), "spin application save")
	r := ok(t, s.spin(t, "application", "list"), "spin application list")
	var apps []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &apps); err != nil || len(apps) != 1 || apps[0]["name"] != "spinapp" {
		t.Fatalf("spin application list printed %q (%v)", r.stdout, err)
	}
	r = ok(t, s.spin(t, "application", "get", "spinapp"), "spin application get")
	var app map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &app); err != nil || app["email"] != "you@example.com" || app["cloudProviders"] != "local" {
		t.Fatalf("spin application get printed %q (%v)", r.stdout, err)
	}
	if r := s.spin(t, "application", "get", "nope"); r.code == 0 || !strings.Contains(r.stdout+r.stderr, "not found") {
		t.Errorf("spin application get of an unknown application: %s", r)
	}

	// Pipelines: save twice (the second save updates through the id spin
	// looks up), list, get.
	hello := example(t, "hello.json", "spinapp")
	ok(t, s.spin(t, "pipeline", "save", "-f", hello), "spin pipeline save")
	ok(t, s.spin(t, "pipeline", "save", "-f", hello), "spin pipeline save (update)")
	r = ok(t, s.spin(t, "pipeline", "list", "-a", "spinapp"), "spin pipeline list")
	var pipes []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &pipes); err != nil || len(pipes) != 1 {
		t.Fatalf("spin pipeline list printed %q (%v)", r.stdout, err)
	}
	id := pipes[0]["id"].(string)
	var hist []map[string]any
	s.getJSON(t, "/pipelineConfigs/"+id+"/history", &hist)
	if len(hist) != 2 {
		t.Errorf("two spin saves made %d versions, want 2", len(hist))
	}
	r = ok(t, s.spin(t, "pipeline", "get", "-a", "spinapp", "-n", "Hello"), "spin pipeline get")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got["id"] != id {
		t.Fatalf("spin pipeline get printed %q (%v)", r.stdout, err)
	}

	// Executions: execute, list, get, and it succeeds.
	ok(t, s.spin(t, "pipeline", "execute", "-a", "spinapp", "-n", "Hello"), "spin pipeline execute")
	r = ok(t, s.spin(t, "pipeline", "execution", "list", "-i", id), "spin pipeline execution list")
	var runs []execution
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("spin pipeline execution list printed %q (%v)", r.stdout, err)
	}
	run := runs[0].ID
	s.waitStatus(t, run, "SUCCEEDED")
	r = ok(t, s.spin(t, "pipeline", "execution", "get", run), "spin pipeline execution get")
	var one []execution
	if err := json.Unmarshal([]byte(r.stdout), &one); err != nil || len(one) != 1 || one[0].ID != run || one[0].Status != "SUCCEEDED" {
		t.Fatalf("spin pipeline execution get printed %q (%v)", r.stdout, err)
	}
	if strings.Contains(r.stdout, `"orchestration"`) {
		t.Error("an execution shows the engine's orchestration fields")
	}
	r = ok(t, s.spin(t, "pipeline", "execution", "list", "-i", id, "--succeeded"), "spin pipeline execution list --succeeded")
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) != 1 {
		t.Errorf("--succeeded listed %q", r.stdout)
	}

	// Cancel a long run.
	judge := example(t, "approval.json", "spinapp")
	ok(t, s.spin(t, "pipeline", "save", "-f", judge), "spin pipeline save")
	ok(t, s.spin(t, "pipeline", "execute", "-a", "spinapp", "-n", "approval", "-p", "version=3.1.4"), "spin pipeline execute with a parameter")
	var cfg map[string]any
	s.getJSON(t, "/applications/spinapp/pipelineConfigs/approval", &cfg)
	r = ok(t, s.spin(t, "pipeline", "execution", "list", "-i", cfg["id"].(string)), "spin pipeline execution list")
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("execution list printed %q (%v)", r.stdout, err)
	}
	s.waitStatus(t, runs[0].ID, "RUNNING")
	r = ok(t, s.spin(t, "pipeline", "execution", "list", "-i", cfg["id"].(string), "--running"), "spin pipeline execution list --running")
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("--running listed %q (%v)", r.stdout, err)
	}
	var trig struct {
		Trigger struct{ Parameters map[string]any }
	}
	s.getJSON(t, "/pipelines/"+runs[0].ID, &trig)
	if trig.Trigger.Parameters["version"] != "3.1.4" {
		t.Errorf("spin's parameter reached the run as %v", trig.Trigger.Parameters)
	}
	ok(t, s.spin(t, "pipeline", "execution", "cancel", runs[0].ID), "spin pipeline execution cancel")
	s.waitStatus(t, runs[0].ID, "CANCELED")

	// Delete.
	ok(t, s.spin(t, "pipeline", "delete", "-a", "spinapp", "-n", "Hello"), "spin pipeline delete")
	if r := s.spin(t, "pipeline", "get", "-a", "spinapp", "-n", "Hello"); r.code == 0 {
		t.Errorf("a deleted pipeline is still there: %s", r)
	}
	ok(t, s.spin(t, "application", "delete", "spinapp"), "spin application delete")
	r = ok(t, s.spin(t, "application", "list"), "spin application list")
	if strings.Contains(r.stdout, "spinapp") {
		t.Errorf("a deleted application is still listed: %s", r.stdout)
	}
}
