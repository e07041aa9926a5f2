package cluster

import (
	"context"
	"fmt"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
)

// UpsertLoadBalancerStage is Spinnaker's "upsertLoadBalancer": create or
// update each of loadBalancers [{cloudProvider, account, region, name,
// listenPort}] (or one load balancer described by the stage's own fields).
type UpsertLoadBalancerStage struct{ env *deployEnv }

// Type implements Definition.
func (s *UpsertLoadBalancerStage) Type() string { return "upsertLoadBalancer" }

// Validate implements Definition.
func (s *UpsertLoadBalancerStage) Validate(st *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(st, &p)
	specs, paths := loadBalancerConfigs(cfg)
	if len(specs) == 0 && !stages.IsExpression(cfg["loadBalancers"]) {
		p.Add("loadBalancers", "is required: [{cloudProvider, account, region, name, listenPort}]")
	}
	for i, lb := range specs {
		validateLocation(s.env, lb, paths[i], &p)
		if n, _ := lb["name"].(string); n == "" {
			p.Add(stages.JoinPath(paths[i], "name"), "is required")
		}
		if !stages.IsExpression(lb["listenPort"]) {
			if port, _, err := stages.Int(lb, "listenPort"); err != nil || port < 0 || port > 65535 {
				p.Add(stages.JoinPath(paths[i], "listenPort"), "must be a port from 1 to 65535 (or 0 for any free one)")
			}
		}
	}
	return p
}

// loadBalancerConfigs returns each load balancer the stage describes.
func loadBalancerConfigs(cfg map[string]any) ([]map[string]any, []string) {
	list, ok := cfg["loadBalancers"].([]any)
	if !ok {
		if n, _ := cfg["name"].(string); n != "" {
			return []map[string]any{cfg}, []string{""}
		}
		return nil, nil
	}
	var out []map[string]any
	var paths []string
	for i, item := range list {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
			paths = append(paths, fmt.Sprintf("loadBalancers[%d]", i))
		}
	}
	return out, paths
}

// Plan implements Definition.
func (s *UpsertLoadBalancerStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{UpsertLoadBalancerTask{}.Name()}, nil
}

// UpsertLoadBalancerTask creates or updates the load balancers; it is
// idempotent.
type UpsertLoadBalancerTask struct{}

// Name implements Task.
func (UpsertLoadBalancerTask) Name() string { return "UpsertLoadBalancer" }

// Execute implements Task.
func (UpsertLoadBalancerTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	specs, paths := loadBalancerConfigs(run.Stage.Context)
	if len(specs) == 0 {
		return stages.Failed("loadBalancers is required: [{cloudProvider, account, region, name, listenPort}]"), nil
	}
	var done []any
	for i, cfg := range specs {
		l, err := locationOf(cfg)
		if err != nil {
			return stages.Failed("%s: %v", paths[i], err), nil
		}
		lbs, err := loadBalancersAt(run, l)
		if err != nil {
			return stages.Failed("%s: %v", paths[i], err), nil
		}
		name, _, _ := stages.String(cfg, "name")
		port, _, _ := stages.Int(cfg, "listenPort")
		app := ""
		if run.Execution != nil {
			app = string(run.Execution.Application)
		}
		if a, _, _ := stages.String(cfg, "application"); a != "" {
			app = a
		}
		lb, err := lbs.Upsert(ctx, providers.LoadBalancerSpec{Name: name, Region: l.Region, Application: app, ListenPort: int(port)})
		if err != nil {
			return stages.Failed("upsert load balancer %s in %s: %v", name, l, err), nil
		}
		done = append(done, map[string]any{"name": lb.Name, "account": lb.Account, "region": lb.Region, "listenPort": lb.ListenPort, "url": lb.URL})
	}
	return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{"targets": done}, Outputs: map[string]any{"loadBalancers": done}}, nil
}

// DeleteLoadBalancerStage is Spinnaker's "deleteLoadBalancer": delete
// loadBalancerName in credentials and regions.
type DeleteLoadBalancerStage struct{ env *deployEnv }

// Type implements Definition.
func (s *DeleteLoadBalancerStage) Type() string { return "deleteLoadBalancer" }

// Validate implements Definition.
func (s *DeleteLoadBalancerStage) Validate(st *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(st, &p)
	validateLocation(s.env, cfg, "", &p)
	if n, _ := cfg["loadBalancerName"].(string); n == "" {
		p.Add("loadBalancerName", "is required")
	}
	return p
}

// Plan implements Definition.
func (s *DeleteLoadBalancerStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{DeleteLoadBalancerTask{}.Name()}, nil
}

// DeleteLoadBalancerTask deletes the load balancer; one already gone is done.
type DeleteLoadBalancerTask struct{}

// Name implements Task.
func (DeleteLoadBalancerTask) Name() string { return "DeleteLoadBalancer" }

// Execute implements Task.
func (DeleteLoadBalancerTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	l, err := locationOf(run.Stage.Context)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	lbs, err := loadBalancersAt(run, l)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	name, _, _ := stages.String(run.Stage.Context, "loadBalancerName")
	if err := lbs.Delete(ctx, l.Region, name); err != nil {
		return stages.Failed("delete load balancer %s in %s: %v", name, l, err), nil
	}
	return stages.Succeeded(), nil
}

// loadBalancersAt returns the load balancers of the account in l.
func loadBalancersAt(run *stages.Run, l Location) (providers.LoadBalancers, error) {
	reg, err := registryOf(run)
	if err != nil {
		return nil, err
	}
	return reg.LoadBalancers(l.Account, l.CloudProvider)
}
