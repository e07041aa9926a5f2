package cluster

import (
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestRedBlackPlan(t *testing.T) {
	t.Parallel()
	checkPlans(t, []planCase{
		{"plain", `{"strategy": "redblack"}`,
			locked("CreateServerGroup WaitForUpInstances DisableOldServerGroups"), ""},
		{"delays without scale down", `{"strategy": "redblack", "delayBeforeDisableSec": "5", "delayBeforeScaleDownSec": 9}`,
			locked("CreateServerGroup WaitForUpInstances WaitBeforeDisable DisableOldServerGroups"), ""},
		{"scale down", `{"strategy": "redblack", "scaleDown": "true"}`,
			locked("CreateServerGroup WaitForUpInstances DisableOldServerGroups ScaleDownOldServerGroups"), ""},
		{"everything", `{"strategy": "redblack", "delayBeforeDisableSec": 5, "scaleDown": true, "delayBeforeScaleDownSec": "10", "maxRemainingAsgs": 2}`,
			locked("CreateServerGroup WaitForUpInstances WaitBeforeDisable DisableOldServerGroups WaitBeforeScaleDown ScaleDownOldServerGroups ShrinkOldServerGroups"), ""},
		{"a field that is no number", `{"strategy": "redblack", "maxRemainingAsgs": "two"}`, "",
			`clusters[0].maxRemainingAsgs: must be a number, not "two"`},
	})
}

func TestRedBlackValidation(t *testing.T) {
	t.Parallel()
	deploy := func(fields string) string {
		return `{"type": "deploy", "clusters": [` + clusterJSON(`"strategy": "redblack", `+fields) + `]}`
	}
	checkValidation(t, []validationCase{
		{"good", deploy(`"maxRemainingAsgs": 2, "scaleDown": true, "delayBeforeDisableSec": "30"`), nil},
		{"negative", deploy(`"maxRemainingAsgs": -1, "delayBeforeScaleDownSec": -5`), []string{
			"clusters[0].maxRemainingAsgs: must not be negative, got -1",
			"clusters[0].delayBeforeScaleDownSec: must not be negative, got -5",
		}},
		{"not a number", deploy(`"delayBeforeDisableSec": "soon"`), []string{
			`clusters[0].delayBeforeDisableSec: must be a number, not "soon"`,
		}},
		{"not a boolean", deploy(`"scaleDown": "yes"`), []string{
			`clusters[0].scaleDown: must be true or false, not "yes"`,
		}},
		{"expressions", deploy(`"maxRemainingAsgs": "${parameters.keep}", "scaleDown": "${parameters.scaleDown}"`), nil},
		{"createServerGroup at the top level", `{"type": "createServerGroup", "strategy": "redblack", "account": "local", "application": "hello",
		  "capacity": {"desired": 1}, "maxRemainingAsgs": -2}`, []string{"maxRemainingAsgs: must not be negative, got -2"}},
	})
}

func TestRedBlackDelays(t *testing.T) {
	t.Parallel()
	s := &redBlackStrategy{DelayBeforeDisableSec: 5, DelayBeforeScaleDownSec: 7}
	for step, want := range map[string]time.Duration{
		waitBeforeDisable: 5 * time.Second, waitBeforeScaleDown: 7 * time.Second, waitBeforeCleanup: 0,
	} {
		if got := s.delay(step); got != want {
			t.Errorf("delay(%s) = %v, want %v", step, got, want)
		}
	}
}

func TestRedBlackKeepsTheOldUntilTheNewServes(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 1, true)
	e.cloud.add("hello-prod-v001", 1, true)
	e.cloud.add("hello-prod-v002", 1, false)
	run, res := e.execute(t, "deploy", `{"clusters": [`+clusterJSON(`"strategy": "redblack", "scaleDown": true, "maxRemainingAsgs": 2, "delayBeforeDisableSec": 3`)+`]}`)
	if res.Status != model.StatusSucceeded {
		t.Fatalf("deploy = %s: %v", res.Status, stagestest.ErrorsOf(res))
	}
	if got, want := e.cloud.state(), []string{"hello-prod-v002:disabled:0", "hello-prod-v003:enabled:2"}; !equal(got, want) {
		t.Fatalf("cluster = %v, want %v", got, want)
	}
	if waited := run.Now.Sub(stagestest.T0); waited < 3*time.Second {
		t.Fatalf("the deploy waited %v before disabling, want 3s", waited)
	}
}
