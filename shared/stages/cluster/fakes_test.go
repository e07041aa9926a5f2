package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

// fakeCloud is a fake local account: server groups and load balancers in
// memory whose instances are up the moment they are asked for. It stands
// in for a provider in tests of one stage's decisions; tests/deploy runs
// the same stages against the real local provider.
type fakeCloud struct {
	mu     sync.Mutex
	groups []providers.ServerGroup
	lbs    fakeLoadBalancers
	clock  int64
	// failDestroy names a server group whose destruction fails.
	failDestroy string
}

// fakeLoadBalancers are a fake account's load balancers.
type fakeLoadBalancers struct {
	mu  sync.Mutex
	lbs []providers.LoadBalancer
}

var (
	_ providers.ServerGroups       = (*fakeCloud)(nil)
	_ providers.ServerGroupCreator = (*fakeCloud)(nil)
	_ providers.LoadBalancers      = (*fakeLoadBalancers)(nil)
)

func (f *fakeCloud) index(region, name string) int {
	return slices.IndexFunc(f.groups, func(g providers.ServerGroup) bool { return g.Region == region && g.Name == name })
}

func (f *fakeCloud) Get(_ context.Context, region, name string) (*providers.ServerGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.index(region, name)
	if i < 0 {
		return nil, fmt.Errorf("server group %s in %s: %w", name, region, providers.ErrNotFound)
	}
	g := f.groups[i]
	return &g, nil
}

func (f *fakeCloud) List(_ context.Context, app string) ([]providers.ServerGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []providers.ServerGroup
	for _, g := range f.groups {
		if g.Application == app {
			out = append(out, g)
		}
	}
	return out, nil
}

func (f *fakeCloud) SetEnabled(_ context.Context, region, name string, enabled bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.index(region, name)
	if i < 0 {
		return fmt.Errorf("server group %s: %w", name, providers.ErrNotFound)
	}
	f.groups[i].Disabled = !enabled
	return nil
}

func (f *fakeCloud) Resize(_ context.Context, region, name string, c providers.Capacity) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.index(region, name)
	if i < 0 {
		return fmt.Errorf("server group %s: %w", name, providers.ErrNotFound)
	}
	f.groups[i].Capacity = c
	f.groups[i].Counts = providers.InstanceCounts{Total: c.Desired, Up: c.Desired}
	return nil
}

func (f *fakeCloud) Destroy(_ context.Context, region, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == f.failDestroy {
		return fmt.Errorf("destroy %s: the cloud said no", name)
	}
	if i := f.index(region, name); i >= 0 {
		f.groups = slices.Delete(f.groups, i, i+1)
	}
	return nil
}

func (f *fakeCloud) Create(_ context.Context, spec providers.ServerGroupSpec) (*providers.ServerGroup, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := f.index(spec.Region, spec.Name); i >= 0 {
		g := f.groups[i]
		return &g, nil
	}
	f.clock++
	n, err := naming.ParseServerGroup(spec.Name)
	if err != nil {
		return nil, err
	}
	g := providers.ServerGroup{
		Name: spec.Name, Cluster: naming.ClusterOf(spec.Name), Application: n.App, Account: "local",
		Region: spec.Region, CloudProvider: "local", Disabled: spec.Disabled, Capacity: spec.Capacity,
		Counts:      providers.InstanceCounts{Total: spec.Capacity.Desired, Up: spec.Capacity.Desired},
		CreatedTime: f.clock, Artifact: spec.Artifact, LoadBalancers: spec.LoadBalancers,
		HealthCheckPath: spec.HealthCheckPath, Provenance: spec.Provenance,
	}
	f.groups = append(f.groups, g)
	return &g, nil
}

func (f *fakeLoadBalancers) Upsert(_ context.Context, spec providers.LoadBalancerSpec) (*providers.LoadBalancer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lb := providers.LoadBalancer{Name: spec.Name, Application: spec.Application, Account: "local", Region: spec.Region,
		CloudProvider: "local", ListenPort: spec.ListenPort, URL: fmt.Sprintf("http://127.0.0.1:%d", spec.ListenPort)}
	f.lbs = slices.DeleteFunc(f.lbs, func(l providers.LoadBalancer) bool { return l.Name == spec.Name })
	f.lbs = append(f.lbs, lb)
	return &lb, nil
}

func (f *fakeLoadBalancers) Get(_ context.Context, _, name string) (*providers.LoadBalancer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, lb := range f.lbs {
		if lb.Name == name {
			return &lb, nil
		}
	}
	return nil, fmt.Errorf("load balancer %s: %w", name, providers.ErrNotFound)
}

func (f *fakeLoadBalancers) List(context.Context) ([]providers.LoadBalancer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lbs), nil
}

func (f *fakeLoadBalancers) Delete(_ context.Context, _, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lbs = slices.DeleteFunc(f.lbs, func(l providers.LoadBalancer) bool { return l.Name == name })
	return nil
}

// add puts a server group of desired instances, all up, into the cluster
// its name says; later additions are newer.
func (f *fakeCloud) add(name string, desired int, disabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock++
	n, _ := naming.ParseServerGroup(name)
	f.groups = append(f.groups, providers.ServerGroup{
		Name: name, Cluster: naming.ClusterOf(name), Application: n.App, Account: "local", Region: "local",
		CloudProvider: "local", Disabled: disabled,
		Capacity:    providers.Capacity{Min: 0, Max: max(desired, 1), Desired: desired},
		Counts:      providers.InstanceCounts{Total: desired, Up: desired},
		CreatedTime: f.clock, Artifact: map[string]any{"type": "local/command", "name": name},
	})
}

// state describes the cluster as name:enabled|disabled:desired, oldest
// first.
func (f *fakeCloud) state() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, g := range f.groups {
		st := "enabled"
		if g.Disabled {
			st = "disabled"
		}
		out = append(out, fmt.Sprintf("%s:%s:%d", g.Name, st, g.Capacity.Desired))
	}
	return out
}

// fakeProvider serves one fakeCloud as the local provider.
type fakeProvider struct{ cloud *fakeCloud }

func (fakeProvider) Name() string { return "local" }

func (p fakeProvider) Cloud(a providers.Account) (*providers.Cloud, error) {
	return &providers.Cloud{Account: a, ServerGroups: p.cloud, ServerGroupCreator: p.cloud, LoadBalancers: &p.cloud.lbs}, nil
}

// testEnv runs stages of the family against a fakeCloud and a real
// embedded store (leases, traffic guards).
type testEnv struct {
	reg   *stages.Registry
	cloud *fakeCloud
	store store.Store
	provs *providers.Registry
}

func newTestEnv(t *testing.T, guards ...model.TrafficGuard) *testEnv {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Applications().Put(context.Background(), &model.Application{Name: "hello", TrafficGuards: guards}); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{reg: stages.NewRegistry(), cloud: &fakeCloud{}, store: st}
	accts, _ := providers.WithLocal(nil)
	if e.provs, err = providers.NewRegistry(accts, fakeProvider{e.cloud}); err != nil {
		t.Fatal(err)
	}
	RegisterDeployments(e.reg)
	UseProviders(e.reg, e.provs)
	return e
}

// newRun is a run of one stage of type typ with context ctx, whose
// configuration is decoded as the orchestrator decodes it.
func (e *testEnv) newRun(t *testing.T, typ, ctx string) *stages.Run {
	t.Helper()
	run := stagestest.NewRun(stagestest.ContextFromJSON(t, ctx))
	run.Execution.Application = "hello"
	run.Stage.Type = typ
	run.Services = &stages.Services{Store: e.store, Providers: e.provs}
	return run
}

// decode sets run.Config as the orchestrator does before each task call.
func (e *testEnv) decode(t *testing.T, run *stages.Run) {
	t.Helper()
	def, err := e.reg.Definition(run.Stage.Type)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := def.(stages.Configurer).Config(run.Stage)
	if err != nil {
		t.Fatalf("Config: %v", err)
	}
	run.Config = cfg
}

// execute plans the stage and runs its tasks in order as the orchestrator
// does: the configuration decoded for each call, results merged, RUNNING
// tasks called again after their backoff. It returns the run and the last
// result.
func (e *testEnv) execute(t *testing.T, typ, ctx string) (*stages.Run, stages.Result) {
	t.Helper()
	run := e.newRun(t, typ, ctx)
	def, _ := e.reg.Definition(typ)
	plan, err := def.Plan(run.Stage)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	for _, name := range plan {
		run.Stage.Tasks = append(run.Stage.Tasks, model.TaskExecution{Name: name, Status: model.StatusNotStarted})
	}
	var res stages.Result
	for i, name := range plan {
		task, err := e.reg.Task(name)
		if err != nil {
			t.Fatal(err)
		}
		run.Stage.Tasks[i].Status = model.StatusRunning
		run.Stage.Tasks[i].StartTime = run.Now.UnixMilli()
		for tries := 0; ; tries++ {
			if tries > 100 {
				t.Fatalf("%s is still RUNNING after %d calls: %v", name, tries, res.Context)
			}
			e.decode(t, run)
			if res, err = task.Execute(context.Background(), run); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			stagestest.Apply(run, res)
			if res.Status != model.StatusRunning {
				break
			}
			run.Now = run.Now.Add(max(res.Backoff, time.Millisecond))
		}
		run.Stage.Tasks[i].Status = res.Status
		if res.Status != model.StatusSucceeded {
			return run, res
		}
	}
	return run, res
}

// validate validates a saved stage as the pipeline API does.
func (e *testEnv) validate(t *testing.T, js string) []model.Problem {
	t.Helper()
	_, probs := e.reg.ValidateStage(stagestest.StageFromJSON(t, js))
	return probs
}

// validationCase is one stage and the problems its validation finds.
type validationCase struct {
	name  string
	stage string
	want  []string
}

// checkValidation runs validation cases against one registry.
func checkValidation(t *testing.T, cases []validationCase) {
	t.Helper()
	e := newTestEnv(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stagestest.CheckProblems(t, e.validate(t, tc.stage), tc.want...)
		})
	}
}

func fmtType(v any) string { return fmt.Sprintf("%T", v) }

func equal(a, b []string) bool { return slices.Equal(a, b) }

func fmtValue(v any) string { return fmt.Sprint(v) }

func joinWords(s []string) string { return strings.Join(s, " ") }

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeInto(m map[string]any, v any) stages.Problems { return stages.Decode(m, v) }
