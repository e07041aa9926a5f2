package kayenta

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
	"github.com/gennaker/gennaker/shared/stages"
)

// deployments is orca's "deploy canary and baseline" option.
type deployments struct {
	// Baseline is the production cluster whose current version the
	// control server group runs.
	Baseline struct {
		CloudProvider string `json:"cloudProvider"`
		Application   string `json:"application"`
		Account       string `json:"account"`
		Cluster       string `json:"cluster"`
	} `json:"baseline"`
	ServerGroupPairs []serverGroupPair `json:"serverGroupPairs"`
	// DelayBeforeCleanup is an ISO-8601 duration (PT5M) or seconds.
	DelayBeforeCleanup any `json:"delayBeforeCleanup"`
}

type serverGroupPair struct {
	Control    serverGroupSpec `json:"control"`
	Experiment serverGroupSpec `json:"experiment"`
}

// serverGroupSpec is a server group to deploy, in a deploy stage's
// cluster fields.
type serverGroupSpec struct {
	CloudProvider     string              `json:"cloudProvider"`
	Account           string              `json:"account"`
	Credentials       string              `json:"credentials"`
	Region            string              `json:"region"`
	AvailabilityZones map[string][]string `json:"availabilityZones"`
	Moniker           *struct {
		Cluster string `json:"cluster"`
	} `json:"moniker"`
	Application     string              `json:"application"`
	Stack           string              `json:"stack"`
	FreeFormDetails string              `json:"freeFormDetails"`
	Capacity        *providers.Capacity `json:"capacity"`
	Artifact        map[string]any      `json:"artifact"`
	LoadBalancers   []string            `json:"loadBalancers"`
	HealthCheckPath string              `json:"healthCheckPath"`
}

func (s serverGroupSpec) account() string {
	if s.Account != "" {
		return s.Account
	}
	return s.Credentials
}

func (s serverGroupSpec) region() string {
	if s.Region != "" {
		return s.Region
	}
	keys := make([]string, 0, len(s.AvailabilityZones))
	for k := range s.AvailabilityZones {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		return keys[0]
	}
	return ""
}

func (s serverGroupSpec) cluster(app string) (naming.Cluster, error) {
	if s.Moniker != nil && s.Moniker.Cluster != "" {
		return naming.ParseCluster(s.Moniker.Cluster)
	}
	if s.Application != "" {
		app = s.Application
	}
	return naming.NewCluster(app, s.Stack, s.FreeFormDetails)
}

func (d *deployments) validate(p *stages.Problems) {
	if d.Baseline.Account == "" {
		p.Add("deployments.baseline.account", "is required: the account of the production cluster")
	}
	if d.Baseline.Cluster == "" {
		p.Add("deployments.baseline.cluster", "is required: the production cluster whose version the baseline runs")
	}
	if len(d.ServerGroupPairs) == 0 {
		p.Add("deployments.serverGroupPairs", "is required: a {control, experiment} pair of server groups to deploy")
	}
	for i, pair := range d.ServerGroupPairs {
		for side, s := range map[string]serverGroupSpec{"control": pair.Control, "experiment": pair.Experiment} {
			at := func(f string) string { return stages.Path("deployments.serverGroupPairs", i, side, f) }
			if s.account() == "" {
				p.Add(at("account"), "is required")
			}
			if s.region() == "" {
				p.Add(at("region"), "is required (or availabilityZones)")
			}
			if s.Application == "" && d.Baseline.Application == "" && (s.Moniker == nil || s.Moniker.Cluster == "") {
				p.Add(at("application"), "is required (or moniker.cluster)")
			}
		}
	}
	if _, err := d.delay(); err != nil {
		p.Add("deployments.delayBeforeCleanup", "%v", err)
	}
}

func (d *deployments) delay() (time.Duration, error) {
	switch v := d.DelayBeforeCleanup.(type) {
	case nil:
		return 0, nil
	case float64:
		return time.Duration(v * float64(time.Second)), nil
	case string:
		if v == "" {
			return 0, nil
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Duration(f * float64(time.Second)), nil
		}
		return parseISODuration(v)
	}
	return 0, fmt.Errorf("must be an ISO-8601 duration such as PT5M, or seconds")
}

// placed is a server group the stage deployed.
type placed struct {
	CloudProvider string `json:"cloudProvider"`
	Account       string `json:"account"`
	Region        string `json:"region"`
	ServerGroup   string `json:"serverGroup"`
}

// deployedPair is a control and experiment server group the stage deployed,
// recorded (as canaryDeployments) before they are created, so a retry
// creates the same ones.
type deployedPair struct {
	Control    placed `json:"control"`
	Experiment placed `json:"experiment"`
}

// deployTask creates the baseline and canary server groups and waits until
// both are up.
type deployTask struct{ env *env }

func (deployTask) Name() string { return taskDeploy }

// Timeout implements stages.TimeoutTask.
func (deployTask) Timeout(*model.StageExecution) time.Duration { return 30 * time.Minute }

func (t deployTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c, err := stages.ConfigOf[*config](run)
	if err != nil {
		return stages.Result{}, err
	}
	reg := run.Services.Providers
	if reg == nil {
		return stages.Failed("no deployment accounts are configured"), nil
	}
	d := c.Deployments
	if len(c.Deployed) == 0 {
		// Nothing is deployed for a canary that could not be judged.
		if err := t.env.check(ctx, run, c); err != nil {
			return stages.Failed("%v", err), nil
		}
		pairs, err := allocate(ctx, reg, d, string(run.Execution.Application))
		if err != nil {
			return stages.Failed("deploy canary and baseline: %v", err), nil
		}
		return stages.Result{Status: model.StatusRunning, Backoff: time.Millisecond,
			Context: stages.Record(map[string]any{"canaryDeployments": pairs})}, nil
	}
	// A failure from here on takes down what was deployed: the stage ends
	// without its clean-up tasks.
	failed := func(format string, args ...any) (stages.Result, error) {
		msg := fmt.Sprintf(format, args...)
		if err := destroyDeployed(ctx, reg, c.Deployed); err != nil {
			msg += "; and the clean-up failed: " + err.Error()
		}
		return stages.Failed("%s", msg), nil
	}
	var baseline *providers.ServerGroup
	allUp := true
	for i, pair := range c.Deployed {
		for _, side := range []struct {
			name string
			at   placed
			spec serverGroupSpec
		}{{"control", pair.Control, d.ServerGroupPairs[i].Control}, {"experiment", pair.Experiment, d.ServerGroupPairs[i].Experiment}} {
			cloud, err := reg.Cloud(side.at.Account, side.at.CloudProvider)
			if err != nil {
				return failed("%s server group %s: %v", side.name, side.at.ServerGroup, err)
			}
			if cloud.ServerGroups == nil || cloud.ServerGroupCreator == nil {
				return failed("account %s cannot create server groups, which a canary with deployments needs", side.at.Account)
			}
			g, err := cloud.ServerGroups.Get(ctx, side.at.Region, side.at.ServerGroup)
			if errors.Is(err, providers.ErrNotFound) {
				if baseline == nil {
					if baseline, err = currentBaseline(ctx, reg, d); err != nil {
						return failed("deploy canary and baseline: %v", err)
					}
				}
				spec := createSpec(side.at, side.spec, baseline, run, side.name == "control")
				if spec.Artifact == nil {
					return failed("deployments.serverGroupPairs[%d].%s.artifact is required: what the %s server group runs (no local/command artifact came with the trigger)", i, side.name, side.name)
				}
				g, err = cloud.ServerGroupCreator.Create(ctx, spec)
			}
			if err != nil {
				return failed("%s server group %s: %v", side.name, side.at.ServerGroup, err)
			}
			allUp = allUp && g.Up()
		}
	}
	if !allUp {
		return stages.Running(time.Second), nil
	}
	// Orca's deployedServerGroups, for the UI and later stages.
	var out []map[string]any
	for _, p := range c.Deployed {
		out = append(out, map[string]any{
			"controlScope": p.Control.ServerGroup, "controlLocation": p.Control.Region, "controlAccountName": p.Control.Account,
			"experimentScope": p.Experiment.ServerGroup, "experimentLocation": p.Experiment.Region, "experimentAccountName": p.Experiment.Account,
		})
	}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(map[string]any{"deployedServerGroups": out})}, nil
}

// allocate names the server groups to deploy: the next version of each
// spec's cluster.
func allocate(ctx context.Context, reg *providers.Registry, d *deployments, app string) ([]deployedPair, error) {
	if d.Baseline.Application != "" {
		app = d.Baseline.Application
	}
	taken := map[string]bool{}
	name := func(s serverGroupSpec, path string) (placed, error) {
		at := placed{CloudProvider: s.CloudProvider, Account: s.account(), Region: s.region()}
		if at.CloudProvider == "" {
			at.CloudProvider = d.Baseline.CloudProvider
		}
		cl, err := s.cluster(app)
		if err != nil {
			return at, fmt.Errorf("%s: %w", path, err)
		}
		sgs, err := reg.ServerGroups(at.Account, at.CloudProvider)
		if err != nil {
			return at, fmt.Errorf("%s: %w", path, err)
		}
		groups, err := sgs.List(ctx, cl.App)
		if err != nil {
			return at, fmt.Errorf("%s: list %s: %w", path, cl.App, err)
		}
		newest, newestAt := -1, int64(-1)
		var inUse []int
		for _, g := range groups {
			sg, err := naming.ParseServerGroup(g.Name)
			if err != nil || sg.Cluster != cl {
				continue
			}
			inUse = append(inUse, sg.Sequence)
			if g.CreatedTime >= newestAt {
				newest, newestAt = sg.Sequence, g.CreatedTime
			}
		}
		for n := range taken {
			if sg, err := naming.ParseServerGroup(n); err == nil && sg.Cluster == cl {
				inUse = append(inUse, sg.Sequence)
				newest = max(newest, sg.Sequence)
			}
		}
		seq, err := naming.NextSequence(newest, inUse)
		if err != nil {
			return at, fmt.Errorf("%s: %w", path, err)
		}
		at.ServerGroup = cl.ServerGroup(seq).String()
		taken[at.ServerGroup] = true
		return at, nil
	}
	var out []deployedPair
	for i, p := range d.ServerGroupPairs {
		ctrl, err := name(p.Control, stages.Path("deployments.serverGroupPairs", i, "control"))
		if err != nil {
			return nil, err
		}
		exp, err := name(p.Experiment, stages.Path("deployments.serverGroupPairs", i, "experiment"))
		if err != nil {
			return nil, err
		}
		out = append(out, deployedPair{Control: ctrl, Experiment: exp})
	}
	return out, nil
}

// currentBaseline is the production cluster's newest enabled server group:
// what the baseline copies.
func currentBaseline(ctx context.Context, reg *providers.Registry, d *deployments) (*providers.ServerGroup, error) {
	b := d.Baseline
	sgs, err := reg.ServerGroups(b.Account, b.CloudProvider)
	if err != nil {
		return nil, fmt.Errorf("deployments.baseline: %w", err)
	}
	cl, err := naming.ParseCluster(b.Cluster)
	if err != nil {
		return nil, fmt.Errorf("deployments.baseline.cluster: %w", err)
	}
	groups, err := sgs.List(ctx, cl.App)
	if err != nil {
		return nil, fmt.Errorf("deployments.baseline: list %s: %w", cl.App, err)
	}
	var best *providers.ServerGroup
	for i := range groups {
		g := &groups[i]
		if naming.ClusterOf(g.Name) != b.Cluster || g.Disabled {
			continue
		}
		if best == nil || g.CreatedTime > best.CreatedTime {
			best = g
		}
	}
	if best == nil {
		return nil, fmt.Errorf("deployments.baseline.cluster %s has no enabled server group in account %s to take the baseline's version from", b.Cluster, b.Account)
	}
	return best, nil
}

// createSpec is what a canary or baseline server group is created from:
// its own fields, else the production server group's (load balancers and
// health check, and for the baseline its artifact), one instance by
// default.
func createSpec(at placed, s serverGroupSpec, prod *providers.ServerGroup, run *stages.Run, control bool) providers.ServerGroupSpec {
	spec := providers.ServerGroupSpec{
		Name: at.ServerGroup, Region: at.Region,
		Capacity: providers.Capacity{Min: 1, Max: 1, Desired: 1},
		Artifact: s.Artifact, LoadBalancers: s.LoadBalancers, HealthCheckPath: s.HealthCheckPath,
		Provenance: providers.Provenance{
			Application: run.Execution.Application, ExecutionID: run.Execution.ID, PipelineID: run.Execution.PipelineConfigID,
			Pipeline: run.Execution.Name, StageID: run.Stage.ID, Stage: run.Stage.Name, User: run.Execution.Trigger.User,
		},
	}
	if s.Capacity != nil {
		spec.Capacity = *s.Capacity
	}
	if spec.LoadBalancers == nil {
		spec.LoadBalancers = slices.Clone(prod.LoadBalancers)
	}
	if spec.HealthCheckPath == "" {
		spec.HealthCheckPath = prod.HealthCheckPath
	}
	if spec.Artifact == nil && control {
		spec.Artifact = prod.Artifact
	}
	if spec.Artifact == nil && !control {
		for _, a := range run.Execution.Trigger.Artifacts {
			if a.Type == "local/command" {
				out := map[string]any{"type": a.Type, "name": a.Name, "version": a.Version, "reference": a.Reference}
				for k, v := range a.Extra {
					out[k] = v
				}
				spec.Artifact = out
				break
			}
		}
	}
	return spec
}

// destroyDeployed destroys the server groups the stage deployed; missing
// ones are already gone.
func destroyDeployed(ctx context.Context, reg *providers.Registry, pairs []deployedPair) error {
	var errs []error
	for _, p := range pairs {
		for _, at := range []placed{p.Experiment, p.Control} {
			sgs, err := reg.ServerGroups(at.Account, at.CloudProvider)
			if err == nil {
				err = sgs.Destroy(ctx, at.Region, at.ServerGroup)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("destroy %s: %w", at.ServerGroup, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Cancel implements stages.Canceler: a canceled canary takes its server
// groups down.
func (t deployTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	return cancelDeployed(ctx, run)
}

func cancelDeployed(ctx context.Context, run *stages.Run) (map[string]any, error) {
	var c config
	if err := stages.Decode(run.Stage.Context, &c).Err(); err != nil || len(c.Deployed) == 0 || run.Services.Providers == nil {
		return nil, nil
	}
	return map[string]any{"canaryCleanedUp": true}, destroyDeployed(ctx, run.Services.Providers, c.Deployed)
}

// waitTask waits deployments.delayBeforeCleanup before the clean-up, so
// people can look at the canary's server groups.
type waitTask struct{}

func (waitTask) Name() string { return taskWait }

func (waitTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c, err := stages.ConfigOf[*config](run)
	if err != nil {
		return stages.Result{}, err
	}
	delay, err := c.Deployments.delay()
	if err != nil {
		return stages.Failed("deployments.delayBeforeCleanup: %v", err), nil
	}
	started, err := stages.TaskStart(run, taskWait)
	if err != nil {
		return stages.Result{}, err
	}
	if left := delay - run.Now.Sub(started); left > 0 {
		return stages.Result{Status: model.StatusRunning, Backoff: left, Wake: stages.Sleep}, nil
	}
	return stages.Succeeded(), nil
}

// Cancel implements stages.Canceler: a run canceled while it waits to
// clean up cleans up at once.
func (waitTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	return cancelDeployed(ctx, run)
}

// cleanupTask destroys the baseline and canary server groups.
type cleanupTask struct{}

func (cleanupTask) Name() string { return taskCleanup }

func (cleanupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c, err := stages.ConfigOf[*config](run)
	if err != nil {
		return stages.Result{}, err
	}
	if err := destroyDeployed(ctx, run.Services.Providers, c.Deployed); err != nil {
		return stages.Failed("clean up the canary's server groups: %v", err), nil
	}
	return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"canaryCleanedUp": true}}, nil
}
