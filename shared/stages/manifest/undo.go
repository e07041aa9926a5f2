package manifest

import (
	"context"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/stages"
)

// undoRolloutManifestConfig is undoRolloutManifest's configuration: the
// target and how many revisions to go back (default 1), with the revision
// an earlier attempt went back to.
type undoRolloutManifestConfig struct {
	targetConfig
	NumRevisionsBack *int64 `json:"numRevisionsBack"`
	undone
}

// undone is what UndoRolloutManifest records beside the target.
type undone struct {
	UndoneToRevision *int64 `json:"undoneToRevision,omitempty"`
}

func newUndoConfig() target { return &undoRolloutManifestConfig{} }

// check implements checker.
func (c *undoRolloutManifestConfig) check(exprs stages.Expressions, p *stages.Problems) {
	c.targetConfig.check(exprs, p)
	if !exprs.Has("numRevisionsBack") && c.NumRevisionsBack != nil && *c.NumRevisionsBack < 1 {
		p.Add("numRevisionsBack", "must be at least 1, got %d", *c.NumRevisionsBack)
	}
}

// revisionsBack is numRevisionsBack, 1 when not set.
func (c *undoRolloutManifestConfig) revisionsBack() int {
	if c.NumRevisionsBack == nil {
		return 1
	}
	return int(*c.NumRevisionsBack)
}

// UndoRolloutManifestTask rolls a Deployment back numRevisionsBack
// revisions (default 1).
type UndoRolloutManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (UndoRolloutManifestTask) Name() string { return "UndoRolloutManifest" }

// Execute implements Task.
func (t UndoRolloutManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, op, err := opTarget[*undoRolloutManifestConfig](t.env, run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	// A retry must not go back further than the first attempt did.
	if cfg.UndoneToRevision != nil {
		return opDone(op.ref, cfg.undone)
	}
	rev, err := manifest.Undo(ctx, op.cluster, op.ref, cfg.revisionsBack())
	if err != nil {
		return manifestFailure(op.ref.String(), err), nil
	}
	return opDone(op.ref, undone{UndoneToRevision: &rev})
}
