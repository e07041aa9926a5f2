package cluster

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
)

func TestHighlanderPlan(t *testing.T) {
	t.Parallel()
	checkPlans(t, []planCase{
		{"only one", `{"strategy": "highlander"}`,
			locked("CreateServerGroup WaitForUpInstances DisableOldServerGroups DestroyOldServerGroups"), ""},
		{"red/black fields are not its own", `{"strategy": "highlander", "delayBeforeDisableSec": 5, "maxRemainingAsgs": 3}`,
			locked("CreateServerGroup WaitForUpInstances DisableOldServerGroups DestroyOldServerGroups"), ""},
	})
}

func TestHighlanderValidation(t *testing.T) {
	t.Parallel()
	checkValidation(t, []validationCase{
		{"good", `{"type": "deploy", "clusters": [` + clusterJSON(`"strategy": "highlander"`) + `]}`, nil},
		{"capacity required", `{"type": "createServerGroup", "strategy": "highlander", "account": "local", "application": "hello"}`,
			[]string{"capacity: is required: {min, max, desired}"}},
	})
}

func TestHighlanderLeavesOnlyTheNewServerGroup(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 1, true)
	e.cloud.add("hello-prod-v001", 1, false)
	_, res := e.execute(t, "deploy", `{"clusters": [`+clusterJSON(`"strategy": "highlander"`)+`]}`)
	if res.Status != model.StatusSucceeded {
		t.Fatalf("deploy = %s: %v", res.Status, res.Context)
	}
	if got, want := e.cloud.state(), []string{"hello-prod-v002:enabled:2"}; !equal(got, want) {
		t.Fatalf("cluster = %v, want %v", got, want)
	}
}
