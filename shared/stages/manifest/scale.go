package manifest

import (
	"context"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/stages"
)

// scaleManifestConfig is scaleManifest's configuration: the target and how
// many replicas it should run.
type scaleManifestConfig struct {
	targetConfig
	Replicas *int64 `json:"replicas"`
}

func newScaleConfig() target { return &scaleManifestConfig{} }

// check implements checker.
func (c *scaleManifestConfig) check(exprs stages.Expressions, p *stages.Problems) {
	c.targetConfig.check(exprs, p)
	switch {
	case exprs.Has("replicas"):
	case c.Replicas == nil:
		p.Add("replicas", "is required (how many replicas to run)")
	case *c.Replicas < 0:
		p.Add("replicas", "must not be negative, got %d", *c.Replicas)
	}
}

// scaled is what ScaleManifest records beside the target.
type scaled struct {
	ScaledTo int64 `json:"scaledTo"`
}

// ScaleManifestTask sets the replicas of a Deployment, ReplicaSet or
// StatefulSet. Scaling to 0 asks the traffic guards first.
type ScaleManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (ScaleManifestTask) Name() string { return "ScaleManifest" }

// Execute implements Task.
func (t ScaleManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, op, err := opTarget[*scaleManifestConfig](t.env, run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	n := *cfg.Replicas
	if n == 0 {
		if err := guardRefs(ctx, run, op.cluster, op.account, changeScaleToZero, []manifest.Ref{op.ref}); err != nil {
			return stages.Failed("%v", err), nil
		}
	}
	if err := manifest.Scale(ctx, op.cluster, op.ref, int(n)); err != nil {
		return manifestFailure(op.ref.String(), err), nil
	}
	return opDone(op.ref, scaled{ScaledTo: n})
}
