package cluster

import (
	"context"
	"slices"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
)

// The stages that act on one server group name it as Spinnaker does: a
// serverGroupName, or a cluster and a dynamic target (current_asg_dynamic,
// ancestor_asg_dynamic, oldest_asg_dynamic, largest_asg_dynamic) resolved
// once when the stage starts, in credentials and regions.

// validateTarget checks a server group stage's location and target.
func validateTarget(env *deployEnv, cfg map[string]any, p *stages.Problems) {
	validateLocation(env, cfg, "", p)
	name, _ := cfg["serverGroupName"].(string)
	if name == "" {
		name, _ = cfg["asgName"].(string)
	}
	if name != "" {
		return
	}
	if clusterName(cfg) == "" {
		p.Add("cluster", "is required with a target, unless serverGroupName names the server group")
	}
	target, _ := cfg["target"].(string)
	switch {
	case target == "":
		p.Add("target", "is required with a cluster: one of %s", strings.Join(targets, ", "))
	case stages.IsExpression(target):
	case !slices.Contains(targets, target) && !slices.Contains(targets, target+"_dynamic"):
		p.Add("target", "%q is not one of %s", target, strings.Join(targets, ", "))
	}
}

// clusterName reads cluster, or moniker.cluster.
func clusterName(ctx map[string]any) string {
	if c, _ := ctx["cluster"].(string); c != "" {
		return c
	}
	if m, ok := ctx["moniker"].(map[string]any); ok {
		c, _ := m["cluster"].(string)
		return c
	}
	return ""
}

// DetermineTargetServerGroupTask resolves the stage's target to a server
// group name once and records it, so later tasks act on the same one.
type DetermineTargetServerGroupTask struct{}

// Name implements Task.
func (DetermineTargetServerGroupTask) Name() string { return "DetermineTargetServerGroup" }

// Execute implements Task.
func (DetermineTargetServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	sc := run.Stage.Context
	if resolved, _, _ := stages.Bool(sc, "targetResolved"); resolved {
		return stages.Succeeded(), nil
	}
	l, err := locationOf(sc)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	c, err := cloudAt(run, l)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	name, _, _ := stages.String(sc, "serverGroupName")
	if name == "" {
		name, _, _ = stages.String(sc, "asgName")
	}
	if name != "" {
		if _, err := c.ServerGroups.Get(ctx, l.Region, name); err != nil {
			return stages.Failed("%v", err), nil
		}
	} else {
		cluster := clusterName(sc)
		target, _, _ := stages.String(sc, "target")
		groups, err := clusterGroups(ctx, c, l.Region, cluster)
		if err != nil {
			return stages.Failed("%v", err), nil
		}
		g, err := selectTarget(groups, target)
		if err != nil {
			return stages.Failed("cluster %s in %s: %v", cluster, l, err), nil
		}
		name = g.Name
	}
	return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{
		"serverGroupName": name, "region": l.Region, "credentials": l.Account,
		"cloudProvider": c.Account.Provider, "targetResolved": true,
	}, Outputs: map[string]any{"serverGroupName": name}}, nil
}

// act runs fn on the stage's resolved server group.
func act(ctx context.Context, run *stages.Run, fn func(l Location, name string, c *providers.Cloud, g *providers.ServerGroup) (stages.Result, error)) (stages.Result, error) {
	l, name, c, err := targetOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	g, err := c.ServerGroups.Get(ctx, l.Region, name)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	return fn(l, name, c, g)
}

// EnableServerGroupTask puts the server group into rotation.
type EnableServerGroupTask struct{}

// Name implements Task.
func (EnableServerGroupTask) Name() string { return "EnableServerGroup" }

// Execute implements Task.
func (EnableServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return act(ctx, run, func(l Location, name string, c *providers.Cloud, _ *providers.ServerGroup) (stages.Result, error) {
		if err := c.ServerGroups.SetEnabled(ctx, l.Region, name, true); err != nil {
			return stages.Failed("enable %s: %v", name, err), nil
		}
		return stages.Succeeded(), nil
	})
}

// DisableServerGroupTask takes the server group out of rotation, unless a
// traffic guard forbids it.
type DisableServerGroupTask struct{}

// Name implements Task.
func (DisableServerGroupTask) Name() string { return "DisableServerGroup" }

// Execute implements Task.
func (DisableServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return act(ctx, run, func(l Location, name string, c *providers.Cloud, g *providers.ServerGroup) (stages.Result, error) {
		if g.Disabled {
			return stages.Succeeded(), nil
		}
		if err := guardCheck(ctx, run, c, l, g.Cluster, "disable "+name, Disabling(name)); err != nil {
			return stages.Failed("%v", err), nil
		}
		if err := c.ServerGroups.SetEnabled(ctx, l.Region, name, false); err != nil {
			return stages.Failed("disable %s: %v", name, err), nil
		}
		return stages.Succeeded(), nil
	})
}

// WaitForDisabledServerGroupTask waits until the server group is out of
// rotation.
type WaitForDisabledServerGroupTask struct{}

// Name implements Task.
func (WaitForDisabledServerGroupTask) Name() string { return "WaitForDisabledServerGroup" }

// Execute implements Task.
func (WaitForDisabledServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return pollBriefly(ctx, run, func() (stages.Result, error) {
		return act(ctx, run, func(_ Location, _ string, _ *providers.Cloud, g *providers.ServerGroup) (stages.Result, error) {
			if g.Disabled {
				return stages.Succeeded(), nil
			}
			return stages.Running(deployPollBackoff), nil
		})
	})
}

// DestroyServerGroupTask destroys the server group, unless a traffic guard
// forbids it. A server group already gone is done.
type DestroyServerGroupTask struct{}

// Name implements Task.
func (DestroyServerGroupTask) Name() string { return "DestroyServerGroup" }

// Execute implements Task.
func (DestroyServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	l, name, c, err := targetOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	g, err := c.ServerGroups.Get(ctx, l.Region, name)
	if isNotFound(err) {
		return stages.Succeeded(), nil
	}
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if err := guardCheck(ctx, run, c, l, g.Cluster, "destroy "+name, Destroying(name)); err != nil {
		return stages.Failed("%v", err), nil
	}
	if err := c.ServerGroups.Destroy(ctx, l.Region, name); err != nil {
		return stages.Failed("destroy %s: %v", name, err), nil
	}
	return stages.Result{Status: model.StatusSucceeded, Outputs: map[string]any{"destroyedServerGroup": name}}, nil
}

// targetStage is the shape every single-server-group stage shares.
type targetStage struct {
	env   *deployEnv
	typ   string
	tasks []string
}

func (s targetStage) Type() string { return s.typ }

func (s targetStage) Validate(st *model.Stage) []model.Problem {
	var p stages.Problems
	validateTarget(s.env, stages.RawConfigOf(st, &p), &p)
	return p
}

func (s targetStage) Plan(*model.StageExecution) ([]string, error) {
	return append([]string{DetermineTargetServerGroupTask{}.Name()}, s.tasks...), nil
}
