package cluster

import (
	"context"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestResizeValidation(t *testing.T) {
	t.Parallel()
	stage := func(fields string) string {
		return `{"type": "resizeServerGroup", "credentials": "local", "serverGroupName": "hello-prod-v000", ` + fields + `}`
	}
	checkValidation(t, []validationCase{
		{"exact", stage(`"resizeType": "exact", "capacity": {"min": 1, "max": 3, "desired": "2"}`), nil},
		{"orca's scale_exact action", stage(`"resizeType": "exact", "action": "scale_exact", "capacity": {"min": 1, "max": 3, "desired": 2}`), nil},
		{"pct", stage(`"resizeType": "pct", "action": "scale_up", "scalePct": 50`), nil},
		{"incr without a type", stage(`"action": "scale_down", "scaleNum": "2"`), nil},
		{"exact without capacity", stage(`"resizeType": "exact"`), []string{"resizeType: resizeType exact needs capacity {min, max, desired}"}},
		{"bad capacity", stage(`"capacity": {"min": 3, "desired": 1}`), []string{"resizeType: capacity: must satisfy 0 ≤ min ≤ desired ≤ max"}},
		{"pct without action", stage(`"resizeType": "pct", "scalePct": 50`), []string{"resizeType: resizeType pct needs scalePct (a percentage) and action scale_up or scale_down"}},
		{"unknown action", stage(`"resizeType": "incr", "action": "grow", "scaleNum": 1`), []string{`resizeType: action "grow" is not scale_up, scale_down or scale_exact`}},
		{"unknown type", stage(`"resizeType": "double"`), []string{`resizeType: resizeType "double" is not exact, pct or incr`}},
		{"not a number", stage(`"resizeType": "pct", "action": "scale_up", "scalePct": "half"`), []string{`scalePct: must be a number, not "half"`}},
		{"from an expression", stage(`"resizeType": "pct", "action": "scale_up", "scalePct": "${parameters.pct}"`), nil},
	})
}

func TestResizeServerGroup(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ctx string
		want      []string
	}{
		{"exact", `{"resizeType": "exact", "capacity": {"min": 1, "max": 3, "desired": 3}}`, []string{"hello-prod-v000:enabled:3"}},
		{"pct", `{"resizeType": "pct", "action": "scale_up", "scalePct": 50}`, []string{"hello-prod-v000:enabled:3"}},
		{"incr", `{"resizeType": "incr", "action": "scale_down", "scaleNum": 1}`, []string{"hello-prod-v000:enabled:1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.cloud.add("hello-prod-v000", 2, false)
			ctx := stagestest.ContextFromJSON(t, tc.ctx)
			ctx["credentials"], ctx["serverGroupName"] = "local", "hello-prod-v000"
			run, res := e.execute(t, "resizeServerGroup", toJSON(t, ctx))
			if res.Status != model.StatusSucceeded {
				t.Fatalf("resize = %s: %v", res.Status, stagestest.ErrorsOf(res))
			}
			if got := e.cloud.state(); !equal(got, tc.want) {
				t.Fatalf("cluster = %v, want %v", got, tc.want)
			}
			if run.Stage.Outputs["capacity"] == nil {
				t.Fatalf("outputs = %v", run.Stage.Outputs)
			}
		})
	}
}

// A relative resize records its target before acting, so a retry never
// applies it twice.
func TestRelativeResizeRecordsItsTargetFirst(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 2, false)
	run := e.newRun(t, "resizeServerGroup", `{"credentials": "local", "serverGroupName": "hello-prod-v000", "targetResolved": true,
	  "resizeType": "pct", "action": "scale_up", "scalePct": 50}`)
	e.decode(t, run)
	res, err := ResizeServerGroupTask{}.Execute(context.Background(), run)
	if err != nil || res.Status != model.StatusRunning {
		t.Fatalf("first call = %s, %v; want RUNNING", res.Status, err)
	}
	if got := e.cloud.state(); !equal(got, []string{"hello-prod-v000:enabled:2"}) {
		t.Fatalf("the first call resized: %v", got)
	}
	stagestest.Apply(run, res)
	for try := 0; try < 2; try++ {
		e.decode(t, run)
		if res, err = (ResizeServerGroupTask{}).Execute(context.Background(), run); err != nil || res.Status != model.StatusSucceeded {
			t.Fatalf("call %d = %s, %v", try+2, res.Status, err)
		}
		if got := e.cloud.state(); !equal(got, []string{"hello-prod-v000:enabled:3"}) {
			t.Fatalf("after call %d: %v", try+2, got)
		}
	}
}
