package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/api"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/store"
)

// env is the real API over a real embedded store and local runtime in a
// temporary directory, served on a loopback port.
type env struct {
	t     *testing.T
	rt    *local.Runtime
	srv   *httptest.Server
	store store.Store
}

func newEnv(t testing.TB) *env {
	tt, _ := t.(*testing.T)
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("GENNAKER_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	rt, err := local.Open(context.Background(), local.Options{DataDir: filepath.Join(dir, "data"), Logger: log})
	if err != nil {
		t.Fatalf("open local runtime: %v", err)
	}
	h := api.New(api.Options{
		Store:        rt.Store,
		Orchestrator: rt.Orchestrator,
		Registry:     rt.Orchestrator.Registry(),
		Version:      "1.2.3-test",
		Logger:       log,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := rt.Close(); err != nil {
			t.Errorf("close runtime: %v", err)
		}
	})
	return &env{t: tt, rt: rt, srv: srv, store: rt.Store}
}

// response is an HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiError is the error body every failure carries.
type apiError struct {
	Status    int      `json:"status"`
	Error     string   `json:"error"`
	Message   string   `json:"message"`
	Timestamp int64    `json:"timestamp"`
	Errors    []string `json:"errors"`
}

// call sends a request. body is sent as is when it is a string or []byte,
// and JSON-encoded otherwise.
func (e *env) call(t testing.TB, method, path string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// must sends a request and fails the test unless it gets want.
func (e *env) must(t testing.TB, want int, method, path string, body any, headers ...string) response {
	t.Helper()
	r := e.call(t, method, path, body, headers...)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	return r
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// createApp creates an application through a task, as spin does.
func (e *env) createApp(t testing.TB, name string) {
	t.Helper()
	task := map[string]any{
		"application": name,
		"description": "Create Application: " + name,
		"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{
			"name": name, "email": name + "@example.com", "cloudProviders": "local",
		}}},
	}
	var ref struct{ Ref string }
	e.must(t, 200, "POST", "/tasks", task).json(t, &ref)
	var got struct{ Status string }
	e.must(t, 200, "GET", ref.Ref, nil).json(t, &got)
	if got.Status != "SUCCEEDED" {
		t.Fatalf("createApplication task is %s, want SUCCEEDED", got.Status)
	}
}

// savePipeline saves a pipeline document and returns the stored config.
func (e *env) savePipeline(t testing.TB, doc any) map[string]any {
	t.Helper()
	var p map[string]any
	e.must(t, 200, "POST", "/pipelines", doc).json(t, &p)
	return p
}

// pipelineDoc is a pipeline with the given stages.
func pipelineDoc(app, name string, stages ...map[string]any) map[string]any {
	list := make([]any, len(stages))
	for i, s := range stages {
		list[i] = s
	}
	return map[string]any{"application": app, "name": name, "stages": list, "limitConcurrent": false}
}

func waitStage(ref, name string, secs int, reqs ...string) map[string]any {
	if reqs == nil {
		reqs = []string{}
	}
	return map[string]any{"refId": ref, "type": "wait", "name": name, "waitTime": secs, "requisiteStageRefIds": reqs}
}

func judgmentStage(ref, name string, reqs ...string) map[string]any {
	if reqs == nil {
		reqs = []string{}
	}
	return map[string]any{"refId": ref, "type": "manualJudgment", "name": name, "requisiteStageRefIds": reqs,
		"judgmentInputs": []any{map[string]any{"value": "ship"}, map[string]any{"value": "hold"}}}
}

// execution is the part of an execution the tests read.
type execution struct {
	ID               string         `json:"id"`
	Application      string         `json:"application"`
	Name             string         `json:"name"`
	PipelineConfigID string         `json:"pipelineConfigId"`
	Status           string         `json:"status"`
	BuildTime        int64          `json:"buildTime"`
	StartTime        int64          `json:"startTime"`
	EndTime          int64          `json:"endTime"`
	Trigger          map[string]any `json:"trigger"`
	Stages           []struct {
		ID                   string         `json:"id"`
		RefID                string         `json:"refId"`
		Type                 string         `json:"type"`
		Name                 string         `json:"name"`
		Status               string         `json:"status"`
		Context              map[string]any `json:"context"`
		RequisiteStageRefIDs []string       `json:"requisiteStageRefIds"`
	} `json:"stages"`
}

func (x *execution) stage(t testing.TB, name string) (id, status string) {
	t.Helper()
	for _, s := range x.Stages {
		if s.Name == name {
			return s.ID, s.Status
		}
	}
	t.Fatalf("execution %s has no stage %q", x.ID, name)
	return "", ""
}

// trigger starts a pipeline and returns the execution id.
func (e *env) trigger(t testing.TB, app, name string, trigger any) string {
	t.Helper()
	var ref struct{ Ref string }
	e.must(t, 202, "POST", "/pipelines/"+app+"/"+pathEscape(name), trigger).json(t, &ref)
	if !strings.HasPrefix(ref.Ref, "/pipelines/") {
		t.Fatalf("trigger answered ref %q, want /pipelines/{id}", ref.Ref)
	}
	return strings.TrimPrefix(ref.Ref, "/pipelines/")
}

func (e *env) execution(t testing.TB, id string) *execution {
	t.Helper()
	var x execution
	e.must(t, 200, "GET", "/pipelines/"+id, nil).json(t, &x)
	return &x
}

// waitUntil polls the execution until cond holds.
func (e *env) waitUntil(t testing.TB, id, what string, cond func(*execution) bool) *execution {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		x := e.execution(t, id)
		if cond(x) {
			return x
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s: timed out waiting until %s; it is %s: %+v", id, what, x.Status, x.Stages)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) waitStatus(t testing.TB, id, status string) *execution {
	t.Helper()
	return e.waitUntil(t, id, "status "+status, func(x *execution) bool { return x.Status == status })
}

func (e *env) waitStage(t testing.TB, id, stage, status string) *execution {
	t.Helper()
	return e.waitUntil(t, id, "stage "+stage+" is "+status, func(x *execution) bool {
		for _, s := range x.Stages {
			if s.Name == stage && s.Status == status {
				return true
			}
		}
		return false
	})
}

// snapshot is everything the API can change, to check that a rejected
// request changed nothing.
func (e *env) snapshot(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	apps, err := e.store.Applications().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out["applications"] = apps
	pipes := map[string]any{}
	runs := map[string]any{}
	for _, a := range apps {
		list, err := e.store.Pipelines().List(ctx, a.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range list {
			hist, err := e.store.Pipelines().History(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			pipes[string(p.ID)] = hist
		}
		headers, err := e.store.Executions().ListByApplication(ctx, a.Name, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range headers {
			full, err := e.store.Executions().Get(ctx, h.ID)
			if err != nil {
				t.Fatal(err)
			}
			runs[string(h.ID)] = stable(full)
		}
	}
	out["pipelines"] = pipes
	out["executions"] = runs
	tasks := map[string]string{}
	if err := e.store.Records().Scan(ctx, "api/tasks/", func(k string, v []byte) error {
		tasks[k] = string(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out["tasks"] = tasks
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stable is the part of an execution a request could change; the engine's
// own progress (a wait's remaining time) is left out.
func stable(x *model.Execution) any {
	type st struct {
		ID, Name string
		Status   model.Status
		Context  map[string]any
	}
	out := struct {
		Status   model.Status
		Canceled bool
		Stages   []st
	}{Status: x.Status, Canceled: x.Canceled}
	for _, s := range x.Stages {
		ctx := map[string]any{}
		for _, k := range []string{"judgmentStatus", "judgmentInput", "skipRemainingWait", "lastModifiedBy"} {
			if v, ok := s.Context[k]; ok {
				ctx[k] = v
			}
		}
		out.Stages = append(out.Stages, st{ID: string(s.ID), Name: s.Name, Status: s.Status, Context: ctx})
	}
	return out
}

func pathEscape(s string) string { return url.PathEscape(s) }
