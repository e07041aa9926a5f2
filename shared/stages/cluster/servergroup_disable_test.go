package cluster

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestDisableServerGroup(t *testing.T) {
	t.Parallel()
	prod := model.TrafficGuard{Account: "local", Location: "local", Stack: "prod"}
	cases := []struct {
		name    string
		guards  []model.TrafficGuard
		ctx     string
		want    []string
		wantErr string
	}{
		{"the older", nil, `{"credentials": "local", "cluster": "hello-prod", "target": "ancestor_asg_dynamic"}`,
			[]string{"hello-prod-v000:disabled:1", "hello-prod-v001:enabled:1"}, ""},
		{"guarded, another serves", []model.TrafficGuard{prod}, `{"credentials": "local", "serverGroupName": "hello-prod-v000"}`,
			[]string{"hello-prod-v000:disabled:1", "hello-prod-v001:enabled:1"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, tc.guards...)
			e.cloud.add("hello-prod-v000", 1, false)
			e.cloud.add("hello-prod-v001", 1, false)
			_, res := e.execute(t, "disableServerGroup", tc.ctx)
			if res.Status != model.StatusSucceeded {
				t.Fatalf("disable = %s: %v", res.Status, stagestest.ErrorsOf(res))
			}
			if got := e.cloud.state(); !equal(got, tc.want) {
				t.Fatalf("cluster = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDisableTheLastServingServerGroupIsGuarded(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, model.TrafficGuard{Account: "*", Location: "*", Stack: "prod"})
	e.cloud.add("hello-prod-v000", 1, false)
	_, res := e.execute(t, "disableServerGroup", `{"credentials": "local", "serverGroupName": "hello-prod-v000"}`)
	stagestest.CheckFailure(t, res, model.StatusTerminal, "refuses to disable hello-prod-v000")
	if got := e.cloud.state(); !equal(got, []string{"hello-prod-v000:enabled:1"}) {
		t.Fatalf("the guard let the server group go: %v", got)
	}
}
