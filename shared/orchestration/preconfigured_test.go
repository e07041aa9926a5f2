package orchestration_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/runtime/platform"
)

// ciServer is a Jenkins-like CI server: a build is queued with a POST to
// /job/{job}/buildWithParameters, which answers with the Location of the
// build to poll; the build of a job whose name ends in -broken fails.
type ciServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []ciRequest
}

type ciRequest struct {
	Method, Path, Authorization string
	Body                        map[string]any
}

func newCIServer(t *testing.T) *ciServer {
	ci := &ciServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /job/{job}/buildWithParameters", func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		req := ciRequest{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization")}
		if err := json.Unmarshal(raw, &req.Body); err != nil {
			t.Errorf("CI server: the payload is not JSON: %s", raw)
		}
		ci.mu.Lock()
		ci.requests = append(ci.requests, req)
		ci.mu.Unlock()
		w.Header().Set("Location", "/build/"+r.PathValue("job"))
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /build/{job}", func(w http.ResponseWriter, r *http.Request) {
		result := "SUCCESS"
		if strings.HasSuffix(r.PathValue("job"), "-broken") {
			result = "FAILURE"
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"building": false, "result": "`+result+`"}`)
	})
	ci.Server = httptest.NewServer(mux)
	t.Cleanup(ci.Close)
	return ci
}

func (ci *ciServer) received() []ciRequest {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	return append([]ciRequest(nil), ci.requests...)
}

// jenkinsConfig is an installation's configuration file defining a
// "jenkins" stage type that builds jobs on the CI server.
func jenkinsConfig(ciURL string) string {
	return `
stageTypes:
- type: jenkins
  label: Jenkins job
  webhook:
    url: "` + ciURL + `/job/${job}/buildWithParameters"
    method: POST
    customHeaders: {Authorization: "Bearer ci-token"}
    payload:
      job: "${job}"
      controller: "${parameterValues['master']}"
      tag: "${trigger.parameters.tag}"
      cause: "${execution.trigger.user}"
    waitForCompletion: true
    statusUrlResolution: locationHeader
    statusJsonPath: $.result
    successStatuses: SUCCESS
    terminalStatuses: FAILURE, ABORTED
  parameters:
  - {name: job, label: Job}
  - {name: master, label: Controller}
`
}

// ciPipeline is a pipeline exported from Spinnaker with its jenkins stage,
// in the shape Deck writes it.
func ciPipeline(job string) string {
	return `{"application": "shop", "name": "ci-` + job + `", "stages": [
	  {"refId": "1", "type": "jenkins", "name": "Build", "master": "ci", "job": "` + job + `",
	   "parameters": {"BRANCH": "main", "TAG": "${trigger.parameters.tag}"},
	   "markUnstableAsSuccessful": false, "waitForCompletion": false,
	   "continuePipeline": false, "failPipeline": true, "requisiteStageRefIds": []}]}`
}

func openWithConfig(t *testing.T, doc string) *local.Runtime {
	t.Helper()
	cfg, err := platform.ParseConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := local.Open(context.Background(), local.Options{DataDir: t.TempDir(), Accounts: cfg.Accounts, StageTypes: cfg.StageTypes})
	if err != nil {
		t.Fatalf("open runtime: %v", err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

// A stage of a type the installation configured runs as a webhook to the
// CI server, with the stage's own fields in the request, and succeeds or
// fails as the build does.
func TestPreconfiguredStageTypeRunsAsWebhook(t *testing.T) {
	ci := newCIServer(t)
	rt := openWithConfig(t, jenkinsConfig(ci.URL))

	ok := savePipeline(t, rt, ciPipeline("shop-build"))
	e := waitDone(t, rt, trigger(t, rt, ok, map[string]any{"tag": "v1.2.3"}), 30*time.Second)
	assertStatus(t, e, model.StatusSucceeded)
	assertStage(t, e, "Build", model.StatusSucceeded)

	reqs := ci.received()
	if len(reqs) != 1 {
		t.Fatalf("the CI server received %d requests, want 1: %+v", len(reqs), reqs)
	}
	got := reqs[0]
	if got.Path != "/job/shop-build/buildWithParameters" || got.Authorization != "Bearer ci-token" {
		t.Errorf("request %s %s (Authorization %q), want the job's URL and the configured header", got.Method, got.Path, got.Authorization)
	}
	if got.Body["job"] != "shop-build" || got.Body["controller"] != "ci" || got.Body["tag"] != "v1.2.3" || got.Body["cause"] != "tester" {
		t.Errorf("payload %v, want the stage's job and controller, the trigger's tag and user", got.Body)
	}
	build := stageNamed(t, e, "Build")
	if monitor, _ := build.Context["webhook"].(map[string]any)["monitor"].(map[string]any); monitor["statusCodeValue"] != float64(200) {
		t.Errorf("the stage did not record the status poll: %v", build.Context["webhook"])
	}
	if build.Context["job"] != "shop-build" {
		t.Errorf("the stage lost its own fields: %v", build.Context)
	}

	broken := savePipeline(t, rt, ciPipeline("shop-broken"))
	e = waitDone(t, rt, trigger(t, rt, broken, map[string]any{"tag": "v1"}), 30*time.Second)
	assertStatus(t, e, model.StatusTerminal)
	assertStage(t, e, "Build", model.StatusTerminal)
	if msg := describe(e); !strings.Contains(msg, "/build/shop-broken reported status") || !strings.Contains(msg, "which terminalStatuses lists") {
		t.Errorf("the failure does not say why: %s", msg)
	}
}

// A pipeline with a configured type saves without a warning; without the
// configuration, the type is one the installation lacks.
func TestPreconfiguredStageTypeValidates(t *testing.T) {
	validate := func(rt *local.Runtime, doc string) (warnings []string) {
		t.Helper()
		rec := httptest.NewRecorder()
		rt.API().ServeHTTP(rec, httptest.NewRequest("POST", "/pipelines/validate", strings.NewReader(doc)))
		var res struct {
			Warnings []model.Problem `json:"warnings"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); rec.Code != 200 || err != nil {
			t.Fatalf("validate: %d %s", rec.Code, rec.Body)
		}
		for _, w := range res.Warnings {
			warnings = append(warnings, w.Path+": "+w.Message)
		}
		return warnings
	}
	configured := openWithConfig(t, jenkinsConfig("https://ci.example.com"))
	if w := validate(configured, ciPipeline("shop-build")); len(w) != 0 {
		t.Errorf("a configured stage type gives warnings: %q", w)
	}
	noJob := strings.Replace(ciPipeline("x"), `"job": "x",`, "", 1)
	if w := validate(configured, noJob); len(w) != 1 || !strings.Contains(w[0], "stages[0].job: is required: Job, a parameter of the jenkins stage type") {
		t.Errorf("a stage without a parameter: warnings %q", w)
	}
	plain := openWithConfig(t, "")
	if w := validate(plain, ciPipeline("shop-build")); len(w) != 1 || !strings.Contains(w[0], `stage type "jenkins" is not available here`) {
		t.Errorf("without the configuration: warnings %q", w)
	}
}
