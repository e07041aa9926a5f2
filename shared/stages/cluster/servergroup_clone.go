package cluster

import (
	"context"
	"fmt"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
)

// CloneServerGroupStage is Spinnaker's "cloneServerGroup": deploy the next
// server group of a source's cluster from the source's artifact, capacity,
// load balancers and health check, with any of them overridden by the
// stage's own fields, using the stage's strategy (default none).
type CloneServerGroupStage struct{ env *deployEnv }

// cloneSource is the server group a clone copies.
type cloneSource struct {
	locationFields
	ServerGroupName string `json:"serverGroupName"`
}

// Type implements Definition.
func (s *CloneServerGroupStage) Type() string { return "cloneServerGroup" }

// Validate implements Definition.
func (s *CloneServerGroupStage) Validate(st *model.Stage) []model.Problem {
	var cfg deployConfig
	exprs, p := stages.DecodeConfig(st, &cfg)
	if cfg.Source == nil {
		if !exprs.Has("source") && !hasProblem(p, "source") {
			p.Add("source", "is required: {account, region, serverGroupName}")
		}
		return p
	}
	cfg.Source.validate(s.env, "source", &p)
	if cfg.Source.ServerGroupName == "" && !hasProblem(p, "source.serverGroupName") {
		p.Add("source.serverGroupName", "is required")
	}
	if stages.IsExpression(cfg.Strategy) {
		return p
	}
	strat, err := strategyFor(cfg.Strategy)
	if err != nil {
		p.Add("strategy", "%v", err)
		return p
	}
	p = append(p, strat.decode(fieldDecoder{decode: func(c any) stages.Problems {
		_, probs := stages.DecodeConfig(st, c)
		return probs
	}})...)
	strat.validate("", exprs, &p)
	return p
}

// Config implements Configurer.
func (s *CloneServerGroupStage) Config(e *model.StageExecution) (any, error) {
	return decodeDeploy(e)
}

// Plan implements Definition.
func (s *CloneServerGroupStage) Plan(e *model.StageExecution) ([]string, error) {
	cfg, err := decodeDeploy(e)
	if err != nil {
		return nil, err
	}
	steps, err := cfg.strategy().plan()
	if err != nil {
		return nil, err
	}
	return append([]string{ResolveCloneSourceTask{}.Name()}, steps...), nil
}

// ResolveCloneSourceTask reads the source server group and fills in every
// cluster field the stage does not set itself.
type ResolveCloneSourceTask struct{}

// Name implements Task.
func (ResolveCloneSourceTask) Name() string { return "ResolveCloneSource" }

// Execute implements Task.
func (ResolveCloneSourceTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if d.CloneSource != "" {
		return stages.Succeeded(), nil
	}
	src := d.Source
	if src == nil {
		src = &cloneSource{}
	}
	l, err := src.location()
	if err != nil {
		return stages.Failed("source.%v", err), nil
	}
	c, err := cloudAt(run, l)
	if err != nil {
		return stages.Failed("source: %v", err), nil
	}
	g, err := c.ServerGroups.Get(ctx, l.Region, src.ServerGroupName)
	if err != nil {
		return stages.Failed("source: %v", err), nil
	}
	n, err := naming.ParseServerGroup(g.Name)
	if err != nil {
		return stages.Failed("source: %v", err), nil
	}
	// The stage's own fields win; the source fills in the rest.
	own := &d.clusterSpec
	out := map[string]any{"cloneSource": fmt.Sprintf("%s/%s/%s", l.Account, l.Region, g.Name)}
	fill := func(unset bool, key string, v any) {
		if unset {
			out[key] = v
		}
	}
	fill(own.Account == "", "account", l.Account)
	fill(own.Region == "", "region", l.Region)
	fill(own.CloudProvider == "", "cloudProvider", c.Account.Provider)
	fill(own.Application == "", "application", n.App)
	fill(own.Stack == "", "stack", n.Stack)
	fill(own.FreeFormDetails == "", "freeFormDetails", n.Detail)
	fill(own.Capacity == nil, "capacity", stages.Record(g.Capacity))
	fill(own.Artifact == nil, "artifact", g.Artifact)
	fill(own.LoadBalancers == nil, "loadBalancers", toAnyList(append([]string{}, g.LoadBalancers...)))
	fill(own.HealthCheckPath == "", "healthCheckPath", g.HealthCheckPath)
	return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
}
