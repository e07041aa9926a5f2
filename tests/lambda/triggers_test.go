package lambda_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// invokeTriggers invokes the triggers function with an event and returns
// the pipelines it says it started, and those an earlier delivery had.
func (h *cloudHarness) invokeTriggers(t *testing.T, event []byte) (started, duplicates []string) {
	t.Helper()
	out, err := h.triggers.Invoke(context.Background(), event)
	if err != nil {
		t.Fatalf("triggers function: %v", err)
	}
	var res struct {
		Events []struct {
			Pipelines []struct {
				PipelineName string `json:"pipelineName"`
				Started      bool   `json:"started"`
				Duplicate    bool   `json:"duplicate"`
			} `json:"pipelines"`
		} `json:"events"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("triggers function answered %s: %v", out, err)
	}
	for _, e := range res.Events {
		for _, p := range e.Pipelines {
			switch {
			case p.Started && p.Duplicate:
				duplicates = append(duplicates, p.PipelineName)
			case p.Started:
				started = append(started, p.PipelineName)
			}
		}
	}
	return started, duplicates
}

// runsOf waits until the pipeline has want runs that all ended, and returns
// them as the API lists them.
func (h *cloudHarness) runsOf(t *testing.T, app, name string, want int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		body := h.look(t, "/applications/"+app+"/pipelines")
		var runs []map[string]any
		for _, r := range asSlice(body["list"]) {
			if m, _ := r.(map[string]any); m["name"] == name {
				runs = append(runs, m)
			}
		}
		done := len(runs) == want
		for _, r := range runs {
			done = done && r["status"] == "SUCCEEDED"
		}
		if done {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("pipeline %s has runs %v, want %d that succeeded", name, runs, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// TestTriggersFunction: the triggers function, invoked as EventBridge
// invokes it with a real ECR push and as EventBridge Scheduler invokes it
// for a cron trigger, starts the pipelines stored in DynamoDB, once per
// event.
func TestTriggersFunction(t *testing.T) {
	h := startCloud(t, harnessOptions{})
	if code, body := h.call(t, "POST", "/tasks", map[string]any{
		"application": "shop",
		"job":         []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "shop", "email": "team@example.com"}}},
	}); code >= 300 {
		t.Fatalf("create application: %d %v", code, body)
	}
	wait := []any{map[string]any{"refId": "1", "type": "wait", "name": "Wait", "waitTime": 0}}
	for _, p := range []map[string]any{
		{"id": "on-push", "application": "shop", "name": "OnPush", "stages": wait,
			"triggers": []any{map[string]any{"type": "docker", "enabled": true, "repository": "my-repository-name", "tag": "latest"}}},
		{"id": "nightly", "application": "shop", "name": "Nightly", "stages": wait,
			"triggers": []any{map[string]any{"type": "cron", "enabled": true, "cronExpression": "0 0 2 * * ?"}}},
	} {
		if code, body := h.call(t, "POST", "/pipelines", p); code >= 300 {
			t.Fatalf("save %s: %d %v", p["name"], code, body)
		}
	}

	push, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "corpus", "events", "awsdocs_amazon-ecr-user-guide__ecr-image-action-push.json"))
	if err != nil {
		t.Fatal(err)
	}
	if started, _ := h.invokeTriggers(t, push); strings.Join(started, ",") != "OnPush" {
		t.Fatalf("the ECR push started %v, want OnPush", started)
	}
	if started, dups := h.invokeTriggers(t, push); len(started) != 0 || strings.Join(dups, ",") != "OnPush" {
		t.Fatalf("the push delivered again started %v (duplicates %v), want nothing new", started, dups)
	}
	run := h.runsOf(t, "shop", "OnPush", 1)[0]
	if tr, _ := run["trigger"].(map[string]any); tr["tag"] != "latest" || tr["eventId"] != "13cde686-328b-6117-af20-0e5566167482" {
		t.Errorf("the run's trigger is %v", run["trigger"])
	}

	scheduled := []byte(`{"gennakerCron": {"pipelineId": "nightly", "triggerIndex": 0, "scheduledTime": "2026-03-02T02:00:00Z"}}`)
	if started, _ := h.invokeTriggers(t, scheduled); strings.Join(started, ",") != "Nightly" {
		t.Fatalf("the schedule started %v, want Nightly", started)
	}
	if started, _ := h.invokeTriggers(t, scheduled); len(started) != 0 {
		t.Fatalf("the schedule delivered again started %v", started)
	}
	run = h.runsOf(t, "shop", "Nightly", 1)[0]
	if tr, _ := run["trigger"].(map[string]any); tr["type"] != "cron" || tr["scheduledTime"] != "2026-03-02T02:00:00Z" {
		t.Errorf("the scheduled run's trigger is %v", run["trigger"])
	}
}
