package manifest

import (
	"context"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
)

// FindArtifactsFromResourceTask reads a deployed object and offers what it
// runs as artifacts to later stages: each container's image (docker/image)
// and each ConfigMap and Secret its pods use (kubernetes/configMap,
// kubernetes/secret), as Spinnaker's findArtifactsFromResource does.
type FindArtifactsFromResourceTask struct{ env *manifestEnv }

// Name implements Task.
func (FindArtifactsFromResourceTask) Name() string { return "FindArtifactsFromResource" }

// Execute implements Task.
func (t FindArtifactsFromResourceTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cluster, ref, fail := t.env.opTarget(run)
	if fail != nil {
		return *fail, nil
	}
	obj, err := cluster.Get(ctx, ref)
	if err != nil {
		return manifestFailure(ref.String()+" in "+ref.Namespace, err), nil
	}
	artifacts := artifactsOf(obj)
	return stages.Result{
		Status:  model.StatusSucceeded,
		Context: map[string]any{"manifest": trimManifest(obj), "artifacts": artifacts},
		Outputs: map[string]any{"artifacts": artifacts, "manifest": trimManifest(obj)},
	}, nil
}

// artifactsOf lists the images and configuration a workload's pods use.
func artifactsOf(o manifest.Object) []any {
	spec, _ := manifest.Nested(o, "spec", "template", "spec").(map[string]any)
	if manifest.SameKind(o.Kind(), "pod") {
		spec, _ = o["spec"].(map[string]any)
	}
	if spec == nil {
		spec, _ = manifest.Nested(o, "spec", "jobTemplate", "spec", "template", "spec").(map[string]any)
	}
	out := []any{}
	seen := map[string]bool{}
	add := func(typ, name, reference string) {
		if reference == "" || seen[typ+"/"+reference] {
			return
		}
		seen[typ+"/"+reference] = true
		a := map[string]any{"type": typ, "name": name, "reference": reference}
		if typ != "docker/image" {
			a["location"] = o.Namespace()
		}
		out = append(out, a)
	}
	str := func(m any, path ...string) string { s, _ := manifest.Nested(asObject(m), path...).(string); return s }
	for _, list := range []string{"initContainers", "containers"} {
		cs, _ := spec[list].([]any)
		for _, c := range cs {
			image := str(c, "image")
			add("docker/image", imageRepository(image), image)
			envFrom, _ := asObject(c)["envFrom"].([]any)
			for _, ef := range envFrom {
				cm, sec := str(ef, "configMapRef", "name"), str(ef, "secretRef", "name")
				add("kubernetes/configMap", baseOf(cm), cm)
				add("kubernetes/secret", baseOf(sec), sec)
			}
		}
	}
	vols, _ := spec["volumes"].([]any)
	for _, v := range vols {
		cm, sec := str(v, "configMap", "name"), str(v, "secret", "secretName")
		add("kubernetes/configMap", baseOf(cm), cm)
		add("kubernetes/secret", baseOf(sec), sec)
	}
	return out
}

func asObject(v any) map[string]any { m, _ := v.(map[string]any); return m }

// imageRepository is an image reference without its tag or digest.
func imageRepository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// baseOf is a versioned name without its version.
func baseOf(name string) string {
	if name == "" {
		return ""
	}
	return manifest.BaseName(manifest.Object{"metadata": map[string]any{"name": name}})
}
