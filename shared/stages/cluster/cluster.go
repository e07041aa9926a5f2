package cluster

import (
	"context"
	"sort"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
)

// clusterStage is the shape the whole-cluster stages share: a cluster in
// credentials and regions, and one task that acts on it.
type clusterStage struct {
	env  *deployEnv
	typ  string
	task string
}

func (s clusterStage) Type() string { return s.typ }

func (s clusterStage) Validate(st *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(st, &p)
	validateLocation(s.env, cfg, "", &p)
	if clusterName(cfg) == "" {
		p.Add("cluster", "is required")
	}
	return p
}

func (s clusterStage) Plan(*model.StageExecution) ([]string, error) { return []string{s.task}, nil }

// clusterOf reads a cluster stage's cluster, newest first, or largest first
// when preferLarger is set.
func clusterOf(ctx context.Context, run *stages.Run, preferLargerKey string) (Location, *providers.Cloud, string, []providers.ServerGroup, error) {
	sc := run.Stage.Context
	l, err := locationOf(sc)
	if err != nil {
		return l, nil, "", nil, err
	}
	c, err := cloudAt(run, l)
	if err != nil {
		return l, nil, "", nil, err
	}
	cluster := clusterName(sc)
	groups, err := clusterGroups(ctx, c, l.Region, cluster)
	if err != nil {
		return l, nil, "", nil, err
	}
	larger, _, _ := stages.Bool(sc, preferLargerKey)
	sort.SliceStable(groups, func(i, j int) bool {
		if larger && groups[i].Capacity.Desired != groups[j].Capacity.Desired {
			return groups[i].Capacity.Desired > groups[j].Capacity.Desired
		}
		return groups[i].CreatedTime > groups[j].CreatedTime
	})
	return l, c, cluster, groups, nil
}

func intOr(ctx map[string]any, key string, dflt int) int {
	n, ok, err := stages.Int(ctx, key)
	if err != nil || !ok {
		return dflt
	}
	return int(n)
}

// DisableClusterStage is Spinnaker's "disableCluster": disable every server
// group of a cluster but the newest remainingEnabledServerGroups (default 1;
// the largest with preferLargerOverNewer).
type DisableClusterStage struct{ env *deployEnv }

func (s *DisableClusterStage) base() clusterStage {
	return clusterStage{s.env, "disableCluster", DisableClusterTask{}.Name()}
}

// Type implements Definition.
func (s *DisableClusterStage) Type() string { return s.base().Type() }

// Validate implements Definition.
func (s *DisableClusterStage) Validate(st *model.Stage) []model.Problem {
	return s.base().Validate(st)
}

// Plan implements Definition.
func (s *DisableClusterStage) Plan(e *model.StageExecution) ([]string, error) {
	return s.base().Plan(e)
}

// DisableClusterTask disables what disableCluster says.
type DisableClusterTask struct{}

// Name implements Task.
func (DisableClusterTask) Name() string { return "DisableCluster" }

// Execute implements Task.
func (DisableClusterTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	l, c, cluster, groups, err := clusterOf(ctx, run, "preferLargerOverNewer")
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	keep := intOr(run.Stage.Context, "remainingEnabledServerGroups", 1)
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
	return stages.Result{Status: model.StatusSucceeded, Outputs: map[string]any{"disabledServerGroups": toAnyList(names)}}, nil
}

// ShrinkClusterStage is Spinnaker's "shrinkCluster": destroy every server
// group of a cluster but the newest shrinkToSize (default 1; the largest
// with retainLargerOverNewer). Enabled ones are destroyed only with
// allowDeleteActive.
type ShrinkClusterStage struct{ env *deployEnv }

func (s *ShrinkClusterStage) base() clusterStage {
	return clusterStage{s.env, "shrinkCluster", ShrinkClusterTask{}.Name()}
}

// Type implements Definition.
func (s *ShrinkClusterStage) Type() string { return s.base().Type() }

// Validate implements Definition.
func (s *ShrinkClusterStage) Validate(st *model.Stage) []model.Problem {
	return s.base().Validate(st)
}

// Plan implements Definition.
func (s *ShrinkClusterStage) Plan(e *model.StageExecution) ([]string, error) {
	return s.base().Plan(e)
}

// ShrinkClusterTask destroys what shrinkCluster says.
type ShrinkClusterTask struct{}

// Name implements Task.
func (ShrinkClusterTask) Name() string { return "ShrinkCluster" }

// Execute implements Task.
func (ShrinkClusterTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	l, c, cluster, groups, err := clusterOf(ctx, run, "retainLargerOverNewer")
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	keep := intOr(run.Stage.Context, "shrinkToSize", 1)
	active, _, _ := stages.Bool(run.Stage.Context, "allowDeleteActive")
	var names []string
	for i, g := range groups {
		if i < keep || (!g.Disabled && !active) {
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
	return stages.Result{Status: model.StatusSucceeded, Outputs: map[string]any{"destroyedServerGroups": toAnyList(names)}}, nil
}

// ScaleDownClusterStage is Spinnaker's "scaleDownCluster": scale every
// server group of a cluster but the newest remainingFullSizeServerGroups
// (default 1; the largest with preferLargerOverNewer) down to no instances.
// Enabled ones are scaled down only with allowScaleDownActive.
type ScaleDownClusterStage struct{ env *deployEnv }

func (s *ScaleDownClusterStage) base() clusterStage {
	return clusterStage{s.env, "scaleDownCluster", ScaleDownClusterTask{}.Name()}
}

// Type implements Definition.
func (s *ScaleDownClusterStage) Type() string { return s.base().Type() }

// Validate implements Definition.
func (s *ScaleDownClusterStage) Validate(st *model.Stage) []model.Problem {
	return s.base().Validate(st)
}

// Plan implements Definition.
func (s *ScaleDownClusterStage) Plan(e *model.StageExecution) ([]string, error) {
	return s.base().Plan(e)
}

// ScaleDownClusterTask scales down what scaleDownCluster says.
type ScaleDownClusterTask struct{}

// Name implements Task.
func (ScaleDownClusterTask) Name() string { return "ScaleDownCluster" }

// Execute implements Task.
func (ScaleDownClusterTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	l, c, cluster, groups, err := clusterOf(ctx, run, "preferLargerOverNewer")
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	keep := intOr(run.Stage.Context, "remainingFullSizeServerGroups", 1)
	active, _, _ := stages.Bool(run.Stage.Context, "allowScaleDownActive")
	var names []string
	for i, g := range groups {
		if i < keep || g.Capacity.Desired == 0 || (!g.Disabled && !active) {
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
	return stages.Result{Status: model.StatusSucceeded, Outputs: map[string]any{"scaledDownServerGroups": toAnyList(names)}}, nil
}
