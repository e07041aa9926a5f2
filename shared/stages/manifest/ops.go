package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
)

// DeleteManifestStage is Spinnaker's "deleteManifest": delete one object
// (manifestName in location) or every object of some kinds matching label
// selectors (kinds, labelSelectors {selectors: [{kind: EQUALS|NOT_EQUALS|
// CONTAINS|NOT_CONTAINS|EXISTS|NOT_EXISTS, key, values}]}), cascading by
// default (options.cascading).
type DeleteManifestStage struct{}

// Type implements Definition.
func (DeleteManifestStage) Type() string { return "deleteManifest" }

// Validate implements Definition.
func (DeleteManifestStage) Validate(s *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(s, &p)
	validateManifestAccount(cfg, &p)
	if _, err := deleteTargets(cfg); err != nil && !stages.IsExpression(cfg["manifestName"]) {
		p.AddErr(err)
	}
	return p
}

// Plan implements Definition.
func (DeleteManifestStage) Plan(*model.StageExecution) ([]string, error) {
	return []string{DeleteManifestTask{}.Name()}, nil
}

type deleteSpec struct {
	ref      *manifest.Ref
	kinds    []string
	selector string
	ns       string
}

func deleteTargets(ctx map[string]any) (deleteSpec, error) {
	ns, _, err := stages.String(ctx, "location")
	if err != nil {
		return deleteSpec{}, err
	}
	if _, ok := stages.Lookup(ctx, "manifestName"); ok {
		ref, err := targetRef(ctx)
		return deleteSpec{ref: &ref, ns: ns}, err
	}
	var kinds []string
	if _, err := stages.DecodeField(ctx, "kinds", &kinds); err != nil {
		return deleteSpec{}, err
	}
	var sel struct {
		Selectors []struct {
			Kind   string   `json:"kind"`
			Key    string   `json:"key"`
			Values []string `json:"values"`
		} `json:"selectors"`
	}
	if _, err := stages.DecodeField(ctx, "labelSelectors", &sel); err != nil {
		return deleteSpec{}, err
	}
	if len(kinds) == 0 || len(sel.Selectors) == 0 {
		return deleteSpec{}, errors.New("manifestName is required (such as \"deployment my-app\"), or kinds and labelSelectors")
	}
	var parts []string
	for i, s := range sel.Selectors {
		if s.Key == "" {
			return deleteSpec{}, fmt.Errorf("labelSelectors.selectors[%d].key: is required", i)
		}
		switch strings.ToUpper(s.Kind) {
		case "EQUALS", "CONTAINS":
			if len(s.Values) == 0 {
				return deleteSpec{}, fmt.Errorf("labelSelectors.selectors[%d].values: needs at least one value", i)
			}
			if len(s.Values) == 1 && strings.ToUpper(s.Kind) == "EQUALS" {
				parts = append(parts, s.Key+"="+s.Values[0])
			} else {
				parts = append(parts, fmt.Sprintf("%s in (%s)", s.Key, strings.Join(s.Values, ",")))
			}
		case "NOT_EQUALS", "NOT_CONTAINS":
			if len(s.Values) == 0 {
				return deleteSpec{}, fmt.Errorf("labelSelectors.selectors[%d].values: needs at least one value", i)
			}
			parts = append(parts, fmt.Sprintf("%s notin (%s)", s.Key, strings.Join(s.Values, ",")))
		case "EXISTS":
			parts = append(parts, s.Key)
		case "NOT_EXISTS":
			parts = append(parts, "!"+s.Key)
		default:
			return deleteSpec{}, fmt.Errorf("labelSelectors.selectors[%d].kind: %q is not EQUALS, NOT_EQUALS, CONTAINS, NOT_CONTAINS, EXISTS or NOT_EXISTS", i, s.Kind)
		}
	}
	return deleteSpec{kinds: kinds, selector: strings.Join(parts, ","), ns: ns}, nil
}

// DeleteManifestTask deletes the objects; deleting what is already gone
// succeeds, so a retry finds its work done.
type DeleteManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (DeleteManifestTask) Name() string { return "DeleteManifest" }

// Execute implements Task.
func (t DeleteManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c := run.Stage.Context
	account, err := manifestAccount(c)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	spec, err := deleteTargets(c)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	opts := manifest.DeleteOptions{Cascading: true}
	var o struct {
		Cascading          *bool  `json:"cascading"`
		GracePeriodSeconds *int64 `json:"gracePeriodSeconds"`
	}
	if _, err := stages.DecodeField(c, "options", &o); err != nil {
		return stages.Failed("%v", err), nil
	}
	if o.Cascading != nil {
		opts.Cascading = *o.Cascading
	}
	opts.GracePeriodSeconds = o.GracePeriodSeconds
	cluster, err := t.env.cluster(run, account)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if spec.ns == "" {
		spec.ns = cluster.DefaultNamespace()
	}
	var targets []manifest.Ref
	if spec.ref != nil {
		ref := *spec.ref
		ref.Namespace = spec.ns
		targets = append(targets, ref)
	} else {
		for _, kind := range spec.kinds {
			objs, err := cluster.List(ctx, kind, spec.ns, spec.selector)
			if err != nil {
				return manifestFailure(fmt.Sprintf("list %s in %s matching %q", kind, spec.ns, spec.selector), err), nil
			}
			for _, o := range objs {
				targets = append(targets, manifest.Ref{Kind: kind, Namespace: spec.ns, Name: o.Name()})
			}
		}
	}
	if err := guardRefs(ctx, run, cluster, account, changeDelete, targets); err != nil {
		return stages.Failed("%v", err), nil
	}
	var deleted []any
	for _, ref := range targets {
		if err := cluster.Delete(ctx, ref, opts); err != nil {
			return manifestFailure(fmt.Sprintf("delete %s in %s", ref, ref.Namespace), err), nil
		}
		deleted = append(deleted, ref.String())
	}
	out := refsContext(targets)
	out["manifest.deleted"] = deleted
	return stages.Result{Status: model.StatusSucceeded, Context: out, Outputs: map[string]any{"deletedManifests": deleted}}, nil
}

// opTarget reads the account, the target and the cluster of a one-object
// operation; a non-nil Result is the failure to return.
func (e *manifestEnv) opTarget(run *stages.Run) (manifest.Cluster, manifest.Ref, *stages.Result) {
	c := run.Stage.Context
	account, err := manifestAccount(c)
	if err != nil {
		r := stages.Failed("%v", err)
		return nil, manifest.Ref{}, &r
	}
	ref, err := targetRef(c)
	if err != nil {
		r := stages.Failed("%v", err)
		return nil, manifest.Ref{}, &r
	}
	cluster, err := e.cluster(run, account)
	if err != nil {
		r := stages.Failed("%v", err)
		return nil, manifest.Ref{}, &r
	}
	if ref.Namespace == "" {
		ref.Namespace = cluster.DefaultNamespace()
	}
	return cluster, ref, nil
}

// opDone records the object acted on for WaitForManifestStable.
func opDone(ref manifest.Ref, extra map[string]any) stages.Result {
	out := refsContext([]manifest.Ref{ref})
	for k, v := range extra {
		out[k] = v
	}
	return stages.Result{Status: model.StatusSucceeded, Context: out}
}

func validateScale(cfg map[string]any, p *stages.Problems) {
	if stages.IsExpression(cfg["replicas"]) {
		return
	}
	switch n, ok, err := stages.Int(cfg, "replicas"); {
	case err != nil:
		p.AddErr(err)
	case !ok:
		p.Add("replicas", "is required (how many replicas to run)")
	case n < 0:
		p.Add("replicas", "must not be negative, got %d", n)
	}
}

// ScaleManifestTask sets the replicas of a Deployment, ReplicaSet or
// StatefulSet.
type ScaleManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (ScaleManifestTask) Name() string { return "ScaleManifest" }

// Execute implements Task.
func (t ScaleManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cluster, ref, fail := t.env.opTarget(run)
	if fail != nil {
		return *fail, nil
	}
	n, ok, err := stages.Int(run.Stage.Context, "replicas")
	if err != nil || !ok {
		return stages.Failed("replicas is required (how many replicas to run)%s", errSuffix(err)), nil
	}
	if n == 0 {
		account, _ := manifestAccount(run.Stage.Context)
		if err := guardRefs(ctx, run, cluster, account, changeScaleToZero, []manifest.Ref{ref}); err != nil {
			return stages.Failed("%v", err), nil
		}
	}
	if err := manifest.Scale(ctx, cluster, ref, int(n)); err != nil {
		return manifestFailure(ref.String(), err), nil
	}
	return opDone(ref, map[string]any{"scaledTo": n}), nil
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

func validatePatch(cfg map[string]any, p *stages.Problems) {
	if _, _, err := patchOf(cfg); err != nil && !stages.IsExpression(cfg["patchBody"]) {
		p.AddErr(err)
	}
}

// patchOf reads patchBody and options.mergeStrategy (strategic by
// default; json takes a list of operations).
func patchOf(ctx map[string]any) (manifest.PatchType, []byte, error) {
	var opts struct {
		MergeStrategy string `json:"mergeStrategy"`
	}
	if _, err := stages.DecodeField(ctx, "options", &opts); err != nil {
		return "", nil, err
	}
	typ := manifest.PatchType(strings.ToLower(opts.MergeStrategy))
	if typ == "" {
		typ = manifest.PatchStrategic
	}
	switch typ {
	case manifest.PatchStrategic, manifest.PatchMerge, manifest.PatchJSON:
	default:
		return "", nil, fmt.Errorf("options.mergeStrategy: %q is not strategic, json or merge", opts.MergeStrategy)
	}
	body, ok := ctx["patchBody"]
	if !ok || body == nil {
		return "", nil, errors.New("patchBody: is required (the patch to apply)")
	}
	// Deck saves a JSON patch as a list, the others as an object; a list of
	// one object is read as that object.
	if list, isList := body.([]any); isList && typ != manifest.PatchJSON {
		if len(list) != 1 {
			return "", nil, fmt.Errorf("patchBody: a %s patch is one object, not a list of %d", typ, len(list))
		}
		body = list[0]
	}
	if typ == manifest.PatchJSON {
		if _, isList := body.([]any); !isList {
			return "", nil, errors.New("patchBody: a json patch is a list of operations ({op, path, value})")
		}
	} else if _, isMap := body.(map[string]any); !isMap {
		return "", nil, fmt.Errorf("patchBody: a %s patch must be an object, not %s", typ, stages.Describe(body))
	}
	b, err := json.Marshal(body)
	return typ, b, err
}

// PatchManifestTask patches one object.
type PatchManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (PatchManifestTask) Name() string { return "PatchManifest" }

// Execute implements Task.
func (t PatchManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cluster, ref, fail := t.env.opTarget(run)
	if fail != nil {
		return *fail, nil
	}
	typ, patch, err := patchOf(run.Stage.Context)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if _, err := cluster.Patch(ctx, ref, typ, patch); err != nil {
		return manifestFailure(fmt.Sprintf("patch %s in %s", ref, ref.Namespace), err), nil
	}
	return opDone(ref, nil), nil
}

func validateUndo(cfg map[string]any, p *stages.Problems) {
	if stages.IsExpression(cfg["numRevisionsBack"]) {
		return
	}
	if n, ok, err := stages.Int(cfg, "numRevisionsBack"); err != nil {
		p.AddErr(err)
	} else if ok && n < 1 {
		p.Add("numRevisionsBack", "must be at least 1, got %d", n)
	}
}

// UndoRolloutManifestTask rolls a Deployment back numRevisionsBack
// revisions (default 1).
type UndoRolloutManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (UndoRolloutManifestTask) Name() string { return "UndoRolloutManifest" }

// Execute implements Task.
func (t UndoRolloutManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cluster, ref, fail := t.env.opTarget(run)
	if fail != nil {
		return *fail, nil
	}
	// A retry must not go back further than the first attempt did.
	if rev, ok, _ := stages.Int(run.Stage.Context, "undoneToRevision"); ok {
		return opDone(ref, map[string]any{"undoneToRevision": rev}), nil
	}
	n, ok, err := stages.Int(run.Stage.Context, "numRevisionsBack")
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if !ok {
		n = 1
	}
	rev, err := manifest.Undo(ctx, cluster, ref, int(n))
	if err != nil {
		return manifestFailure(ref.String(), err), nil
	}
	return opDone(ref, map[string]any{"undoneToRevision": rev}), nil
}

// RollingRestartManifestTask restarts a workload's pods through a rollout.
type RollingRestartManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (RollingRestartManifestTask) Name() string { return "RollingRestartManifest" }

// Execute implements Task.
func (t RollingRestartManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cluster, ref, fail := t.env.opTarget(run)
	if fail != nil {
		return *fail, nil
	}
	if err := manifest.RollingRestart(ctx, cluster, ref, run.Now); err != nil {
		return manifestFailure(ref.String(), err), nil
	}
	return opDone(ref, nil), nil
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

func (e *manifestEnv) setTraffic(ctx context.Context, run *stages.Run, enabled bool) (stages.Result, error) {
	cluster, ref, fail := e.opTarget(run)
	if fail != nil {
		return *fail, nil
	}
	if !enabled {
		account, _ := manifestAccount(run.Stage.Context)
		if err := guardRefs(ctx, run, cluster, account, changeDisable, []manifest.Ref{ref}); err != nil {
			return stages.Failed("%v", err), nil
		}
	}
	if err := manifest.SetTraffic(ctx, cluster, ref, enabled); err != nil {
		return manifestFailure(ref.String(), err), nil
	}
	return opDone(ref, nil), nil
}
