package cluster

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestDestroyServerGroup(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 1, false)
	e.cloud.add("hello-prod-v001", 1, false)
	run, res := e.execute(t, "destroyServerGroup", `{"credentials": "local", "cluster": "hello-prod", "target": "oldest_asg_dynamic"}`)
	if res.Status != model.StatusSucceeded {
		t.Fatalf("destroy = %s: %v", res.Status, stagestest.ErrorsOf(res))
	}
	if got := e.cloud.state(); !equal(got, []string{"hello-prod-v001:enabled:1"}) {
		t.Fatalf("cluster = %v", got)
	}
	if run.Stage.Outputs["destroyedServerGroup"] != "hello-prod-v000" {
		t.Fatalf("outputs = %v", run.Stage.Outputs)
	}
}

// A retried destroy finds its work done.
func TestDestroyServerGroupAlreadyGone(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	run := e.newRun(t, "destroyServerGroup", `{"credentials": "local", "serverGroupName": "hello-prod-v000", "targetResolved": true}`)
	e.decode(t, run)
	res, err := DestroyServerGroupTask{}.Execute(t.Context(), run)
	if err != nil || res.Status != model.StatusSucceeded {
		t.Fatalf("destroying a server group that is gone = %s, %v", res.Status, err)
	}
}
