package cluster

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
)

func TestNonePlan(t *testing.T) {
	t.Parallel()
	checkPlans(t, []planCase{
		{"named", `{"strategy": "none"}`, locked("CreateServerGroup WaitForUpInstances"), ""},
		{"the default", `{}`, locked("CreateServerGroup WaitForUpInstances"), ""},
		{"other strategies' fields are not its own", `{"strategy": "none", "maxRemainingAsgs": 1, "scaleDown": true}`,
			locked("CreateServerGroup WaitForUpInstances"), ""},
	})
}

func TestNoneValidation(t *testing.T) {
	t.Parallel()
	checkValidation(t, []validationCase{
		{"good", `{"type": "deploy", "clusters": [` + clusterJSON(`"strategy": "none"`) + `]}`, nil},
		{"no strategy", `{"type": "deploy", "clusters": [` + clusterJSON("") + `]}`, nil},
		{"strategy from an expression", `{"type": "deploy", "clusters": [` + clusterJSON(`"strategy": "${parameters.strategy}"`) + `]}`, nil},
	})
}

func TestNoneDeploysNextToTheOthers(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 1, false)
	run, res := e.execute(t, "deploy", `{"clusters": [`+clusterJSON(`"strategy": "none"`)+`]}`)
	if res.Status != model.StatusSucceeded {
		t.Fatalf("deploy = %s: %v", res.Status, res.Context)
	}
	if got, want := e.cloud.state(), []string{"hello-prod-v000:enabled:1", "hello-prod-v001:enabled:2"}; !equal(got, want) {
		t.Fatalf("cluster = %v, want %v", got, want)
	}
	if got := run.Stage.Outputs["deploy.server.groups"]; got == nil {
		t.Fatalf("outputs %v lack deploy.server.groups", run.Stage.Outputs)
	}
}
