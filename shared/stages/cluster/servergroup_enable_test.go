package cluster

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestEnableServerGroup(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 2, true)
	e.cloud.add("hello-prod-v001", 1, false)
	_, res := e.execute(t, "enableServerGroup", `{"credentials": "local", "cluster": "hello-prod", "target": "ancestor_asg_dynamic"}`)
	if res.Status != model.StatusSucceeded {
		t.Fatalf("enable = %s: %v", res.Status, stagestest.ErrorsOf(res))
	}
	if got, want := e.cloud.state(), []string{"hello-prod-v000:enabled:2", "hello-prod-v001:enabled:1"}; !equal(got, want) {
		t.Fatalf("cluster = %v, want %v", got, want)
	}
}

func TestEnableServerGroupThatIsGone(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	_, res := e.execute(t, "enableServerGroup", `{"credentials": "local", "serverGroupName": "hello-prod-v000"}`)
	stagestest.CheckFailure(t, res, model.StatusTerminal, "not found")
}
