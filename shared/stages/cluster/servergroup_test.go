package cluster

import (
	"context"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestServerGroupStageValidation(t *testing.T) {
	t.Parallel()
	var cases []validationCase
	for _, typ := range []string{"enableServerGroup", "disableServerGroup", "destroyServerGroup", "resizeServerGroup"} {
		resize := ""
		if typ == "resizeServerGroup" {
			resize = `, "resizeType": "exact", "capacity": {"desired": 1}`
		}
		stage := func(fields string) string { return `{"type": "` + typ + `", ` + fields + resize + `}` }
		cases = append(cases,
			validationCase{typ + " by name", stage(`"credentials": "local", "serverGroupName": "hello-prod-v003"`), nil},
			validationCase{typ + " by asgName", stage(`"credentials": "local", "asgName": "hello-prod-v003"`), nil},
			validationCase{typ + " by target", stage(`"credentials": "local", "cluster": "hello-prod", "target": "current_asg_dynamic"`), nil},
			validationCase{typ + " by moniker and short target", stage(`"credentials": "local", "moniker": {"cluster": "hello-prod"}, "target": "ancestor_asg"`), nil},
			validationCase{typ + " target from an expression", stage(`"credentials": "local", "cluster": "hello-prod", "target": "${parameters.target}"`), nil},
			validationCase{typ + " unknown target", stage(`"credentials": "local", "cluster": "hello-prod", "target": "newest"`),
				[]string{`target: "newest" is not one of current_asg_dynamic, ancestor_asg_dynamic, oldest_asg_dynamic, largest_asg_dynamic`}},
			validationCase{typ + " nothing named", stage(`"credentials": "local"`), []string{
				"cluster: is required with a target, unless serverGroupName names the server group",
				"target: is required with a cluster: one of current_asg_dynamic",
			}},
			validationCase{typ + " unknown account", stage(`"credentials": "prod", "serverGroupName": "hello-prod-v003"`),
				[]string{`credentials: unknown account "prod" (known accounts: local)`}},
			validationCase{typ + " a name that is no string", stage(`"credentials": "local", "serverGroupName": 3, "cluster": "c", "target": "current_asg"`),
				[]string{"serverGroupName: must be a string, not the number 3"}},
		)
	}
	checkValidation(t, cases)
}

func TestDetermineTargetServerGroup(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ctx, want, wantErr string
	}{
		{"by name", `{"credentials": "local", "serverGroupName": "hello-prod-v001"}`, "hello-prod-v001", ""},
		{"current", `{"credentials": "local", "cluster": "hello-prod", "target": "current_asg_dynamic"}`, "hello-prod-v002", ""},
		{"ancestor", `{"credentials": "local", "cluster": "hello-prod", "target": "ancestor_asg_dynamic"}`, "hello-prod-v001", ""},
		{"oldest", `{"credentials": "local", "moniker": {"cluster": "hello-prod"}, "target": "oldest_asg"}`, "hello-prod-v000", ""},
		{"largest", `{"credentials": "local", "cluster": "hello-prod", "target": "largest_asg_dynamic"}`, "hello-prod-v001", ""},
		{"missing by name", `{"credentials": "local", "serverGroupName": "hello-prod-v009"}`, "", "not found"},
		{"empty cluster", `{"credentials": "local", "cluster": "hello-test", "target": "current_asg_dynamic"}`, "", "cluster hello-test in local/local: the cluster has no current server group (it has 0)"},
		{"resolved already", `{"credentials": "local", "serverGroupName": "hello-prod-v000", "targetResolved": true}`, "hello-prod-v000", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.cloud.add("hello-prod-v000", 1, true)
			e.cloud.add("hello-prod-v001", 3, false)
			e.cloud.add("hello-prod-v002", 2, false)
			run := e.newRun(t, "disableServerGroup", tc.ctx)
			e.decode(t, run)
			res, err := DetermineTargetServerGroupTask{}.Execute(context.Background(), run)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				stagestest.CheckFailure(t, res, model.StatusTerminal, tc.wantErr)
				return
			}
			stagestest.Apply(run, res)
			if res.Status != model.StatusSucceeded || run.Stage.Context["serverGroupName"] != tc.want {
				t.Fatalf("target = %s %v, want %s", res.Status, run.Stage.Context["serverGroupName"], tc.want)
			}
			e.decode(t, run)
			if l, name, err := run.Config.(recordedTarget).target(); err != nil || name != tc.want || l.Account != "local" {
				t.Fatalf("the recorded target reads back as %v %s, %v", l, name, err)
			}
		})
	}
}
