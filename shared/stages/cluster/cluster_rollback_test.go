package cluster

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestRollbackValidation(t *testing.T) {
	t.Parallel()
	checkValidation(t, []validationCase{
		{"server group by name", `{"type": "rollbackServerGroup", "credentials": "local", "serverGroupName": "hello-prod-v001"}`, nil},
		{"server group from the dialog", `{"type": "rollbackServerGroup", "credentials": "local",
		  "rollbackContext": {"rollbackServerGroupName": "hello-prod-v001", "restoreServerGroupName": "hello-prod-v000"}}`, nil},
		{"no server group", `{"type": "rollbackServerGroup", "credentials": "local"}`,
			[]string{"rollbackContext.rollbackServerGroupName: is required: the server group to roll back"}},
		{"dialog that is no object", `{"type": "rollbackServerGroup", "credentials": "local", "rollbackContext": "v001"}`, []string{
			`rollbackContext: must be an object, not the string "v001"`,
			"rollbackContext.rollbackServerGroupName: is required: the server group to roll back",
		}},
		{"cluster", `{"type": "rollbackCluster", "credentials": "local", "cluster": "hello-prod"}`, nil},
		{"no cluster", `{"type": "rollbackCluster", "credentials": "local"}`, []string{"cluster: is required: the cluster to roll back"}},
		{"unknown account", `{"type": "rollbackCluster", "credentials": "prod", "cluster": "hello-prod"}`,
			[]string{`credentials: unknown account "prod" (known accounts: local)`}},
	})
}

func TestRollback(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, typ, ctx string
		want           []string
		wantErr        string
	}{
		{"the cluster's newest to the one before", "rollbackCluster", `{"credentials": "local", "cluster": "hello-prod"}`,
			[]string{"hello-prod-v000:disabled:1", "hello-prod-v001:enabled:2", "hello-prod-v002:disabled:2"}, ""},
		{"a server group to a chosen one", "rollbackServerGroup", `{"credentials": "local",
		  "rollbackContext": {"rollbackServerGroupName": "hello-prod-v002", "restoreServerGroupName": "hello-prod-v000"}}`,
			[]string{"hello-prod-v000:enabled:2", "hello-prod-v001:disabled:1", "hello-prod-v002:disabled:2"}, ""},
		{"nothing older", "rollbackServerGroup", `{"credentials": "local", "serverGroupName": "hello-prod-v000"}`,
			nil, "cluster hello-prod in local/local has no server group older than hello-prod-v000 to roll back to"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.cloud.add("hello-prod-v000", 1, true)
			e.cloud.add("hello-prod-v001", 1, true)
			e.cloud.add("hello-prod-v002", 2, false)
			run, res := e.execute(t, tc.typ, tc.ctx)
			if tc.wantErr != "" {
				stagestest.CheckFailure(t, res, model.StatusTerminal, tc.wantErr)
				return
			}
			if res.Status != model.StatusSucceeded {
				t.Fatalf("rollback = %s: %v", res.Status, stagestest.ErrorsOf(res))
			}
			if got := e.cloud.state(); !equal(got, tc.want) {
				t.Fatalf("cluster = %v, want %v", got, tc.want)
			}
			if run.Stage.Outputs["rollbackServerGroupName"] != "hello-prod-v002" {
				t.Fatalf("outputs = %v", run.Stage.Outputs)
			}
		})
	}
}
