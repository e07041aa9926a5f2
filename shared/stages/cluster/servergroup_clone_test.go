package cluster

import (
	"context"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestCloneValidation(t *testing.T) {
	t.Parallel()
	source := `"source": {"account": "local", "region": "local", "serverGroupName": "hello-prod-v000"}`
	checkValidation(t, []validationCase{
		{"good", `{"type": "cloneServerGroup", ` + source + `, "strategy": "redblack", "maxRemainingAsgs": 2}`, nil},
		{"no source", `{"type": "cloneServerGroup"}`, []string{"source: is required: {account, region, serverGroupName}"}},
		{"source from an expression", `{"type": "cloneServerGroup", "source": "${trigger.source}"}`, nil},
		{"no source server group", `{"type": "cloneServerGroup", "source": {"account": "local"}}`, []string{"source.serverGroupName: is required"}},
		{"unknown source account", `{"type": "cloneServerGroup", "source": {"account": "prod", "serverGroupName": "x-v000"}}`,
			[]string{`source.account: unknown account "prod" (known accounts: local)`}},
		{"unknown strategy", `{"type": "cloneServerGroup", ` + source + `, "strategy": "bluegreen"}`,
			[]string{`strategy: unknown deployment strategy "bluegreen"`}},
		{"the strategy's fields", `{"type": "cloneServerGroup", ` + source + `, "strategy": "rollingredblack", "targetPercentages": [60, 30]}`,
			[]string{"targetPercentages: must rise from above 0 to 100, got [60 30]"}},
	})
}

func TestClonePlan(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	def, _ := e.reg.Definition("cloneServerGroup")
	plan, err := def.Plan(e.newRun(t, "cloneServerGroup", `{"strategy": "highlander"}`).Stage)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := joinWords(plan), "ResolveCloneSource "+locked("CreateServerGroup WaitForUpInstances DisableOldServerGroups DestroyOldServerGroups"); got != want {
		t.Fatalf("plan =\n  %s\nwant\n  %s", got, want)
	}
}

// The stage's own fields win; the source fills in the rest.
func TestResolveCloneSource(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 2, false)
	run := e.newRun(t, "cloneServerGroup", `{"source": {"account": "local", "serverGroupName": "hello-prod-v000"},
	  "capacity": {"desired": 1}, "stack": ""}`)
	e.decode(t, run)
	res, err := ResolveCloneSourceTask{}.Execute(context.Background(), run)
	if err != nil || res.Status != model.StatusSucceeded {
		t.Fatalf("resolve = %s, %v: %v", res.Status, err, stagestest.ErrorsOf(res))
	}
	if _, set := res.Context["capacity"]; set {
		t.Error("the source's capacity replaced the stage's")
	}
	for k, want := range map[string]any{"application": "hello", "stack": "prod", "account": "local", "cloneSource": "local/local/hello-prod-v000"} {
		if res.Context[k] != want {
			t.Errorf("%s = %v, want %v", k, res.Context[k], want)
		}
	}
	stagestest.Apply(run, res)
	e.decode(t, run)
	if res, _ := (ResolveCloneSourceTask{}).Execute(context.Background(), run); res.Status != model.StatusSucceeded || len(res.Context) != 0 {
		t.Fatalf("a retry did the work again: %v", res.Context)
	}
}

func TestCloneDeploysTheNextServerGroup(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 2, false)
	_, res := e.execute(t, "cloneServerGroup", `{"source": {"account": "local", "serverGroupName": "hello-prod-v000"}, "strategy": "redblack"}`)
	if res.Status != model.StatusSucceeded {
		t.Fatalf("clone = %s: %v", res.Status, stagestest.ErrorsOf(res))
	}
	if got, want := e.cloud.state(), []string{"hello-prod-v000:disabled:2", "hello-prod-v001:enabled:2"}; !equal(got, want) {
		t.Fatalf("cluster = %v, want %v", got, want)
	}
}
