// Package lambda_test runs a pipeline through the Lambda entry points —
// the api, orchestrator and tasks functions, each invoked as the Lambda
// runtime invokes it, with serialized event payloads — with the store on a
// real DynamoDB-protocol server (dynalite) and the local ASL runtime standing
// in for Step Functions, executing the same state machine files.
package lambda_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/cost"
	"github.com/gennaker/gennaker/shared/lambdahttp"
	"github.com/gennaker/gennaker/shared/notify"
	"github.com/gennaker/gennaker/shared/orchestration"
	"github.com/gennaker/gennaker/shared/runtime/env"
	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/dynamodb"
	"github.com/gennaker/gennaker/shared/store/dynamodb/dynalitetest"
	"github.com/gennaker/gennaker/statemachines"
)

// invocations counts calls per function, as Lambda would bill them, and how
// long they took.
type invocations struct {
	orchestrator, tasks, api atomic.Int64
	busy                     atomic.Int64 // nanoseconds spent in the orchestrator and tasks functions
	apiBusy                  atomic.Int64 // nanoseconds spent in the api function
}

type cloudHarness struct {
	api lambda.Handler
	// observe serves the same API on a DynamoDB client that is not
	// measured, for a test's own status polls.
	observe  lambda.Handler
	calls    *invocations
	rt       *asl.Runtime
	capacity *capacity
	// store is the functions' store, through an unmeasured client.
	store store.Store
}

// harnessOptions vary the harness.
type harnessOptions struct {
	// providers builds deployment targets on the harness's records.
	providers func(t *testing.T, records store.Records) *providers.Registry
	// events takes the lifecycle events onward, as the stack's bus does.
	events notify.Publisher
}

func startCloud(t *testing.T, opts harnessOptions) *cloudHarness {
	t.Helper()
	ctx := context.Background()
	endpoint := dynalitetest.Start(t)
	capa := &capacity{}
	db := dynalitetest.Client(endpoint, capa.measure, dynamodb.MeterCapacity)
	tables := dynamodb.TablesWithPrefix(fmt.Sprintf("gennaker-%d-", time.Now().UnixNano()))
	if err := dynamodb.CreateTables(ctx, db, tables); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	vars := map[string]string{
		env.ConfigTable:        tables.Config,
		env.ExecutionsTable:    tables.Executions,
		env.RuntimeTable:       tables.Runtime,
		env.PipelineMachineArn: "set below",
		env.StageMachineArn:    "set below",
	}
	cfg, err := lambdaruntime.ConfigFromEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// What stands in for Step Functions' own state and for the cloud
	// deployed to goes through a client that is not measured: on AWS neither
	// would touch gennaker's tables.
	unmeasured := dynamodb.New(dynalitetest.Client(endpoint), tables)
	var provs *providers.Registry
	if opts.providers != nil {
		provs = opts.providers(t, unmeasured.Records())
	}
	p, err := lambdaruntime.New(cfg, lambdaruntime.Deps{DB: db, Providers: provs, Logger: log, Events: opts.events})
	if err != nil {
		t.Fatal(err)
	}

	calls := &invocations{}
	// Each function is what its main.go hands to lambda.Start, wrapped the
	// way the Lambda runtime calls it: JSON bytes in, JSON bytes out.
	orchestratorFn := lambda.NewHandler(lambdaruntime.Traced(log, p.Step(local.OrchestratorFunction, cost.OrchestratorMemoryMB)))
	tasksFn := lambda.NewHandler(lambdaruntime.Traced(log, p.Step(local.TasksFunction, cost.TasksMemoryMB)))
	apiFn := lambda.NewHandler(lambdahttp.Handler(p.API()))
	observer, err := lambdaruntime.New(cfg, lambdaruntime.Deps{DB: dynalitetest.Client(endpoint), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	observeFn := lambda.NewHandler(lambdahttp.Handler(observer.API()))
	invoke := func(h lambda.Handler, n *atomic.Int64) asl.Function {
		return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
			n.Add(1)
			start := time.Now()
			defer func() { calls.busy.Add(int64(time.Since(start))) }()
			return h.Invoke(ctx, payload)
		}
	}
	rt, err := asl.New(asl.Options{
		Journal: unmeasured.Records(),
		Functions: map[string]asl.Function{
			local.OrchestratorFunction: invoke(orchestratorFn, &calls.orchestrator),
			local.TasksFunction:        invoke(tasksFn, &calls.tasks),
		},
		// Step Functions counts transitions in the cloud; here the ASL
		// runtime does, and its ledger entries are not the cloud's writes.
		Ended:  local.StatesLedger(unmeasured.Records(), log),
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	machines := orchestration.Machines{}
	for name, def := range statemachines.Definitions() {
		arn, err := rt.RegisterStateMachine(name, local.Substitute(def))
		if err != nil {
			t.Fatal(err)
		}
		switch name {
		case "pipeline":
			machines.Pipeline = arn
		case "stage":
			machines.Stage = arn
		}
	}
	p.Orchestrator.SetMachines(machines)
	p.Orchestrator.SetEngine(local.Engine{RT: rt})
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return &cloudHarness{api: apiFn, observe: observeFn, calls: calls, rt: rt, capacity: capa, store: unmeasured}
}

// call sends one API Gateway HTTP API event through the api function.
func (h *cloudHarness) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	h.calls.api.Add(1)
	start := time.Now()
	defer func() { h.calls.apiBusy.Add(int64(time.Since(start))) }()
	return callAPI(t, h.api, method, path, body)
}

// look is call on the unmeasured API, for polling.
func (h *cloudHarness) look(t *testing.T, path string) map[string]any {
	t.Helper()
	code, body := callAPI(t, h.observe, "GET", path, nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %v", path, code, body)
	}
	return body
}

func callAPI(t *testing.T, fn lambda.Handler, method, path string, body any) (int, map[string]any) {
	t.Helper()
	rawPath, query, _ := strings.Cut(path, "?")
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        rawPath,
		RawQueryString: query,
		Headers:        map[string]string{"content-type": "application/json", "accept": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "api.example.com",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: rawPath, SourceIP: "198.51.100.1"},
			// The stack's IAM authorizer names the caller; the API takes
			// the user from it.
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/ci"},
			},
		},
	}
	if body != nil {
		b, _ := json.Marshal(body)
		ev.Body = string(b)
	}
	payload, _ := json.Marshal(ev)
	out, err := fn.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s %s: response %s: %v", method, path, out, err)
	}
	var m map[string]any
	if resp.Body != "" {
		var v any
		if err := json.Unmarshal([]byte(resp.Body), &v); err == nil {
			if mm, ok := v.(map[string]any); ok {
				m = mm
			} else {
				m = map[string]any{"list": v}
			}
		}
	}
	return resp.StatusCode, m
}

func TestPipelineThroughLambdaEntryPoints(t *testing.T) {
	var hooks atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hooks.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"received": %s}`, body)
	}))
	defer hook.Close()

	h := startCloud(t, harnessOptions{})
	if code, body := h.call(t, "POST", "/tasks", map[string]any{
		"application": "shop",
		"description": "Create Application: shop",
		"job":         []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "shop", "email": "team@example.com"}}},
	}); code >= 300 {
		t.Fatalf("create application: %d %v", code, body)
	}
	pipeline := map[string]any{
		"application": "shop", "name": "release",
		"stages": []any{
			map[string]any{"refId": "1", "type": "wait", "name": "Soak", "waitTime": 1},
			map[string]any{"refId": "2", "type": "manualJudgment", "name": "Approve", "requisiteStageRefIds": []string{"1"}},
			map[string]any{"refId": "3", "type": "webhook", "name": "Announce", "requisiteStageRefIds": []string{"2"},
				"url": hook.URL + "/deployed", "method": "POST", "payload": map[string]any{"by": "${#judgment('Approve')}"}},
		},
	}
	if code, body := h.call(t, "POST", "/pipelines", pipeline); code >= 300 {
		t.Fatalf("save pipeline: %d %v", code, body)
	}
	code, body := h.call(t, "POST", "/pipelines/shop/release", map[string]any{"type": "manual", "user": "jane"})
	if code >= 300 {
		t.Fatalf("trigger: %d %v", code, body)
	}
	ref, _ := body["ref"].(string)
	id := strings.TrimPrefix(ref, "/pipelines/")
	if id == "" {
		t.Fatalf("trigger answered %v", body)
	}

	get := func() map[string]any {
		code, e := h.call(t, "GET", "/pipelines/"+id, nil)
		if code != 200 {
			t.Fatalf("get execution: %d %v", code, e)
		}
		return e
	}
	stage := func(e map[string]any, name string) map[string]any {
		for _, s := range e["stages"].([]any) {
			if sm := s.(map[string]any); sm["name"] == name {
				return sm
			}
		}
		t.Fatalf("no stage %q", name)
		return nil
	}
	deadline := time.Now().Add(20 * time.Second)
	var e map[string]any
	for {
		e = get()
		if stage(e, "Approve")["status"] == "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the judgment was never awaited: %v", e["status"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	if stage(e, "Soak")["status"] != "SUCCEEDED" || hooks.Load() != 0 {
		t.Fatalf("before the judgment: soak %v, webhooks sent %d", stage(e, "Soak")["status"], hooks.Load())
	}
	approve := stage(e, "Approve")["id"].(string)
	if code, body := h.call(t, "PATCH", "/pipelines/"+id+"/stages/"+approve, map[string]any{"judgmentStatus": "continue", "judgmentInput": "jane"}); code >= 300 {
		t.Fatalf("judge: %d %v", code, body)
	}
	for {
		e = get()
		if s, _ := e["status"].(string); s == "SUCCEEDED" || s == "TERMINAL" || s == "CANCELED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not finish: %v", e["status"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	if e["status"] != "SUCCEEDED" {
		t.Fatalf("run ended %v: %v", e["status"], e)
	}
	if hooks.Load() != 1 {
		t.Fatalf("webhook sent %d times, want once", hooks.Load())
	}
	ctxAnnounce, _ := stage(e, "Announce")["context"].(map[string]any)
	wh, _ := ctxAnnounce["webhook"].(map[string]any)
	if b, _ := json.Marshal(wh["body"]); !strings.Contains(string(b), `"by":"jane"`) {
		t.Fatalf("webhook response not kept in the stage context: %s", b)
	}
	t.Logf("function invocations: orchestrator %d, tasks %d, api %d", h.calls.orchestrator.Load(), h.calls.tasks.Load(), h.calls.api.Load())
	if h.calls.orchestrator.Load() == 0 || h.calls.tasks.Load() == 0 {
		t.Fatalf("the state machines did not go through the function entry points")
	}
}
