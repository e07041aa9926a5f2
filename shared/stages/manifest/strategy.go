package manifest

import (
	"context"
	"slices"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/stages"
)

// The last steps of deployManifest's traffic strategies: once the new
// ReplicaSets are stable, red/black disables the older versions of their
// clusters and highlander deletes them.

// DisableOldManifestsTask is red/black's last step: every older ReplicaSet
// of each deployed ReplicaSet's cluster is taken out of its load balancers,
// so only the new one is selected. The old ones keep running.
type DisableOldManifestsTask struct{ env *manifestEnv }

// Name implements Task.
func (DisableOldManifestsTask) Name() string { return "DisableOldManifests" }

// Execute implements Task.
func (t DisableOldManifestsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return t.env.eachOlder(ctx, run, changeDisable, func(old manifest.Object) bool {
		lbs, err := manifest.LoadBalancers(old)
		return err != nil || len(lbs) > 0 // never behind a load balancer: nothing to disable
	}, func(c manifest.Cluster, old manifest.Object) error {
		return manifest.SetTraffic(ctx, c, old.Ref(), false)
	})
}

// DeleteOldManifestsTask is highlander's last step: every older ReplicaSet
// of each deployed ReplicaSet's cluster is deleted.
type DeleteOldManifestsTask struct{ env *manifestEnv }

// Name implements Task.
func (DeleteOldManifestsTask) Name() string { return "DeleteOldManifests" }

// Execute implements Task.
func (t DeleteOldManifestsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return t.env.eachOlder(ctx, run, changeDelete, nil, func(c manifest.Cluster, old manifest.Object) error {
		return c.Delete(ctx, old.Ref(), manifest.DeleteOptions{Cascading: true})
	})
}

// disabledOlder is what red/black records: the older versions it disabled.
type disabledOlder struct {
	Manifests []string `json:"disabledManifests"`
}

// deletedOlder is what highlander records: the older versions it deleted.
type deletedOlder struct {
	Manifests []string `json:"deletedManifests"`
}

// eachOlder applies act to every other version of the deployed
// ReplicaSets' clusters that concerns (nil: every one) and records their
// names. The application's traffic guards see the change first.
func (e *manifestEnv) eachOlder(ctx context.Context, run *stages.Run, change manifestChange, concerns func(manifest.Object) bool, act func(manifest.Cluster, manifest.Object) error) (stages.Result, error) {
	cfg, err := stages.ConfigOf[*deployManifestConfig](run)
	if err != nil {
		return stages.Result{}, err
	}
	account, err := cfg.account()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	cluster, err := e.cluster(run, account)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	deployed := slices.DeleteFunc(slices.Clone(cfg.ManifestRefs), func(r manifest.Ref) bool { return !manifest.SameKind(r.Kind, "replicaset") })
	var olds []manifest.Object
	for _, ref := range deployed {
		obj, err := cluster.Get(ctx, ref)
		if err != nil {
			return manifestFailure(ref.String(), err), nil
		}
		others, err := manifest.OtherVersions(ctx, cluster, obj)
		if err != nil {
			return manifestFailure(ref.String(), err), nil
		}
		for _, old := range others {
			if concerns == nil || concerns(old) {
				olds = append(olds, old)
			}
		}
	}
	if err := guardManifests(ctx, run, cluster, account, change, olds); err != nil {
		return stages.Failed("%v", err), nil
	}
	var done []string
	for _, old := range olds {
		if err := act(cluster, old); err != nil {
			return manifestFailure(old.Ref().String(), err), nil
		}
		done = append(done, old.Ref().String())
	}
	if change == changeDelete {
		return succeeded(deletedOlder{done}, nil), nil
	}
	return succeeded(disabledOlder{done}, nil), nil
}
