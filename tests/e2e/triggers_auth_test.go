package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const triggersAuthFile = `
users:
  - {name: admin, token: admin-token-1, roles: [admins]}
  - {name: deployer, token: deployer-token-1, roles: [deployers]}
admins: [admins]
serviceAccounts:
  - {name: deploy-bot, roles: [deployers]}
`

// With authentication on, a webhook needs no login (GitHub cannot log in),
// replaying events needs an admin, and a triggered run acts as the
// trigger's runAsUser: a run as deploy-bot may run stages of an application
// only deployers may run, a run as the pipeline's managed service account
// (no roles) may not. The authorization matrix (webhookRows) checks the
// same for deploys: a triggered run deploys only to the accounts its
// runAsUser or managed service account may WRITE, whoever sends the
// webhook.
func TestTriggeredRunsActAsTheirServiceAccount(t *testing.T) {
	needBinaries(t)
	dir := t.TempDir()
	authPath := filepath.Join(dir, "auth.yaml")
	if err := os.WriteFile(authPath, []byte(triggersAuthFile), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(dir, "data"), "--auth", authPath)
	as := func(user string) http.Header {
		if user == "" {
			return http.Header{}
		}
		return http.Header{"Authorization": {"Bearer " + user + "-token-1"}}
	}
	call := func(user, path string, body any) (int, string) {
		t.Helper()
		b, _ := json.Marshal(body)
		code, out := s.post(t, path, b, as(user))
		return code, string(out)
	}
	if code, out := call("admin", "/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{
		"name": "shop", "email": "team@example.com",
		"permissions": map[string]any{"READ": []string{"deployers"}, "WRITE": []string{"deployers"}, "EXECUTE": []string{"deployers"}}}}}}); code != 200 {
		t.Fatalf("create application: %d %s", code, out)
	}
	wait := []any{map[string]any{"refId": "1", "type": "wait", "name": "Wait", "waitTime": 0}}
	for _, p := range []map[string]any{
		{"id": "as-bot", "application": "shop", "name": "AsBot", "stages": wait,
			"triggers": []any{map[string]any{"type": "webhook", "enabled": true, "source": "ci", "runAsUser": "deploy-bot"}}},
		{"id": "as-nobody", "application": "shop", "name": "AsNobody", "stages": wait,
			"triggers": []any{map[string]any{"type": "webhook", "enabled": true, "source": "ci"}}},
	} {
		if code, out := call("deployer", "/pipelines", p); code != 200 {
			t.Fatalf("save %s: %d %s", p["name"], code, out)
		}
	}

	if code, out := call("", "/events", json.RawMessage(`{"Entries": []}`)); code != 401 {
		t.Errorf("POST /events without credentials: %d %s, want 401", code, out)
	}
	if code, out := call("deployer", "/events", json.RawMessage(`{"Entries": []}`)); code != 403 {
		t.Errorf("POST /events as a non-admin: %d %s, want 403", code, out)
	}
	code, out := call("", "/webhooks/webhook/ci", map[string]any{"parameters": map[string]any{}})
	if code != 200 || strings.Count(out, `"started":true`) != 2 {
		t.Fatalf("a webhook without credentials: %d %s, want both pipelines started", code, out)
	}

	// The run of each pipeline, once it has ended, as the admin reads it.
	ended := func(id string) triggerRun {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			req, _ := http.NewRequest("GET", s.url+"/applications/shop/pipelines", nil)
			req.Header = as("admin")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var all []triggerRun
			_ = json.NewDecoder(resp.Body).Decode(&all)
			resp.Body.Close()
			for _, r := range all {
				if r.PipelineConfigID == id && (r.Status == "SUCCEEDED" || r.Status == "TERMINAL") {
					return r
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no run of %s ended: %+v", id, all)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if r := ended("as-bot"); r.Status != "SUCCEEDED" || r.Trigger["user"] != "deploy-bot" {
		t.Errorf("the run as deploy-bot ended %s with trigger.user %v; want SUCCEEDED as deploy-bot", r.Status, r.Trigger["user"])
	}
	if r := ended("as-nobody"); r.Status != "TERMINAL" {
		t.Errorf("the run as the pipeline's managed service account, which holds no role, ended %s; want TERMINAL", r.Status)
	}
}
