package manifest

import (
	"context"
	"fmt"
	"strings"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// DeleteManifestStage is Spinnaker's "deleteManifest": delete one object
// (manifestName in location) or every object of some kinds matching label
// selectors (kinds, labelSelectors {selectors: [{kind: EQUALS|NOT_EQUALS|
// CONTAINS|NOT_CONTAINS|EXISTS|NOT_EXISTS, key, values}]}), cascading by
// default (options.cascading).
type DeleteManifestStage struct{}

// deleteManifestConfig is deleteManifest's configuration.
type deleteManifestConfig struct {
	// targetConfig names the one object to delete; without manifestName,
	// Kinds and LabelSelectors choose the objects.
	targetConfig
	Kinds          []string `json:"kinds"`
	LabelSelectors struct {
		Selectors []labelSelector `json:"selectors"`
	} `json:"labelSelectors"`
	Options struct {
		// Cascading is true when not set.
		Cascading          *bool  `json:"cascading"`
		GracePeriodSeconds *int64 `json:"gracePeriodSeconds"`
	} `json:"options"`
}

// labelSelector is one of Spinnaker's label selectors.
type labelSelector struct {
	Kind   string   `json:"kind"`
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// Type implements Definition.
func (DeleteManifestStage) Type() string { return "deleteManifest" }

// Validate implements Definition.
func (DeleteManifestStage) Validate(s *model.Stage) []model.Problem {
	return validate(s, &deleteManifestConfig{})
}

// Config implements stages.Configurer.
func (DeleteManifestStage) Config(s *model.StageExecution) (any, error) {
	return decode(s, &deleteManifestConfig{})
}

// Plan implements Definition.
func (DeleteManifestStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{DeleteManifestTask{}.Name()}, nil
}

var _ stages.Configurer = DeleteManifestStage{}

// check implements checker.
func (c *deleteManifestConfig) check(exprs stages.Expressions, p *stages.Problems) {
	c.accountConfig.check(exprs, p)
	if exprs.Has("manifestName") || exprs.Has("kinds") || exprs.Has("labelSelectors") {
		return
	}
	if _, err := c.targets(); err != nil {
		addErr(p, err)
	}
}

// deleteTargets are the objects a deleteManifest deletes: one ref, or the
// objects of kinds matching selector.
type deleteTargets struct {
	ref      *manifest.Ref
	kinds    []string
	selector string
}

func (c *deleteManifestConfig) targets() (deleteTargets, error) {
	if c.ManifestName != "" {
		ref, err := c.ref()
		return deleteTargets{ref: &ref}, err
	}
	if len(c.Kinds) == 0 || len(c.LabelSelectors.Selectors) == 0 {
		return deleteTargets{}, fieldErr("manifestName", "is required (such as \"deployment my-app\"), or kinds and labelSelectors")
	}
	var parts []string
	for i, s := range c.LabelSelectors.Selectors {
		at := func(field string) string { return stages.Path("labelSelectors", "selectors", i, field) }
		if s.Key == "" {
			return deleteTargets{}, fieldErr(at("key"), "is required")
		}
		switch strings.ToUpper(s.Kind) {
		case "EQUALS", "CONTAINS":
			if len(s.Values) == 0 {
				return deleteTargets{}, fieldErr(at("values"), "needs at least one value")
			}
			if len(s.Values) == 1 && strings.ToUpper(s.Kind) == "EQUALS" {
				parts = append(parts, s.Key+"="+s.Values[0])
			} else {
				parts = append(parts, fmt.Sprintf("%s in (%s)", s.Key, strings.Join(s.Values, ",")))
			}
		case "NOT_EQUALS", "NOT_CONTAINS":
			if len(s.Values) == 0 {
				return deleteTargets{}, fieldErr(at("values"), "needs at least one value")
			}
			parts = append(parts, fmt.Sprintf("%s notin (%s)", s.Key, strings.Join(s.Values, ",")))
		case "EXISTS":
			parts = append(parts, s.Key)
		case "NOT_EXISTS":
			parts = append(parts, "!"+s.Key)
		default:
			return deleteTargets{}, fieldErr(at("kind"), "%q is not EQUALS, NOT_EQUALS, CONTAINS, NOT_CONTAINS, EXISTS or NOT_EXISTS", s.Kind)
		}
	}
	return deleteTargets{kinds: c.Kinds, selector: strings.Join(parts, ",")}, nil
}

// deleteOptions are options.cascading (true when not set) and
// options.gracePeriodSeconds.
func (c *deleteManifestConfig) deleteOptions() manifest.DeleteOptions {
	opts := manifest.DeleteOptions{Cascading: true, GracePeriodSeconds: c.Options.GracePeriodSeconds}
	if c.Options.Cascading != nil {
		opts.Cascading = *c.Options.Cascading
	}
	return opts
}

// deleted is what DeleteManifest records: the objects it deleted, for
// WaitForManifestStable's sake and for users.
type deleted struct {
	actedOn
	Deleted []string `json:"manifest.deleted"`
}

// deletedOutputs are DeleteManifest's outputs for later stages.
type deletedOutputs struct {
	DeletedManifests []string `json:"deletedManifests"`
}

// DeleteManifestTask deletes the objects; deleting what is already gone
// succeeds, so a retry finds its work done. The application's traffic
// guards see the deletion first.
type DeleteManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (DeleteManifestTask) Name() string { return "DeleteManifest" }

// Execute implements Task.
func (t DeleteManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*deleteManifestConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	account, err := cfg.account()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	spec, err := cfg.targets()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	cluster, err := t.env.cluster(run, account)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	ns := cfg.Location
	if ns == "" {
		ns = cluster.DefaultNamespace()
	}
	var targets []manifest.Ref
	if spec.ref != nil {
		ref := *spec.ref
		ref.Namespace = ns
		targets = append(targets, ref)
	} else {
		for _, kind := range spec.kinds {
			objs, err := cluster.List(ctx, kind, ns, spec.selector)
			if err != nil {
				return manifestFailure(fmt.Sprintf("list %s in %s matching %q", kind, ns, spec.selector), err), nil
			}
			for _, o := range objs {
				targets = append(targets, manifest.Ref{Kind: kind, Namespace: ns, Name: o.Name()})
			}
		}
	}
	if err := guardRefs(ctx, run, cluster, account, changeDelete, targets); err != nil {
		return stages.Failed("%v", err), nil
	}
	var names []string
	for _, ref := range targets {
		if err := cluster.Delete(ctx, ref, cfg.deleteOptions()); err != nil {
			return manifestFailure(fmt.Sprintf("delete %s in %s", ref, ref.Namespace), err), nil
		}
		names = append(names, ref.String())
	}
	return succeeded(deleted{actedOn: actedOnRefs(targets), Deleted: names}, deletedOutputs{DeletedManifests: names}), nil
}
