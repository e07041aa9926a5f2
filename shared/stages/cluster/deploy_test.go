package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
)

func TestDeployPlansEachStrategy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		cluster string
		want    string
		wantErr string
	}{
		{"none", `{"strategy": "none"}`,
			"AcquireClusterLock AllocateServerGroupName CreateServerGroup WaitForUpInstances ReleaseClusterLock", ""},
		{"no strategy is none", `{}`,
			"AcquireClusterLock AllocateServerGroupName CreateServerGroup WaitForUpInstances ReleaseClusterLock", ""},
		{"redblack", `{"strategy": "redblack"}`,
			"AcquireClusterLock AllocateServerGroupName CreateServerGroup WaitForUpInstances DisableOldServerGroups ReleaseClusterLock", ""},
		{"redblack with everything", `{"strategy": "redblack", "delayBeforeDisableSec": 5, "scaleDown": true, "delayBeforeScaleDownSec": "10", "maxRemainingAsgs": 2}`,
			"AcquireClusterLock AllocateServerGroupName CreateServerGroup WaitForUpInstances WaitBeforeDisable DisableOldServerGroups WaitBeforeScaleDown ScaleDownOldServerGroups ShrinkOldServerGroups ReleaseClusterLock", ""},
		{"highlander", `{"strategy": "highlander"}`,
			"AcquireClusterLock AllocateServerGroupName CreateServerGroup WaitForUpInstances DisableOldServerGroups DestroyOldServerGroups ReleaseClusterLock", ""},
		{"rollingredblack default steps", `{"strategy": "rollingredblack"}`,
			"AcquireClusterLock AllocateServerGroupName CreateServerGroup ScaleTargetServerGroup WaitForUpInstances ScaleTargetServerGroup WaitForUpInstances DisableOldServerGroups ReleaseClusterLock", ""},
		{"rollingredblack three steps and cleanup", `{"strategy": "rollingredblack", "targetPercentages": [10, 50], "delayBeforeCleanup": 3, "scaleDown": true}`,
			"AcquireClusterLock AllocateServerGroupName CreateServerGroup ScaleTargetServerGroup WaitForUpInstances WaitBeforeCleanup ScaleTargetServerGroup WaitForUpInstances WaitBeforeCleanup ScaleTargetServerGroup WaitForUpInstances WaitBeforeCleanup DisableOldServerGroups ScaleDownOldServerGroups ReleaseClusterLock", ""},
		{"rollingredblack validates each step before cleanup", `{"strategy": "rollingredblack", "targetPercentages": [50], "pipelineBeforeCleanup": {"application": "hello", "pipelineId": "validate"}}`,
			"AcquireClusterLock AllocateServerGroupName CreateServerGroup ScaleTargetServerGroup WaitForUpInstances StartPipelineBeforeCleanup MonitorPipelineBeforeCleanup ScaleTargetServerGroup WaitForUpInstances StartPipelineBeforeCleanup MonitorPipelineBeforeCleanup DisableOldServerGroups ReleaseClusterLock", ""},
		{"rollingredblack without a pipelineId runs no pipeline", `{"strategy": "rollingredblack", "targetPercentages": [100], "pipelineBeforeCleanup": {"application": "hello"}}`,
			"AcquireClusterLock AllocateServerGroupName CreateServerGroup ScaleTargetServerGroup WaitForUpInstances DisableOldServerGroups ReleaseClusterLock", ""},
		{"rollingredblack falling percentages", `{"strategy": "rollingredblack", "targetPercentages": [50, 20]}`, "", "must rise"},
		{"a strategy pipeline's deploy deploys its parent's cluster", ``,
			"ResolveStrategyCluster AcquireClusterLock AllocateServerGroupName CreateServerGroup WaitForUpInstances ReleaseClusterLock", ""},
		{"unknown strategy", `{"strategy": "bluegreen"}`, "", `unknown deployment strategy "bluegreen"`},
		{"custom runs its pipeline instead", `{"strategy": "custom", "strategyApplication": "hello", "strategyPipeline": "s"}`,
			"StartStrategyPipeline MonitorStrategyPipeline", ""},
	}
	reg := stages.NewRegistry()
	RegisterDeployments(reg)
	def, _ := reg.Definition("deploy")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := stagestest.ContextFromJSON(t, `{"clusters": [`+tc.cluster+`]}`)
			if tc.cluster == "" {
				ctx = stagestest.ContextFromJSON(t, `{"clusters": []}`)
			}
			plan, err := def.Plan(&model.StageExecution{Context: ctx})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Plan = %v, %v; want an error containing %q", plan, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(plan, " "); got != tc.want {
				t.Fatalf("plan =\n  %s\nwant\n  %s", got, tc.want)
			}
			for _, name := range plan {
				if _, err := reg.Task(name); err != nil {
					t.Fatalf("planned task %s is not registered", name)
				}
			}
		})
	}
}

func TestDeployValidation(t *testing.T) {
	t.Parallel()
	accts, _ := providers.WithLocal(nil)
	provs, err := providers.NewRegistry(accts, fakeLocalProvider{})
	if err != nil {
		t.Fatal(err)
	}
	reg := stages.NewRegistry()
	RegisterDeployments(reg)
	UseProviders(reg, provs)
	const good = `"cloudProvider": "local", "account": "local", "region": "local", "application": "hello", "stack": "prod",
	  "capacity": {"min": 1, "max": 2, "desired": 1}, "strategy": "redblack",
	  "artifact": {"type": "local/command", "command": "/bin/true"}`
	cases := []struct {
		name  string
		stage string
		want  []string
	}{
		{"good", `{"type": "deploy", "clusters": [{` + good + `}]}`, nil},
		{"unknown account", `{"type": "deploy", "clusters": [{` + good + `, "account": "prod"}]}`,
			[]string{`clusters[0].account: unknown account "prod" (known accounts: local)`}},
		{"unknown provider", `{"type": "deploy", "clusters": [{` + good + `, "cloudProvider": "gce"}]}`,
			[]string{`clusters[0].cloudProvider: unknown cloud provider "gce" (available: local)`}},
		{"account from an expression", `{"type": "deploy", "clusters": [{` + good + `, "account": "${parameters.account}"}]}`, nil},
		{"no clusters", `{"type": "deploy"}`, []string{"clusters: is required: the cluster to deploy"}},
		{"two clusters deploy in parallel", `{"type": "deploy", "clusters": [{` + good + `}, {` + good + `}]}`, nil},
		{"each of several clusters is checked", `{"type": "deploy", "clusters": [{` + good + `}, {` + good + `, "capacity": {"min": 3, "desired": 1}, "account": "prod"}]}`,
			[]string{
				"clusters[1].capacity: must satisfy 0 ≤ min ≤ desired ≤ max, got min 3, desired 1, max 3",
				`clusters[1].account: unknown account "prod" (known accounts: local)`,
			}},
		{"the older cluster field, account on the stage", `{"type": "deploy", "account": "local", "cluster": {"application": "hello", "capacity": {"desired": 1}}}`, nil},
		{"the older cluster field, checked", `{"type": "deploy", "account": "prod", "cluster": {"application": "hello", "capacity": {"desired": 1}}}`,
			[]string{`cluster.account: unknown account "prod" (known accounts: local)`}},
		{"bad capacity and strategy", `{"type": "deploy", "clusters": [{` + good + `, "capacity": {"min": 3, "desired": 1}, "strategy": "bluegreen"}]}`,
			[]string{
				"clusters[0].capacity: must satisfy 0 ≤ min ≤ desired ≤ max, got min 3, desired 1, max 3",
				`clusters[0].strategy: unknown deployment strategy "bluegreen" (known: none, redblack, highlander, rollingredblack, custom)`,
			}},
		{"bad stack", `{"type": "deploy", "clusters": [{` + good + `, "stack": "pr-od"}]}`,
			[]string{`clusters[0].application: invalid name: stack "pr-od" may hold only letters, digits and underscores`}},
		{"custom without its pipeline", `{"type": "deploy", "clusters": [{` + good + `, "strategy": "custom", "pipelineParameters": [1]}]}`,
			[]string{
				"clusters[0].strategyPipeline: is required with the custom strategy: the id of the strategy pipeline to run",
				"clusters[0].pipelineParameters: must be an object of parameter names to values, not a list",
			}},
		{"custom", `{"type": "deploy", "clusters": [{` + good + `, "strategy": "custom", "strategyApplication": "hello", "strategyPipeline": "s", "pipelineParameters": {"a": 1}}]}`, nil},
		{"bad pipelineBeforeCleanup", `{"type": "deploy", "clusters": [{` + good + `, "strategy": "rollingredblack", "pipelineBeforeCleanup": "validate"}]}`,
			[]string{"clusters[0].pipelineBeforeCleanup: must be {application, pipelineId, pipelineParameters}"}},
		{"strategy pipeline deploy", `{"type": "deploy", "clusters": [], "trafficOptions": "disable"}`, nil},
		{"strategy pipeline deploy with bad trafficOptions", `{"type": "deploy", "clusters": [], "trafficOptions": "off"}`,
			[]string{`trafficOptions: "off" is not inherit, enable or disable`}},
		{"disable with unknown target", `{"type": "disableServerGroup", "credentials": "local", "cluster": "hello-prod", "target": "newest"}`,
			[]string{`target: "newest" is not one of current_asg_dynamic, ancestor_asg_dynamic, oldest_asg_dynamic, largest_asg_dynamic`}},
		{"disable by name", `{"type": "disableServerGroup", "credentials": "local", "serverGroupName": "hello-prod-v003"}`, nil},
		{"upsert load balancer", `{"type": "upsertLoadBalancer", "loadBalancers": [{"cloudProvider": "local", "account": "nope", "name": "lb", "listenPort": 99999}]}`,
			[]string{
				`loadBalancers[0].account: unknown account "nope" (known accounts: local)`,
				"loadBalancers[0].listenPort: must be a port from 1 to 65535 (or 0 for any free one)",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := stagestest.StageFromJSON(t, tc.stage)
			_, probs := reg.ValidateStage(s)
			stagestest.CheckProblems(t, probs, tc.want...)
		})
	}
}

// fakeLocalProvider stands in for the local provider where only its name
// and accounts matter.
type fakeLocalProvider struct{}

func (fakeLocalProvider) Name() string { return "local" }
func (fakeLocalProvider) Cloud(providers.Account) (*providers.Cloud, error) {
	return nil, nil
}

func TestSelectTarget(t *testing.T) {
	t.Parallel()
	groups := []providers.ServerGroup{
		{Name: "a-v001", Capacity: providers.Capacity{Desired: 1}},
		{Name: "a-v002", Capacity: providers.Capacity{Desired: 3}},
		{Name: "a-v003", Capacity: providers.Capacity{Desired: 2}},
	}
	cases := map[string]string{
		"current_asg_dynamic":  "a-v003",
		"ancestor_asg_dynamic": "a-v002",
		"oldest_asg_dynamic":   "a-v001",
		"largest_asg_dynamic":  "a-v002",
		"current_asg":          "a-v003",
	}
	for target, want := range cases {
		g, err := selectTarget(groups, target)
		if err != nil || g.Name != want {
			t.Errorf("selectTarget(%s) = %v, %v; want %s", target, g, err, want)
		}
	}
	if _, err := selectTarget(groups[:1], targetAncestor); err == nil {
		t.Error("an ancestor of a cluster of one was found")
	}
}

func TestResizeTo(t *testing.T) {
	t.Parallel()
	cur := providers.Capacity{Min: 2, Max: 4, Desired: 4}
	cases := []struct {
		name string
		ctx  string
		want providers.Capacity
		err  bool
	}{
		{"exact", `{"resizeType": "exact", "capacity": {"min": 1, "max": 3, "desired": 2}}`, providers.Capacity{Min: 1, Max: 3, Desired: 2}, false},
		{"pct up", `{"resizeType": "pct", "action": "scale_up", "scalePct": 50}`, providers.Capacity{Min: 2, Max: 6, Desired: 6}, false},
		{"pct down", `{"resizeType": "pct", "action": "scale_down", "scalePct": 25}`, providers.Capacity{Min: 2, Max: 4, Desired: 3}, false},
		{"incr down below min", `{"resizeType": "incr", "action": "scale_down", "scaleNum": 3}`, providers.Capacity{Min: 1, Max: 4, Desired: 1}, false},
		{"to zero", `{"resizeType": "incr", "action": "scale_down", "scaleNum": 9}`, providers.Capacity{Min: 0, Max: 4, Desired: 0}, false},
		{"pct without action", `{"resizeType": "pct", "scalePct": 50}`, cur, true},
		{"unknown type", `{"resizeType": "double"}`, cur, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cfg resizeConfig
			if probs := stages.Decode(stagestest.ContextFromJSON(t, tc.ctx), &cfg); len(probs) > 0 {
				t.Fatal(probs.Err())
			}
			got, err := resizeTo(&cfg, cur)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Fatalf("resizeTo = %+v, %v; want %+v (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestCreateServerGroupValidation(t *testing.T) {
	t.Parallel()
	top := `"type": "createServerGroup", "cloudProvider": "local", "account": "local", "application": "hello", "capacity": {"desired": 1}`
	checkValidation(t, []validationCase{
		{"at the top level", `{` + top + `}`, nil},
		{"in clusters", `{"type": "createServerGroup", "clusters": [` + clusterJSON("") + `]}`, nil},
		{"no clusters is not a strategy pipeline's deploy", `{"type": "createServerGroup", "clusters": []}`,
			[]string{"clusters: gennaker deploys one cluster per stage, got 0; add a stage per cluster"}},
		{"capacity from an expression", `{"type": "createServerGroup", "account": "local", "application": "hello", "capacity": "${parameters.capacity}"}`, nil},
		{"capacity field from an expression", `{"type": "createServerGroup", "account": "local", "application": "hello", "capacity": {"desired": "${parameters.n}"}}`, nil},
		{"capacity that is no number", `{` + top + `, "capacity": {"desired": "lots"}}`, []string{`capacity.desired: must be a number, not "lots"`}},
		{"a name that is no string", `{` + top + `, "stack": 5}`, []string{"stack: must be a string, not the number 5"}},
		{"an artifact the local provider cannot run", `{` + top + `, "artifact": {"type": "docker/image"}}`,
			[]string{`artifact.type: the local provider runs local/command artifacts, not "docker/image"`}},
	})
}

func TestDeployValidationOfClusters(t *testing.T) {
	t.Parallel()
	checkValidation(t, []validationCase{
		{"clusters from an expression", `{"type": "deploy", "clusters": "${parameters.clusters}"}`, nil},
		{"clusters that are no list", `{"type": "deploy", "clusters": {"a": 1}}`, []string{"clusters: must be a list, not an object"}},
		{"a cluster that is no object", `{"type": "deploy", "clusters": ["hello"]}`, []string{`clusters[0]: must be an object, not the string "hello"`}},
		{"stack from an expression", `{"type": "deploy", "clusters": [` + clusterJSON(`"stack": "${parameters.stack}"`) + `]}`, nil},
	})
}

func TestDeployConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, ctx, wantErr string
	}{
		{"one cluster", `{"clusters": [` + clusterJSON(`"strategy": "redblack", "maxRemainingAsgs": 2`) + `]}`, ""},
		{"a strategy pipeline's deploy", `{"clusters": []}`, ""},
		{"two clusters", `{"clusters": [{}, {}]}`, "clusters: gennaker deploys one cluster per stage, got 2; add a stage per cluster"},
		{"unknown strategy", `{"clusters": [{"strategy": "bluegreen"}]}`, `clusters[0].strategy: unknown deployment strategy "bluegreen" (known: none, redblack, highlander, rollingredblack, custom)`},
		{"a strategy field", `{"strategy": "redblack", "scaleDown": "perhaps"}`, `scaleDown: must be true or false, not "perhaps"`},
		{"recorded state", `{"clusters": [{}], "serverGroupName": "hello-v001", "sourceCapacities": {"hello-v000": {"desired": "x"}}}`,
			`sourceCapacities.hello-v000.desired: must be a number, not "x"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := decodeDeploy(stagestest.NewRun(stagestest.ContextFromJSON(t, tc.ctx)).Stage)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Config = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.spec() != nil && d.spec().strategy == nil {
				t.Fatal("the cluster's strategy was not decoded")
			}
		})
	}
}

// A deploy that fails after it disabled the old server groups puts them
// back as they were and destroys the new one (rollback.onFailure).
func TestDeployRollsBackOnFailure(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 1, false)
	e.cloud.failDestroy = "hello-prod-v000"
	run, res := e.execute(t, "deploy", `{"clusters": [`+clusterJSON(`"strategy": "redblack", "scaleDown": true, "maxRemainingAsgs": 1, "rollback": {"onFailure": true}`)+`]}`)
	stagestest.CheckFailure(t, res, model.StatusTerminal, "destroy hello-prod-v000: the cloud said no")
	if got, want := e.cloud.state(), []string{"hello-prod-v000:enabled:1"}; !equal(got, want) {
		t.Fatalf("cluster = %v, want %v", got, want)
	}
	rb, _ := run.Stage.Context["rollback"].(map[string]any)
	if rb["destroyedServerGroup"] != "hello-prod-v001" {
		t.Fatalf("rollback recorded %v", run.Stage.Context["rollback"])
	}
	if err := e.store.Leases().Acquire(t.Context(), helloLock, "next/stage", time.Minute); err != nil {
		t.Fatalf("the failed deploy kept the cluster lock: %v", err)
	}
}

// Without rollback.onFailure a failed deploy leaves the cluster as it is,
// but still lets the next deployment go.
func TestDeployFailureWithoutRollback(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.cloud.add("hello-prod-v000", 1, false)
	e.cloud.failDestroy = "hello-prod-v000"
	_, res := e.execute(t, "deploy", `{"clusters": [`+clusterJSON(`"strategy": "highlander"`)+`]}`)
	stagestest.CheckFailure(t, res, model.StatusTerminal, "destroy hello-prod-v000")
	if got, want := e.cloud.state(), []string{"hello-prod-v000:disabled:1", "hello-prod-v001:enabled:2"}; !equal(got, want) {
		t.Fatalf("cluster = %v, want %v", got, want)
	}
	if err := e.store.Leases().Acquire(t.Context(), helloLock, "next/stage", time.Minute); err != nil {
		t.Fatalf("the failed deploy kept the cluster lock: %v", err)
	}
}

func TestArtifactFor(t *testing.T) {
	t.Parallel()
	found := func(region string, name string) model.StageExecution {
		return model.StageExecution{Outputs: stages.Record(foundImage{DeploymentDetails: []deploymentDetail{{Region: region, Artifact: map[string]any{"name": name}}}})}
	}
	trigger := model.ExecutionTrigger{Artifacts: []model.Artifact{{Type: "docker/image", Name: "img"}, {Type: "local/command", Name: "cmd"}}}
	cases := []struct {
		name string
		exec *model.Execution
		own  map[string]any
		want any
	}{
		{"its own", &model.Execution{Stages: []model.StageExecution{found("local", "found")}}, map[string]any{"name": "own"}, "own"},
		{"found in the region", &model.Execution{Stages: []model.StageExecution{found("local", "old"), found("local", "found")}}, nil, "found"},
		{"found in another region", &model.Execution{Stages: []model.StageExecution{found("eu", "found")}, Trigger: trigger}, nil, "cmd"},
		{"found for every region", &model.Execution{Stages: []model.StageExecution{found("", "found")}}, nil, "found"},
		{"the trigger's", &model.Execution{Trigger: trigger}, nil, "cmd"},
		{"none", &model.Execution{}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := artifactFor(tc.exec, tc.own, "local"); got["name"] != tc.want {
				t.Fatalf("artifact = %v, want name %v", got, tc.want)
			}
		})
	}
}
