package notify_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// GET /audit tells a deployment's whole story, newest first, with who did
// each thing; `gennaker audit` prints it.
func TestAuditShowsADeploymentsEventsWithUsers(t *testing.T) {
	s := up(t, "notifications: {baseUrl: https://deck.example.com}\n")
	s.createApp("shop")
	s.savePipeline("carol", map[string]any{
		"application": "shop", "name": "deploy",
		"stages": []any{map[string]any{"refId": "1", "type": "manualJudgment", "name": "Approve"}},
	})
	id := s.trigger("shop", "deploy", map[string]any{"type": "manual", "user": "alice"})
	e := s.waitFor(id, "the judgment to wait", func(e map[string]any) bool { return stageOf(e, "Approve")["status"] == "RUNNING" })
	s.do("PATCH", "/pipelines/"+id+"/stages/"+stageOf(e, "Approve")["id"].(string), "bob", map[string]any{"judgmentStatus": "continue"})
	s.waitStatus(id, "SUCCEEDED")
	cfg := s.do("GET", "/applications/shop/pipelineConfigs/deploy", "", nil).(map[string]any)
	cfg["disabled"] = true
	s.savePipeline("dave", cfg)
	s.do("DELETE", "/pipelines/shop/deploy", "erin", nil)

	want := []string{
		"pipeline.deleted  erin",
		"pipeline.disabled  dave",
		"pipeline.saved  dave",
		"pipeline.complete  alice",
		"stage.complete Approve bob",
		"manualJudgmentContinue Approve bob",
		"manualJudgment Approve alice",
		"stage.starting Approve alice",
		"pipeline.starting  alice",
		"pipeline.saved  carol",
	}
	var got []string
	var events []any
	// The events are accepted by the bus's worker, just after they happen.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		events = s.do("GET", "/audit?application=shop", "", nil).([]any)
		got = got[:0]
		for _, ev := range events {
			m := ev.(map[string]any)
			stage := ""
			if st, ok := m["stage"].(map[string]any); ok {
				stage = st["name"].(string)
			}
			got = append(got, fmt.Sprintf("%s %s %s", m["type"], stage, m["user"]))
		}
		if len(got) >= len(want) {
			break
		}
	}
	// Events of one instant may come in either order of judgment and stage end.
	norm := func(list []string) string {
		out := strings.Join(list, "\n")
		return strings.Replace(out, "manualJudgmentContinue Approve bob\nstage.complete Approve bob", "stage.complete Approve bob\nmanualJudgmentContinue Approve bob", 1)
	}
	if norm(got) != norm(want) {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, ev := range events {
		m := ev.(map[string]any)
		if m["executionId"] == id && m["link"] != "https://deck.example.com/#/applications/shop/executions/details/"+id {
			t.Errorf("event without the run's link: %v", m)
		}
	}

	// Filters: by type family, and since a time.
	judgments := s.do("GET", "/audit?application=shop&type=manualJudgmentContinue", "", nil).([]any)
	if len(judgments) != 1 || judgments[0].(map[string]any)["user"] != "bob" {
		t.Errorf("judgments: %v", judgments)
	}
	pipelineEvents := s.do("GET", "/audit?application=shop&type=pipeline", "", nil).([]any)
	if len(pipelineEvents) != 6 {
		t.Errorf("%d pipeline.* events, want 6", len(pipelineEvents))
	}
	latest := events[0].(map[string]any)["time"].(float64)
	if recent := s.do("GET", fmt.Sprintf("/audit?application=shop&since=%d", int64(latest)), "", nil).([]any); len(recent) < 1 || len(recent) >= len(events) {
		t.Errorf("since the last event: %d events", len(recent))
	}
	if code, body := s.call("GET", "/audit?since=yesterday", "", nil); code != 400 || !strings.Contains(string(body), "since") {
		t.Errorf("a bad since: %d %s", code, body)
	}

	// The CLI prints the same story.
	out, err := exec.Command(gennakerBin(t), "--api", s.base, "audit", "--app", "shop", "--type", "manualJudgmentContinue", "--type", "pipeline.deleted").CombinedOutput()
	if err != nil {
		t.Fatalf("gennaker audit: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "pipeline.deleted") || !strings.Contains(lines[1], "erin") ||
		!strings.Contains(lines[2], "manualJudgmentContinue") || !strings.Contains(lines[2], "Approve") || !strings.Contains(lines[2], "bob") {
		t.Errorf("gennaker audit printed:\n%s", out)
	}
}

// Application notifications are Front50's document; a bad one is refused
// with the path of what is wrong and nothing stored.
func TestApplicationNotificationsDocument(t *testing.T) {
	s := up(t, "")
	s.createApp("shop")
	code, body := s.call("POST", "/notifications/application/shop", "carol", map[string]any{
		"slack": []any{map[string]any{"address": "#x", "when": []any{"pipeline.finished"}}},
		"pager": []any{},
	})
	if code != 400 || !strings.Contains(string(body), "slack[0].when[0]: pipeline.finished is not an event") || !strings.Contains(string(body), "pager: is not a notification type") {
		t.Errorf("a bad document: %d %s", code, body)
	}
	doc := s.do("GET", "/notifications/application/shop", "", nil).(map[string]any)
	if len(doc) != 1 || doc["application"] != "shop" {
		t.Errorf("after a refused save: %v", doc)
	}
	s.do("POST", "/notifications/application/shop", "carol", map[string]any{
		"email": []any{map[string]any{"address": "ops@example.com", "when": []any{"pipeline.failed"}}},
	})
	doc = s.do("GET", "/notifications/application/shop", "", nil).(map[string]any)
	if doc["lastModifiedBy"] != "carol" || len(doc["email"].([]any)) != 1 {
		t.Errorf("stored %v", doc)
	}
}
