package cluster

import (
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestStrategyRegistry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		want    strategy
		wantErr string
	}{
		{"", &noneStrategy{}, ""},
		{"none", &noneStrategy{}, ""},
		{"redblack", &redBlackStrategy{}, ""},
		{"highlander", &highlanderStrategy{}, ""},
		{"rollingredblack", &rollingRedBlackStrategy{}, ""},
		{"custom", &customStrategy{}, ""},
		{"bluegreen", nil, `unknown deployment strategy "bluegreen" (known: none, redblack, highlander, rollingredblack, custom)`},
		{"RedBlack", nil, `unknown deployment strategy "RedBlack"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := strategyFor(tc.name)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("strategyFor(%q) = %T, %v; want an error containing %q", tc.name, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmtType(got) != fmtType(tc.want) {
				t.Fatalf("strategyFor(%q) = %s, want %s", tc.name, fmtType(got), fmtType(tc.want))
			}
		})
	}
}

// Each strategy comes with its fields unset, so no deploy sees another's.
func TestStrategyRegistryReturnsFreshStrategies(t *testing.T) {
	t.Parallel()
	a, _ := strategyFor("redblack")
	a.(*redBlackStrategy).MaxRemainingAsgs = 3
	b, _ := strategyFor("redblack")
	if b.(*redBlackStrategy).MaxRemainingAsgs != 0 {
		t.Fatal("a strategy from the registry kept another deploy's fields")
	}
}

func TestDecodeFieldsFindsTheCluster(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		ctx        string
		inClusters bool
		want       int
		wantPath   string
	}{
		{"top level", `{"maxRemainingAsgs": "2"}`, false, 2, ""},
		{"in clusters", `{"clusters": [{"maxRemainingAsgs": 3}]}`, true, 3, ""},
		{"a problem has the stage's path", `{"clusters": [{"maxRemainingAsgs": "many"}]}`, true, 0, "clusters[0].maxRemainingAsgs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := stagestest.ContextFromJSON(t, tc.ctx)
			var s redBlackStrategy
			p := s.decode(fieldDecoder{decode: func(cfg any) stages.Problems { return stages.Decode(ctx, cfg) }, inClusters: tc.inClusters})
			if s.MaxRemainingAsgs != tc.want {
				t.Errorf("maxRemainingAsgs = %d, want %d", s.MaxRemainingAsgs, tc.want)
			}
			switch {
			case tc.wantPath == "" && len(p) > 0:
				t.Errorf("problems %v", p)
			case tc.wantPath != "" && (len(p) != 1 || p[0].Path != tc.wantPath):
				t.Errorf("problems %v, want one at %s", p, tc.wantPath)
			}
		})
	}
}

// planOf returns a deploy's plan for one cluster as a line of task names.
func planOf(t *testing.T, cluster string) (string, error) {
	t.Helper()
	reg := stages.NewRegistry()
	RegisterDeployments(reg)
	def, _ := reg.Definition("deploy")
	plan, err := def.Plan(stagestest.NewRun(stagestest.ContextFromJSON(t, `{"clusters": [`+cluster+`]}`)).Stage)
	for _, name := range plan {
		if _, err := reg.Task(name); err != nil {
			t.Errorf("planned task %s is not registered", name)
		}
	}
	return strings.Join(plan, " "), err
}

// planCase is one cluster and the plan its strategy makes of it.
type planCase struct {
	name    string
	cluster string
	want    string
	wantErr string
}

func checkPlans(t *testing.T, cases []planCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := planOf(t, tc.cluster)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("plan = %s, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("plan =\n  %s\nwant\n  %s", got, tc.want)
			}
		})
	}
}

// locked wraps steps in the cluster lock and name allocation.
func locked(steps string) string {
	return "AcquireClusterLock AllocateServerGroupName " + steps + " ReleaseClusterLock"
}

// clusterJSON is a deployable cluster of the local account with extra
// fields.
func clusterJSON(extra string) string {
	c := `"cloudProvider": "local", "account": "local", "region": "local", "application": "hello", "stack": "prod",
	  "capacity": {"min": 1, "max": 2, "desired": 2}, "artifact": {"type": "local/command", "command": "/bin/true"}`
	if extra != "" {
		c += ", " + extra
	}
	return "{" + c + "}"
}
