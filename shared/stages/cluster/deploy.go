package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
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
	if d.typ == "deploy" {
		if raw, err := s.Config(); err == nil {
			if p, parallel := d.validateParts(raw); parallel {
				return p
			}
		}
	}
	var cfg deployConfig
	exprs, p := stages.DecodeConfig(s, &cfg)
	if d.typ == "deploy" && cfg.deploysParent() {
		if opt := cfg.TrafficOptions; !stages.IsExpression(opt) && checkTrafficOptions(opt) != nil {
			p.Add("trafficOptions", "%q is not inherit, enable or disable", opt)
		}
		return p
	}
	switch {
	case exprs["clusters"] || (cfg.Clusters == nil && hasProblem(p, "clusters")):
		return p
	case cfg.Clusters == nil && d.typ == "deploy":
		p.Add("clusters", "is required: the cluster to deploy")
		return p
	case cfg.Clusters != nil && len(cfg.Clusters) != 1:
		p.Add("clusters", "gennaker deploys one cluster per stage, got %d; add a stage per cluster", len(cfg.Clusters))
		return p
	}
	path := ""
	if cfg.Clusters != nil {
		path = stages.Path("clusters", 0)
		for _, pr := range p {
			if pr.Path == path {
				return p // not an object: nothing in it to check
			}
		}
	}
	validateCluster(d.env, s, cfg.spec(), path, exprs, &p)
	return p
}

// validateCluster checks the cluster a deploy or clone creates a server
// group in, at path, with its strategy's fields.
func validateCluster(env *deployEnv, s *model.Stage, c *clusterSpec, path string, exprs stages.Expressions, p *stages.Problems) {
	c.locationFields.validate(env, path, p)
	if raw, err := s.Config(); err == nil {
		cluster := raw
		if path != "" {
			if list, ok := raw["clusters"].([]any); ok && len(list) == 1 {
				cluster, _ = list[0].(map[string]any)
			}
		}
		checkAppliedFields(env, c.cloudProvider(), cluster, path, p)
	}
	if c.Application != "" && !stages.IsExpression(c.Application) && !stages.IsExpression(c.Stack) && !stages.IsExpression(c.FreeFormDetails) {
		if _, err := naming.NewCluster(c.Application, c.Stack, c.FreeFormDetails); err != nil {
			p.Add(stages.Path(path, "application"), "%v", err)
		}
	}
	if at := stages.Path(path, "capacity"); !exprs.Has(at) && !hasProblem(*p, at) {
		if c.Capacity == nil {
			p.Add(at, "is required: {min, max, desired}")
		} else if _, err := checkCapacity(*c.Capacity); err != nil {
			p.Add(at, "%v", err)
		}
	}
	if t, _ := c.Artifact["type"].(string); c.cloudProvider() == "local" && t != "" && t != "local/command" && !stages.IsExpression(t) {
		p.Add(stages.Path(path, "artifact", "type"), "the local provider runs local/command artifacts, not %q", t)
	}
	if stages.IsExpression(c.Strategy) {
		return
	}
	strat, err := strategyFor(c.Strategy)
	if err != nil {
		p.Add(stages.Path(path, "strategy"), "%v", err)
		return
	}
	*p = append(*p, strat.decode(fieldDecoder{inClusters: path != "", decode: func(cfg any) stages.Problems {
		more, probs := stages.DecodeConfig(s, cfg)
		maps.Copy(exprs, more)
		return probs
	}})...)
	strat.validate(path, exprs, p)
}

// Config implements Configurer.
func (d *DeployStage) Config(s *model.StageExecution) (any, error) {
	if d.runsAsParts(s) {
		return parallelDeploy{}, nil
	}
	return decodeDeploy(s)
}

// runsAsParts reports whether a running deploy stage deploys its clusters
// as stages of their own.
func (d *DeployStage) runsAsParts(s *model.StageExecution) bool {
	if d.typ != "deploy" {
		return false
	}
	clusters, _ := parallelClusters(s.Context)
	return len(clusters) > 0
}

// Plan implements Definition: the strategy's steps.
func (d *DeployStage) Plan(s *model.StageExecution) ([]string, error) {
	if d.runsAsParts(s) {
		return []string{CompleteParallelDeployTask{}.Name()}, nil
	}
	cfg, err := decodeDeploy(s)
	if err != nil {
		return nil, err
	}
	if d.typ == "deploy" && cfg.deploysParent() {
		// A strategy pipeline's deploy: the parent's cluster, strategy none.
		steps, err := (&noneStrategy{}).plan()
		return append([]string{ResolveStrategyClusterTask{}.Name()}, steps...), err
	}
	if d.typ == "deploy" && cfg.Clusters == nil {
		return nil, errors.New("clusters: is required: the cluster to deploy")
	}
	if cfg.spec() == nil {
		return nil, errors.New("clusters: gennaker deploys one cluster per stage, got 0; add a stage per cluster")
	}
	return cfg.strategy().plan()
}

// deployConfig is the configuration of the stages that create a server
// group (deploy, createServerGroup, cloneServerGroup), with what their
// tasks record as they go.
type deployConfig struct {
	stageFields
	// clusterSpec is the cluster when the stage holds it at the top level
	// (createServerGroup, cloneServerGroup). Its location fields are also
	// where AllocateServerGroupName records the account and region the
	// deploy acts in.
	clusterSpec
	// Clusters holds the cluster as its one entry (deploy). An empty list
	// is a strategy pipeline's deploy of its parent's cluster.
	Clusters []clusterSpec `json:"clusters"`
	// TrafficOptions is a strategy pipeline deploy's inherit, enable or
	// disable.
	TrafficOptions string `json:"trafficOptions"`
	// Source is a clone's source server group.
	Source *cloneSource `json:"source"`
	// TargetCluster and Target name a clone's source as Deck's clone stage
	// does: a cluster and a dynamic target, in the stage's own account and
	// region.
	TargetCluster string `json:"targetCluster"`
	Target        string `json:"target"`
	deployState
}

// clusterSpec is the cluster a deploy creates a server group in.
type clusterSpec struct {
	locationFields
	Application     string              `json:"application"`
	Stack           string              `json:"stack"`
	FreeFormDetails string              `json:"freeFormDetails"`
	Capacity        *providers.Capacity `json:"capacity"`
	// Strategy names the deployment strategy; its own fields are decoded
	// by the strategy (strategies).
	Strategy string `json:"strategy"`
	// Artifact is what the instances run, as its provider reads it.
	Artifact        map[string]any `json:"artifact"`
	LoadBalancers   []string       `json:"loadBalancers"`
	HealthCheckPath string         `json:"healthCheckPath"`
	Rollback        struct {
		OnFailure bool `json:"onFailure"`
	} `json:"rollback"`
	// SuspendedProcesses holding AddToLoadBalancer creates the server
	// group out of rotation, as a strategy pipeline's trafficOptions
	// disable sets it.
	SuspendedProcesses []string `json:"suspendedProcesses"`
	// UseSourceCapacity deploys with the capacity of the newest server
	// group that served before.
	UseSourceCapacity bool `json:"useSourceCapacity"`

	strategy strategy
}

func (c *clusterSpec) cloudProvider() string {
	if c.CloudProvider != "" {
		return c.CloudProvider
	}
	return c.Provider
}

// deployState is what the tasks of a deploy record for the later ones.
type deployState struct {
	// ServerGroupName is the new server group, once allocated.
	ServerGroupName string `json:"serverGroupName"`
	// SourceServerGroups served before the deploy, with their capacities,
	// which a rollback restores.
	SourceServerGroups []string                      `json:"sourceServerGroups"`
	SourceCapacities   map[string]providers.Capacity `json:"sourceCapacities"`
	// Deployed is Spinnaker's deploy.server.groups, region to names; set
	// once a server group name is allocated.
	Deployed map[string][]string `json:"deploy.server.groups"`
	// ClusterLock names the lease the deploy holds.
	ClusterLock string `json:"clusterLock"`
	// StrategyExecutionID is the custom strategy's pipeline run.
	StrategyExecutionID string `json:"executionId"`
	// BeforeCleanupExecutionID is the rolling step's validation run.
	BeforeCleanupExecutionID string             `json:"pipelineBeforeCleanupExecutionId"`
	BeforeCleanupRuns        []beforeCleanupRun `json:"pipelineBeforeCleanupExecutions"`
	// CloneSource is set once a clone's source was read.
	CloneSource string `json:"cloneSource"`
}

// decodeDeploy decodes a running deploy, createServerGroup or
// cloneServerGroup stage, with its strategy's fields.
func decodeDeploy(s *model.StageExecution) (*deployConfig, error) {
	var d deployConfig
	p := stages.Decode(s.Context, &d)
	if len(d.Clusters) > 1 {
		p.Add("clusters", "gennaker deploys one cluster per stage, got %d; add a stage per cluster", len(d.Clusters))
	}
	if spec := d.spec(); spec != nil && len(p) == 0 {
		strat, err := strategyFor(spec.Strategy)
		if err != nil {
			at := "strategy"
			if d.Clusters != nil {
				at = stages.Path("clusters", 0, at)
			}
			p.Add(at, "%v", err)
		} else {
			p = append(p, strat.decode(fieldDecoder{
				decode:     func(cfg any) stages.Problems { return stages.Decode(s.Context, cfg) },
				inClusters: d.Clusters != nil,
			})...)
			spec.strategy = strat
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return &d, nil
}

// deployConfigOf is the deploy's configuration for this task call.
func deployConfigOf(run *stages.Run) (*deployConfig, error) {
	return stages.ConfigOf[*deployConfig](run)
}

// deploysParent reports whether the stage is a strategy pipeline's deploy
// whose cluster comes from the custom strategy that runs it: its clusters
// is an empty list.
func (d *deployConfig) deploysParent() bool {
	return d.Clusters != nil && len(d.Clusters) == 0
}

// spec is the cluster the stage deploys: clusters[0], or the top level.
// Nil while a strategy pipeline's deploy has not resolved its parent's.
func (d *deployConfig) spec() *clusterSpec {
	if d.Clusters == nil {
		return &d.clusterSpec
	}
	if len(d.Clusters) == 0 {
		return nil
	}
	return &d.Clusters[0]
}

// strategy is the cluster's decoded strategy; none when there is no
// cluster yet.
func (d *deployConfig) strategy() strategy {
	if spec := d.spec(); spec != nil && spec.strategy != nil {
		return spec.strategy
	}
	return &noneStrategy{}
}

// isDeploy reports whether a server group name was allocated: whether
// there is a deploy to clean up.
func (d *deployConfig) isDeploy() bool { return d != nil && d.Deployed != nil }

// deploySpec is a deploy stage's cluster, resolved to what a server group
// is created from.
type deploySpec struct {
	location Location
	cluster  naming.Cluster
	capacity providers.Capacity
	artifact map[string]any
	lbs      []string
	health   string
	rollback bool
	// disabled creates the server group out of rotation.
	disabled bool
	strategy strategy
}

// resolve checks the cluster and resolves it to what a server group is
// created from.
func (d *deployConfig) resolve(run *stages.Run) (deploySpec, error) {
	c := d.spec()
	if c == nil {
		return deploySpec{}, errors.New("clusters: gennaker deploys one cluster per stage, got 0; add a stage per cluster")
	}
	out := deploySpec{strategy: d.strategy(), lbs: c.LoadBalancers, health: c.HealthCheckPath, rollback: c.Rollback.OnFailure}
	var err error
	if out.location, err = c.location(); err != nil {
		return out, err
	}
	app := c.Application
	if app == "" && run.Execution != nil {
		app = string(run.Execution.Application)
	}
	if out.cluster, err = naming.NewCluster(app, c.Stack, c.FreeFormDetails); err != nil {
		return out, err
	}
	if c.Capacity == nil {
		return out, fmt.Errorf("capacity is required: {min, max, desired}")
	}
	if out.capacity, err = checkCapacity(*c.Capacity); err != nil {
		return out, fmt.Errorf("capacity: %w", err)
	}
	if src := d.newestSource(); c.UseSourceCapacity && src != "" {
		if sc, ok := d.SourceCapacities[src]; ok {
			out.capacity = sc
		}
	}
	out.disabled = slices.Contains(c.SuspendedProcesses, suspendedAddToLoadBalancer)
	out.artifact = artifactFor(run.Execution, c.Artifact, out.location.Region)
	return out, nil
}

// newestSource is the newest server group that served before the deploy,
// or "".
func (d *deployConfig) newestSource() string {
	if n := len(d.SourceServerGroups); n > 0 {
		return d.SourceServerGroups[n-1]
	}
	return ""
}

// target is the account, region and server group the deploy acts on, as
// AllocateServerGroupName recorded them.
func (d *deployConfig) target() (Location, string, error) {
	l, err := d.clusterSpec.location()
	if err != nil {
		return l, "", err
	}
	if d.ServerGroupName == "" {
		return l, "", fmt.Errorf("%s: no server group was chosen", keyServerGroup)
	}
	return l, d.ServerGroupName, nil
}

// targetCloud is target with the account's view of its provider.
func (d *deployConfig) targetCloud(run *stages.Run) (Location, string, *providers.Cloud, error) {
	l, name, err := d.target()
	if err != nil {
		return l, "", nil, err
	}
	c, err := cloudAt(run, l)
	return l, name, c, err
}

// artifactFor is the cluster's own artifact, else the image an earlier
// findImageFromCluster stage found in the region, else the trigger's first
// local/command artifact.
func artifactFor(e *model.Execution, own map[string]any, region string) map[string]any {
	if own != nil {
		return own
	}
	if e == nil {
		return nil
	}
	for i := len(e.Stages) - 1; i >= 0; i-- {
		var found foundImage
		_ = stages.Decode(e.Stages[i].Outputs, &found) // another stage's outputs: take what fits
		for _, d := range found.DeploymentDetails {
			if d.Region != "" && d.Region != region {
				continue
			}
			if d.Artifact != nil {
				return d.Artifact
			}
			if ami := cmp.Or(d.AMI, d.ImageID); ami != "" {
				// A bake's image: an AMI by id.
				return map[string]any{"type": "aws/image", "reference": ami, "name": d.ImageName, "location": d.Region}
			}
		}
	}
	for _, a := range e.Trigger.Artifacts {
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

// keyServerGroup is where a stage records the server group it acts on.
const keyServerGroup = "serverGroupName"

// AllocateServerGroupNameTask decides the new server group's name (the
// cluster's next version) once, and records which server groups were
// serving, which a strategy later disables.
type AllocateServerGroupNameTask struct{}

// Name implements Task.
func (AllocateServerGroupNameTask) Name() string { return "AllocateServerGroupName" }

// Execute implements Task.
func (AllocateServerGroupNameTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if d.isDeploy() {
		return stages.Succeeded(), nil
	}
	if r := keepClusterLock(ctx, run, d); r != nil {
		return *r, nil
	}
	spec, err := d.resolve(run)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	c, err := cloudAt(run, spec.location)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	groups, err := clusterGroups(ctx, c, spec.location.Region, spec.cluster.String())
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
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
			return deployFailed(ctx, run, d, "cluster %s: %v", spec.cluster, err), nil
		}
		name = spec.cluster.ServerGroup(seq).String()
	}
	l := spec.location
	state := allocation{
		Credentials: l.Account, Region: l.Region, CloudProvider: c.Account.Provider,
		ServerGroupName:    name,
		SourceServerGroups: []string{},
		SourceCapacities:   map[string]providers.Capacity{},
		Deployed:           map[string][]string{l.Region: {name}},
	}
	for _, g := range groups {
		if g.Name != name && !g.Disabled {
			state.SourceServerGroups = append(state.SourceServerGroups, g.Name)
			state.SourceCapacities[g.Name] = g.Capacity
		}
	}
	return stages.Result{
		Status:  model.StatusSucceeded,
		Context: stages.Record(state),
		Outputs: stages.Record(deployOutputs{Deployed: state.Deployed, Account: l.Account, ServerGroupName: name}),
	}, nil
}

// allocation is what AllocateServerGroupName records: the location acted
// in, read back as the deploy's target, and the deploy's state.
type allocation struct {
	Credentials   string `json:"credentials"`
	Region        string `json:"region"`
	CloudProvider string `json:"cloudProvider"`
	// Only the fields it sets; the rest of deployState stays as it is.
	ServerGroupName    string                        `json:"serverGroupName"`
	SourceServerGroups []string                      `json:"sourceServerGroups"`
	SourceCapacities   map[string]providers.Capacity `json:"sourceCapacities"`
	Deployed           map[string][]string           `json:"deploy.server.groups"`
}

// deployOutputs are Spinnaker's outputs of a deploy, which later stages
// (and expressions such as ${#deployedServerGroups()}) read.
type deployOutputs struct {
	Deployed        map[string][]string `json:"deploy.server.groups"`
	Account         string              `json:"deploy.account.name"`
	ServerGroupName string              `json:"serverGroupName"`
}

// CreateServerGroupTask creates the allocated server group; a retry finds
// it created.
type CreateServerGroupTask struct{}

// Name implements Task.
func (CreateServerGroupTask) Name() string { return "CreateServerGroup" }

// Execute implements Task.
func (CreateServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if r := keepClusterLock(ctx, run, d); r != nil {
		return *r, nil
	}
	spec, err := d.resolve(run)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	_, name, c, err := d.targetCloud(run)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	capacity := spec.capacity
	if s, ok := spec.strategy.(emptyStart); ok {
		capacity = s.initialCapacity(capacity)
	}
	creator, err := run.Services.Providers.ServerGroupCreator(c.Account.Name, c.Account.Provider)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	g, err := creator.Create(ctx, providers.ServerGroupSpec{
		Name:            name,
		Region:          spec.location.Region,
		Capacity:        capacity,
		Disabled:        spec.disabled,
		Artifact:        spec.artifact,
		LoadBalancers:   spec.lbs,
		HealthCheckPath: spec.health,
		Provenance:      provenanceOf(run),
		Settings:        deployedCluster(run.Stage.Context),
		Source:          d.newestSource(),
	})
	if err != nil {
		return deployFailed(ctx, run, d, "create server group %s in %s: %v", name, spec.location, err), nil
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: stages.Record(createdArtifact{g.Artifact})}, nil
}

// createdArtifact is what CreateServerGroup outputs: the artifact the new
// server group runs, as its provider describes it (null when it names none).
type createdArtifact struct {
	Artifact map[string]any `json:"artifact"`
}

// recordedTarget is the configuration of a stage whose earlier task
// recorded the server group it acts on: a deploy's new server group, or
// a server group stage's target.
type recordedTarget interface {
	// target is the location and name of the server group.
	target() (Location, string, error)
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
	cfg, err := stages.ConfigOf[recordedTarget](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	d, _ := cfg.(*deployConfig)
	if r := keepClusterLock(ctx, run, d); r != nil {
		return *r, nil
	}
	l, name, err := cfg.target()
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	outOfRotation := false
	if d.isDeploy() {
		spec, err := d.resolve(run)
		outOfRotation = err == nil && spec.disabled
	}
	return waitForUp(ctx, run, d, l, name, outOfRotation)
}

// Cancel implements Canceler: a deploy that times out or is canceled while
// its server group comes up rolls back if asked to.
func (WaitForUpInstancesTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	cfg, err := stages.ConfigOf[recordedTarget](run)
	if err != nil {
		return nil, err
	}
	d, _ := cfg.(*deployConfig)
	return cleanUpDeploy(ctx, run, d)
}

// waitForUp polls the server group until its desired instances are up and
// in rotation, or, created out of rotation by design, healthy. d is the
// deploy whose step this is, or nil.
func waitForUp(ctx context.Context, run *stages.Run, d *deployConfig, l Location, name string, outOfRotation bool) (stages.Result, error) {
	c, err := cloudAt(run, l)
	if err != nil {
		return deployFailed(ctx, run, d, "%v", err), nil
	}
	return pollBriefly(ctx, run, func() (stages.Result, error) {
		g, err := c.ServerGroups.Get(ctx, l.Region, name)
		if err != nil {
			return deployFailed(ctx, run, d, "%v", err), nil
		}
		seen := stages.Record(struct {
			Counts instanceCounts `json:"instanceCounts"`
		}{instanceCounts{Up: g.Counts.Up, Down: g.Counts.Down, Starting: g.Counts.Starting, Desired: g.Capacity.Desired}})
		if g.Disabled && outOfRotation {
			// Out of rotation by design: healthy is enough.
			if g.Counts.OutOfService+g.Counts.Up >= g.Capacity.Desired {
				return stages.Result{Status: model.StatusSucceeded, Context: seen}, nil
			}
		} else if g.Capacity.Desired == 0 || (g.Up() && !g.Disabled) {
			return stages.Result{Status: model.StatusSucceeded, Context: seen}, nil
		}
		return stages.Result{Status: model.StatusRunning, Backoff: pollBackoff(c), Context: seen}, nil
	})
}

// instanceCounts is what waitForUp shows of the server group it waits for.
type instanceCounts struct {
	Up       int `json:"up"`
	Down     int `json:"down"`
	Starting int `json:"starting"`
	Desired  int `json:"desired"`
}

// deployFailed fails a deploy task after cleaning up as the cluster's
// rollback.onFailure asks, and releases the cluster lock. With no deploy
// (d nil) it only fails.
func deployFailed(ctx context.Context, run *stages.Run, d *deployConfig, format string, args ...any) stages.Result {
	if r, ok := throttled(args...); ok {
		return r
	}
	out, err := cleanUpDeploy(ctx, run, d)
	msg := fmt.Sprintf(format, args...)
	if err != nil {
		msg += fmt.Sprintf(" (and cleaning up failed: %v)", err)
	}
	return stages.FailedWith(out, "%s", msg)
}

// cleansUpOnCancel gives a deploy step the Cancel most of them share: a
// canceled deploy cleans up as a failed one does.
type cleansUpOnCancel struct{}

// Cancel implements Canceler.
func (cleansUpOnCancel) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return nil, err
	}
	return cleanUpDeploy(ctx, run, d)
}

// cleanUpDeploy undoes a failed deploy when rollback.onFailure is set: the
// server groups it disabled or scaled down serve again at their capacity,
// and the new one is destroyed. It always releases the cluster lock. Stages
// that are not deploys have nothing to clean up.
func cleanUpDeploy(ctx context.Context, run *stages.Run, d *deployConfig) (map[string]any, error) {
	if d == nil {
		return nil, nil
	}
	defer func() { _ = releaseClusterLock(ctx, run, d) }()
	if !d.isDeploy() {
		return nil, nil
	}
	spec, err := d.resolve(run)
	if err != nil || !spec.rollback {
		return nil, nil
	}
	l, name, c, err := d.targetCloud(run)
	if err != nil {
		return nil, err
	}
	for _, src := range d.SourceServerGroups {
		if capacity, ok := d.SourceCapacities[src]; ok {
			if capacity, err := checkCapacity(capacity); err == nil {
				if err := c.ServerGroups.Resize(ctx, l.Region, src, capacity); err != nil && !isNotFound(err) {
					return nil, err
				}
			}
		}
		if err := c.ServerGroups.SetEnabled(ctx, l.Region, src, true); err != nil && !isNotFound(err) {
			return nil, err
		}
	}
	if err := c.ServerGroups.Destroy(ctx, l.Region, name); err != nil {
		return nil, err
	}
	return stages.Record(struct {
		Rollback rolledBack `json:"rollback"`
	}{rolledBack{OnFailure: true, Destroyed: name, Restored: d.SourceServerGroups}}), nil
}

// rolledBack is what a deploy's cleanup records of its rollback.
type rolledBack struct {
	OnFailure bool     `json:"onFailure"`
	Destroyed string   `json:"destroyedServerGroup"`
	Restored  []string `json:"restoredServerGroups"`
}

func isNotFound(err error) bool {
	return err != nil && strings.Contains(err.Error(), providers.ErrNotFound.Error())
}

// sortedNames is names sorted, never nil, so that an empty list is recorded
// as [] rather than null.
func sortedNames(names []string) []string {
	out := append([]string{}, names...)
	sort.Strings(out)
	return out
}

// disabledGroups, destroyedGroups and scaledDownGroups are what the cluster
// tasks and a deploy strategy's steps record of the server groups they
// acted on, under Spinnaker's keys.
type disabledGroups struct {
	DisabledServerGroups []string `json:"disabledServerGroups"`
}

type destroyedGroups struct {
	DestroyedServerGroups []string `json:"destroyedServerGroups"`
}

type scaledDownGroups struct {
	ScaledDownServerGroups []string `json:"scaledDownServerGroups"`
}

func toAnyList(names []string) []any {
	sort.Strings(names)
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}
