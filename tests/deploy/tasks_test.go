package deploy_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/api"
	"github.com/gennaker/gennaker/shared/deployapi"
	"github.com/gennaker/gennaker/shared/model"
)

// POST /tasks with an upsertLoadBalancer job, as Deck sends it, creates a
// real load balancer; the task's status follows the run that does it.
func TestTaskUpsertsALoadBalancer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	deploy := deployapi.New(e.rt.Providers, nil)
	srv := httptest.NewServer(api.New(api.Options{
		Store:        e.rt.Store,
		Orchestrator: e.rt.Orchestrator,
		Registry:     e.rt.Orchestrator.Registry(),
		Clusters:     deploy.Clusters,
		Mounts:       []api.Mount{{Patterns: deployapi.Patterns, Handler: deploy}},
	}))
	defer srv.Close()
	call := func(method, path string, body any, v any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if v != nil {
			_ = json.NewDecoder(resp.Body).Decode(v)
		}
		return resp.StatusCode
	}
	var created struct{ Ref string }
	code := call("POST", "/tasks", map[string]any{
		"application": "hello", "description": "Create load balancer: hello-edge",
		"job": []any{map[string]any{"type": "upsertLoadBalancer", "application": "hello", "cloudProvider": "local",
			"credentials": "local", "region": "local", "name": "hello-edge", "listenPort": 0}},
	}, &created)
	if code != 200 || created.Ref == "" {
		t.Fatalf("POST /tasks: %d %+v", code, created)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var tk struct{ Status string }
		call("GET", created.Ref, nil, &tk)
		if tk.Status == "SUCCEEDED" {
			break
		}
		if tk.Status == "TERMINAL" || time.Now().After(deadline) {
			t.Fatalf("task ended %q", tk.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var lbs []map[string]any
	if call("GET", "/applications/hello/loadBalancers", nil, &lbs) != 200 {
		t.Fatal("GET loadBalancers failed")
	}
	found := false
	for _, lb := range lbs {
		if lb["name"] == "hello-edge" {
			found = true
		}
	}
	if !found {
		t.Fatalf("hello-edge not among the load balancers: %v", lbs)
	}

	// Once deployed to, the application lists its cluster, as Gate's
	// GET /applications/{app} does.
	assertStatus(t, e.run(deployStage("v1", "none", 1, "", "")), model.StatusSucceeded)
	var app struct {
		Clusters map[string][]struct{ Name, Provider string } `json:"clusters"`
	}
	if call("GET", "/applications/hello", nil, &app) != 200 {
		t.Fatal("GET /applications/hello failed")
	}
	if cs := app.Clusters["local"]; len(cs) != 1 || cs[0].Name != "hello-prod" || cs[0].Provider != "local" {
		t.Fatalf("clusters of hello = %+v, want local: hello-prod", app.Clusters)
	}

	var bad map[string]any
	if code := call("POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "upsertLoadBalancer", "application": "hello",
		"cloudProvider": "local", "credentials": "nowhere", "region": "local", "name": "x", "listenPort": 0}}}, &bad); code != 400 {
		t.Fatalf("an unknown account: %d %v", code, bad)
	}
}
