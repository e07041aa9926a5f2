package cluster

import (
	"slices"
	"testing"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestRollingRedBlackPlan(t *testing.T) {
	t.Parallel()
	step := "ScaleTargetServerGroup WaitForUpInstances"
	checkPlans(t, []planCase{
		{"default steps", `{"strategy": "rollingredblack"}`,
			locked("CreateServerGroup " + step + " " + step + " DisableOldServerGroups"), ""},
		{"100 is added", `{"strategy": "rollingredblack", "targetPercentages": ["25"]}`,
			locked("CreateServerGroup " + step + " " + step + " DisableOldServerGroups"), ""},
		{"delay and scale down", `{"strategy": "rollingredblack", "targetPercentages": [100], "delayBeforeCleanup": 3, "scaleDown": true}`,
			locked("CreateServerGroup " + step + " WaitBeforeCleanup DisableOldServerGroups ScaleDownOldServerGroups"), ""},
		{"validation pipeline", `{"strategy": "rollingredblack", "targetPercentages": [100], "pipelineBeforeCleanup": {"application": "hello", "pipelineId": "p"}}`,
			locked("CreateServerGroup " + step + " StartPipelineBeforeCleanup MonitorPipelineBeforeCleanup DisableOldServerGroups"), ""},
		{"falling", `{"strategy": "rollingredblack", "targetPercentages": [50, 20]}`, "", "must rise"},
		{"above 100", `{"strategy": "rollingredblack", "targetPercentages": [150]}`, "", "must rise from above 0 to 100"},
	})
}

func TestRollingRedBlackPercentages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   []int
		want []int
		err  bool
	}{
		{"default", nil, []int{50, 100}, false},
		{"ends at 100", []int{10, 100}, []int{10, 100}, false},
		{"100 added", []int{10, 40}, []int{10, 40, 100}, false},
		{"zero", []int{0, 100}, nil, true},
		{"repeated", []int{50, 50}, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &rollingRedBlackStrategy{TargetPercentages: tc.in}
			got, err := s.percentages()
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Fatalf("percentages = %v, %v; want %v (error %v)", got, err, tc.want, tc.err)
			}
			if !tc.err && !slices.Equal(s.TargetPercentages, tc.in) {
				t.Fatalf("percentages changed the configuration to %v", s.TargetPercentages)
			}
		})
	}
}

func TestRollingRedBlackValidation(t *testing.T) {
	t.Parallel()
	deploy := func(fields string) string {
		return `{"type": "deploy", "clusters": [` + clusterJSON(`"strategy": "rollingredblack", `+fields) + `]}`
	}
	checkValidation(t, []validationCase{
		{"good", deploy(`"targetPercentages": [10, 50], "delayBeforeCleanup": 30, "pipelineBeforeCleanup": {"application": "hello", "pipelineId": "p", "pipelineParameters": {"a": 1}}`), nil},
		{"falling", deploy(`"targetPercentages": [50, 20]`), []string{"clusters[0].targetPercentages: must rise from above 0 to 100, got [50 20]"}},
		{"not numbers", deploy(`"targetPercentages": ["half"]`), []string{`clusters[0].targetPercentages[0]: must be a number, not "half"`}},
		{"negative delay", deploy(`"delayBeforeCleanup": -1`), []string{"clusters[0].delayBeforeCleanup: must not be negative, got -1"}},
		{"pipeline is no object", deploy(`"pipelineBeforeCleanup": "validate"`), []string{"clusters[0].pipelineBeforeCleanup: must be {application, pipelineId, pipelineParameters}"}},
		{"expressions", deploy(`"targetPercentages": "${parameters.steps}", "delayBeforeCleanup": "${parameters.delay}"`), nil},
		{"an expression step", deploy(`"targetPercentages": [10, "${parameters.step}"]`), nil},
	})
}

func TestRollingRedBlackGrowsStepByStep(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 4, false)
	run, res := e.execute(t, "deploy", `{"clusters": [`+clusterJSON(`"strategy": "rollingredblack", "capacity": {"min": 2, "max": 4, "desired": 4}, "targetPercentages": [25, 50]`)+`]}`)
	if res.Status != model.StatusSucceeded {
		t.Fatalf("deploy = %s: %v", res.Status, stagestest.ErrorsOf(res))
	}
	if got, want := e.cloud.state(), []string{"hello-prod-v000:disabled:4", "hello-prod-v001:enabled:4"}; !equal(got, want) {
		t.Fatalf("cluster = %v, want %v", got, want)
	}
	if got := run.Stage.Context["targetPercentage"]; got != 100.0 {
		t.Fatalf("the last step went to %v%%, want 100%%", got)
	}
}

func TestRollingRedBlackStartsEmpty(t *testing.T) {
	t.Parallel()
	s := &rollingRedBlackStrategy{}
	got := s.initialCapacity(providers.Capacity{Min: 2, Max: 5, Desired: 4})
	if want := (providers.Capacity{Max: 5}); got != want {
		t.Fatalf("initial capacity = %+v, want %+v", got, want)
	}
}
