package cluster

import (
	"context"
	"slices"

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

// loadBalancerSpec is one load balancer an upsertLoadBalancer describes.
type loadBalancerSpec struct {
	locationFields
	Name string `json:"name"`
	// ListenPort is the local provider's port; 0 picks a free one.
	ListenPort  int    `json:"listenPort"`
	Application string `json:"application"`
}

// upsertLoadBalancerConfig is an upsertLoadBalancer stage's configuration:
// a list of load balancers, or one described by the stage's own fields.
type upsertLoadBalancerConfig struct {
	stageFields
	loadBalancerSpec
	LoadBalancers []loadBalancerSpec `json:"loadBalancers"`
}

// specs returns each load balancer the stage describes, with its path.
func (c *upsertLoadBalancerConfig) specs() ([]*loadBalancerSpec, []string) {
	if c.LoadBalancers == nil {
		if c.Name != "" {
			return []*loadBalancerSpec{&c.loadBalancerSpec}, []string{""}
		}
		return nil, nil
	}
	out := make([]*loadBalancerSpec, len(c.LoadBalancers))
	paths := make([]string, len(c.LoadBalancers))
	for i := range c.LoadBalancers {
		out[i], paths[i] = &c.LoadBalancers[i], stages.Path("loadBalancers", i)
	}
	return out, paths
}

// Validate implements Definition.
func (s *UpsertLoadBalancerStage) Validate(st *model.Stage) []model.Problem {
	var cfg upsertLoadBalancerConfig
	exprs, p := stages.DecodeConfig(st, &cfg)
	specs, paths := cfg.specs()
	if len(specs) == 0 && !exprs.Has("loadBalancers") && !hasProblem(p, "loadBalancers") {
		p.Add("loadBalancers", "is required: [{cloudProvider, account, region, name, listenPort}]")
	}
	for i, lb := range specs {
		if paths[i] != "" && slices.ContainsFunc(p, func(pr model.Problem) bool { return pr.Path == paths[i] }) {
			continue // not an object: reported as it is
		}
		lb.validate(s.env, paths[i], &p)
		if lb.Name == "" {
			p.Add(stages.Path(paths[i], "name"), "is required")
		}
		if at := stages.Path(paths[i], "listenPort"); !exprs.Has(at) && (hasProblem(p, at) || lb.ListenPort < 0 || lb.ListenPort > 65535) {
			p = slices.DeleteFunc(p, func(pr model.Problem) bool { return pr.Path == at })
			p.Add(at, "must be a port from 1 to 65535 (or 0 for any free one)")
		}
	}
	return p
}

// Config implements Configurer.
func (s *UpsertLoadBalancerStage) Config(e *model.StageExecution) (any, error) {
	var c upsertLoadBalancerConfig
	return &c, decodeStage(e, &c)
}

// Plan implements Definition.
func (s *UpsertLoadBalancerStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{UpsertLoadBalancerTask{}.Name()}, nil
}

// lbFields is the load balancer at path (loadBalancers[i], or the stage
// itself) as the stage holds it.
func lbFields(ctx map[string]any, path string) map[string]any {
	if path == "" {
		return ctx
	}
	list, _ := ctx["loadBalancers"].([]any)
	for i, x := range list {
		if stages.Path("loadBalancers", i) == path {
			m, _ := x.(map[string]any)
			return m
		}
	}
	return nil
}

// UpsertLoadBalancerTask creates or updates the load balancers; it is
// idempotent.
type UpsertLoadBalancerTask struct{}

// Name implements Task.
func (UpsertLoadBalancerTask) Name() string { return "UpsertLoadBalancer" }

// Execute implements Task.
func (UpsertLoadBalancerTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*upsertLoadBalancerConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	specs, paths := cfg.specs()
	if len(specs) == 0 {
		return stages.Failed("loadBalancers is required: [{cloudProvider, account, region, name, listenPort}]"), nil
	}
	var done []upserted
	for i, spec := range specs {
		l, err := spec.location()
		if err != nil {
			return stages.Failed("%s: %v", paths[i], err), nil
		}
		lbs, err := loadBalancersAt(run, l)
		if err != nil {
			return stages.Failed("%s: %v", paths[i], err), nil
		}
		app := spec.Application
		if app == "" && run.Execution != nil {
			app = string(run.Execution.Application)
		}
		lb, err := lbs.Upsert(ctx, providers.LoadBalancerSpec{Name: spec.Name, Region: l.Region, Application: app, ListenPort: spec.ListenPort,
			Settings: lbFields(run.Stage.Context, paths[i])})
		if err != nil {
			return stages.Failed("upsert load balancer %s in %s: %v", spec.Name, l, err), nil
		}
		done = append(done, upserted{Name: lb.Name, Account: lb.Account, Region: lb.Region, ListenPort: lb.ListenPort, URL: lb.URL})
	}
	return stages.Result{Status: model.StatusSucceeded,
		Context: stages.Record(struct {
			Targets []upserted `json:"targets"`
		}{done}),
		Outputs: stages.Record(struct {
			LoadBalancers []upserted `json:"loadBalancers"`
		}{done}),
	}, nil
}

// upserted is a load balancer as upsertLoadBalancer reports it.
type upserted struct {
	Name       string `json:"name"`
	Account    string `json:"account"`
	Region     string `json:"region"`
	ListenPort int    `json:"listenPort"`
	URL        string `json:"url"`
}

// DeleteLoadBalancerStage is Spinnaker's "deleteLoadBalancer": delete
// loadBalancerName in credentials and regions.
type DeleteLoadBalancerStage struct{ env *deployEnv }

// Type implements Definition.
func (s *DeleteLoadBalancerStage) Type() string { return "deleteLoadBalancer" }

// deleteLoadBalancerConfig is a deleteLoadBalancer stage's configuration.
type deleteLoadBalancerConfig struct {
	stageFields
	locationFields
	LoadBalancerName string `json:"loadBalancerName"`
}

// Validate implements Definition.
func (s *DeleteLoadBalancerStage) Validate(st *model.Stage) []model.Problem {
	var cfg deleteLoadBalancerConfig
	_, p := stages.DecodeConfig(st, &cfg)
	cfg.validate(s.env, "", &p)
	if cfg.LoadBalancerName == "" && !hasProblem(p, "loadBalancerName") {
		p.Add("loadBalancerName", "is required")
	}
	return p
}

// Config implements Configurer.
func (s *DeleteLoadBalancerStage) Config(e *model.StageExecution) (any, error) {
	var c deleteLoadBalancerConfig
	return &c, decodeStage(e, &c)
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
	cfg, err := stages.ConfigOf[*deleteLoadBalancerConfig](run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	l, err := cfg.location()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	lbs, err := loadBalancersAt(run, l)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	name := cfg.LoadBalancerName
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
