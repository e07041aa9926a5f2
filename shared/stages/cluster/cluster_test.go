package cluster

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestClusterStageValidation(t *testing.T) {
	t.Parallel()
	var cases []validationCase
	for _, typ := range []string{"disableCluster", "shrinkCluster", "scaleDownCluster"} {
		cases = append(cases,
			validationCase{typ, `{"type": "` + typ + `", "credentials": "local", "regions": ["local"], "cluster": "hello-prod"}`, nil},
			validationCase{typ + " by moniker", `{"type": "` + typ + `", "credentials": "local", "moniker": {"cluster": "hello-prod"}}`, nil},
			validationCase{typ + " cluster from an expression", `{"type": "` + typ + `", "credentials": "local", "cluster": "${parameters.cluster}"}`, nil},
			validationCase{typ + " no cluster", `{"type": "` + typ + `", "credentials": "local"}`, []string{"cluster: is required"}},
			validationCase{typ + " unknown provider", `{"type": "` + typ + `", "cloudProvider": "gce", "credentials": "local", "cluster": "c"}`,
				[]string{`cloudProvider: unknown cloud provider "gce" (available: local)`}},
		)
	}
	cases = append(cases,
		validationCase{"a count that is no number", `{"type": "shrinkCluster", "credentials": "local", "cluster": "c", "shrinkToSize": "few"}`,
			[]string{`shrinkToSize: must be a number, not "few"`}},
		validationCase{"a flag that is no boolean", `{"type": "disableCluster", "credentials": "local", "cluster": "c", "preferLargerOverNewer": "maybe"}`,
			[]string{`preferLargerOverNewer: must be true or false, not "maybe"`}},
	)
	checkValidation(t, cases)
}

func TestClusterStages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, typ, ctx string
		want           []string
	}{
		{"disable all but the newest", "disableCluster", `{"credentials": "local", "cluster": "hello-prod"}`,
			[]string{"hello-prod-v000:disabled:1", "hello-prod-v001:disabled:3", "hello-prod-v002:enabled:2"}},
		{"disable all but the largest two", "disableCluster", `{"credentials": "local", "cluster": "hello-prod", "remainingEnabledServerGroups": "2", "preferLargerOverNewer": true}`,
			[]string{"hello-prod-v000:disabled:1", "hello-prod-v001:enabled:3", "hello-prod-v002:enabled:2"}},
		{"shrink to one keeps enabled ones", "shrinkCluster", `{"credentials": "local", "cluster": "hello-prod"}`,
			[]string{"hello-prod-v001:enabled:3", "hello-prod-v002:enabled:2"}},
		{"shrink active too", "shrinkCluster", `{"credentials": "local", "cluster": "hello-prod", "allowDeleteActive": true}`,
			[]string{"hello-prod-v002:enabled:2"}},
		{"shrink keeping the largest", "shrinkCluster", `{"credentials": "local", "cluster": "hello-prod", "allowDeleteActive": true, "retainLargerOverNewer": "true"}`,
			[]string{"hello-prod-v001:enabled:3"}},
		{"scale down disabled ones", "scaleDownCluster", `{"credentials": "local", "cluster": "hello-prod"}`,
			[]string{"hello-prod-v000:disabled:0", "hello-prod-v001:enabled:3", "hello-prod-v002:enabled:2"}},
		{"scale down active ones too", "scaleDownCluster", `{"credentials": "local", "cluster": "hello-prod", "allowScaleDownActive": true, "remainingFullSizeServerGroups": 0}`,
			[]string{"hello-prod-v000:disabled:0", "hello-prod-v001:enabled:0", "hello-prod-v002:enabled:0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.cloud.add("hello-prod-v000", 1, true)
			e.cloud.add("hello-prod-v001", 3, false)
			e.cloud.add("hello-prod-v002", 2, false)
			_, res := e.execute(t, tc.typ, tc.ctx)
			if res.Status != model.StatusSucceeded {
				t.Fatalf("%s = %s: %v", tc.typ, res.Status, stagestest.ErrorsOf(res))
			}
			if got := e.cloud.state(); !equal(got, tc.want) {
				t.Fatalf("cluster = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestClusterStagesAreGuarded(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, model.TrafficGuard{Account: "local", Location: "local", Stack: "prod"})
	e.cloud.add("hello-prod-v000", 1, false)
	_, res := e.execute(t, "scaleDownCluster", `{"credentials": "local", "cluster": "hello-prod", "allowScaleDownActive": true, "remainingFullSizeServerGroups": 0}`)
	stagestest.CheckFailure(t, res, model.StatusTerminal, "refuses to scale hello-prod-v000 down to 0")
}
