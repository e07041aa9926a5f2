package manifest

import (
	"context"
	"fmt"
	"strings"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// DeployManifestStage is Spinnaker's "deployManifest": apply manifests to a
// Kubernetes account, then wait until every object is stable.
//
// Fields: account, manifests (with source "text", the default) or
// manifestArtifact (an embedded/base64 artifact of YAML), namespaceOverride,
// moniker {app, cluster}, and trafficManagement {enabled, options:
// {enableTraffic, services ["service my-svc"], strategy redblack |
// highlander | none}} for ReplicaSets. Versioned kinds (ReplicaSet,
// ConfigMap, Secret, Pod) are named -vNNN; an identical manifest reuses its
// version; strategy.spinnaker.io/max-version-history prunes.
type DeployManifestStage struct{}

// deployManifestConfig is deployManifest's configuration, with the
// objects DeployManifest recorded.
type deployManifestConfig struct {
	accountConfig
	actedOn
	manifestSource
	NamespaceOverride string            `json:"namespaceOverride"`
	Moniker           manifest.Moniker  `json:"moniker"`
	TrafficManagement trafficManagement `json:"trafficManagement"`
}

// Type implements Definition.
func (DeployManifestStage) Type() string { return "deployManifest" }

// Validate checks the account, the source and the traffic options.
func (DeployManifestStage) Validate(s *model.Stage) []model.Problem {
	return validate(s, &deployManifestConfig{})
}

// Config implements stages.Configurer.
func (DeployManifestStage) Config(s *model.StageExecution) (any, error) {
	return decode(s, &deployManifestConfig{})
}

var _ stages.Configurer = DeployManifestStage{}

// check implements checker.
func (c *deployManifestConfig) check(exprs stages.Expressions, p *stages.Problems) {
	c.accountConfig.check(exprs, p)
	c.manifestSource.check(exprs, p)
	if !exprs.Has("trafficManagement") {
		if err := c.TrafficManagement.check(); err != nil {
			addErr(p, err)
		}
	}
}

// Plan deploys, waits until stable, then applies the traffic strategy.
func (d DeployManifestStage) Plan(s *model.StageExecution) ([]string, error) {
	cfg, err := decode(s, &deployManifestConfig{})
	if err != nil {
		return nil, err
	}
	tm := cfg.(*deployManifestConfig).TrafficManagement
	if err := tm.check(); err != nil {
		return nil, err
	}
	tasks := []string{DeployManifestTask{}.Name(), WaitForManifestStableTask{}.Name()}
	switch tm.strategy() {
	case "redblack":
		tasks = append(tasks, DisableOldManifestsTask{}.Name())
	case "highlander":
		tasks = append(tasks, DeleteOldManifestsTask{}.Name())
	}
	return tasks, nil
}

// trafficManagement is deployManifest's trafficManagement field.
type trafficManagement struct {
	Enabled bool `json:"enabled"`
	Options struct {
		// EnableTraffic is true when not set.
		EnableTraffic *bool    `json:"enableTraffic"`
		Services      []string `json:"services"`
		Strategy      string   `json:"strategy"`
		Namespace     string   `json:"namespace"`
	} `json:"options"`
}

// strategy is the deploy strategy in lower case, empty when traffic is not
// managed.
func (t trafficManagement) strategy() string {
	if !t.Enabled {
		return ""
	}
	return strings.ToLower(t.Options.Strategy)
}

func (t trafficManagement) enableTraffic() bool {
	return t.Options.EnableTraffic == nil || *t.Options.EnableTraffic
}

// check returns the first mistake in managed traffic's options.
func (t trafficManagement) check() error {
	if !t.Enabled {
		return nil
	}
	switch t.strategy() {
	case "", "none", "redblack", "highlander":
	default:
		return fieldErr("trafficManagement.options.strategy", "%q is not redblack, highlander or none", t.Options.Strategy)
	}
	if (t.strategy() == "redblack" || t.strategy() == "highlander") && !t.enableTraffic() {
		return fieldErr("trafficManagement.options.enableTraffic", "the %s strategy sends traffic to the new version, so it cannot be false", t.strategy())
	}
	for i, s := range t.Options.Services {
		if r, err := manifest.ParseRef(s, ""); err != nil || !manifest.SameKind(r.Kind, "service") {
			return fieldErr(stages.Path("trafficManagement", "options", "services", i), "%q is not \"service <name>\"", s)
		}
	}
	return nil
}

// deployOptions says how DeployManifest applies the manifests. The
// moniker's application defaults to the pipeline's.
func (c *deployManifestConfig) deployOptions(app model.ApplicationName) manifest.DeployOptions {
	tm := c.TrafficManagement
	opts := manifest.DeployOptions{
		Namespace:      c.NamespaceOverride,
		Moniker:        c.Moniker,
		DisableTraffic: tm.Enabled && !tm.enableTraffic(),
	}
	if tm.Enabled {
		opts.Services = tm.Options.Services
		if opts.Namespace == "" {
			opts.Namespace = tm.Options.Namespace
		}
	}
	if opts.Moniker.App == "" {
		opts.Moniker.App = string(app)
	}
	return opts
}

// deployOutputs is what DeployManifest offers later stages, as Spinnaker
// names it.
type deployOutputs struct {
	ManifestNamesByNamespace map[string][]string `json:"manifestNamesByNamespace"`
	Manifests                []manifest.Object   `json:"outputs.manifests"`
	CreatedArtifacts         []model.Artifact    `json:"outputs.createdArtifacts"`
	DeployedManifests        []deployedManifest  `json:"deployedManifests"`
}

// deployRecord is what DeployManifest records in its stage: the outputs,
// the objects for WaitForManifestStable and the account deployed to.
type deployRecord struct {
	deployOutputs
	ManifestRefs []manifest.Ref `json:"manifestRefs"`
	Account      string         `json:"deploy.account.name"`
}

// deployedManifest summarises one deployed object for users.
type deployedManifest struct {
	ManifestName string `json:"manifestName"`
	Location     string `json:"location"`
	Cluster      string `json:"cluster"`
	// Version, Reused and Pruned are set for versioned kinds only.
	Version string   `json:"version,omitempty"`
	Reused  *bool    `json:"reused,omitempty"`
	Pruned  []string `json:"pruned,omitempty"`
}

// DeployManifestTask applies the manifests and records what it deployed.
type DeployManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (DeployManifestTask) Name() string { return "DeployManifest" }

// Execute implements Task.
func (t DeployManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*deployManifestConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	account, err := cfg.account()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	objs, err := cfg.load(ctx, run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if len(objs) == 0 {
		return stages.Failed("manifests: is required: at least one manifest to deploy"), nil
	}
	if err := cfg.TrafficManagement.check(); err != nil {
		return stages.Failed("%v", err), nil
	}
	cluster, err := t.env.cluster(run, account)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	deployed, err := manifest.Deploy(ctx, cluster, objs, cfg.deployOptions(run.Execution.Application))
	if err != nil {
		if ctx.Err() != nil {
			return stages.Result{}, ctx.Err()
		}
		return stages.Failed("%v", err), nil
	}
	refs := make([]manifest.Ref, 0, len(deployed))
	var out deployOutputs
	for _, d := range deployed {
		refs = append(refs, d.Ref)
		summary := deployedManifest{ManifestName: d.Ref.String(), Location: d.Ref.Namespace, Cluster: d.Cluster}
		art := model.Artifact{
			Type:      "kubernetes/" + manifest.SpinnakerKind(d.Ref.Kind),
			Name:      d.BaseName,
			Reference: d.Ref.Name,
			Location:  d.Ref.Namespace,
		}
		if d.Version >= 0 {
			summary.Version = fmt.Sprintf("v%03d", d.Version)
			summary.Reused = &d.Reused
			summary.Pruned = d.Pruned
			art.Version = summary.Version
		}
		out.DeployedManifests = append(out.DeployedManifests, summary)
		out.Manifests = append(out.Manifests, trimManifest(d.Object))
		out.CreatedArtifacts = append(out.CreatedArtifacts, art)
	}
	acted := actedOnRefs(refs)
	out.ManifestNamesByNamespace = acted.ManifestNamesByNamespace
	return succeeded(deployRecord{deployOutputs: out, ManifestRefs: acted.ManifestRefs, Account: account}, out), nil
}

// trimManifest drops what only the API server needs from an object kept in
// the stage.
func trimManifest(o manifest.Object) manifest.Object {
	c := o.DeepCopy()
	delete(c.Metadata(), "managedFields")
	return c
}
