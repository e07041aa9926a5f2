package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

// stepRun is a deploy of cluster hello-prod whose new server group
// hello-prod-v002 was allocated, running the named step, which started
// long enough ago that it looks only once.
func stepRun(t *testing.T, e *testEnv, step, strategy string) *stages.Run {
	t.Helper()
	run := e.newRun(t, "deploy", `{"clusters": [`+clusterJSON(strategy)+`],
	  "serverGroupName": "hello-prod-v002", "credentials": "local", "region": "local", "cloudProvider": "local",
	  "deploy.server.groups": {"local": ["hello-prod-v002"]}}`)
	run.Stage.Tasks = []model.TaskExecution{{Name: step, Status: model.StatusRunning, StartTime: run.Now.Add(-time.Minute).UnixMilli()}}
	e.decode(t, run)
	return run
}

func TestStepsWaitUntilTheNewServerGroupServes(t *testing.T) {
	t.Parallel()
	steps := []stages.Task{DisableOldServerGroupsTask{}, ScaleDownOldServerGroupsTask{}, ShrinkOldServerGroupsTask{}, DestroyOldServerGroupsTask{}}
	for _, task := range steps {
		t.Run(task.Name(), func(t *testing.T) {
			e := newTestEnv(t)
			e.cloud.add("hello-prod-v001", 1, false)
			e.cloud.add("hello-prod-v002", 1, true) // up, but out of rotation
			res, err := task.Execute(context.Background(), stepRun(t, e, task.Name(), `"strategy": "redblack", "maxRemainingAsgs": 1`))
			if err != nil || res.Status != model.StatusRunning || res.Context["waitingFor"] != "hello-prod-v002 to take traffic" {
				t.Fatalf("%s = %s %v, %v; want RUNNING waiting for the new server group", task.Name(), res.Status, res.Context, err)
			}
			if got, want := e.cloud.state(), []string{"hello-prod-v001:enabled:1", "hello-prod-v002:disabled:1"}; !equal(got, want) {
				t.Fatalf("cluster = %v, want %v", got, want)
			}
		})
	}
}

func TestStepsOnTheOldServerGroups(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		task     stages.Task
		strategy string
		want     []string
	}{
		{"disable", DisableOldServerGroupsTask{}, `"strategy": "redblack"`,
			[]string{"hello-prod-v000:disabled:2", "hello-prod-v001:disabled:1", "hello-prod-v002:enabled:2"}},
		{"scale down the disabled", ScaleDownOldServerGroupsTask{}, `"strategy": "redblack", "scaleDown": true`,
			[]string{"hello-prod-v000:disabled:0", "hello-prod-v001:enabled:1", "hello-prod-v002:enabled:2"}},
		{"shrink to two", ShrinkOldServerGroupsTask{}, `"strategy": "redblack", "maxRemainingAsgs": 2`,
			[]string{"hello-prod-v001:enabled:1", "hello-prod-v002:enabled:2"}},
		{"shrink keeps the new one at least", ShrinkOldServerGroupsTask{}, `"strategy": "redblack", "maxRemainingAsgs": 0`,
			[]string{"hello-prod-v002:enabled:2"}},
		{"shrink keeps what fits", ShrinkOldServerGroupsTask{}, `"strategy": "redblack", "maxRemainingAsgs": 5`,
			[]string{"hello-prod-v000:disabled:2", "hello-prod-v001:enabled:1", "hello-prod-v002:enabled:2"}},
		{"destroy the others", DestroyOldServerGroupsTask{}, `"strategy": "highlander"`,
			[]string{"hello-prod-v002:enabled:2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.cloud.add("hello-prod-v000", 2, true)
			e.cloud.add("hello-prod-v001", 1, false)
			e.cloud.add("hello-prod-v002", 2, false)
			res, err := tc.task.Execute(context.Background(), stepRun(t, e, tc.task.Name(), tc.strategy))
			if err != nil || res.Status != model.StatusSucceeded {
				t.Fatalf("%s = %s, %v: %v", tc.task.Name(), res.Status, err, stagestest.ErrorsOf(res))
			}
			if got := e.cloud.state(); !equal(got, tc.want) {
				t.Fatalf("cluster = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWaitBefore(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		step     string
		strategy string
		after    time.Duration
		want     model.Status
	}{
		{"before disabling, early", waitBeforeDisable, `"strategy": "redblack", "delayBeforeDisableSec": 30`, 10 * time.Second, model.StatusRunning},
		{"before disabling, done", waitBeforeDisable, `"strategy": "redblack", "delayBeforeDisableSec": 30`, 30 * time.Second, model.StatusSucceeded},
		{"before scaling down", waitBeforeScaleDown, `"strategy": "redblack", "delayBeforeScaleDownSec": "5"`, 4 * time.Second, model.StatusRunning},
		{"before cleanup", waitBeforeCleanup, `"strategy": "rollingredblack", "delayBeforeCleanup": 5`, 5 * time.Second, model.StatusSucceeded},
		{"a strategy without the delay", waitBeforeCleanup, `"strategy": "redblack"`, 0, model.StatusSucceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			run := stepRun(t, e, tc.step, tc.strategy)
			run.Stage.Tasks[0].StartTime = run.Now.UnixMilli()
			run.Now = run.Now.Add(tc.after)
			res, err := WaitBeforeTask{name: tc.step}.Execute(context.Background(), run)
			if err != nil || res.Status != tc.want {
				t.Fatalf("%s after %v = %s, %v; want %s", tc.step, tc.after, res.Status, err, tc.want)
			}
			if res.Status == model.StatusRunning && (res.Wake != stages.Sleep || res.Backoff > clusterLockTTL/4) {
				t.Fatalf("a wait sleeps %v (wake %v); it must wake to renew the cluster lock", res.Backoff, res.Wake)
			}
		})
	}
}
