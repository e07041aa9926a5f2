package awslambda

import (
	"context"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

// fakeFunctions stands in for Lambda where moto cannot: moto finishes every
// update at once and never throttles, so a function that stays InProgress
// for a while, or a throttled call, is played by this fake.
type fakeFunctions struct {
	providers.Functions // calls the tests do not expect panic
	fn                  providers.Function
	// busy is how many more Gets report the update in progress.
	busy int
	// throttle is how many more calls are throttled.
	throttle    int
	codeUpdates int
}

func (f *fakeFunctions) Get(_ context.Context, _, name string) (*providers.Function, error) {
	if f.throttle > 0 {
		f.throttle--
		return nil, &smithy.GenericAPIError{Code: "TooManyRequestsException", Message: "Rate exceeded"}
	}
	fn := f.fn
	if f.busy > 0 {
		f.busy--
		fn.LastUpdateStatus = "InProgress"
	}
	return &fn, nil
}

func (f *fakeFunctions) UpdateCode(context.Context, string, string, providers.FunctionCode) (*providers.Function, error) {
	f.codeUpdates++
	return &f.fn, nil
}

// runWith returns a run of a deployment stage whose account's functions
// are fns.
func runWith(t *testing.T, fns providers.Functions, ctx string) (*stages.Registry, *stages.Run) {
	t.Helper()
	reg := stages.NewRegistry()
	Register(reg)
	run := stagestest.NewRun(stagestest.ContextFromJSON(t, ctx))
	run.Stage.Type = DeploymentStage
	provs, err := providers.NewRegistry([]providers.Account{{Name: "prod", Provider: "aws", Regions: []string{"us-east-1"}}}, fakeProvider{fns})
	if err != nil {
		t.Fatal(err)
	}
	run.Services.Providers = provs
	if err := reg.Configure(run); err != nil {
		t.Fatal(err)
	}
	return reg, run
}

type fakeProvider struct{ fns providers.Functions }

func (fakeProvider) Name() string { return "aws" }
func (p fakeProvider) Cloud(a providers.Account) (*providers.Cloud, error) {
	return &providers.Cloud{Account: a, Functions: p.fns}, nil
}

const existing = `{"account": "prod", "region": "us-east-1", "functionName": "api", "runtime": "python3.12",
  "handler": "h", "role": "r", "s3bucket": "b", "s3key": "k", "lambdaCreated": false}`

// While Lambda is still applying an earlier change, the code update asks to
// be called again after a backoff instead of waiting, and acts once the
// function is ready.
func TestUpdatesWaitForLambdaWithoutBlocking(t *testing.T) {
	fns := &fakeFunctions{fn: providers.Function{Name: "shop-api", State: "Active", LastUpdateStatus: "Successful"}, busy: 2}
	_, run := runWith(t, fns, existing)
	for i := range 2 {
		r, err := UpdateLambdaCodeTask{}.Execute(context.Background(), run)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != model.StatusRunning || r.Backoff != pollBackoff {
			t.Fatalf("call %d while the update is in progress: %s after %s, want RUNNING after %s", i+1, r.Status, r.Backoff, pollBackoff)
		}
	}
	if fns.codeUpdates != 0 {
		t.Fatalf("the code was updated while Lambda was busy")
	}
	r, err := UpdateLambdaCodeTask{}.Execute(context.Background(), run)
	if err != nil || r.Status != model.StatusSucceeded || fns.codeUpdates != 1 {
		t.Fatalf("once ready: %s, %v, %d updates; want SUCCEEDED after one update", r.Status, err, fns.codeUpdates)
	}
	if (UpdateLambdaCodeTask{}).Timeout(run.Stage) != defaultTimeout {
		t.Errorf("the wait is not bounded by the default timeout")
	}
	run.Stage.Context["stageTimeoutMs"] = 60000.0
	if got := (UpdateLambdaCodeTask{}).Timeout(run.Stage); got.Seconds() != 60 {
		t.Errorf("timeout with stageTimeoutMs 60000 = %s, want 1m", got)
	}
}

// A throttled call is tried again later, never a failed stage.
func TestThrottlingIsRetriedLater(t *testing.T) {
	fns := &fakeFunctions{fn: providers.Function{Name: "shop-api", State: "Active"}, throttle: 1}
	_, run := runWith(t, fns, existing)
	r, err := UpdateLambdaCodeTask{}.Execute(context.Background(), run)
	if err != nil || r.Status != model.StatusRunning || r.Backoff != throttleBackoff {
		t.Fatalf("throttled: %s after %s (%v), want RUNNING after %s", r.Status, r.Backoff, err, throttleBackoff)
	}
	if r, _ := (UpdateLambdaCodeTask{}).Execute(context.Background(), run); r.Status != model.StatusSucceeded {
		t.Fatalf("after the throttling: %s", r.Status)
	}
}

// A function whose last update failed fails the stage with Lambda's reason.
func TestFailedUpdateFailsTheStage(t *testing.T) {
	fns := &fakeFunctions{fn: providers.Function{Name: "shop-api", State: "Active", LastUpdateStatus: "Failed", LastUpdateReason: "The runtime python2.7 is no longer supported"}}
	_, run := runWith(t, fns, existing)
	r, err := UpdateLambdaCodeTask{}.Execute(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	stagestest.CheckFailure(t, r, model.StatusTerminal, "shop-api", "python2.7 is no longer supported")
}

// aliasFake is a fakeFunctions whose alias reports the routing set on it
// only after some reads, as an eventually consistent API may.
type aliasFake struct {
	fakeFunctions
	set   *providers.FunctionAlias
	stale int
}

func (f *aliasFake) SetAlias(_ context.Context, _, _ string, a providers.FunctionAlias) error {
	f.set = &a
	return nil
}

func (f *aliasFake) Get(ctx context.Context, region, name string) (*providers.Function, error) {
	fn, err := f.fakeFunctions.Get(ctx, region, name)
	if err != nil {
		return nil, err
	}
	if f.set != nil && f.stale == 0 {
		fn.Aliases = []providers.FunctionAlias{*f.set}
	} else {
		fn.Aliases = []providers.FunctionAlias{{Name: "live", Version: "1"}}
	}
	if f.set != nil && f.stale > 0 {
		f.stale--
	}
	return fn, nil
}

// The routing stage moves the alias, then polls until Lambda reports the
// new routing, with a backoff between reads.
func TestRoutingWaitsUntilLambdaReportsIt(t *testing.T) {
	fns := &aliasFake{fakeFunctions: fakeFunctions{fn: providers.Function{Name: "shop-api", State: "Active", Versions: []string{"1", "2"}}}, stale: 2}
	reg := stages.NewRegistry()
	Register(reg)
	run := stagestest.NewRun(stagestest.ContextFromJSON(t, `{"account": "prod", "region": "us-east-1", "functionName": "api", "aliasName": "live",
	  "deploymentStrategy": "$WEIGHTED", "versionNameA": "$PREVIOUS", "trafficPercentA": 75, "versionNameB": "$LATEST"}`))
	run.Stage.Type = TrafficRoutingStage
	provs, err := providers.NewRegistry([]providers.Account{{Name: "prod", Provider: "aws", Regions: []string{"us-east-1"}}}, fakeProvider{fns})
	if err != nil {
		t.Fatal(err)
	}
	run.Services.Providers = provs
	step := func(task stages.Task) stages.Result {
		t.Helper()
		if err := reg.Configure(run); err != nil {
			t.Fatal(err)
		}
		r, err := task.Execute(context.Background(), run)
		if err != nil {
			t.Fatal(err)
		}
		stagestest.Apply(run, r)
		return r
	}
	if r := step(UpdateLambdaTrafficTask{}); r.Status != model.StatusSucceeded {
		t.Fatalf("UpdateLambdaTraffic: %s %v", r.Status, stagestest.ErrorsOf(r))
	}
	if fns.set == nil || fns.set.Version != "1" || fns.set.Weights["2"] != 0.25 {
		t.Fatalf("alias set to %+v, want 1 with a quarter to 2", fns.set)
	}
	for i := range 2 {
		if r := step(VerifyLambdaTrafficTask{}); r.Status != model.StatusRunning || r.Backoff != pollBackoff {
			t.Fatalf("read %d of a stale alias: %s after %s, want RUNNING after %s", i+1, r.Status, r.Backoff, pollBackoff)
		}
	}
	if r := step(VerifyLambdaTrafficTask{}); r.Status != model.StatusSucceeded {
		t.Fatalf("once Lambda reports it: %s", r.Status)
	}
	if run.Stage.Outputs["deployment:minorVersionDeployed"] != "2" || run.Stage.Outputs["deployment:majorVersionDeployed"] != "1" {
		t.Errorf("outputs = %v", run.Stage.Outputs)
	}
}
