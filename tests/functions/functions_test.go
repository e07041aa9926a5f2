// Package functions_test checks the Lambda functions as Lambda runs them:
// each binary, built as the CDK app builds it, stays within its size
// budget, and each starts against a Lambda Runtime API served on loopback
// and answers its first invocation. BenchmarkColdStart measures the time
// from exec to the first /next and the first invocation's duration.
package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/infra/gobuild"
	"github.com/gennaker/gennaker/shared/runtime/env"
	"github.com/gennaker/gennaker/shared/store/dynamodb"
	"github.com/gennaker/gennaker/shared/store/dynamodb/dynalitetest"
	"github.com/gennaker/gennaker/statemachines"
)

// budgetBytes is the most a function binary may weigh (20 MB): its size is
// what each cold start downloads and maps.
const budgetBytes = 20_000_000

// overBudget are functions allowed more than budgetBytes, each with its own
// bound and the reason; keep it empty. Each bound is the function's size
// today plus a little, so that growth is noticed.
var overBudget = map[string]int64{
	// The two functions that link the Kubernetes provider: client-go's REST
	// client links apimachinery's serializers (protobuf, CBOR,
	// json-iterator), and only a Kubernetes client of our own would bring
	// them under 20 MB. The api function reads Kubernetes accounts for the
	// deployments read API, and serves the web UI's assets.
	"tasks-kubernetes": 31_000_000,
	"api":              32_000_000,
	// The AWS provider's function: the EC2 client
	// (aws-sdk-go-v2/service/ec2) alone weighs about 30 MB; a client of our
	// own for the few EC2 calls made would bring it near the others.
	"tasks-aws": 55_000_000,
	// Every function builds the whole platform, and so links the clients
	// of notifications (SNS, SES, EventBridge), canary metrics
	// (CloudWatch) and cron schedules (EventBridge Scheduler) whether it
	// calls them or not.
	"orchestrator": 23_000_000,
	"tasks":        23_000_000,
	"triggers":     23_000_000,
	"notifier":     21_000_000,
}

func repoRoot(tb testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestFunctionSizes builds every function as the CDK app does (linux/arm64,
// stripped) and holds each to the size budget.
func TestFunctionSizes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function for linux/arm64")
	}
	root := repoRoot(t)
	names, err := gobuild.Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	built, err := gobuild.Build(context.Background(), root, t.TempDir(), names)
	if err != nil {
		t.Fatal(err)
	}
	var report []string
	for _, f := range built {
		fi, err := os.Stat(filepath.Join(f.AssetDir, "bootstrap"))
		if err != nil {
			t.Fatal(err)
		}
		limit, ok := overBudget[f.Name]
		if !ok {
			limit = budgetBytes
		}
		report = append(report, fmt.Sprintf("%-18s %5.1f MB (budget %.0f MB)", f.Name, float64(fi.Size())/1e6, float64(limit)/1e6))
		if fi.Size() > limit {
			t.Errorf("function %s is %.1f MB, over its budget of %.0f MB: see what it links with `go version -m` and `go tool nm -size`", f.Name, float64(fi.Size())/1e6, float64(limit)/1e6)
		}
	}
	sort.Strings(report)
	t.Logf("function sizes (linux/arm64, as the CDK app builds them):\n  %s", strings.Join(report, "\n  "))
}

// buildNative builds the functions for this machine, with the CDK app's
// flags, so they can be run here. GENNAKER_FUNCTION_BINARIES names a
// directory of binaries built elsewhere (say, from another commit) to
// measure instead.
func buildNative(tb testing.TB) map[string]string {
	tb.Helper()
	if dir := os.Getenv("GENNAKER_FUNCTION_BINARIES"); dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			tb.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range entries {
			out[e.Name()] = filepath.Join(dir, e.Name())
		}
		return out
	}
	root := repoRoot(tb)
	names, err := gobuild.Discover(root)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	out := map[string]string{}
	for _, name := range names {
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, "./functions/"+name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("build %s: %v\n%s", name, err, b)
		}
		out[name] = bin
	}
	return out
}

// cloud is the environment the functions start in: tables on dynalite,
// and every variable the CDK app sets.
func cloud(tb testing.TB) []string {
	tb.Helper()
	endpoint := dynalitetest.Start(tb)
	tables := dynamodb.TablesWithPrefix(fmt.Sprintf("coldstart-%d-", time.Now().UnixNano()))
	if err := dynamodb.CreateTables(context.Background(), dynalitetest.Client(endpoint), tables); err != nil {
		tb.Fatal(err)
	}
	vars := []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_REGION=" + dynalitetest.Region,
		"AWS_ACCESS_KEY_ID=fake", "AWS_SECRET_ACCESS_KEY=fake",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint,
		"AWS_ENDPOINT_URL_SFN=http://127.0.0.1:9", // no first invocation here calls Step Functions
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024",
		env.ConfigTable + "=" + tables.Config,
		env.ExecutionsTable + "=" + tables.Executions,
		env.RuntimeTable + "=" + tables.Runtime,
		env.PipelineMachineArn + "=arn:aws:states:us-east-1:000000000000:stateMachine:pipeline",
		env.StageMachineArn + "=arn:aws:states:us-east-1:000000000000:stateMachine:stage",
		env.EventBusName + "=gennaker",
	}
	for _, f := range statemachines.Families {
		vars = append(vars, env.StageFamilyMachineArn(f)+"=arn:aws:states:us-east-1:000000000000:stateMachine:"+statemachines.FamilyMachine(f))
	}
	return vars
}

// firstEvent is an event each function answers on its first invocation,
// and what its answer must contain.
func firstEvent(name string) (any, string) {
	switch name {
	case "api":
		return map[string]any{
			"version": "2.0", "routeKey": "$default", "rawPath": "/health",
			"headers":        map[string]string{"accept": "application/json"},
			"requestContext": map[string]any{"http": map[string]any{"method": "GET", "path": "/health", "sourceIp": "198.51.100.1"}},
		}, `"statusCode":200`
	case "orchestrator":
		return map[string]any{"action": "reconcile"}, `"next":"done"`
	case "notifier":
		// The lifecycle event of a run that does not exist: nothing to
		// notify.
		return map[string]any{
			"version": "0", "id": "cold-1", "source": "gennaker", "detail-type": "pipeline.complete",
			"account": "123456789012", "region": "us-east-1", "time": "2026-12-07T00:00:00Z", "resources": []string{},
			"detail": map[string]any{"key": "01COLDSTART/pipeline.complete", "type": "pipeline.complete", "executionId": "01COLDSTART", "application": "shop"},
		}, "null"
	case "triggers":
		// An ECR push no pipeline listens to: the answer lists the event
		// and starts nothing.
		return map[string]any{
			"version": "0", "id": "cold-2", "source": "aws.ecr", "detail-type": "ECR Image Action",
			"account": "123456789012", "region": "us-east-1", "time": "2026-12-07T00:00:00Z", "resources": []string{},
			"detail": map[string]any{"action-type": "PUSH", "result": "SUCCESS", "repository-name": "shop", "image-tag": "v1", "image-digest": "sha256:00"},
		}, `"events":[{`
	default:
		// A stage of a run that does not exist: the function reads the
		// store and answers the error the state machine retries on.
		return map[string]any{"action": "runStage", "executionId": "01COLDSTART", "stageId": "s1", "attempt": 1, "name": "s1-cold-1"}, "TransientError"
	}
}

// coldStart execs one function and invokes it once. It returns the time
// from exec to the first /next and the first invocation's duration.
func coldStart(tb testing.TB, name, bin string, vars []string) (toNext, first time.Duration, answer string) {
	tb.Helper()
	api, err := newRuntimeAPI()
	if err != nil {
		tb.Fatal(err)
	}
	defer api.close()
	cmd := exec.Command(bin)
	cmd.Env = append(append([]string{}, vars...), "AWS_LAMBDA_RUNTIME_API="+api.addr, "AWS_LAMBDA_FUNCTION_NAME=gennaker-"+name, "_HANDLER=bootstrap")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	at, err := api.waitNext(30 * time.Second)
	if err != nil {
		tb.Fatalf("%s: %v\n%s", name, err, logs.String())
	}
	ev, _ := firstEvent(name)
	api.invoke("req-1", ev)
	select {
	case res := <-api.done:
		b, _ := json.Marshal(json.RawMessage(res.body))
		return at.Sub(start), res.took, string(b)
	case <-time.After(30 * time.Second):
		tb.Fatalf("%s did not answer its first invocation\n%s", name, logs.String())
	}
	return 0, 0, ""
}

// Every function starts as Lambda starts it and answers its first
// invocation.
func TestFunctionsStartAndAnswer(t *testing.T) {
	bins := buildNative(t)
	vars := cloud(t)
	for name, bin := range bins {
		toNext, first, answer := coldStart(t, name, bin, vars)
		_, want := firstEvent(name)
		if !strings.Contains(answer, want) {
			t.Errorf("%s answered %s, want %s in it", name, answer, want)
		}
		t.Logf("%-18s first /next after %6s, first invocation %6s", name, toNext.Round(time.Millisecond), first.Round(100*time.Microsecond))
	}
}

// BenchmarkColdStart starts each function afresh b.N times and reports
// the time from exec to its first /next request (its init) and its first
// invocation's duration.
func BenchmarkColdStart(b *testing.B) {
	bins := buildNative(b)
	vars := cloud(b)
	var names []string
	for n := range bins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			var toNext, first time.Duration
			for i := 0; i < b.N; i++ {
				n, f, _ := coldStart(b, name, bins[name], vars)
				toNext += n
				first += f
			}
			b.ReportMetric(float64(toNext.Microseconds())/1000/float64(b.N), "ms-to-next")
			b.ReportMetric(float64(first.Microseconds())/1000/float64(b.N), "ms-first-invoke")
			if fi, err := os.Stat(bins[name]); err == nil {
				b.ReportMetric(float64(fi.Size())/1e6, "MB")
			}
		})
	}
}
