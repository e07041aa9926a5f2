package manifest

import (
	"context"
	"maps"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// opStage is a stage type that does one thing to one object and, unless
// noWait, waits until it is stable again: scaleManifest, patchManifest,
// undoRolloutManifest, rollingRestartManifest, enableManifest,
// disableManifest and findArtifactsFromResource.
type opStage struct {
	typ    string
	task   string
	noWait bool
	// newConfig returns an empty configuration of the stage type.
	newConfig func() target
}

// Type implements Definition.
func (s opStage) Type() string { return s.typ }

// Validate checks account and manifestName, and the stage's own fields.
func (s opStage) Validate(st *model.Stage) []model.Problem { return validate(st, s.newConfig()) }

// Config implements stages.Configurer.
func (s opStage) Config(st *model.StageExecution) (any, error) { return decode(st, s.newConfig()) }

// Plan implements Definition.
func (s opStage) Plan(*model.StageExecution) ([]string, error) {
	if s.noWait {
		return []string{s.task}, nil
	}
	return []string{s.task, WaitForManifestStableTask{}.Name()}, nil
}

var _ stages.Configurer = opStage{}

// newTarget is the configuration of the stage types that take nothing but
// their target: rollingRestartManifest, enableManifest, disableManifest and
// findArtifactsFromResource.
func newTarget() target { return &targetConfig{} }

// operation is what a task of an opStage acts on.
type operation struct {
	cluster manifest.Cluster
	account string
	// ref is the target, in the account's default namespace when the stage
	// names none.
	ref manifest.Ref
}

// opTarget reads a one-object stage's configuration as C, checks it and
// finds the account's cluster. The error is the failure to report.
func opTarget[C target](e *manifestEnv, run *stages.Run) (C, operation, error) {
	cfg, err := stages.ConfigOf[C](run)
	if err != nil {
		return cfg, operation{}, err
	}
	var p stages.Problems
	cfg.check(nil, &p)
	if err := p.Err(); err != nil {
		return cfg, operation{}, err
	}
	op := operation{account: cfg.config().name()}
	if op.ref, err = cfg.target().ref(); err != nil {
		return cfg, operation{}, err
	}
	if op.cluster, err = e.cluster(run, op.account); err != nil {
		return cfg, operation{}, err
	}
	if op.ref.Namespace == "" {
		op.ref.Namespace = op.cluster.DefaultNamespace()
	}
	return cfg, op, nil
}

// opDone records the object acted on, for WaitForManifestStable, with
// what else the task records (nil: nothing).
func opDone(ref manifest.Ref, extra any) (stages.Result, error) {
	r := succeeded(actedOnRefs([]manifest.Ref{ref}), nil)
	if extra != nil {
		maps.Copy(r.Context, stages.Record(extra))
	}
	return r, nil
}

// RollingRestartManifestTask restarts a workload's pods through a rollout.
type RollingRestartManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (RollingRestartManifestTask) Name() string { return "RollingRestartManifest" }

// Execute implements Task.
func (t RollingRestartManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	_, op, err := opTarget[*targetConfig](t.env, run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if err := manifest.RollingRestart(ctx, op.cluster, op.ref, run.Now); err != nil {
		return manifestFailure(op.ref.String(), err), nil
	}
	return opDone(op.ref, nil)
}

// EnableManifestTask puts a ReplicaSet behind the load balancers its
// traffic.spinnaker.io/load-balancers annotation names.
type EnableManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (EnableManifestTask) Name() string { return "EnableManifest" }

// Execute implements Task.
func (t EnableManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return t.env.setTraffic(ctx, run, true)
}

// DisableManifestTask takes a ReplicaSet out of its load balancers; its
// pods keep running.
type DisableManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (DisableManifestTask) Name() string { return "DisableManifest" }

// Execute implements Task.
func (t DisableManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return t.env.setTraffic(ctx, run, false)
}

// setTraffic enables or disables the target; disabling asks the traffic
// guards first.
func (e *manifestEnv) setTraffic(ctx context.Context, run *stages.Run, enabled bool) (stages.Result, error) {
	_, op, err := opTarget[*targetConfig](e, run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if !enabled {
		if err := guardRefs(ctx, run, op.cluster, op.account, changeDisable, []manifest.Ref{op.ref}); err != nil {
			return stages.Failed("%v", err), nil
		}
	}
	if err := manifest.SetTraffic(ctx, op.cluster, op.ref, enabled); err != nil {
		return manifestFailure(op.ref.String(), err), nil
	}
	return opDone(op.ref, nil)
}
