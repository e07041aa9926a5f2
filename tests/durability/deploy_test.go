package durability_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gennaker/gennaker/examples/hello/hellobin"
)

// waitRun polls a run until cond holds.
func waitRun(t *testing.T, s *server, ref string, timeout time.Duration, what string, cond func(e map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		e := s.do(t, "GET", ref, nil)
		if cond(e) {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s: %v\n%s", what, timeout, e["status"], s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func taskStatus(e map[string]any, stageName, task string) string {
	for _, s := range e["stages"].([]any) {
		sm := s.(map[string]any)
		if sm["name"] != stageName {
			continue
		}
		for _, tk := range sm["tasks"].([]any) {
			if tm := tk.(map[string]any); tm["name"] == task {
				st, _ := tm["status"].(string)
				return st
			}
		}
	}
	return ""
}

// TestSIGKILLMidDeployCompletesWithTheExpectedServerGroups kills the real
// `gennaker up` with SIGKILL while a red/black deploy waits for its new
// instances, restarts it, and checks the deploy finishes with exactly the
// server groups it should: the old one disabled, the new one serving.
func TestSIGKILLMidDeployCompletesWithTheExpectedServerGroups(t *testing.T) {
	bin := buildGennaker(t)
	hello, err := hellobin.Build(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatalf("build hello: %v", err)
	}
	dataDir := t.TempDir()
	s := start(t, bin, dataDir)
	s.do(t, "POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "hello", "email": "ops@example.com"}}}})
	cluster := func(version, delay string) map[string]any {
		return map[string]any{
			"cloudProvider": "local", "account": "local", "region": "local",
			"application": "hello", "stack": "prod", "strategy": "redblack",
			"capacity": map[string]any{"min": 2, "max": 2, "desired": 2}, "maxRemainingAsgs": 2,
			"loadBalancers": []string{"hello-lb"}, "healthCheckPath": "/health",
			"artifact": map[string]any{"type": "local/command", "command": hello, "env": map[string]any{"VERSION": version, "STARTUP_DELAY": delay}},
		}
	}
	save := func(name string, stages ...map[string]any) string {
		list := make([]any, len(stages))
		for i, st := range stages {
			list[i] = st
		}
		s.do(t, "POST", "/pipelines", map[string]any{"application": "hello", "name": name, "stages": list})
		return s.do(t, "POST", "/pipelines/hello/"+name, map[string]any{"type": "manual"})["ref"].(string)
	}
	done := func(e map[string]any) bool { st := e["status"]; return st != "RUNNING" && st != "NOT_STARTED" }

	ref := save("lb", map[string]any{"refId": "1", "type": "upsertLoadBalancer", "name": "LB",
		"loadBalancers": []any{map[string]any{"cloudProvider": "local", "account": "local", "region": "local", "name": "hello-lb", "listenPort": 0}}})
	e := waitRun(t, s, ref, 20*time.Second, "load balancer", done)
	lbURL := stageOutputURL(t, e)
	ref = save("v1", map[string]any{"refId": "1", "type": "deploy", "name": "Deploy", "clusters": []any{cluster("v1", "0s")}})
	if e := waitRun(t, s, ref, 30*time.Second, "v1 deployed", done); e["status"] != "SUCCEEDED" {
		t.Fatalf("v1 deploy ended %v", e["status"])
	}

	// v2 starts slowly: kill gennaker while the deploy waits for it.
	ref = save("v2", map[string]any{"refId": "1", "type": "deploy", "name": "Deploy", "clusters": []any{cluster("v2", "1500ms")}})
	waitRun(t, s, ref, 30*time.Second, "v2 instances awaited", func(e map[string]any) bool {
		return taskStatus(e, "Deploy", "WaitForUpInstances") == "RUNNING"
	})
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
	s = start(t, bin, dataDir)
	if e := waitRun(t, s, ref, 60*time.Second, "v2 deploy finished after the restart", done); e["status"] != "SUCCEEDED" {
		t.Fatalf("v2 deploy ended %v after the restart: %v", e["status"], e)
	}

	var groups []struct {
		Name       string `json:"name"`
		IsDisabled bool   `json:"isDisabled"`
	}
	resp, err := http.Get(s.base + "/applications/hello/serverGroups")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&groups)
	resp.Body.Close()
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	if len(groups) != 2 || groups[0].Name != "hello-prod-v000" || !groups[0].IsDisabled || groups[1].Name != "hello-prod-v001" || groups[1].IsDisabled {
		t.Fatalf("server groups after the restart = %+v, want hello-prod-v000 disabled and hello-prod-v001 enabled", groups)
	}
	// The load balancer came back on its port and serves only v2.
	deadline := time.Now().Add(10 * time.Second)
	for served := 0; served < 10; {
		r, err := http.Get(lbURL + "/")
		if err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode == 200 {
				if !strings.Contains(string(b), "v2") {
					t.Fatalf("the load balancer served %q after the deploy, want v2", b)
				}
				served++
				continue
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the load balancer did not serve after the restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func stageOutputURL(t *testing.T, e map[string]any) string {
	t.Helper()
	st := e["stages"].([]any)[0].(map[string]any)
	lbs, _ := st["outputs"].(map[string]any)["loadBalancers"].([]any)
	if len(lbs) != 1 {
		t.Fatalf("upsertLoadBalancer outputs: %v", st["outputs"])
	}
	url, _ := lbs[0].(map[string]any)["url"].(string)
	return url
}
