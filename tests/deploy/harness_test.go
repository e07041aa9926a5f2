// Package deploy_test runs deployments end to end on the local provider:
// real pipelines in a real local runtime, real hello processes, real HTTP
// traffic through a real load balancer.
package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gennaker/gennaker/examples/hello/hellobin"
	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/store"
)

var helloBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gennaker-deploy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helloBin, err = hellobin.Build(context.Background(), "", dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is a local runtime with an application and its load balancer.
type env struct {
	t    testing.TB
	rt   *local.Runtime
	dir  string
	app  string
	lb   string // the load balancer's URL
	n    int
	open func() *local.Runtime
}

func newEnv(t testing.TB, guards ...model.TrafficGuard) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), app: "hello"}
	e.open = func() *local.Runtime {
		rt, err := local.Open(context.Background(), local.Options{DataDir: e.dir, HealthInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatalf("open runtime: %v", err)
		}
		return rt
	}
	e.rt = e.open()
	t.Cleanup(func() { _ = e.rt.Close() })
	if err := e.rt.Store.Applications().Put(context.Background(), &model.Application{Name: model.ApplicationName(e.app), TrafficGuards: guards}); err != nil {
		t.Fatal(err)
	}
	ex := e.run(`{"refId": "lb", "type": "upsertLoadBalancer", "name": "Load balancer",
	  "loadBalancers": [{"cloudProvider": "local", "account": "local", "region": "local", "name": "hello-lb", "listenPort": 0}]}`)
	assertStatus(t, ex, model.StatusSucceeded)
	lbs, _ := ex.Stages[0].Outputs["loadBalancers"].([]any)
	if len(lbs) != 1 {
		t.Fatalf("upsertLoadBalancer outputs: %v", ex.Stages[0].Outputs)
	}
	e.lb, _ = lbs[0].(map[string]any)["url"].(string)
	return e
}

// cluster returns a deploy stage's cluster of hello at version. env adds
// instance environment as JSON members (`, "FAIL_HEALTH": "true"`); extra
// adds cluster fields the same way.
func cluster(version, strategy string, desired int, env, extra string) string {
	return fmt.Sprintf(`{"cloudProvider": "local", "account": "local", "region": "local",
	  "application": "hello", "stack": "prod", "strategy": %q,
	  "capacity": {"min": %d, "max": %d, "desired": %d},
	  "loadBalancers": ["hello-lb"], "healthCheckPath": "/health",
	  "artifact": {"type": "local/command", "command": %q, "env": {"VERSION": %q%s}}%s}`,
		strategy, desired, desired, desired, helloBin, version, env, extra)
}

func deployStage(version, strategy string, desired int, env, extra string) string {
	return fmt.Sprintf(`{"refId": "deploy", "type": "deploy", "name": "Deploy %s", "clusters": [%s]}`, version, cluster(version, strategy, desired, env, extra))
}

// start saves a one-stage pipeline and triggers it.
func (e *env) start(stages ...string) model.ExecutionID {
	e.t.Helper()
	e.n++
	src := fmt.Sprintf(`{"application": %q, "name": "p%d", "id": "p%d", "stages": [%s]}`, e.app, e.n, e.n, strings.Join(stages, ","))
	var p model.Pipeline
	if err := json.Unmarshal([]byte(src), &p); err != nil {
		e.t.Fatalf("pipeline JSON: %v\n%s", err, src)
	}
	if _, err := e.rt.Store.Pipelines().Save(context.Background(), &p, "tester", 0); err != nil {
		e.t.Fatalf("save pipeline: %v", err)
	}
	id, err := e.rt.Orchestrator.TriggerPipeline(context.Background(), &p, model.ExecutionTrigger{Type: "manual", User: "tester"}, "")
	if err != nil {
		e.t.Fatalf("trigger: %v", err)
	}
	return id
}

// run starts a pipeline and waits for it to end.
func (e *env) run(stages ...string) *model.Execution {
	e.t.Helper()
	return e.wait(e.start(stages...), 60*time.Second)
}

func (e *env) wait(id model.ExecutionID, timeout time.Duration) *model.Execution {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ex, err := e.rt.Store.Executions().Get(context.Background(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			e.t.Fatalf("get %s: %v", id, err)
		}
		if ex != nil && ex.Status.IsComplete() && ex.Orchestration.Finalized {
			return ex
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s did not end within %s: %s", id, timeout, describe(ex))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groups returns the cluster's server groups, oldest first.
func (e *env) groups() []providers.ServerGroup {
	e.t.Helper()
	c, err := e.rt.Providers.Cloud("local", "local")
	if err != nil {
		e.t.Fatal(err)
	}
	gs, err := c.ServerGroups.List(context.Background(), e.app)
	if err != nil {
		e.t.Fatal(err)
	}
	return gs
}

// state summarises the cluster as "v000:enabled:2 v001:disabled:0".
func (e *env) state() string {
	var parts []string
	for _, g := range e.groups() {
		st := "enabled"
		if g.Disabled {
			st = "disabled"
		}
		parts = append(parts, fmt.Sprintf("%s:%s:%d", g.Name[strings.LastIndex(g.Name, "-")+1:], st, g.Capacity.Desired))
	}
	return strings.Join(parts, " ")
}

func describe(e *model.Execution) string {
	if e == nil {
		return "<none>"
	}
	out := string(e.Status)
	for _, s := range e.Stages {
		out += " | " + s.Name + "=" + string(s.Status)
		for _, t := range s.Tasks {
			out += fmt.Sprintf(" %s:%s", t.Name, t.Status)
		}
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

// traffic sends requests through the load balancer until stopped, bounded
// in count and time, and counts answers by version.
type traffic struct {
	mu       sync.Mutex
	versions map[string]int
	failures []string
	stop     chan struct{}
	done     chan struct{}
}

const (
	maxRequests = 50000
	maxTraffic  = 90 * time.Second
)

func startTraffic(url string) *traffic {
	tr := &traffic{versions: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(tr.done)
		deadline := time.Now().Add(maxTraffic)
		for i := 0; i < maxRequests && time.Now().Before(deadline); i++ {
			select {
			case <-tr.stop:
				return
			default:
			}
			resp, err := client.Get(url)
			tr.mu.Lock()
			if err != nil {
				tr.failures = append(tr.failures, err.Error())
			} else {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					tr.failures = append(tr.failures, fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body))))
				} else {
					tr.versions[resp.Header.Get("X-Version")]++
				}
			}
			tr.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return tr
}

// finish stops the traffic and returns its counts.
func (tr *traffic) finish() (map[string]int, []string) {
	close(tr.stop)
	<-tr.done
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.versions, tr.failures
}

// finishAfter lets n more requests go through the load balancer after the
// change under test, so its aftermath is part of what the traffic saw, then
// stops the traffic. It waits at most 10 s.
func (tr *traffic) finishAfter(n int) (map[string]int, []string) {
	count := func() int {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		total := len(tr.failures)
		for _, c := range tr.versions {
			total += c
		}
		return total
	}
	target := count() + n
	deadline := time.Now().Add(10 * time.Second)
	for count() < target && time.Now().Before(deadline) {
		select {
		case <-tr.done:
			return tr.finish()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return tr.finish()
}

// snapshot returns the counts so far.
func (tr *traffic) snapshot() map[string]int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := map[string]int{}
	for k, v := range tr.versions {
		out[k] = v
	}
	return out
}

func assertNoFailures(t testing.TB, versions map[string]int, failures []string) {
	t.Helper()
	total := len(failures)
	for _, n := range versions {
		total += n
	}
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed through the load balancer, first: %s (served: %v)", len(failures), total, failures[0], versions)
	}
	if total < 50 {
		t.Fatalf("only %d requests were sent: the traffic did not flow", total)
	}
}

// versionNow asks the load balancer a few times and returns the versions
// that answered.
func versionsNow(t testing.TB, url string, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	client := &http.Client{Timeout: 5 * time.Second}
	for range n {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			out[fmt.Sprint(resp.StatusCode)]++
			continue
		}
		out[resp.Header.Get("X-Version")]++
	}
	return out
}

// stageNamed returns the run's stage with that name.
func stageNamed(t testing.TB, e *model.Execution, name string) *model.StageExecution {
	t.Helper()
	for i := range e.Stages {
		if e.Stages[i].Name == name {
			return &e.Stages[i]
		}
	}
	t.Fatalf("run %s has no stage %q: %s", e.ID, name, describe(e))
	return nil
}
