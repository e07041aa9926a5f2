package cluster

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
)

// DeployStage is Spinnaker's "deploy" stage (one cluster in clusters[]) and
// its "createServerGroup" stage (the cluster's fields at the top level, or
// in clusters[]): create the next server group of a cluster and move
// traffic to it with the cluster's strategy.
type DeployStage struct {
	env *deployEnv
	typ string
}

// Type implements Definition.
func (d *DeployStage) Type() string { return d.typ }

// Validate implements Definition.
func (d *DeployStage) Validate(s *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(s, &p)
	if d.typ == "deploy" && strategyDeploysParent(cfg) {
		validateTrafficOptions(cfg, &p)
		return p
	}
	cluster, path, ok := clusterConfig(cfg, &p, d.typ == "deploy")
	if !ok {
		return p
	}
	validateCluster(d.env, cluster, path, &p)
	return p
}

// clusterConfig returns the one cluster a deploy stage deploys and the path
// its fields are reported under.
func clusterConfig(cfg map[string]any, p *stages.Problems, required bool) (map[string]any, string, bool) {
	raw, ok := cfg["clusters"]
	if !ok || raw == nil {
		if required {
			p.Add("clusters", "is required: the cluster to deploy")
			return nil, "", false
		}
		return cfg, "", true
	}
	list, isList := raw.([]any)
	if !isList {
		if stages.IsExpression(raw) {
			return nil, "", false
		}
		p.Add("clusters", "must be a list with one cluster, not %s", stages.Describe(raw))
		return nil, "", false
	}
	if len(list) != 1 {
		p.Add("clusters", "gennaker deploys one cluster per stage, got %d; add a stage per cluster", len(list))
		return nil, "", false
	}
	m, isMap := list[0].(map[string]any)
	if !isMap {
		p.Add("clusters[0]", "must be an object, not %s", stages.Describe(list[0]))
		return nil, "", false
	}
	return m, "clusters[0]", true
}

func validateCluster(env *deployEnv, c map[string]any, path string, p *stages.Problems) {
	validateLocation(env, c, path, p)
	for _, k := range []string{"application", "stack", "freeFormDetails", "strategy", "healthCheckPath"} {
		if err := stages.ReadsString(c, k); err != nil && !stages.IsExpression(c[k]) {
			p.Add(stages.JoinPath(path, k), "%v", strings.TrimPrefix(err.Error(), k+": "))
		}
	}
	app, _ := c["application"].(string)
	stack, _ := c["stack"].(string)
	detail, _ := c["freeFormDetails"].(string)
	if app != "" && !stages.IsExpression(app) && !stages.IsExpression(stack) && !stages.IsExpression(detail) {
		if _, err := naming.NewCluster(app, stack, detail); err != nil {
			p.Add(stages.JoinPath(path, "application"), "%v", err)
		}
	}
	if !stages.IsExpression(c["capacity"]) {
		if _, ok, err := capacityOf(c, "capacity"); err != nil {
			p.Add(stages.JoinPath(path, "capacity"), "%v", strings.TrimPrefix(err.Error(), "capacity: "))
		} else if !ok {
			p.Add(stages.JoinPath(path, "capacity"), "is required: {min, max, desired}")
		}
	}
	if strat, _ := c["strategy"].(string); !stages.IsExpression(strat) {
		if _, err := strategyFor(strat); err != nil {
			p.Add(stages.JoinPath(path, "strategy"), "%v", err)
		}
	}
	validateCustom(c, path, p)
	if !stages.IsExpression(c["pipelineBeforeCleanup"]) {
		if _, err := beforeCleanupOf(c); err != nil {
			p.Add(stages.JoinPath(path, "pipelineBeforeCleanup"), "%v", strings.TrimPrefix(err.Error(), "pipelineBeforeCleanup "))
		}
	}
	if a, ok := c["artifact"].(map[string]any); ok {
		prov, _ := c["cloudProvider"].(string)
		if t, _ := a["type"].(string); prov == "local" && t != "" && t != "local/command" && !stages.IsExpression(t) {
			p.Add(stages.JoinPath(path, "artifact.type"), "the local provider runs local/command artifacts, not %q", t)
		}
	}
	for _, k := range []string{"maxRemainingAsgs", "delayBeforeDisableSec", "delayBeforeScaleDownSec", "delayBeforeCleanup"} {
		if !stages.IsExpression(c[k]) {
			if n, _, err := stages.Int(c, k); err != nil {
				p.AddErr(fmt.Errorf("%s: %w", stages.JoinPath(path, k), unwrapField(err)))
			} else if n < 0 {
				p.Add(stages.JoinPath(path, k), "must not be negative, got %d", n)
			}
		}
	}
	if !stages.IsExpression(c["targetPercentages"]) {
		if _, err := targetPercentages(c); err != nil {
			p.Add(stages.JoinPath(path, "targetPercentages"), "%v", err)
		}
	}
}

func unwrapField(err error) error {
	_, msg, ok := strings.Cut(err.Error(), ": ")
	if !ok {
		return err
	}
	return fmt.Errorf("%s", msg)
}

// Plan implements Definition: the cluster lock around the strategy's steps.
func (d *DeployStage) Plan(s *model.StageExecution) ([]string, error) {
	if d.typ == "deploy" && strategyDeploysParent(s.Context) {
		// A strategy pipeline's deploy: the parent's cluster, strategy none.
		steps, err := planDeploy("none", nil)
		return append([]string{ResolveStrategyClusterTask{}.Name()}, steps...), err
	}
	var p stages.Problems
	cluster, _, ok := clusterConfig(s.Context, &p, d.typ == "deploy")
	if !ok {
		return nil, fmt.Errorf("%s", problemsText(p))
	}
	strat, _, err := stages.String(cluster, "strategy")
	if err != nil {
		return nil, err
	}
	return planDeploy(strat, cluster)
}

func problemsText(p stages.Problems) string {
	parts := make([]string, 0, len(p))
	for _, pr := range p {
		parts = append(parts, stages.JoinPath(pr.Path, "")+": "+pr.Message)
	}
	return strings.Join(parts, "; ")
}

// planDeploy wraps a strategy's steps in the cluster lock and the name
// allocation every deploy shares, unless the strategy replaces them.
func planDeploy(strategy string, cluster map[string]any) ([]string, error) {
	strat, err := strategyFor(strategy)
	if err != nil {
		return nil, err
	}
	steps, err := strat.plan(cluster)
	if err != nil {
		return nil, err
	}
	if strat.replacesBasicSteps {
		return steps, nil
	}
	out := []string{AcquireClusterLockTask{}.Name(), AllocateServerGroupNameTask{}.Name()}
	out = append(out, steps...)
	return append(out, ReleaseClusterLockTask{}.Name()), nil
}

// strategyPlan returns a strategy's steps for a cluster's configuration.
type strategyPlan func(cluster map[string]any) ([]string, error)

// deployStrategy is how a deploy moves traffic to its new server group.
type deployStrategy struct {
	plan strategyPlan
	// replacesBasicSteps: the strategy allocates and creates no server
	// group itself (custom: its pipeline does), so no cluster lock either.
	replacesBasicSteps bool
}

// strategyFor is the one place a deployment strategy is chosen.
func strategyFor(name string) (deployStrategy, error) {
	switch name {
	case "", "none":
		return deployStrategy{plan: noneStrategy}, nil
	case "redblack":
		return deployStrategy{plan: redBlackStrategy}, nil
	case "highlander":
		return deployStrategy{plan: highlanderStrategy}, nil
	case "rollingredblack":
		return deployStrategy{plan: rollingRedBlackStrategy}, nil
	case "custom":
		return deployStrategy{plan: customStrategy, replacesBasicSteps: true}, nil
	default:
		return deployStrategy{}, fmt.Errorf("unknown deployment strategy %q (known: none, redblack, highlander, rollingredblack, custom)", name)
	}
}

// deploySpec is a deploy stage's cluster, read from its context.
type deploySpec struct {
	raw      map[string]any
	location Location
	cluster  naming.Cluster
	capacity providers.Capacity
	artifact map[string]any
	lbs      []string
	health   string
	rollback bool
	// disabled creates the server group out of rotation (suspendedProcesses
	// holds AddToLoadBalancer, as a strategy pipeline's trafficOptions
	// disable sets it).
	disabled bool
}

// deployClusterOf reads the deploy stage's cluster.
func deployClusterOf(run *stages.Run) (deploySpec, error) {
	var p stages.Problems
	c, _, ok := clusterConfig(run.Stage.Context, &p, false)
	if !ok {
		return deploySpec{}, fmt.Errorf("%s", problemsText(p))
	}
	d := deploySpec{raw: c}
	var err error
	if d.location, err = locationOf(c); err != nil {
		return d, err
	}
	app, _, err := stages.String(c, "application")
	if err != nil {
		return d, err
	}
	if app == "" && run.Execution != nil {
		app = string(run.Execution.Application)
	}
	stack, _, _ := stages.String(c, "stack")
	detail, _, _ := stages.String(c, "freeFormDetails")
	if d.cluster, err = naming.NewCluster(app, stack, detail); err != nil {
		return d, err
	}
	capacity, ok, err := capacityOf(c, "capacity")
	switch {
	case err != nil:
		return d, err
	case !ok:
		return d, fmt.Errorf("capacity is required: {min, max, desired}")
	}
	d.capacity = capacity
	if d.lbs, err = stringList(c, "loadBalancers"); err != nil {
		return d, err
	}
	d.health, _, _ = stages.String(c, "healthCheckPath")
	var rb struct {
		OnFailure bool `json:"onFailure"`
	}
	if _, err := stages.DecodeField(c, "rollback", &rb); err != nil {
		return d, err
	}
	d.rollback = rb.OnFailure
	var suspended []string
	if _, err := stages.DecodeField(c, "suspendedProcesses", &suspended); err != nil {
		return d, err
	}
	d.disabled = slices.Contains(suspended, suspendedAddToLoadBalancer)
	d.artifact = artifactFor(run, c, d.location.Region)
	return d, nil
}

// artifactFor is the cluster's artifact, else the image an earlier
// findImageFromCluster stage found in the region, else the trigger's first
// local/command artifact.
func artifactFor(run *stages.Run, c map[string]any, region string) map[string]any {
	if a, ok := c["artifact"].(map[string]any); ok {
		return a
	}
	if run.Execution == nil {
		return nil
	}
	for i := len(run.Execution.Stages) - 1; i >= 0; i-- {
		details, _ := run.Execution.Stages[i].Outputs["deploymentDetails"].([]any)
		for _, d := range details {
			m, _ := d.(map[string]any)
			if a, ok := m["artifact"].(map[string]any); ok && (m["region"] == region || m["region"] == nil) {
				return a
			}
		}
	}
	for _, a := range run.Execution.Trigger.Artifacts {
		if a.Type == "local/command" {
			out := map[string]any{"type": a.Type, "name": a.Name, "version": a.Version, "reference": a.Reference}
			for k, v := range a.Extra {
				out[k] = v
			}
			return out
		}
	}
	return nil
}

// targetPercentages reads a rolling red/black's steps: ascending
// percentages ending at 100 (default [50, 100]).
func targetPercentages(c map[string]any) ([]int, error) {
	var pcts []int
	if _, err := stages.DecodeField(c, "targetPercentages", &pcts); err != nil {
		return nil, fmt.Errorf("must be a list of percentages")
	}
	if len(pcts) == 0 {
		return []int{50, 100}, nil
	}
	prev := 0
	for _, p := range pcts {
		if p <= prev || p > 100 {
			return nil, fmt.Errorf("must rise from above 0 to 100, got %v", pcts)
		}
		prev = p
	}
	if prev != 100 {
		pcts = append(pcts, 100)
	}
	return pcts, nil
}

// Context keys the deploy tasks share.
const (
	keyServerGroup = "serverGroupName"
	keySources     = "sourceServerGroups"
	keySourceCaps  = "sourceCapacities"
	keyDeployed    = "deploy.server.groups"
)

// target is the account, region and server group a task acts on, as an
// earlier task of the stage recorded it.
func targetOf(run *stages.Run) (Location, string, *providers.Cloud, error) {
	l, err := locationOf(run.Stage.Context)
	if err != nil {
		return l, "", nil, err
	}
	name, _, err := stages.String(run.Stage.Context, keyServerGroup)
	if err != nil {
		return l, "", nil, err
	}
	if name == "" {
		return l, "", nil, fmt.Errorf("%s: no server group was chosen", keyServerGroup)
	}
	c, err := cloudAt(run, l)
	return l, name, c, err
}

// AllocateServerGroupNameTask decides the new server group's name (the
// cluster's next version) once, and records which server groups were
// serving, which a strategy later disables.
type AllocateServerGroupNameTask struct{}

// Name implements Task.
func (AllocateServerGroupNameTask) Name() string { return "AllocateServerGroupName" }

// Execute implements Task.
func (AllocateServerGroupNameTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	if _, done := run.Stage.Context[keyDeployed]; done {
		return stages.Succeeded(), nil
	}
	if r := keepClusterLock(ctx, run); r != nil {
		return *r, nil
	}
	d, err := deployClusterOf(run)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	c, err := cloudAt(run, d.location)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	groups, err := clusterGroups(ctx, c, d.location.Region, d.cluster.String())
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	name := ""
	newest, inUse := -1, []int{}
	for _, g := range groups {
		if g.Provenance.StageID == run.Stage.ID && run.Execution != nil && g.Provenance.ExecutionID == run.Execution.ID {
			name = g.Name // created by an earlier try of this stage
		}
		if n, err := naming.ParseServerGroup(g.Name); err == nil && n.Sequence >= 0 {
			newest = n.Sequence
			inUse = append(inUse, n.Sequence)
		}
	}
	if name == "" {
		seq, err := naming.NextSequence(newest, inUse)
		if err != nil {
			return deployFailed(ctx, run, "cluster %s: %v", d.cluster, err), nil
		}
		name = d.cluster.ServerGroup(seq).String()
	}
	sources, caps := []any{}, map[string]any{}
	for _, g := range groups {
		if g.Name != name && !g.Disabled {
			sources = append(sources, g.Name)
			caps[g.Name] = map[string]any{"min": g.Capacity.Min, "max": g.Capacity.Max, "desired": g.Capacity.Desired}
		}
	}
	return stages.Result{
		Status: model.StatusSucceeded,
		Context: map[string]any{
			keyServerGroup:  name,
			"credentials":   d.location.Account,
			"region":        d.location.Region,
			"cloudProvider": c.Account.Provider,
			keySources:      sources,
			keySourceCaps:   caps,
			keyDeployed:     map[string]any{d.location.Region: []any{name}},
		},
		Outputs: map[string]any{
			keyDeployed:           map[string]any{d.location.Region: []any{name}},
			"deploy.account.name": d.location.Account,
			keyServerGroup:        name,
		},
	}, nil
}

// CreateServerGroupTask creates the allocated server group; a retry finds
// it created.
type CreateServerGroupTask struct{}

// Name implements Task.
func (CreateServerGroupTask) Name() string { return "CreateServerGroup" }

// Execute implements Task.
func (CreateServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	if r := keepClusterLock(ctx, run); r != nil {
		return *r, nil
	}
	d, err := deployClusterOf(run)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	_, name, c, err := targetOf(run)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	capacity := d.capacity
	if strat, _, _ := stages.String(d.raw, "strategy"); strat == "rollingredblack" {
		capacity = providers.Capacity{Min: 0, Max: d.capacity.Max, Desired: 0} // grown step by step
	}
	creator, err := run.Services.Providers.ServerGroupCreator(c.Account.Name, c.Account.Provider)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	g, err := creator.Create(ctx, providers.ServerGroupSpec{
		Name:            name,
		Region:          d.location.Region,
		Capacity:        capacity,
		Disabled:        d.disabled,
		Artifact:        d.artifact,
		LoadBalancers:   d.lbs,
		HealthCheckPath: d.health,
		Provenance:      provenanceOf(run),
	})
	if err != nil {
		return deployFailed(ctx, run, "create server group %s in %s: %v", name, d.location, err), nil
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: map[string]any{"artifact": g.Artifact}}, nil
}

// WaitForUpInstancesTask waits until every desired instance of the stage's
// server group is up and in its load balancers' rotation.
type WaitForUpInstancesTask struct{}

// Name implements Task.
func (WaitForUpInstancesTask) Name() string { return "WaitForUpInstances" }

// Timeout implements TimeoutTask.
func (WaitForUpInstancesTask) Timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, 30*time.Minute)
}

// Execute implements Task.
func (WaitForUpInstancesTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return waitForUp(ctx, run, keyServerGroup)
}

// Cancel implements Canceler: a deploy that times out or is canceled while
// its server group comes up rolls back if asked to.
func (WaitForUpInstancesTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	return cleanUpDeploy(ctx, run)
}

func waitForUp(ctx context.Context, run *stages.Run, key string) (stages.Result, error) {
	if r := keepClusterLock(ctx, run); r != nil {
		return *r, nil
	}
	l, err := locationOf(run.Stage.Context)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	name, _, _ := stages.String(run.Stage.Context, key)
	c, err := cloudAt(run, l)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	outOfRotation := key == keyServerGroup && createdDisabled(run)
	return pollBriefly(ctx, run, func() (stages.Result, error) {
		g, err := c.ServerGroups.Get(ctx, l.Region, name)
		if err != nil {
			return deployFailed(ctx, run, "%v", err), nil
		}
		counts := map[string]any{"up": g.Counts.Up, "down": g.Counts.Down, "starting": g.Counts.Starting, "desired": g.Capacity.Desired}
		if g.Disabled && outOfRotation {
			// Out of rotation by design: healthy is enough.
			if g.Counts.OutOfService+g.Counts.Up >= g.Capacity.Desired {
				return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"instanceCounts": counts}}, nil
			}
		} else if g.Capacity.Desired == 0 || (g.Up() && !g.Disabled) {
			return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"instanceCounts": counts}}, nil
		}
		return stages.Result{Status: model.StatusRunning, Backoff: deployPollBackoff, Context: map[string]any{"instanceCounts": counts}}, nil
	})
}

// createdDisabled reports whether the stage is a deploy that creates its
// server group out of rotation.
func createdDisabled(run *stages.Run) bool {
	if _, isDeploy := run.Stage.Context[keyDeployed]; !isDeploy {
		return false
	}
	d, err := deployClusterOf(run)
	return err == nil && d.disabled
}

// deployFailed fails a deploy task after cleaning up as the cluster's
// rollback.onFailure asks, and releases the cluster lock.
func deployFailed(ctx context.Context, run *stages.Run, format string, args ...any) stages.Result {
	out, err := cleanUpDeploy(ctx, run)
	msg := fmt.Sprintf(format, args...)
	if err != nil {
		msg += fmt.Sprintf(" (and cleaning up failed: %v)", err)
	}
	return stages.FailedWith(out, "%s", msg)
}

// cleanUpDeploy undoes a failed deploy when rollback.onFailure is set: the
// server groups it disabled or scaled down serve again at their capacity,
// and the new one is destroyed. It always releases the cluster lock. Stages
// that are not deploys have nothing to clean up.
func cleanUpDeploy(ctx context.Context, run *stages.Run) (map[string]any, error) {
	out := map[string]any{}
	defer func() { _ = releaseClusterLock(ctx, run) }()
	if _, isDeploy := run.Stage.Context[keyDeployed]; !isDeploy {
		return out, nil
	}
	d, err := deployClusterOf(run)
	if err != nil || !d.rollback {
		return out, nil
	}
	l, name, c, err := targetOf(run)
	if err != nil {
		return out, err
	}
	sources, _ := stringList(run.Stage.Context, keySources)
	caps, _ := run.Stage.Context[keySourceCaps].(map[string]any)
	for _, src := range sources {
		if capacity, ok, _ := capacityOf(caps, src); ok {
			if err := c.ServerGroups.Resize(ctx, l.Region, src, capacity); err != nil && !isNotFound(err) {
				return out, err
			}
		}
		if err := c.ServerGroups.SetEnabled(ctx, l.Region, src, true); err != nil && !isNotFound(err) {
			return out, err
		}
	}
	if err := c.ServerGroups.Destroy(ctx, l.Region, name); err != nil {
		return out, err
	}
	out["rollback"] = map[string]any{"onFailure": true, "destroyedServerGroup": name, "restoredServerGroups": sources}
	return out, nil
}

func isNotFound(err error) bool {
	return err != nil && strings.Contains(err.Error(), providers.ErrNotFound.Error())
}

// requireServing waits, inside a strategy step, until the new server group
// takes traffic: an old one is never disabled before that. It first renews
// the cluster lock, as every step of a deploy does.
func requireServing(ctx context.Context, run *stages.Run) (*providers.ServerGroup, Location, *providers.Cloud, *stages.Result) {
	if r := keepClusterLock(ctx, run); r != nil {
		return nil, Location{}, nil, r
	}
	l, name, c, err := targetOf(run)
	if err != nil {
		r := deployFailed(ctx, run, "%v", err)
		return nil, l, nil, &r
	}
	var g *providers.ServerGroup
	r, _ := pollBriefly(ctx, run, func() (stages.Result, error) {
		var err error
		if g, err = c.ServerGroups.Get(ctx, l.Region, name); err != nil {
			return deployFailed(ctx, run, "%v", err), nil
		}
		if !g.Serving() {
			return stages.Result{Status: model.StatusRunning, Backoff: deployPollBackoff, Context: map[string]any{"waitingFor": name + " to take traffic"}}, nil
		}
		return stages.Succeeded(), nil
	})
	if r.Status != model.StatusSucceeded {
		return nil, l, nil, &r
	}
	return g, l, c, nil
}

// otherGroups are the cluster's server groups other than the new one,
// oldest first.
func otherGroups(ctx context.Context, c *providers.Cloud, l Location, newName string) ([]providers.ServerGroup, error) {
	all, err := clusterGroups(ctx, c, l.Region, naming.ClusterOf(newName))
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, g := range all {
		if g.Name != newName {
			out = append(out, g)
		}
	}
	return out, nil
}

// DisableOldServerGroupsTask takes the server groups that served before the
// deploy out of rotation, once the new one takes traffic.
type DisableOldServerGroupsTask struct{}

// Name implements Task.
func (DisableOldServerGroupsTask) Name() string { return "DisableOldServerGroups" }

// Execute implements Task.
func (DisableOldServerGroupsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	g, l, c, wait := requireServing(ctx, run)
	if wait != nil {
		return *wait, nil
	}
	others, err := otherGroups(ctx, c, l, g.Name)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	var names []string
	for _, o := range others {
		if !o.Disabled {
			names = append(names, o.Name)
		}
	}
	if err := guardCheck(ctx, run, c, l, g.Cluster, "disable "+strings.Join(names, ", "), Disabling(names...)); err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	for _, n := range names {
		if err := c.ServerGroups.SetEnabled(ctx, l.Region, n, false); err != nil && !isNotFound(err) {
			return deployFailed(ctx, run, "disable %s: %v", n, err), nil
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"disabledServerGroups": toAnyList(names)}}, nil
}

// Cancel implements Canceler.
func (DisableOldServerGroupsTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	return cleanUpDeploy(ctx, run)
}

// ScaleDownOldServerGroupsTask scales the server groups the deploy disabled
// down to no instances (scaleDown: true); they stay, ready for a rollback.
type ScaleDownOldServerGroupsTask struct{}

// Name implements Task.
func (ScaleDownOldServerGroupsTask) Name() string { return "ScaleDownOldServerGroups" }

// Execute implements Task.
func (ScaleDownOldServerGroupsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	g, l, c, wait := requireServing(ctx, run)
	if wait != nil {
		return *wait, nil
	}
	others, err := otherGroups(ctx, c, l, g.Name)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	var scaled []string
	for _, o := range others {
		if !o.Disabled || o.Capacity.Desired == 0 {
			continue
		}
		if err := guardCheck(ctx, run, c, l, g.Cluster, "scale "+o.Name+" down to 0", Resizing(o.Name, 0)); err != nil {
			return deployFailed(ctx, run, "%v", err), nil
		}
		if err := c.ServerGroups.Resize(ctx, l.Region, o.Name, providers.Capacity{Min: 0, Max: o.Capacity.Max, Desired: 0}); err != nil && !isNotFound(err) {
			return deployFailed(ctx, run, "scale down %s: %v", o.Name, err), nil
		}
		scaled = append(scaled, o.Name)
	}
	return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"scaledDownServerGroups": toAnyList(scaled)}}, nil
}

// ShrinkOldServerGroupsTask destroys the oldest server groups of the
// cluster beyond maxRemainingAsgs (the new one counts and always stays).
type ShrinkOldServerGroupsTask struct{}

// Name implements Task.
func (ShrinkOldServerGroupsTask) Name() string { return "ShrinkOldServerGroups" }

// Execute implements Task.
func (ShrinkOldServerGroupsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployClusterOf(run)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	keep, _, _ := stages.Int(d.raw, "maxRemainingAsgs")
	g, l, c, wait := requireServing(ctx, run)
	if wait != nil {
		return *wait, nil
	}
	others, err := otherGroups(ctx, c, l, g.Name)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	excess := len(others) + 1 - max(int(keep), 1)
	if excess <= 0 {
		return stages.Succeeded(), nil
	}
	doomed := namesOf(others[:min(excess, len(others))])
	return destroyAll(ctx, run, c, l, g.Cluster, doomed)
}

// DestroyOldServerGroupsTask destroys every other server group of the
// cluster (highlander: there can be only one).
type DestroyOldServerGroupsTask struct{}

// Name implements Task.
func (DestroyOldServerGroupsTask) Name() string { return "DestroyOldServerGroups" }

// Execute implements Task.
func (DestroyOldServerGroupsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	g, l, c, wait := requireServing(ctx, run)
	if wait != nil {
		return *wait, nil
	}
	others, err := otherGroups(ctx, c, l, g.Name)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	return destroyAll(ctx, run, c, l, g.Cluster, namesOf(others))
}

func destroyAll(ctx context.Context, run *stages.Run, c *providers.Cloud, l Location, cluster string, names []string) (stages.Result, error) {
	if len(names) == 0 {
		return stages.Succeeded(), nil
	}
	if err := guardCheck(ctx, run, c, l, cluster, "destroy "+strings.Join(names, ", "), Destroying(names...)); err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	for _, n := range names {
		if err := c.ServerGroups.Destroy(ctx, l.Region, n); err != nil {
			return deployFailed(ctx, run, "destroy %s: %v", n, err), nil
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"destroyedServerGroups": toAnyList(names)}}, nil
}

// ScaleTargetServerGroupTask grows the new server group of a rolling
// red/black to the next of its targetPercentages of the desired capacity.
// Each of its occurrences in the plan is one step.
type ScaleTargetServerGroupTask struct{}

// Name implements Task.
func (ScaleTargetServerGroupTask) Name() string { return "ScaleTargetServerGroup" }

// Execute implements Task.
func (t ScaleTargetServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	if r := keepClusterLock(ctx, run); r != nil {
		return *r, nil
	}
	d, err := deployClusterOf(run)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	pcts, err := targetPercentages(d.raw)
	if err != nil {
		return deployFailed(ctx, run, "targetPercentages %v", err), nil
	}
	step := 0
	for _, task := range run.Stage.Tasks[:max(taskIndex(run.Stage), 0)] {
		if task.Name == t.Name() {
			step++
		}
	}
	if step >= len(pcts) {
		return deployFailed(ctx, run, "rolling step %d has no target percentage (targetPercentages %v)", step+1, pcts), nil
	}
	pct := pcts[step]
	n := int(math.Ceil(float64(d.capacity.Desired) * float64(pct) / 100))
	l, name, c, err := targetOf(run)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	capacity := providers.Capacity{Min: min(d.capacity.Min, n), Max: d.capacity.Max, Desired: n}
	if err := c.ServerGroups.Resize(ctx, l.Region, name, capacity); err != nil {
		return deployFailed(ctx, run, "resize %s to %d%% (%d instances): %v", name, pct, n, err), nil
	}
	return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"targetPercentage": pct, "targetDesired": n}}, nil
}

// Cancel implements Canceler.
func (ScaleTargetServerGroupTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	return cleanUpDeploy(ctx, run)
}

// Names of the delays a strategy may plan.
const (
	waitBeforeDisable   = "WaitBeforeDisable"
	waitBeforeScaleDown = "WaitBeforeScaleDown"
	waitBeforeCleanup   = "WaitBeforeCleanup"
)

// WaitBeforeTask waits the number of seconds the cluster's field key says,
// renewing the cluster lock meanwhile.
type WaitBeforeTask struct {
	name string
	key  string
}

// Name implements Task.
func (t WaitBeforeTask) Name() string { return t.name }

// Execute implements Task.
func (t WaitBeforeTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployClusterOf(run)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	secs, _, err := stages.Int(d.raw, t.key)
	if err != nil {
		return deployFailed(ctx, run, "%v", err), nil
	}
	if r := keepClusterLock(ctx, run); r != nil {
		return *r, nil
	}
	start, err := stages.TaskStart(run, t.name)
	if err != nil {
		return stages.Result{}, err
	}
	left := start.Add(time.Duration(secs) * time.Second).Sub(run.Now)
	if left <= 0 {
		return stages.Succeeded(), nil
	}
	return stages.Result{Status: model.StatusRunning, Backoff: min(left, clusterLockTTL/4), Wake: stages.Sleep}, nil
}

// Cancel implements Canceler.
func (t WaitBeforeTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	return cleanUpDeploy(ctx, run)
}

func toAnyList(names []string) []any {
	sort.Strings(names)
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}
