package cluster

import (
	"context"
	"fmt"
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

// targetConfig is the configuration of the stages that act on one server
// group, with the server group DetermineTargetServerGroup recorded.
type targetConfig struct {
	stageFields
	locationFields
	clusterRef
	ServerGroupName string `json:"serverGroupName"`
	// AsgName is the older name of serverGroupName.
	AsgName string `json:"asgName"`
	// Target is a dynamic target, resolved once into ServerGroupName.
	Target         string `json:"target"`
	TargetResolved bool   `json:"targetResolved"`
}

// targeted is the configuration of a server group stage.
type targeted interface {
	targetFields() *targetConfig
}

// targetFields implements targeted.
func (c *targetConfig) targetFields() *targetConfig { return c }

// target implements recordedTarget.
func (c *targetConfig) target() (Location, string, error) {
	l, err := c.location()
	if err != nil {
		return l, "", err
	}
	if c.ServerGroupName == "" {
		return l, "", fmt.Errorf("%s: no server group was chosen", keyServerGroup)
	}
	return l, c.ServerGroupName, nil
}

// validate checks a server group stage's location and target.
func (c *targetConfig) validate(env *deployEnv, p *stages.Problems) {
	c.locationFields.validate(env, "", p)
	if c.ServerGroupName != "" || c.AsgName != "" {
		return
	}
	if c.clusterName() == "" {
		p.Add("cluster", "is required with a target, unless serverGroupName names the server group")
	}
	switch t := c.Target; {
	case t == "":
		p.Add("target", "is required with a cluster: one of %s", strings.Join(targets, ", "))
	case stages.IsExpression(t):
	case !slices.Contains(targets, t) && !slices.Contains(targets, t+"_dynamic"):
		p.Add("target", "%q is not one of %s", t, strings.Join(targets, ", "))
	}
}

// decodeTarget decodes a running server group stage.
func decodeTarget(s *model.StageExecution) (targeted, error) {
	var c targetConfig
	return &c, decodeStage(s, &c)
}

// targetConfigOf is the server group stage's configuration for this task
// call.
func targetConfigOf(run *stages.Run) (*targetConfig, error) {
	c, err := stages.ConfigOf[targeted](run)
	if err != nil {
		return nil, err
	}
	return c.targetFields(), nil
}

// DetermineTargetServerGroupTask resolves the stage's target to a server
// group name once and records it, so later tasks act on the same one.
type DetermineTargetServerGroupTask struct{}

// Name implements Task.
func (DetermineTargetServerGroupTask) Name() string { return "DetermineTargetServerGroup" }

// Execute implements Task.
func (DetermineTargetServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	t, err := targetConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if t.TargetResolved {
		return stages.Succeeded(), nil
	}
	l, err := t.location()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	c, err := cloudAt(run, l)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	name := t.ServerGroupName
	if name == "" {
		name = t.AsgName
	}
	if name != "" {
		if _, err := c.ServerGroups.Get(ctx, l.Region, name); err != nil {
			return stages.Failed("%v", err), nil
		}
	} else {
		cluster := t.clusterName()
		groups, err := clusterGroups(ctx, c, l.Region, cluster)
		if err != nil {
			return stages.Failed("%v", err), nil
		}
		g, err := selectTarget(groups, t.Target)
		if err != nil {
			return stages.Failed("cluster %s in %s: %v", cluster, l, err), nil
		}
		name = g.Name
	}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(resolvedTarget{
		ServerGroupName: name, Region: l.Region, Credentials: l.Account,
		CloudProvider: c.Account.Provider, TargetResolved: true,
	}), Outputs: stages.Record(struct {
		ServerGroupName string `json:"serverGroupName"`
	}{name})}, nil
}

// resolvedTarget is what DetermineTargetServerGroup records, read back by
// targetConfig.
type resolvedTarget struct {
	ServerGroupName string `json:"serverGroupName"`
	Region          string `json:"region"`
	Credentials     string `json:"credentials"`
	CloudProvider   string `json:"cloudProvider"`
	TargetResolved  bool   `json:"targetResolved"`
}

// act runs fn on the stage's resolved server group.
func act(ctx context.Context, run *stages.Run, t *targetConfig, fn func(l Location, name string, c *providers.Cloud, g *providers.ServerGroup) (stages.Result, error)) (stages.Result, error) {
	l, name, c, err := targetCloud(run, t)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	g, err := c.ServerGroups.Get(ctx, l.Region, name)
	if r, ok := throttled(err); ok {
		return r, nil
	}
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	return fn(l, name, c, g)
}

// targetCloud is the stage's resolved server group with the account's view
// of its provider.
func targetCloud(run *stages.Run, t recordedTarget) (Location, string, *providers.Cloud, error) {
	l, name, err := t.target()
	if err != nil {
		return l, "", nil, err
	}
	c, err := cloudAt(run, l)
	return l, name, c, err
}

// EnableServerGroupTask puts the server group into rotation.
type EnableServerGroupTask struct{}

// Name implements Task.
func (EnableServerGroupTask) Name() string { return "EnableServerGroup" }

// Execute implements Task.
func (EnableServerGroupTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	t, err := targetConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	return act(ctx, run, t, func(l Location, name string, c *providers.Cloud, _ *providers.ServerGroup) (stages.Result, error) {
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
	t, err := targetConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	return act(ctx, run, t, func(l Location, name string, c *providers.Cloud, g *providers.ServerGroup) (stages.Result, error) {
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
	t, err := targetConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	return pollBriefly(ctx, run, func() (stages.Result, error) {
		return act(ctx, run, t, func(_ Location, _ string, c *providers.Cloud, g *providers.ServerGroup) (stages.Result, error) {
			if g.Disabled {
				return stages.Succeeded(), nil
			}
			return stages.Running(pollBackoff(c)), nil
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
	t, err := targetConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	l, name, c, err := targetCloud(run, t)
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
	return stages.Result{Status: model.StatusSucceeded, Outputs: stages.Record(destroyedServerGroup{name})}, nil
}

// destroyedServerGroup is what DestroyServerGroup outputs.
type destroyedServerGroup struct {
	Name string `json:"destroyedServerGroup"`
}

// targetStage is the shape every single-server-group stage shares.
type targetStage struct {
	env   *deployEnv
	typ   string
	tasks []string
}

func (s targetStage) Type() string { return s.typ }

func (s targetStage) Validate(st *model.Stage) []model.Problem {
	var cfg targetConfig
	_, p := stages.DecodeConfig(st, &cfg)
	cfg.validate(s.env, &p)
	return p
}

func (s targetStage) Config(e *model.StageExecution) (any, error) { return decodeTarget(e) }

func (s targetStage) Plan(*model.StageExecution) ([]string, error) {
	return append([]string{DetermineTargetServerGroupTask{}.Name()}, s.tasks...), nil
}
