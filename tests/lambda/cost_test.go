package lambda_test

import (
	"context"
	"encoding/json"
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
	"github.com/gennaker/gennaker/shared/cost"
	"github.com/gennaker/gennaker/shared/store"
)

// budgetUSD is what one run of the pipeline below may cost at us-east-1
// list prices.
const budgetUSD = 0.0007

// TestCostOfARedBlackPipeline runs a 10-stage pipeline with two red/black
// deploys through the Lambda entry points and checks the cost the run
// reports (GET /pipelines/{id} "cost") against what the run did, counted
// independently here: state transitions by the ASL runtime, invocations by
// the harness that invokes the functions, request units by dynalite's own
// consumed capacity. The run must cost at most budgetUSD at us-east-1 list
// prices. The local provider stands in for the cloud being deployed to;
// everything gennaker itself does is real.
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
	apiSetup, apiBusySetup := h.calls.api.Load(), h.calls.apiBusy.Load()
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
	// The last invocations record their cost just after they return, and
	// the machines theirs when they end: wait until every count is in.
	var c cost.Cost
	var transitions, invocations int64
	var rru, wru float64
	var requests map[string]int
	for settle := time.Now().Add(20 * time.Second); ; {
		transitions = h.rt.StateTransitions() - transitionsSetup
		invocations = h.calls.orchestrator.Load() + h.calls.tasks.Load() + h.calls.api.Load() - apiSetup
		rru, wru, requests = h.capacity.snapshot()
		rru, wru = rru-rruSetup, wru-wruSetup
		raw, _ := json.Marshal(h.look(t, "/pipelines/"+id)["cost"])
		c = cost.Cost{}
		_ = json.Unmarshal(raw, &c)
		if c.Transitions == transitions && c.Invocations == invocations && c.WriteUnits == wru && c.ReadUnits == rru {
			break
		}
		if time.Now().After(settle) {
			t.Fatalf("the run reports %+v;\nwhat it did: %d transitions, %d invocations, %.0f RRU, %.0f WRU", c.Usage, transitions, invocations, rru, wru)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if transitions == 0 || c.GBSeconds <= 0 || wru == 0 || rru == 0 {
		t.Fatalf("nothing was counted: %+v", c.Usage)
	}
	if c.APICalls != 2 {
		t.Errorf("API calls = %d, want 2 (the trigger and the judgment)", c.APICalls)
	}
	// Compute is billed per invocation by its own duration; the harness
	// times each invocation from outside, so its total bounds the ledger's
	// (up to the millisecond Lambda rounds each invocation up to).
	busy, apiBusy := time.Duration(h.calls.busy.Load()), time.Duration(h.calls.apiBusy.Load()-apiBusySetup)
	if most := cost.Compute(busy, cost.TasksMemoryMB) + cost.Compute(apiBusy, cost.APIMemoryMB) + float64(invocations)*0.001; c.GBSeconds > most {
		t.Errorf("the run reports %.3f GB-s, more than its invocations took (%.3f GB-s at most)", c.GBSeconds, most)
	}
	var ops []string
	for k, v := range requests {
		ops = append(ops, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(ops)
	t.Logf("10-stage pipeline with two red/black deploys of 2 instances each, one run, as GET /pipelines/{id} reports it:\n"+
		"  state transitions %d; invocations %d (%.3f GB-s); DynamoDB %.0f WRU, %.0f RRU (requests incl. setup: %s); API calls %d\n"+
		"  Step Functions $%.6f, Lambda requests $%.6f, Lambda compute $%.6f, DynamoDB $%.6f, API Gateway $%.6f\n"+
		"  total per run $%.6f (%s)",
		c.Transitions, c.Invocations, c.GBSeconds, c.WriteUnits, c.ReadUnits, strings.Join(ops, " "), c.APICalls,
		c.USD.StepFunctions, c.USD.LambdaRequest, c.USD.LambdaCompute, c.USD.DynamoDB, c.USD.APIGateway, c.TotalUSD, c.Region)
	if c.Region != "us-east-1" {
		t.Errorf("priced at %q, want us-east-1", c.Region)
	}
	if c.TotalUSD > budgetUSD {
		t.Errorf("one run costs $%.6f, over the budget of $%.4f", c.TotalUSD, budgetUSD)
	}
}
