package lambda_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/examples/hello/hellobin"
	"github.com/gennaker/gennaker/providers"
	localprovider "github.com/gennaker/gennaker/providers/local"
	"github.com/gennaker/gennaker/shared/store"
)

// List prices, us-east-1, arm64 Lambda, on-demand DynamoDB.
const (
	pricePerTransition = 0.025 / 1000      // Step Functions Standard
	pricePerGBSecond   = 0.0000133334      // Lambda arm64
	pricePerInvocation = 0.20 / 1_000_000  // Lambda requests
	pricePerWRU        = 0.625 / 1_000_000 // DynamoDB on-demand write request unit
	pricePerRRU        = 0.125 / 1_000_000 // DynamoDB on-demand read request unit
	pricePerAPICall    = 1.00 / 1_000_000  // API Gateway HTTP API
	orchestratorGB     = 0.5               // memory the CDK app gives the functions
	tasksGB            = 1.0
	apiGB              = 0.5
)

// TestCostOfARedBlackPipeline runs a 10-stage pipeline with two red/black
// deploys through the Lambda entry points and counts what AWS would bill:
// state transitions, function invocations and their duration, DynamoDB
// request units and API calls. The local provider stands in for the cloud
// being deployed to; everything gennaker itself does is real.
func TestCostOfARedBlackPipeline(t *testing.T) {
	bin, err := hellobin.Build(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatalf("build hello: %v", err)
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"ok":true}`) }))
	defer hook.Close()
	h := startCloud(t, harnessOptions{providers: func(t *testing.T, records store.Records) *providers.Registry {
		lp, err := localprovider.New(context.Background(), localprovider.Options{
			Records: records, LogDir: t.TempDir(), HealthInterval: 50 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = lp.Close() })
		accts, _ := providers.WithLocal(nil)
		reg, err := providers.NewRegistry(accts, lp)
		if err != nil {
			t.Fatal(err)
		}
		return reg
	}})
	h.call(t, "POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "hello", "email": "team@example.com"}}}})

	cluster := func(stack string) map[string]any {
		return map[string]any{
			"cloudProvider": "local", "account": "local", "region": "local",
			"application": "hello", "stack": stack, "strategy": "redblack",
			"capacity":      map[string]any{"min": 2, "max": 2, "desired": 2},
			"loadBalancers": []string{"hello-lb-" + stack}, "healthCheckPath": "/health",
			"maxRemainingAsgs": 2,
			"artifact":         map[string]any{"type": "local/command", "command": bin, "env": map[string]any{"VERSION": "${parameters.version}"}},
		}
	}
	lb := func(stack string) map[string]any {
		return map[string]any{"cloudProvider": "local", "account": "local", "region": "local", "name": "hello-lb-" + stack, "listenPort": 0}
	}
	stage := func(ref, typ, name string, reqs []string, fields map[string]any) map[string]any {
		m := map[string]any{"refId": ref, "type": typ, "name": name, "requisiteStageRefIds": reqs}
		for k, v := range fields {
			m[k] = v
		}
		return m
	}
	pipeline := map[string]any{
		"application": "hello", "name": "release",
		"parameterConfig": []any{map[string]any{"name": "version", "default": "v1"}},
		"stages": []any{
			stage("1", "evaluateVariables", "Prepare", nil, map[string]any{"variables": []any{map[string]any{"key": "release", "value": "${parameters.version}"}}}),
			stage("2", "upsertLoadBalancer", "Load balancers", []string{"1"}, map[string]any{"loadBalancers": []any{lb("staging"), lb("prod")}}),
			stage("3", "deploy", "Deploy staging", []string{"2"}, map[string]any{"clusters": []any{cluster("staging")}}),
			stage("4", "webhook", "Smoke test", []string{"3"}, map[string]any{"url": hook.URL + "/smoke", "method": "POST"}),
			stage("5", "checkPreconditions", "Check", []string{"4"}, map[string]any{"preconditions": []any{map[string]any{"type": "expression", "context": map[string]any{"expression": "${#stage('Smoke test')['status'] == 'SUCCEEDED'}"}}}}),
			stage("6", "manualJudgment", "Approve", []string{"5"}, nil),
			stage("7", "deploy", "Deploy prod", []string{"6"}, map[string]any{"clusters": []any{cluster("prod")}}),
			stage("8", "wait", "Bake", []string{"7"}, map[string]any{"waitTime": 2}),
			stage("9", "webhook", "Announce", []string{"8"}, map[string]any{"url": hook.URL + "/announce", "method": "POST"}),
			stage("10", "evaluateVariables", "Record", []string{"9"}, map[string]any{"variables": []any{map[string]any{"key": "done", "value": "${release}"}}}),
		},
	}
	if code, body := h.call(t, "POST", "/pipelines", pipeline); code >= 300 {
		t.Fatalf("save: %d %v", code, body)
	}
	rruSetup, wruSetup, _ := h.capacity.snapshot()
	transitionsSetup := h.rt.StateTransitions()
	_, body := h.call(t, "POST", "/pipelines/hello/release", map[string]any{"type": "manual", "parameters": map[string]any{"version": "v2"}})
	id := strings.TrimPrefix(body["ref"].(string), "/pipelines/")

	deadline := time.Now().Add(90 * time.Second)
	judged := false
	var e map[string]any
	for {
		e = h.look(t, "/pipelines/"+id)
		st, _ := e["status"].(string)
		if st == "SUCCEEDED" || st == "TERMINAL" || st == "CANCELED" {
			break
		}
		for _, s := range e["stages"].([]any) {
			sm := s.(map[string]any)
			if !judged && sm["name"] == "Approve" && sm["status"] == "RUNNING" {
				h.call(t, "PATCH", "/pipelines/"+id+"/stages/"+sm["id"].(string), map[string]any{"judgmentStatus": "continue"})
				judged = true
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pipeline did not finish: %v", e["status"])
		}
		time.Sleep(200 * time.Millisecond)
	}
	if e["status"] != "SUCCEEDED" {
		t.Fatalf("pipeline ended %v: %v", e["status"], e)
	}
	transitions := h.rt.StateTransitions() - transitionsSetup
	orch, tasks := h.calls.orchestrator.Load(), h.calls.tasks.Load()
	busy := time.Duration(h.calls.busy.Load())
	rru, wru, requests := h.capacity.snapshot()
	rru, wru = rru-rruSetup, wru-wruSetup
	if transitions == 0 || orch == 0 || tasks == 0 || wru == 0 || rru == 0 {
		t.Fatalf("nothing was counted: transitions %d, invocations %d/%d, WRU %.1f, RRU %.1f", transitions, orch, tasks, wru, rru)
	}
	// Billed duration: each invocation's measured time here, in the same
	// process as dynalite; on AWS each DynamoDB call adds a few ms of network.
	perInvocation := busy / time.Duration(orch+tasks)
	gbSeconds := busy.Seconds() * (float64(orch)*orchestratorGB + float64(tasks)*tasksGB) / float64(orch+tasks)
	cost := map[string]float64{
		"Step Functions transitions":       float64(transitions) * pricePerTransition,
		"Lambda requests":                  float64(orch+tasks+2) * pricePerInvocation,
		"Lambda GB-seconds":                gbSeconds * pricePerGBSecond,
		"DynamoDB writes":                  wru * pricePerWRU,
		"DynamoDB reads":                   rru * pricePerRRU,
		"API Gateway (trigger + judgment)": 2 * pricePerAPICall,
	}
	total := 0.0
	var lines []string
	for k, v := range cost {
		total += v
		lines = append(lines, fmt.Sprintf("  %-34s $%.6f", k, v))
	}
	sort.Strings(lines)
	var ops []string
	for k, v := range requests {
		ops = append(ops, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(ops)
	t.Logf("10-stage pipeline with two red/black deploys of 2 instances each, one run:\n"+
		"  state transitions %d; invocations orchestrator %d, tasks %d (mean %s, %.3f GB-s); "+
		"DynamoDB %.0f WRU, %.0f RRU (requests incl. setup: %s)\n%s\n  total per run                      $%.6f",
		transitions, orch, tasks, perInvocation.Round(time.Millisecond), gbSeconds, wru, rru, strings.Join(ops, " "),
		strings.Join(lines, "\n"), total)
}
