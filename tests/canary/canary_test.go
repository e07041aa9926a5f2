// Package canary_test runs automated canary analysis end to end on the
// real `gennaker up` binary: the local provider's load balancer serves real
// traffic to real hello processes, a real Prometheus (Debian's package,
// installed by hack/prometheus-install.sh, which `make test` runs) scrapes
// its per-server-group metrics every 250 ms, and a pipeline deploys v2
// through a kayentaCanary stage that deploys its own baseline and canary.
//
// The canary is short: a 24 s lifetime in two intervals of 0.2 minutes
// (fractional minutes), points every second.
package canary_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gennaker/gennaker/examples/hello/hellobin"
	"github.com/gennaker/gennaker/shared/canary/prometheus/promtest"
)

var (
	gennakerBin, helloBin string
	buildErr              error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gennaker-canary-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildErr = build(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root := filepath.Clean(filepath.Join(wd, "..", ".."))
	gennakerBin = filepath.Join(dir, "gennaker")
	cmd := exec.Command("go", "build", "-o", gennakerBin, "./cmd/gennaker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build gennaker: %v\n%s", err, out)
	}
	helloBin, err = hellobin.Build(context.Background(), root, dir)
	return err
}

// server is a running `gennaker up`.
type server struct {
	t    *testing.T
	url  string
	cmd  *exec.Cmd
	log  *strings.Builder
	mu   sync.Mutex
	done chan error
}

var upLine = regexp.MustCompile(`API on (http://\S+),`)

func startServer(t *testing.T, promURL string) *server {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts.yml")
	doc := fmt.Sprintf("metricsAccounts:\n  - name: prometheus\n    type: prometheus\n    endpoint: {baseUrl: %q}\n", promURL)
	if err := os.WriteFile(accounts, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gennakerBin, "up", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--accounts", accounts)
	s := &server{t: t, cmd: cmd, log: &strings.Builder{}, done: make(chan error, 1)}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if m := upLine.FindStringSubmatch(line); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case s.url = <-urls:
	case err := <-s.done:
		t.Fatalf("gennaker up exited: %v\n%s", err, s.logs())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("gennaker up did not start in 60s:\n%s", s.logs())
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	return s
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// call sends a JSON request and decodes the answer into out (if not nil).
func (s *server) call(method, path string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		if str, ok := body.(string); ok {
			b = []byte(str)
		}
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-SPINNAKER-USER", "tester")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

type stageView struct {
	Name    string         `json:"name"`
	Type    string         `json:"type"`
	Status  string         `json:"status"`
	Context map[string]any `json:"context"`
}

type executionView struct {
	ID     string      `json:"id"`
	Status string      `json:"status"`
	Stages []stageView `json:"stages"`
}

// runPipeline saves a pipeline and runs it to the end.
func (s *server) runPipeline(name string, timeout time.Duration, stages ...string) executionView {
	s.t.Helper()
	doc := fmt.Sprintf(`{"application": "hello", "name": %q, "stages": [%s]}`, name, strings.Join(stages, ","))
	s.call("POST", "/pipelines", doc, nil)
	var ref struct{ Ref string }
	s.call("POST", "/pipelines/hello/"+name, `{"type": "manual", "user": "tester"}`, &ref)
	deadline := time.Now().Add(timeout)
	for {
		var e executionView
		s.call("GET", ref.Ref, nil, &e)
		switch e.Status {
		case "SUCCEEDED", "TERMINAL", "CANCELED", "STOPPED", "FAILED_CONTINUE":
			return e
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("pipeline %s did not end in %s: %+v\n%s", name, timeout, e, s.logs())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func (s *server) serverGroups() map[string]bool {
	var groups []struct {
		Name       string `json:"name"`
		IsDisabled bool   `json:"isDisabled"`
	}
	s.call("GET", "/applications/hello/serverGroups", nil, &groups)
	out := map[string]bool{}
	for _, g := range groups {
		out[g.Name] = !g.IsDisabled
	}
	return out
}

// traffic sends requests through the load balancer until stopped,
// counting answers and errors per server group.
type traffic struct {
	stop   atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	total  map[string]int
	errors map[string]int
	failed int // requests that got no answer
}

func startTraffic(lb string, workers int) *traffic {
	tr := &traffic{total: map[string]int{}, errors: map[string]int{}}
	client := &http.Client{Timeout: 5 * time.Second}
	for range workers {
		tr.wg.Add(1)
		go func() {
			defer tr.wg.Done()
			for !tr.stop.Load() {
				resp, err := client.Get(lb + "/")
				tr.mu.Lock()
				if err != nil {
					tr.failed++
				} else {
					g := resp.Header.Get("X-Server-Group")
					tr.total[g]++
					if resp.StatusCode >= 500 {
						tr.errors[g]++
					}
				}
				tr.mu.Unlock()
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	return tr
}

func (tr *traffic) finish() (total, errors map[string]int, failed int) {
	tr.stop.Store(true)
	tr.wg.Wait()
	return tr.total, tr.errors, tr.failed
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// canaryConfig judges the error ratio (critical) and the mean latency in
// milliseconds: the judge's root finder works to an absolute 1e-4, too
// coarse for latencies in seconds.
const canaryConfig = `{
  "name": "hello-canary",
  "applications": ["hello"],
  "judge": {"name": "NetflixACAJudge-v1.0", "judgeConfigurations": {}},
  "metrics": [
    {"name": "error-ratio", "groups": ["errors"], "scopeName": "default",
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:sum(rate(gennaker_lb_request_errors_total{server_group=\"${scope}\"}[5s])) / sum(rate(gennaker_lb_requests_total{server_group=\"${scope}\"}[5s]))"},
     "analysisConfigurations": {"canary": {"direction": "increase", "critical": true}}},
    {"name": "mean-latency", "groups": ["latency"], "scopeName": "default",
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:1000 * sum(rate(gennaker_lb_request_duration_seconds_sum{server_group=\"${scope}\"}[5s])) / sum(rate(gennaker_lb_request_duration_seconds_count{server_group=\"${scope}\"}[5s]))"},
     "analysisConfigurations": {"canary": {"direction": "increase", "effectSize": {"allowedIncrease": 2}}}}
  ],
  "classifier": {"groupWeights": {"errors": 70, "latency": 30}}
}`

func clusterJSON(version, detail string, desired int, extraEnv string) string {
	return fmt.Sprintf(`{"cloudProvider": "local", "account": "local", "region": "local",
	  "application": "hello", "stack": "prod", "freeFormDetails": %q, "strategy": "redblack",
	  "capacity": {"min": %d, "max": %d, "desired": %d},
	  "loadBalancers": ["hello-lb"], "healthCheckPath": "/health",
	  "artifact": {"type": "local/command", "command": %q, "env": {"VERSION": %q%s}}}`,
		detail, desired, desired, desired, helloBin, version, extraEnv)
}

// canaryStage deploys v2 (with extraEnv) as a canary beside a baseline of
// production, judges it for 24 s in two intervals, and cleans up.
func canaryStage(configID, extraEnv string) string {
	return fmt.Sprintf(`{"refId": "canary", "type": "kayentaCanary", "name": "Canary v2", "analysisType": "realTime",
	  "canaryConfig": {"canaryConfigId": %q, "metricsAccountName": "prometheus",
	    "lifetimeDuration": "PT24S", "canaryAnalysisIntervalMins": "0.2", "beginCanaryAnalysisAfterMins": "0",
	    "scopes": [{"scopeName": "default", "step": 1}],
	    "scoreThresholds": {"pass": "70", "marginal": "50"}},
	  "deployments": {
	    "baseline": {"cloudProvider": "local", "application": "hello", "account": "local", "cluster": "hello-prod"},
	    "serverGroupPairs": [{
	      "control": {"cloudProvider": "local", "account": "local", "region": "local", "application": "hello", "stack": "prod", "freeFormDetails": "baseline"},
	      "experiment": {"cloudProvider": "local", "account": "local", "region": "local", "application": "hello", "stack": "prod", "freeFormDetails": "canary",
	        "artifact": {"type": "local/command", "command": %q, "env": {"VERSION": "v2"%s}}}}],
	    "delayBeforeCleanup": "PT0S"}}`, configID, helloBin, extraEnv)
}

func promoteStage(extraEnv string) string {
	return fmt.Sprintf(`{"refId": "promote", "type": "deploy", "name": "Promote v2", "requisiteStageRefIds": ["canary"],
	  "clusters": [%s]}`, clusterJSON("v2", "", 2, extraEnv))
}

// setup starts Prometheus and gennaker up, creates the application, its
// load balancer and production (v1, two instances), saves the canary
// config, and points Prometheus at the load balancer.
func setup(t *testing.T) (*server, string, string) {
	prom := promtest.Start(t, 250*time.Millisecond)
	s := startServer(t, prom.URL)
	s.call("POST", "/tasks", `{"application": "hello", "description": "Create Application: hello",
	  "job": [{"type": "createApplication", "application": {"name": "hello", "email": "team@example.com", "cloudProviders": "local"}}]}`, nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/applications/hello")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("application hello was not created")
		}
		time.Sleep(100 * time.Millisecond)
	}
	e := s.runPipeline("production", 2*time.Minute,
		`{"refId": "lb", "type": "upsertLoadBalancer", "name": "Load balancer",
		  "loadBalancers": [{"cloudProvider": "local", "account": "local", "region": "local", "name": "hello-lb", "listenPort": 0}]}`,
		`{"refId": "v1", "type": "deploy", "name": "Deploy v1", "requisiteStageRefIds": ["lb"], "clusters": [`+clusterJSON("v1", "", 2, "")+`]}`)
	if e.Status != "SUCCEEDED" {
		t.Fatalf("production deploy: %+v", e)
	}
	var lbs []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	}
	s.call("GET", "/applications/hello/loadBalancers", nil, &lbs)
	if len(lbs) != 1 || lbs[0].URL == "" {
		t.Fatalf("load balancers: %+v", lbs)
	}
	lb := lbs[0].URL
	prom.SetTargets(t, strings.TrimPrefix(lb, "http://"))
	var created struct{ CanaryConfigID string }
	s.call("POST", "/v2/canaryConfig", canaryConfig, &created)
	return s, lb, created.CanaryConfigID
}

// intervals returns the canary stage's judged intervals.
func intervals(t *testing.T, e executionView) []map[string]any {
	for _, st := range e.Stages {
		if st.Type == "kayentaCanary" {
			state, _ := st.Context["canaryState"].(map[string]any)
			list, _ := state["intervals"].([]any)
			var out []map[string]any
			for _, iv := range list {
				m, _ := iv.(map[string]any)
				out = append(out, m)
			}
			return out
		}
	}
	t.Fatalf("no kayentaCanary stage in %+v", e)
	return nil
}

func stageOf(e executionView, typ string) stageView {
	for _, st := range e.Stages {
		if st.Type == typ {
			return st
		}
	}
	return stageView{}
}

func logLatency(t *testing.T, ivs []map[string]any) {
	for _, iv := range ivs {
		t.Logf("%s: score %v, judged %vms after the interval's end (%s)", iv["name"], iv["canaryScore"], iv["judgedAfterIntervalEndMs"], iv["endTimeIso"])
	}
}

// TestHealthyCanaryIsPromoted: v2 behaves like v1, so both intervals pass
// and the promote stage deploys v2 to production; the canary's baseline
// and canary server groups are gone.
func TestHealthyCanaryIsPromoted(t *testing.T) {
	s, lb, configID := setup(t)
	tr := startTraffic(lb, 4)
	e := s.runPipeline("release", 5*time.Minute, canaryStage(configID, ""), promoteStage(""))
	total, errs, failed := tr.finish()
	ivs := intervals(t, e)
	logLatency(t, ivs)
	if e.Status != "SUCCEEDED" {
		t.Fatalf("release of a healthy v2: %s; canary stage: %v", e.Status, stageOf(e, "kayentaCanary").Context)
	}
	if len(ivs) != 2 {
		t.Fatalf("two intervals judged, got %d", len(ivs))
	}
	for _, iv := range ivs {
		if iv["canaryScore"].(float64) < 70 {
			t.Errorf("interval %v scored %v", iv["name"], iv["canaryScore"])
		}
	}
	groups := s.serverGroups()
	for name := range groups {
		if strings.Contains(name, "baseline") || strings.Contains(name, "canary") {
			t.Errorf("the canary's server group %s was not cleaned up: %v", name, groups)
		}
	}
	if !groups["hello-prod-v001"] || groups["hello-prod-v000"] {
		t.Errorf("v2 (hello-prod-v001) should serve production and v1 be disabled: %v", groups)
	}
	if sum(errs) != 0 || failed != 0 {
		t.Errorf("a healthy release answered %d errors and %d failures out of %d", sum(errs), failed, sum(total))
	}
	if total["hello-prod-canary-v000"] == 0 || total["hello-prod-baseline-v000"] == 0 {
		t.Errorf("the canary and the baseline took production traffic: %v", total)
	}

	// The report, in Kayenta's shape and as the CLI prints it.
	id, _ := ivs[0]["canaryPipelineExecutionId"].(string)
	var run struct {
		Result struct {
			JudgeResult struct {
				Results []map[string]any
			}
		}
	}
	s.call("GET", "/v2/canaries/canary/"+id, nil, &run)
	if len(run.Result.JudgeResult.Results) != 2 {
		t.Errorf("the run reports both metrics: %+v", run)
	}
	out, err := exec.Command(gennakerBin, "execution", "get", e.ID, "--api", s.url).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "error-ratio") || !strings.Contains(string(out), "mean-latency") || !strings.Contains(string(out), "Run Canary #2") {
		t.Errorf("gennaker execution get does not show the canary report (%v):\n%s", err, out)
	} else {
		t.Logf("gennaker execution get %s:\n%s", e.ID, out)
	}
}

// TestFailingCanaryIsRolledBack: v2 answers 20% errors. The first interval
// fails the canary naming error-ratio, the canary's server groups are
// destroyed, v2 is never promoted, and production saw errors only from the
// canary's share of the traffic.
func TestFailingCanaryIsRolledBack(t *testing.T) {
	s, lb, configID := setup(t)
	tr := startTraffic(lb, 4)
	start := time.Now()
	e := s.runPipeline("release", 5*time.Minute, canaryStage(configID, `, "ERROR_RATE": "0.2"`), promoteStage(`, "ERROR_RATE": "0.2"`))
	elapsed := time.Since(start)
	// Traffic after the pipeline ended: production is v1 alone again.
	time.Sleep(time.Second)
	total, errs, failed := tr.finish()
	ivs := intervals(t, e)
	logLatency(t, ivs)

	if e.Status != "TERMINAL" {
		t.Fatalf("release of a failing v2: %s", e.Status)
	}
	canaryStage := stageOf(e, "kayentaCanary")
	msg, _ := canaryStage.Context["canaryScoreMessage"].(string)
	if canaryStage.Status != "TERMINAL" || !strings.Contains(msg, "error-ratio (High, critical)") || !strings.Contains(msg, "not above the marginal score threshold") {
		t.Fatalf("the canary stage should fail naming the metric: %s %q", canaryStage.Status, msg)
	}
	if len(ivs) == 0 || ivs[len(ivs)-1]["canaryScore"].(float64) > 50 {
		t.Errorf("the canary stops at the first interval at or below the marginal score: %v", ivs)
	}
	t.Logf("the canary failed at interval %d of 2", len(ivs))
	if elapsed > 90*time.Second {
		t.Logf("the failing release took %s", elapsed)
	}
	if p := stageOf(e, "deploy"); p.Status != "" && p.Status != "NOT_STARTED" {
		t.Errorf("v2 must not be promoted after a failed canary; promote stage %s", p.Status)
	}
	groups := s.serverGroups()
	if len(groups) != 1 || !groups["hello-prod-v000"] {
		t.Errorf("after the rollback only v1 (hello-prod-v000) serves: %v", groups)
	}
	if failed != 0 {
		t.Errorf("%d requests got no answer", failed)
	}
	canaryGroup := "hello-prod-canary-v000"
	for g, n := range errs {
		if g != canaryGroup && n > 0 {
			t.Errorf("%d errors came from %s; only the canary answers errors", n, g)
		}
	}
	share := float64(total[canaryGroup]) / float64(sum(total))
	rate := float64(sum(errs)) / float64(sum(total))
	canaryRate := float64(errs[canaryGroup]) / float64(max(1, total[canaryGroup]))
	t.Logf("production traffic: %d requests, %.1f%% to the canary, %.2f%% errors (the canary's own rate %.1f%%)", sum(total), 100*share, 100*rate, 100*canaryRate)
	if errs[canaryGroup] == 0 {
		t.Fatalf("the canary answered no errors: %v %v", total, errs)
	}
	if share > 0.4 || rate > share*0.35 {
		t.Errorf("production saw %.1f%% errors with %.1f%% of traffic on the canary; it should see only the canary's share of 20%%", 100*rate, 100*share)
	}
}

// TestCanceledCanaryTakesItsServerGroupsDown: canceling a release while
// the canary runs destroys the baseline and canary server groups.
func TestCanceledCanaryTakesItsServerGroupsDown(t *testing.T) {
	s, lb, configID := setup(t)
	tr := startTraffic(lb, 2)
	defer tr.finish()
	doc := fmt.Sprintf(`{"application": "hello", "name": "release", "stages": [%s]}`, canaryStage(configID, ""))
	s.call("POST", "/pipelines", doc, nil)
	var ref struct{ Ref string }
	s.call("POST", "/pipelines/hello/release", `{"type": "manual", "user": "tester"}`, &ref)
	deadline := time.Now().Add(2 * time.Minute)
	for groups := s.serverGroups(); !groups["hello-prod-canary-v000"] || !groups["hello-prod-baseline-v000"]; groups = s.serverGroups() {
		if time.Now().After(deadline) {
			t.Fatalf("the canary's server groups never came up: %v", groups)
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.call("PUT", ref.Ref+"/cancel", nil, nil)
	for {
		var e executionView
		s.call("GET", ref.Ref, nil, &e)
		if e.Status == "CANCELED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the release was not canceled: %s", e.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for groups := s.serverGroups(); len(groups) != 1 || !groups["hello-prod-v000"]; groups = s.serverGroups() {
		if time.Now().After(deadline) {
			t.Fatalf("after the cancel only production should remain: %v", groups)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRetrospectiveCanary judges a past window of existing server groups
// without deploying anything: production against itself passes.
func TestRetrospectiveCanary(t *testing.T) {
	s, lb, configID := setup(t)
	tr := startTraffic(lb, 2)
	// Prometheus finds the load balancer and has two scrapes of traffic
	// (what a rate needs) within a few seconds.
	time.Sleep(4 * time.Second)
	start := time.Now().UTC()
	time.Sleep(8 * time.Second)
	end := time.Now().UTC()
	tr.finish()
	e := s.runPipeline("retro", 2*time.Minute, fmt.Sprintf(`{"refId": "c", "type": "kayentaCanary", "name": "Look back", "analysisType": "retrospective",
	  "canaryConfig": {"canaryConfigId": %q, "canaryAnalysisIntervalMins": "0.05",
	    "scopes": [{"controlScope": "hello-prod-v000", "experimentScope": "hello-prod-v000", "controlLocation": "local", "experimentLocation": "local",
	      "startTimeIso": %q, "endTimeIso": %q, "step": 1}],
	    "scoreThresholds": {"pass": 90, "marginal": 50}}}`, configID, start.Format(time.RFC3339), end.Format(time.RFC3339)))
	ivs := intervals(t, e)
	if e.Status != "SUCCEEDED" || len(ivs) < 2 {
		t.Fatalf("retrospective canary: %s, %d intervals: %v", e.Status, len(ivs), stageOf(e, "kayentaCanary").Context)
	}
	for _, iv := range ivs {
		if iv["canaryScore"].(float64) != 100 {
			t.Errorf("production against itself scores 100; %v scored %v", iv["name"], iv["canaryScore"])
		}
	}
}

// TestUnknownCanaryConfigDeploysNothing: a canary whose config does not
// exist fails before it deploys anything, saying which config to save.
func TestUnknownCanaryConfigDeploysNothing(t *testing.T) {
	s, _, _ := setup(t)
	e := s.runPipeline("release", 2*time.Minute, canaryStage("no-such-config", ""), promoteStage(""))
	st := stageOf(e, "kayentaCanary")
	errs, _ := st.Context["exception"].(map[string]any)
	msg := fmt.Sprint(errs)
	if e.Status != "TERMINAL" || !strings.Contains(msg, `no canary config "no-such-config"`) || !strings.Contains(msg, "POST /v2/canaryConfig") {
		t.Fatalf("%s: %s", e.Status, msg)
	}
	if groups := s.serverGroups(); len(groups) != 1 || !groups["hello-prod-v000"] {
		t.Errorf("nothing is deployed for a canary that cannot be judged: %v", groups)
	}
}

// latencyConfig judges latency alone, critically: a canary at least twice
// as slow as its baseline fails.
const latencyConfig = `{
  "name": "hello-latency",
  "applications": ["hello"],
  "metrics": [
    {"name": "mean-latency", "groups": ["latency"],
     "query": {"type": "prometheus", "customInlineTemplate": "PromQL:1000 * sum(rate(gennaker_lb_request_duration_seconds_sum{server_group=\"${scope}\"}[5s])) / sum(rate(gennaker_lb_request_duration_seconds_count{server_group=\"${scope}\"}[5s]))"},
     "analysisConfigurations": {"canary": {"direction": "increase", "critical": true, "effectSize": {"allowedIncrease": 2, "criticalIncrease": 2}}}}
  ]
}`

// TestSlowCanaryIsRolledBack: v2 waits 30 ms before it answers, several
// times the baseline's latency; the canary fails naming mean-latency and
// is taken down, and production keeps v1.
func TestSlowCanaryIsRolledBack(t *testing.T) {
	s, lb, _ := setup(t)
	var created struct{ CanaryConfigID string }
	s.call("POST", "/v2/canaryConfig", latencyConfig, &created)
	tr := startTraffic(lb, 4)
	e := s.runPipeline("release", 5*time.Minute, canaryStage(created.CanaryConfigID, `, "LATENCY": "30ms"`), promoteStage(`, "LATENCY": "30ms"`))
	tr.finish()
	ivs := intervals(t, e)
	logLatency(t, ivs)
	st := stageOf(e, "kayentaCanary")
	msg, _ := st.Context["canaryScoreMessage"].(string)
	if e.Status != "TERMINAL" || !strings.Contains(msg, "mean-latency (High, critical)") {
		t.Fatalf("a slow canary fails naming the metric: %s %q", e.Status, msg)
	}
	id, _ := ivs[0]["canaryPipelineExecutionId"].(string)
	var run struct {
		Result struct {
			JudgeResult struct {
				Results []struct {
					ResultMetadata struct {
						Ratio float64 `json:"ratio"`
					} `json:"resultMetadata"`
				}
			}
		}
	}
	s.call("GET", "/v2/canaries/canary/"+id, nil, &run)
	if r := run.Result.JudgeResult.Results; len(r) != 1 || r[0].ResultMetadata.Ratio < 3 {
		t.Errorf("the canary should be at least 3× slower than its baseline: %+v", r)
	} else {
		t.Logf("canary / baseline mean latency: %.1f×", r[0].ResultMetadata.Ratio)
	}
	if groups := s.serverGroups(); len(groups) != 1 || !groups["hello-prod-v000"] {
		t.Errorf("after the rollback only v1 serves: %v", groups)
	}
}
