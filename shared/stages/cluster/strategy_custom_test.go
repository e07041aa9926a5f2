package cluster

import (
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestCustomPlan(t *testing.T) {
	t.Parallel()
	checkPlans(t, []planCase{
		{"runs its pipeline instead of locking and creating", `{"strategy": "custom", "strategyApplication": "hello", "strategyPipeline": "s"}`,
			"StartStrategyPipeline MonitorStrategyPipeline", ""},
		{"a strategy pipeline's deploy deploys its parent's cluster", ``,
			"ResolveStrategyCluster " + locked("CreateServerGroup WaitForUpInstances"), ""},
	})
}

func TestCustomValidation(t *testing.T) {
	t.Parallel()
	deploy := func(fields string) string {
		return `{"type": "deploy", "clusters": [` + clusterJSON(`"strategy": "custom", `+fields) + `]}`
	}
	checkValidation(t, []validationCase{
		{"good", deploy(`"strategyApplication": "hello", "strategyPipeline": "s", "pipelineParameters": {"a": 1}`), nil},
		{"no pipeline", deploy(`"strategyApplication": "hello"`), []string{
			"clusters[0].strategyPipeline: is required with the custom strategy: the id of the strategy pipeline to run",
		}},
		{"pipeline from an expression", deploy(`"strategyPipeline": "${parameters.strategy}"`), nil},
		{"parameters are no object", deploy(`"strategyPipeline": "s", "pipelineParameters": "a=1"`), []string{
			`clusters[0].pipelineParameters: must be an object of parameter names to values, not the string "a=1"`,
		}},
		{"strategy pipeline deploy", `{"type": "deploy", "clusters": [], "trafficOptions": "enable"}`, nil},
		{"strategy pipeline deploy with an expression", `{"type": "deploy", "clusters": [], "trafficOptions": "${parameters.traffic}"}`, nil},
		{"strategy pipeline deploy with bad trafficOptions", `{"type": "deploy", "clusters": [], "trafficOptions": "off"}`,
			[]string{`trafficOptions: "off" is not inherit, enable or disable`}},
	})
}

func TestApplyTrafficOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		cluster string
		opt     string
		want    string
		wantErr string
	}{
		{"inherit keeps the parent's", `{"suspendedProcesses": ["AddToLoadBalancer"]}`, "inherit", "[AddToLoadBalancer]", ""},
		{"none is inherit", `{}`, "", "<nil>", ""},
		{"enable", `{"suspendedProcesses": ["Launch", "AddToLoadBalancer"]}`, "enable", "[Launch]", ""},
		{"disable", `{"suspendedProcesses": ["Launch"]}`, "disable", "[Launch AddToLoadBalancer]", ""},
		{"disable twice", `{"suspendedProcesses": ["AddToLoadBalancer"]}`, "disable", "[AddToLoadBalancer]", ""},
		{"unknown", `{}`, "off", "", `trafficOptions "off" is not inherit, enable or disable`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := stagestest.ContextFromJSON(t, tc.cluster)
			err := applyTrafficOptions(c, tc.opt)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.ReplaceAll(fmtValue(c["suspendedProcesses"]), ",", ""); got != tc.want {
				t.Fatalf("suspendedProcesses = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRawCluster(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ctx, wantApp, wantErr string
	}{
		{"in clusters", `{"clusters": [{"application": "a"}]}`, "a", ""},
		{"at the top level", `{"application": "b"}`, "b", ""},
		{"two", `{"clusters": [{}, {}]}`, "", "got 2"},
		{"not an object", `{"clusters": [1]}`, "", "clusters[0]: must be an object, not the number 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := rawCluster(stagestest.ContextFromJSON(t, tc.ctx))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c["application"] != tc.wantApp {
				t.Fatalf("rawCluster = %v, %v; want application %s", c, err, tc.wantApp)
			}
		})
	}
}

func TestStrategyPipelineDeployNeedsAStrategyTrigger(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	_, res := e.execute(t, "deploy", `{"clusters": []}`)
	stagestest.CheckFailure(t, res, model.StatusTerminal, "no custom strategy started this run")
}
