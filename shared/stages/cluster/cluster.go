package cluster

import (
	"context"
	"sort"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
)

// clusterFields are what the whole-cluster stages share: a cluster in
// credentials and regions.
type clusterFields struct {
	stageFields
	locationFields
	clusterRef
}

// validate checks the location and that a cluster is named.
func (f *clusterFields) validate(env *deployEnv, p *stages.Problems) {
	f.locationFields.validate(env, "", p)
	if f.clusterName() == "" {
		p.Add("cluster", "is required")
	}
}

// groups reads the stage's cluster, newest first, or largest first when
// preferLarger is set.
func (f *clusterFields) groups(ctx context.Context, run *stages.Run, preferLarger bool) (Location, *providers.Cloud, string, []providers.ServerGroup, error) {
	l, err := f.location()
	if err != nil {
		return l, nil, "", nil, err
	}
	c, err := cloudAt(run, l)
	if err != nil {
		return l, nil, "", nil, err
	}
	cluster := f.clusterName()
	groups, err := clusterGroups(ctx, c, l.Region, cluster)
	if err != nil {
		return l, nil, "", nil, err
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if preferLarger && groups[i].Capacity.Desired != groups[j].Capacity.Desired {
			return groups[i].Capacity.Desired > groups[j].Capacity.Desired
		}
		return groups[i].CreatedTime > groups[j].CreatedTime
	})
	return l, c, cluster, groups, nil
}

// orOne is a count a stage may leave unset, which then means one.
func orOne(n *int) int {
	if n == nil {
		return 1
	}
	return *n
}

// DisableClusterStage is Spinnaker's "disableCluster": disable every server
// group of a cluster but the newest remainingEnabledServerGroups (default 1;
// the largest with preferLargerOverNewer).
type DisableClusterStage struct{ env *deployEnv }

// disableClusterConfig is a disableCluster stage's configuration.
type disableClusterConfig struct {
	clusterFields
	RemainingEnabledServerGroups *int `json:"remainingEnabledServerGroups"`
	PreferLargerOverNewer        bool `json:"preferLargerOverNewer"`
}

// Type implements Definition.
func (s *DisableClusterStage) Type() string { return "disableCluster" }

// Validate implements Definition.
func (s *DisableClusterStage) Validate(st *model.Stage) []model.Problem {
	var cfg disableClusterConfig
	_, p := stages.DecodeConfig(st, &cfg)
	cfg.validate(s.env, &p)
	return p
}

// Config implements Configurer.
func (s *DisableClusterStage) Config(e *model.StageExecution) (any, error) {
	var c disableClusterConfig
	return &c, decodeStage(e, &c)
}

// Plan implements Definition.
func (s *DisableClusterStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{DisableClusterTask{}.Name()}, nil
}

// DisableClusterTask disables what disableCluster says.
type DisableClusterTask struct{}

// Name implements Task.
func (DisableClusterTask) Name() string { return "DisableCluster" }

// Execute implements Task.
func (DisableClusterTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*disableClusterConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	l, c, cluster, groups, err := cfg.groups(ctx, run, cfg.PreferLargerOverNewer)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	keep := orOne(cfg.RemainingEnabledServerGroups)
	var names []string
	kept := 0
	for _, g := range groups {
		if g.Disabled {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		names = append(names, g.Name)
	}
	if len(names) == 0 {
		return stages.Succeeded(), nil
	}
	if err := guardCheck(ctx, run, c, l, cluster, "disable "+strings.Join(names, ", "), Disabling(names...)); err != nil {
		return stages.Failed("%v", err), nil
	}
	for _, n := range names {
		if err := c.ServerGroups.SetEnabled(ctx, l.Region, n, false); err != nil && !isNotFound(err) {
			return stages.Failed("disable %s: %v", n, err), nil
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: stages.Record(disabledGroups{sortedNames(names)})}, nil
}

// ShrinkClusterStage is Spinnaker's "shrinkCluster": destroy every server
// group of a cluster but the newest shrinkToSize (default 1; the largest
// with retainLargerOverNewer). Enabled ones are destroyed only with
// allowDeleteActive.
type ShrinkClusterStage struct{ env *deployEnv }

// shrinkClusterConfig is a shrinkCluster stage's configuration.
type shrinkClusterConfig struct {
	clusterFields
	ShrinkToSize          *int `json:"shrinkToSize"`
	RetainLargerOverNewer bool `json:"retainLargerOverNewer"`
	AllowDeleteActive     bool `json:"allowDeleteActive"`
}

// Type implements Definition.
func (s *ShrinkClusterStage) Type() string { return "shrinkCluster" }

// Validate implements Definition.
func (s *ShrinkClusterStage) Validate(st *model.Stage) []model.Problem {
	var cfg shrinkClusterConfig
	_, p := stages.DecodeConfig(st, &cfg)
	cfg.validate(s.env, &p)
	return p
}

// Config implements Configurer.
func (s *ShrinkClusterStage) Config(e *model.StageExecution) (any, error) {
	var c shrinkClusterConfig
	return &c, decodeStage(e, &c)
}

// Plan implements Definition.
func (s *ShrinkClusterStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{ShrinkClusterTask{}.Name()}, nil
}

// ShrinkClusterTask destroys what shrinkCluster says.
type ShrinkClusterTask struct{}

// Name implements Task.
func (ShrinkClusterTask) Name() string { return "ShrinkCluster" }

// Execute implements Task.
func (ShrinkClusterTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*shrinkClusterConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	l, c, cluster, groups, err := cfg.groups(ctx, run, cfg.RetainLargerOverNewer)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	keep := orOne(cfg.ShrinkToSize)
	var names []string
	for i, g := range groups {
		if i < keep || (!g.Disabled && !cfg.AllowDeleteActive) {
			continue
		}
		names = append(names, g.Name)
	}
	if len(names) == 0 {
		return stages.Succeeded(), nil
	}
	if err := guardCheck(ctx, run, c, l, cluster, "destroy "+strings.Join(names, ", "), Destroying(names...)); err != nil {
		return stages.Failed("%v", err), nil
	}
	for _, n := range names {
		if err := c.ServerGroups.Destroy(ctx, l.Region, n); err != nil {
			return stages.Failed("destroy %s: %v", n, err), nil
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: stages.Record(destroyedGroups{sortedNames(names)})}, nil
}

// ScaleDownClusterStage is Spinnaker's "scaleDownCluster": scale every
// server group of a cluster but the newest remainingFullSizeServerGroups
// (default 1; the largest with preferLargerOverNewer) down to no instances.
// Enabled ones are scaled down only with allowScaleDownActive.
type ScaleDownClusterStage struct{ env *deployEnv }

// scaleDownClusterConfig is a scaleDownCluster stage's configuration.
type scaleDownClusterConfig struct {
	clusterFields
	RemainingFullSizeServerGroups *int `json:"remainingFullSizeServerGroups"`
	PreferLargerOverNewer         bool `json:"preferLargerOverNewer"`
	AllowScaleDownActive          bool `json:"allowScaleDownActive"`
}

// Type implements Definition.
func (s *ScaleDownClusterStage) Type() string { return "scaleDownCluster" }

// Validate implements Definition.
func (s *ScaleDownClusterStage) Validate(st *model.Stage) []model.Problem {
	var cfg scaleDownClusterConfig
	_, p := stages.DecodeConfig(st, &cfg)
	cfg.validate(s.env, &p)
	return p
}

// Config implements Configurer.
func (s *ScaleDownClusterStage) Config(e *model.StageExecution) (any, error) {
	var c scaleDownClusterConfig
	return &c, decodeStage(e, &c)
}

// Plan implements Definition.
func (s *ScaleDownClusterStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{ScaleDownClusterTask{}.Name()}, nil
}

// ScaleDownClusterTask scales down what scaleDownCluster says.
type ScaleDownClusterTask struct{}

// Name implements Task.
func (ScaleDownClusterTask) Name() string { return "ScaleDownCluster" }

// Execute implements Task.
func (ScaleDownClusterTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*scaleDownClusterConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	l, c, cluster, groups, err := cfg.groups(ctx, run, cfg.PreferLargerOverNewer)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	keep := orOne(cfg.RemainingFullSizeServerGroups)
	var names []string
	for i, g := range groups {
		if i < keep || g.Capacity.Desired == 0 || (!g.Disabled && !cfg.AllowScaleDownActive) {
			continue
		}
		names = append(names, g.Name)
	}
	if len(names) == 0 {
		return stages.Succeeded(), nil
	}
	all := func(gs []providers.ServerGroup) []providers.ServerGroup {
		for _, n := range names {
			gs = Resizing(n, 0)(gs)
		}
		return gs
	}
	if err := guardCheck(ctx, run, c, l, cluster, "scale "+strings.Join(names, ", ")+" down to 0", all); err != nil {
		return stages.Failed("%v", err), nil
	}
	for _, g := range groups {
		for _, n := range names {
			if g.Name == n {
				if err := c.ServerGroups.Resize(ctx, l.Region, n, providers.Capacity{Min: 0, Max: g.Capacity.Max, Desired: 0}); err != nil {
					return stages.Failed("scale down %s: %v", n, err), nil
				}
			}
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: stages.Record(scaledDownGroups{sortedNames(names)})}, nil
}
