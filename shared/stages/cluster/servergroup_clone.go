package cluster

import (
	"context"
	"fmt"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
)

// CloneServerGroupStage is Spinnaker's "cloneServerGroup": deploy the next
// server group of a source's cluster from the source's artifact, capacity,
// load balancers and health check, with any of them overridden by the
// stage's own fields, using the stage's strategy (default none).
type CloneServerGroupStage struct{ env *deployEnv }

// Type implements Definition.
func (s *CloneServerGroupStage) Type() string { return "cloneServerGroup" }

// Validate implements Definition.
func (s *CloneServerGroupStage) Validate(st *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(st, &p)
	src, ok := cfg["source"].(map[string]any)
	if !ok {
		if !stages.IsExpression(cfg["source"]) {
			p.Add("source", "is required: {account, region, serverGroupName}")
		}
		return p
	}
	validateLocation(s.env, src, "source", &p)
	if n, _ := src["serverGroupName"].(string); n == "" {
		p.Add("source.serverGroupName", "is required")
	}
	if strat, _ := cfg["strategy"].(string); !stages.IsExpression(strat) {
		if _, err := strategyFor(strat); err != nil {
			p.Add("strategy", "%v", err)
		}
	}
	return p
}

// Plan implements Definition.
func (s *CloneServerGroupStage) Plan(e *model.StageExecution) ([]string, error) {
	strat, _, err := stages.String(e.Context, "strategy")
	if err != nil {
		return nil, err
	}
	steps, err := planDeploy(strat, e.Context)
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
	sc := run.Stage.Context
	if _, done := sc["cloneSource"]; done {
		return stages.Succeeded(), nil
	}
	src, _ := sc["source"].(map[string]any)
	l, err := locationOf(src)
	if err != nil {
		return stages.Failed("source.%v", err), nil
	}
	c, err := cloudAt(run, l)
	if err != nil {
		return stages.Failed("source: %v", err), nil
	}
	name, _, _ := stages.String(src, "serverGroupName")
	g, err := c.ServerGroups.Get(ctx, l.Region, name)
	if err != nil {
		return stages.Failed("source: %v", err), nil
	}
	n, err := naming.ParseServerGroup(g.Name)
	if err != nil {
		return stages.Failed("source: %v", err), nil
	}
	fill := map[string]any{
		"account": l.Account, "region": l.Region, "cloudProvider": c.Account.Provider,
		"application": n.App, "stack": n.Stack, "freeFormDetails": n.Detail,
		"capacity":        capacityMap(g.Capacity),
		"artifact":        g.Artifact,
		"loadBalancers":   toAnyList(append([]string{}, g.LoadBalancers...)),
		"healthCheckPath": g.HealthCheckPath,
	}
	out := map[string]any{"cloneSource": fmt.Sprintf("%s/%s/%s", l.Account, l.Region, g.Name)}
	for k, v := range fill {
		if _, set := stages.Lookup(sc, k); !set {
			out[k] = v
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
}

func capacityMap(c providers.Capacity) map[string]any {
	return map[string]any{"min": c.Min, "max": c.Max, "desired": c.Desired}
}
