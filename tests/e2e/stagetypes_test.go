package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// An installation's stage type, defined in the file of `gennaker up
// --accounts`, runs a pipeline exported from Spinnaker with a jenkins stage:
// the stage saves without a warning and runs as a webhook to the CI server.
func TestConfiguredStageTypeRuns(t *testing.T) {
	needBinaries(t)
	var mu sync.Mutex
	var queued []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /job/{job}/buildWithParameters", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		queued = append(queued, r.URL.Path+" "+string(body))
		mu.Unlock()
		w.Header().Set("Location", "/build/"+r.PathValue("job"))
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /build/{job}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"result": "SUCCESS"}`)
	})
	ci := httptest.NewServer(mux)
	defer ci.Close()

	dir := t.TempDir()
	config := filepath.Join(dir, "gennaker.yaml")
	doc := `accounts: []
stageTypes:
- type: jenkins
  label: Jenkins job
  webhook:
    url: "` + ci.URL + `/job/${job}/buildWithParameters"
    payload: {controller: "${master}"}
    waitForCompletion: true
    statusUrlResolution: locationHeader
    statusJsonPath: $.result
    successStatuses: SUCCESS
    terminalStatuses: FAILURE
  parameters: [{name: job, label: Job}, {name: master, label: Controller}]
`
	pipeline := filepath.Join(dir, "ci.json")
	spinnaker := `{"application": "shop", "name": "CI", "stages": [
	  {"refId": "1", "type": "jenkins", "name": "Build", "master": "opseng", "job": "shop-build",
	   "parameters": {}, "markUnstableAsSuccessful": false, "waitForCompletion": false,
	   "continuePipeline": false, "failPipeline": true, "requisiteStageRefIds": []}]}`
	for path, content := range map[string]string{config: doc, pipeline: spinnaker} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	s := startServer(t, filepath.Join(dir, "data"), "--accounts", config)
	ok(t, s.gennaker(t, "app", "save", "shop", "--email", "shop@example.com"), "app save")
	r := ok(t, s.gennaker(t, "pipeline", "save", "-f", pipeline), "pipeline save")
	if out := r.stdout + r.stderr; strings.Contains(out, "not available") || strings.Contains(strings.ToLower(out), "warning") {
		t.Errorf("saving a pipeline with a configured stage type warned: %s", r)
	}
	r = ok(t, s.gennaker(t, "pipeline", "run", "shop", "CI", "--watch"), "pipeline run --watch")
	if !strings.Contains(r.stdout, `stage "Build" (jenkins) SUCCEEDED`) || !strings.Contains(r.stdout, `Pipeline "CI" SUCCEEDED`) {
		t.Errorf("the run did not succeed:\n%s", r.stdout)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(queued) != 1 || queued[0] != `/job/shop-build/buildWithParameters {"controller":"opseng"}` {
		t.Errorf("the CI server received %q", queued)
	}
}
