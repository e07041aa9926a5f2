package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
	switch {
	case cfg.Source == nil && cfg.TargetCluster != "":
		cfg.locationFields.validate(s.env, "", &p)
		switch t := cfg.Target; {
		case t == "":
			p.Add("target", "is required with targetCluster: one of %s", strings.Join(targets, ", "))
		case stages.IsExpression(t):
		case !slices.Contains(targets, t) && !slices.Contains(targets, t+"_dynamic"):
			p.Add("target", "%q is not one of %s", t, strings.Join(targets, ", "))
		}
	case cfg.Source == nil:
		if !exprs.Has("source") && !hasProblem(p, "source") {
			p.Add("source", "is required: {account, region, serverGroupName}, or targetCluster and target")
		}
		return p
	default:
		cfg.Source.validate(s.env, "source", &p)
		if cfg.Source.ServerGroupName == "" && !hasProblem(p, "source.serverGroupName") {
			p.Add("source.serverGroupName", "is required")
		}
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
	if src == nil && d.TargetCluster != "" {
		// Deck's form: the source is a dynamic target of a cluster in the
		// stage's own account and region.
		src = &cloneSource{locationFields: d.clusterSpec.locationFields}
	}
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
	if src.ServerGroupName == "" && d.TargetCluster != "" {
		groups, err := clusterGroups(ctx, c, l.Region, d.TargetCluster)
		if r, ok := throttled(err); ok {
			return r, nil
		}
		if err != nil {
			return stages.Failed("targetCluster: %v", err), nil
		}
		t, err := selectTarget(groups, d.Target)
		if err != nil {
			return stages.Failed("cluster %s in %s: %v", d.TargetCluster, l, err), nil
		}
		src.ServerGroupName = t.Name
	}
	g, err := c.ServerGroups.Get(ctx, l.Region, src.ServerGroupName)
	if r, ok := throttled(err); ok {
		return r, nil
	}
	if err != nil {
		return stages.Failed("source: %v", err), nil
	}
	n, err := naming.ParseServerGroup(g.Name)
	if err != nil {
		return stages.Failed("source: %v", err), nil
	}
	// The stage's own fields win; the source fills in the rest.
	own := &d.clusterSpec
	settings := map[string]any{}
	for k, v := range g.Settings {
		if _, set := run.Stage.Context[k]; !set {
			settings[k] = v
		}
	}
	cloned := stages.Record(clonedFields{
		CloneSource:     fmt.Sprintf("%s/%s/%s", l.Account, l.Region, g.Name),
		Account:         fillIf(own.Account == "", l.Account),
		Region:          fillIf(own.Region == "", l.Region),
		CloudProvider:   fillIf(own.CloudProvider == "", c.Account.Provider),
		Application:     fillIf(own.Application == "", n.App),
		Stack:           fillIf(own.Stack == "", n.Stack),
		FreeFormDetails: fillIf(own.FreeFormDetails == "", n.Detail),
		Capacity:        fillIf(own.Capacity == nil, g.Capacity),
		Artifact:        fillIf(own.Artifact == nil, g.Artifact),
		LoadBalancers:   fillIf(own.LoadBalancers == nil, toAnyList(append([]string{}, g.LoadBalancers...))),
		HealthCheckPath: fillIf(own.HealthCheckPath == "", g.HealthCheckPath),
	})
	// The provider's own settings (an AWS group's instance type, security
	// groups, target groups, ...) fill in the rest.
	for k, v := range settings {
		if _, ok := cloned[k]; !ok {
			cloned[k] = v
		}
	}
	return stages.Result{Status: model.StatusSucceeded, Context: cloned}, nil
}

// clonedFields are what ReadCloneSource records: the source server group,
// and each cluster field the stage leaves unset, as the source has it. A
// field the stage sets is left out; one it leaves unset is written even
// when the source's is empty.
type clonedFields struct {
	CloneSource     string              `json:"cloneSource"`
	Account         *string             `json:"account,omitempty"`
	Region          *string             `json:"region,omitempty"`
	CloudProvider   *string             `json:"cloudProvider,omitempty"`
	Application     *string             `json:"application,omitempty"`
	Stack           *string             `json:"stack,omitempty"`
	FreeFormDetails *string             `json:"freeFormDetails,omitempty"`
	Capacity        *providers.Capacity `json:"capacity,omitempty"`
	// Artifact is the source's artifact as its provider describes it.
	Artifact        *map[string]any `json:"artifact,omitempty"`
	LoadBalancers   *[]any          `json:"loadBalancers,omitempty"`
	HealthCheckPath *string         `json:"healthCheckPath,omitempty"`
}

// fillIf is v when the stage left the field unset, else nil.
func fillIf[T any](unset bool, v T) *T {
	if !unset {
		return nil
	}
	return &v
}
