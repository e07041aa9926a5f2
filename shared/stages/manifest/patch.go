package manifest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/stages"
)

// patchManifestConfig is patchManifest's configuration: the target, the
// patch (patchBody, free-form like a manifest) and how to apply it
// (options.mergeStrategy: strategic, the default, merge or json).
type patchManifestConfig struct {
	targetConfig
	PatchBody any `json:"patchBody"`
	Options   struct {
		MergeStrategy string `json:"mergeStrategy"`
	} `json:"options"`
}

func newPatchConfig() target { return &patchManifestConfig{} }

// check implements checker.
func (c *patchManifestConfig) check(exprs stages.Expressions, p *stages.Problems) {
	c.targetConfig.check(exprs, p)
	if exprs.Has("patchBody") || exprs.Has("options") {
		return
	}
	if _, _, err := c.patch(); err != nil {
		addErr(p, err)
	}
}

// patch is the patch's type and body. Deck saves a json patch as a list of
// operations and the others as an object; a list of one object is read as
// that object.
func (c *patchManifestConfig) patch() (manifest.PatchType, []byte, error) {
	typ := manifest.PatchType(strings.ToLower(c.Options.MergeStrategy))
	if typ == "" {
		typ = manifest.PatchStrategic
	}
	switch typ {
	case manifest.PatchStrategic, manifest.PatchMerge, manifest.PatchJSON:
	default:
		return "", nil, fieldErr("options.mergeStrategy", "%q is not strategic, json or merge", c.Options.MergeStrategy)
	}
	body := c.PatchBody
	if body == nil {
		return "", nil, fieldErr("patchBody", "is required (the patch to apply)")
	}
	if list, isList := body.([]any); isList && typ != manifest.PatchJSON {
		if len(list) != 1 {
			return "", nil, fieldErr("patchBody", "a %s patch is one object, not a list of %d", typ, len(list))
		}
		body = list[0]
	}
	if typ == manifest.PatchJSON {
		if _, isList := body.([]any); !isList {
			return "", nil, fieldErr("patchBody", "a json patch is a list of operations ({op, path, value})")
		}
	} else if _, isObject := body.(map[string]any); !isObject {
		return "", nil, fieldErr("patchBody", "a %s patch must be an object, not %s", typ, stages.Describe(body))
	}
	b, err := json.Marshal(body)
	if err != nil {
		return "", nil, fieldErr("patchBody", "%v", err)
	}
	return typ, b, nil
}

// PatchManifestTask patches one object.
type PatchManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (PatchManifestTask) Name() string { return "PatchManifest" }

// Execute implements Task.
func (t PatchManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, op, err := opTarget[*patchManifestConfig](t.env, run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	typ, patch, err := cfg.patch()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if _, err := op.cluster.Patch(ctx, op.ref, typ, patch); err != nil {
		return manifestFailure(fmt.Sprintf("patch %s in %s", op.ref, op.ref.Namespace), err), nil
	}
	return opDone(op.ref, nil)
}
