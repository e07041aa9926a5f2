package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	clusterstage "github.com/gennaker/gennaker/shared/stages/cluster"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// Tasks run more than once (Lambda and Step Functions retry), and a deploy
// may stand still longer than its cluster lock lives. These tests call the
// deploy tasks the way a retry or a late step would, on the real local
// provider and store, and look at the cluster afterwards.

// taskRun is a run of one stage of the hello application, seen now.
func (e *env) taskRun(stageType, stageID string, ctx map[string]any) *stages.Run {
	return &stages.Run{
		Execution: &model.Execution{ID: "x-retry", Application: model.ApplicationName(e.app), Name: "retry",
			Trigger: model.ExecutionTrigger{Type: "manual", User: "tester"}},
		Stage: &model.StageExecution{ID: model.StageID(stageID), Name: "stage", Type: stageType, Status: model.StatusRunning,
			StartTime: time.Now().UnixMilli(), Context: ctx, Outputs: map[string]any{}},
		Services: &stages.Services{Store: e.rt.Store, Providers: e.rt.Providers},
		Now:      time.Now(),
	}
}

// execute calls a task as the orchestrator does: with the stage's
// configuration decoded by its stage type for this call.
func (e *env) execute(t *testing.T, task stages.Task, run *stages.Run) (stages.Result, error) {
	t.Helper()
	if err := e.rt.Orchestrator.Registry().Configure(run); err != nil {
		t.Fatal(err)
	}
	return task.Execute(context.Background(), run)
}

// merge applies a result to the run's stage as the orchestrator does.
func merge(run *stages.Run, r stages.Result) {
	for k, v := range r.Context {
		run.Stage.Context[k] = v
	}
	for k, v := range r.Outputs {
		run.Stage.Outputs[k] = v
	}
}

func TestRetriedRelativeResizeAppliesOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("redblack", []string{"v1"}, 2)
	cases := []struct {
		name   string
		fields map[string]any
		want   int
	}{
		{"pct", map[string]any{"resizeType": "pct", "action": "scale_up", "scalePct": 50}, 3},
		{"incr", map[string]any{"resizeType": "incr", "action": "scale_down", "scaleNum": 2}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := map[string]any{"cloudProvider": "local", "credentials": "local", "region": "local",
				"serverGroupName": "hello-prod-v000", "targetResolved": true}
			for k, v := range tc.fields {
				ctx[k] = v
			}
			run := e.taskRun("resizeServerGroup", "resize-"+tc.name, ctx)
			task := clusterstage.ResizeServerGroupTask{}
			// The first call only records the target; the orchestrator
			// stores it before calling again.
			r, err := e.execute(t, task, run)
			if err != nil || r.Status != model.StatusRunning {
				t.Fatalf("first call = %s, %v; want RUNNING with the target recorded", r.Status, err)
			}
			if got := e.group("v000").Capacity.Desired; got == tc.want {
				t.Fatalf("the first call resized before its target was stored")
			}
			merge(run, r)
			// The second call resizes; a retry of it (its result lost
			// before it was stored) must find the work done, not resize
			// again from the new capacity.
			for try := 1; try <= 2; try++ {
				r, err = e.execute(t, task, run)
				if err != nil || r.Status != model.StatusSucceeded {
					t.Fatalf("call %d = %s, %v", try+1, r.Status, err)
				}
				if got := e.group("v000").Capacity.Desired; got != tc.want {
					t.Fatalf("after call %d the capacity is %d, want %d", try+1, got, tc.want)
				}
			}
		})
	}
}

func TestDeployStepsStopWhenTheClusterLockIsLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("none", []string{"v1", "v2"})
	const lock = "cluster/local/local/local/hello-prod"
	before := "v000:enabled:1 v001:enabled:1"
	assertState(t, e, "before", before)
	// Another deployment took the cluster after this one's lease expired.
	leases := e.rt.Store.Leases()
	if err := leases.Acquire(context.Background(), lock, "x-other/stage", time.Minute); err != nil {
		t.Fatal(err)
	}
	deploy := func(id string) *stages.Run {
		return e.taskRun("deploy", id, map[string]any{
			"clusters": []any{map[string]any{"cloudProvider": "local", "account": "local", "region": "local",
				"application": "hello", "stack": "prod", "strategy": "highlander", "maxRemainingAsgs": 1,
				"capacity": map[string]any{"min": 0, "max": 1, "desired": 1}, "healthCheckPath": "/health",
				"loadBalancers": []any{"hello-lb"}, "scaleDown": true, "targetPercentages": []any{100},
				"artifact": map[string]any{"type": "local/command", "command": helloBin, "env": map[string]any{"VERSION": "v3"}}}},
			"clusterLock": lock, "serverGroupName": "hello-prod-v001",
			"cloudProvider": "local", "credentials": "local", "region": "local",
		})
	}
	steps := []stages.Task{
		clusterstage.AllocateServerGroupNameTask{}, clusterstage.CreateServerGroupTask{}, clusterstage.ScaleTargetServerGroupTask{},
		clusterstage.WaitForUpInstancesTask{}, clusterstage.DisableOldServerGroupsTask{}, clusterstage.ScaleDownOldServerGroupsTask{},
		clusterstage.ShrinkOldServerGroupsTask{}, clusterstage.DestroyOldServerGroupsTask{},
	}
	for _, task := range steps {
		t.Run(task.Name(), func(t *testing.T) {
			run := deploy("s-" + task.Name())
			if task.Name() == "CreateServerGroup" {
				run.Stage.Context["serverGroupName"] = "hello-prod-v002"
			}
			r, err := e.execute(t, task, run)
			if err != nil || r.Status != model.StatusTerminal {
				t.Fatalf("%s without the lock = %s, %v; want TERMINAL", task.Name(), r.Status, err)
			}
			if msg := strings.Join(errorsIn(r), " "); !strings.Contains(msg, "lost the cluster lock "+lock) {
				t.Fatalf("the failure does not say the lock was lost: %s", msg)
			}
			assertState(t, e, "after a step that lost its lock", before)
		})
	}
	// The same step with the lock takes it again and acts.
	if err := leases.Release(context.Background(), lock, "x-other/stage"); err != nil {
		t.Fatal(err)
	}
	r, err := e.execute(t, clusterstage.DisableOldServerGroupsTask{}, deploy("s-owner"))
	if err != nil || r.Status != model.StatusSucceeded {
		t.Fatalf("DisableOldServerGroups with the lock = %s, %v", r.Status, err)
	}
	assertState(t, e, "after disabling with the lock", "v000:disabled:1 v001:enabled:1")
}

// errorsIn returns a failed result's messages.
func errorsIn(r stages.Result) []string {
	exc, _ := r.Context["exception"].(map[string]any)
	details, _ := exc["details"].(map[string]any)
	var out []string
	if list, ok := details["errors"].([]any); ok {
		for _, m := range list {
			s, _ := m.(string)
			out = append(out, s)
		}
	}
	return out
}
