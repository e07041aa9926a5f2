package canaryapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/canary/judge"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

const configDoc = `{
  "name": "web-canary",
  "applications": ["web"],
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "metrics": [
    {"name": "errors", "groups": ["errors"], "scopeName": "default",
     "query": {"type": "prometheus", "metricName": "gennaker_lb_request_errors_total", "customFilterTemplate": "sg"},
     "analysisConfigurations": {"canary": {"direction": "increase", "critical": true}}},
    {"name": "latency", "groups": ["latency"],
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:rate(x{server_group=\"${scope}\"}[1m])"},
     "analysisConfigurations": {"canary": {"direction": "increase", "effectSize": {"allowedIncrease": 1.1}}}}
  ],
  "templates": {"sg": "server_group=\"${scope}\""},
  "classifier": {"groupWeights": {"errors": 60, "latency": 40}},
  "somethingKayentaAdds": {"kept": true}
}`

type client struct {
	t   *testing.T
	url string
}

func (c client) do(method, path, body string) (int, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
	req.Header.Set("X-SPINNAKER-USER", "ana")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func setup(t *testing.T) (client, *embedded.Store) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(New(st, nil, nil))
	t.Cleanup(srv.Close)
	return client{t, srv.URL}, st
}

// TestCanaryConfigLifecycle creates, reads, updates, lists and deletes a
// canary config through Gate's paths, with its versions kept.
func TestCanaryConfigLifecycle(t *testing.T) {
	c, _ := setup(t)
	code, b := c.do("POST", "/v2/canaryConfig", configDoc)
	if code != 200 {
		t.Fatalf("create: %d %s", code, b)
	}
	var created struct{ CanaryConfigID string }
	json.Unmarshal(b, &created)
	id := created.CanaryConfigID
	if id == "" {
		t.Fatalf("no canaryConfigId in %s", b)
	}

	code, b = c.do("GET", "/v2/canaryConfig/"+id, "")
	var got map[string]any
	json.Unmarshal(b, &got)
	if code != 200 || got["name"] != "web-canary" || got["id"] != id || got["somethingKayentaAdds"] == nil || got["updatedTimestamp"] == nil {
		t.Fatalf("get: %d %s", code, b)
	}

	got["description"] = "second version"
	nb, _ := json.Marshal(got)
	if code, b = c.do("PUT", "/v2/canaryConfig/"+id, string(nb)); code != 200 {
		t.Fatalf("update: %d %s", code, b)
	}
	code, b = c.do("GET", "/v2/canaryConfig/"+id+"/history", "")
	var hist []canary.ConfigVersion
	json.Unmarshal(b, &hist)
	if code != 200 || len(hist) != 2 || hist[0].Version != 2 || hist[0].Config["description"] != "second version" || hist[1].Config["description"] != nil || hist[0].User != "ana" {
		t.Fatalf("history: %d %s", code, b)
	}

	code, b = c.do("GET", "/v2/canaryConfig?application=web", "")
	var list []canary.ConfigSummary
	json.Unmarshal(b, &list)
	if code != 200 || len(list) != 1 || list[0].ID != id || list[0].Name != "web-canary" {
		t.Fatalf("list: %d %s", code, b)
	}
	if _, b = c.do("GET", "/v2/canaryConfig?application=other", ""); strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("another application's list: %s", b)
	}

	if code, b = c.do("POST", "/v2/canaryConfig", configDoc); code != http.StatusConflict || !strings.Contains(string(b), id) {
		t.Errorf("a second config of the same name: %d %s", code, b)
	}

	// A bad update is refused and the config stays as it was.
	if code, b = c.do("PUT", "/v2/canaryConfig/"+id, `{"name": "web-canary", "metrics": [{"name": "x", "query": {"type": "prometheus"}}]}`); code != 400 || !strings.Contains(string(b), "metrics[0].query.metricName") {
		t.Errorf("bad update: %d %s", code, b)
	}
	if _, b = c.do("GET", "/v2/canaryConfig/"+id+"/history", ""); strings.Count(string(b), `"version"`) != 2 {
		t.Errorf("a refused update adds no version: %s", b)
	}

	if code, _ = c.do("DELETE", "/v2/canaryConfig/"+id, ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, b = c.do("GET", "/v2/canaryConfig/"+id, ""); code != 404 {
		t.Errorf("deleted config: %d %s", code, b)
	}
	if code, _ = c.do("PUT", "/v2/canaryConfig/nope", configDoc); code != 404 {
		t.Errorf("updating a config that does not exist: %d", code)
	}
}

// TestInvalidConfig: every problem is reported with its JSON path, and
// nothing is stored.
func TestInvalidConfig(t *testing.T) {
	c, _ := setup(t)
	bad := `{"name": "", "judge": {"name": "dredd-v1.0"},
	  "metrics": [
	    {"name": "a", "query": {"type": "datadog"}},
	    {"name": "a", "query": {"type": "prometheus"}, "analysisConfigurations": {"canary": {"direction": "up", "effectSize": {"measure": "huge", "allowedIncrease": "lots"}}}},
	    {"name": "c", "query": {"type": "cloudwatch", "metricName": "x"}}
	  ],
	  "classifier": {"groupWeights": {"a": 80, "b": 40}}}`
	code, b := c.do("POST", "/v2/canaryConfig", bad)
	if code != 400 {
		t.Fatalf("status %d: %s", code, b)
	}
	var e struct {
		Message string
		Errors  []string
	}
	json.Unmarshal(b, &e)
	for _, want := range []string{
		"name: is required", "judge.name:", "metrics[0].query.type:", "metrics[1].name:", "metrics[1].query.metricName:",
		"metrics[1].analysisConfigurations.canary.direction:", "metrics[1].analysisConfigurations.canary.effectSize.allowedIncrease:",
		"metrics[2].query.namespace:", "classifier.groupWeights:",
	} {
		found := false
		for _, p := range e.Errors {
			if strings.HasPrefix(p, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem %q among %q", want, e.Errors)
		}
	}
	if _, b = c.do("GET", "/v2/canaryConfig", ""); strings.TrimSpace(string(b)) != "[]" {
		t.Errorf("an invalid config is not stored: %s", b)
	}
	if code, b = c.do("POST", "/v2/canaryConfig", "{not json"); code != 400 {
		t.Errorf("malformed JSON: %d %s", code, b)
	}
}

// fixedSource answers from series the test gives: a stand-in for a metrics
// account in a test of the API's report, named as the fake it is.
type fixedSource map[string][]float64

func (f fixedSource) Type() string { return "prometheus" }
func (f fixedSource) Fetch(_ context.Context, m canary.MetricConfig, _ map[string]string, sc canary.Scope) ([]canary.Series, error) {
	return []canary.Series{{Tags: map[string]string{}, Values: f[m.Name+"/"+sc.Scope]}}, nil
}

// TestCanaryRunResult: a judged run is served in Kayenta's shape and as a
// readable report naming the failing metric.
func TestCanaryRunResult(t *testing.T) {
	c, st := setup(t)
	cfg, probs := canary.ParseConfig([]byte(configDoc))
	if probs != nil {
		t.Fatal(probs)
	}
	cfg.ID = "cfg-1"
	base := []float64{10, 10.2, 9.8, 10.1, 9.9, 10.3, 9.7, 10, 10.2, 9.8}
	worse := make([]float64, len(base))
	for i, v := range base {
		worse[i] = v * 1.5
	}
	sources := canary.NewSources()
	sources.Add("prom", fixedSource{"errors/base": base, "errors/can": worse, "latency/base": base, "latency/can": base})
	a := canary.Analyzer{Sources: sources, Results: canary.NewResults(st)}
	now := time.Now()
	exec, err := a.Run(context.Background(), canary.Request{ID: "run-1", Config: cfg, Application: "web",
		Scopes: map[string]canary.ScopePair{"default": {
			Control:    canary.Scope{Scope: "base", Start: now.Add(-10 * time.Minute), End: now, Step: time.Minute},
			Experiment: canary.Scope{Scope: "can", Start: now.Add(-10 * time.Minute), End: now, Step: time.Minute}}},
		Thresholds: judge.Thresholds{Pass: 75, Marginal: 50}})
	if err != nil {
		t.Fatal(err)
	}
	if exec.Score() != 0 {
		t.Fatalf("a critical High fails the canary; score %v", exec.Score())
	}
	code, b := c.do("GET", "/v2/canaries/canary/run-1", "")
	var got struct {
		PipelineID string `json:"pipelineId"`
		Complete   bool
		Status     string
		Result     struct {
			JudgeResult struct {
				JudgeName string
				Results   []map[string]any
				Score     struct {
					Score          float64
					Classification string
				}
			}
		}
		CanaryExecutionRequest map[string]any
	}
	if err := json.Unmarshal(b, &got); err != nil || code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	jr := got.Result.JudgeResult
	if !got.Complete || got.Status != "succeeded" || jr.JudgeName != judge.Name || jr.Score.Classification != "Fail" || len(jr.Results) != 2 {
		t.Fatalf("run: %s", b)
	}
	if jr.Results[0]["classification"] != "High" || jr.Results[0]["critical"] != true || jr.Results[1]["classification"] != "Pass" {
		t.Errorf("results: %v", jr.Results)
	}
	if got.CanaryExecutionRequest["scopes"] == nil {
		t.Errorf("the request's scopes are part of the run: %s", b)
	}
	code, b = c.do("GET", "/v2/canaries/canary/run-1/report", "")
	if code != 200 || !bytes.Contains(b, []byte("errors")) || !bytes.Contains(b, []byte("High (critical)")) || !bytes.Contains(b, []byte("score 0: Fail")) {
		t.Errorf("report:\n%s", b)
	}
	if code, _ = c.do("GET", "/v2/canaries/canary/nope", ""); code != 404 {
		t.Errorf("unknown run: %d", code)
	}
}

// brokenSource fails every query: a stand-in for an unreachable metrics
// store, named as the fake it is.
type brokenSource struct{}

func (brokenSource) Type() string { return "prometheus" }
func (brokenSource) Fetch(ctx context.Context, m canary.MetricConfig, _ map[string]string, sc canary.Scope) ([]canary.Series, error) {
	if m.Name == "latency" {
		return nil, io.ErrUnexpectedEOF
	}
	<-ctx.Done() // the other query waits until the failure stops it
	return nil, ctx.Err()
}

// TestFailedRunIsRecorded: a run whose metrics cannot be fetched is
// recorded as terminal, with the metric and the cause.
func TestFailedRunIsRecorded(t *testing.T) {
	c, st := setup(t)
	cfg, _ := canary.ParseConfig([]byte(configDoc))
	sources := canary.NewSources()
	sources.Add("prom", brokenSource{})
	a := canary.Analyzer{Sources: sources, Results: canary.NewResults(st)}
	now := time.Now()
	_, err := a.Run(context.Background(), canary.Request{ID: "run-2", Config: cfg,
		Scopes: map[string]canary.ScopePair{"default": {Control: canary.Scope{Scope: "a", Start: now, End: now}, Experiment: canary.Scope{Scope: "b", Start: now, End: now}}}})
	if err == nil || !strings.Contains(err.Error(), `metric "latency", baseline (control) scope "a": unexpected EOF`) {
		t.Fatalf("the error names the metric and the cause, not the canceled query: %v", err)
	}
	code, b := c.do("GET", "/v2/canaries/canary/run-2", "")
	if code != 200 || !bytes.Contains(b, []byte(`"status":"terminal"`)) || !bytes.Contains(b, []byte("unexpected EOF")) {
		t.Errorf("%d %s", code, b)
	}
}

// TestConfigsOfApplicationsTheCallerMayNotRead: a config naming an
// application the caller may not READ is a 403 to read, with its history,
// and left out of listings; the others are as before.
func TestConfigsOfApplicationsTheCallerMayNotRead(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := New(st, nil, nil)
	h.Readable = func(_ context.Context, app string) error {
		if app == "secret" {
			return &auth.Denied{User: "ana", Permission: auth.Read, Kind: "application", Resource: app}
		}
		return nil
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := client{t, srv.URL}

	ids := map[string]string{}
	for _, app := range []string{"web", "secret"} {
		doc := strings.Replace(strings.Replace(configDoc, `"web-canary"`, `"`+app+`-canary"`, 1), `["web"]`, `["`+app+`"]`, 1)
		code, b := c.do("POST", "/v2/canaryConfig", doc)
		var created struct{ CanaryConfigID string }
		json.Unmarshal(b, &created)
		if code != 200 || created.CanaryConfigID == "" {
			t.Fatalf("create %s: %d %s", app, code, b)
		}
		ids[app] = created.CanaryConfigID
	}
	for _, p := range []string{"", "/history"} {
		if code, b := c.do("GET", "/v2/canaryConfig/"+ids["secret"]+p, ""); code != 403 || !strings.Contains(string(b), "access denied") || strings.Contains(string(b), "gennaker_lb") {
			t.Errorf("GET of a config of an application the caller may not READ%s: %d %s", p, code, b)
		}
		if code, _ := c.do("GET", "/v2/canaryConfig/"+ids["web"]+p, ""); code != 200 {
			t.Errorf("GET of a readable config%s: %d", p, code)
		}
	}
	for _, q := range []string{"", "?application=secret"} {
		_, b := c.do("GET", "/v2/canaryConfig"+q, "")
		if strings.Contains(string(b), ids["secret"]) {
			t.Errorf("GET /v2/canaryConfig%s lists the unreadable config: %s", q, b)
		}
	}
	if _, b := c.do("GET", "/v2/canaryConfig", ""); !strings.Contains(string(b), ids["web"]) {
		t.Errorf("GET /v2/canaryConfig leaves out the readable config: %s", b)
	}
}
