package manifest

import (
	"context"
	"strings"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// FindArtifactsFromResourceTask reads a deployed object and offers what it
// runs as artifacts to later stages: each container's image (docker/image)
// and each ConfigMap and Secret its pods use (kubernetes/configMap,
// kubernetes/secret), as Spinnaker's findArtifactsFromResource does. The
// stage's configuration is its target alone.
type FindArtifactsFromResourceTask struct{ env *manifestEnv }

// Name implements Task.
func (FindArtifactsFromResourceTask) Name() string { return "FindArtifactsFromResource" }

// foundArtifacts is what FindArtifactsFromResource records and offers
// later stages.
type foundArtifacts struct {
	Manifest  manifest.Object  `json:"manifest"`
	Artifacts []model.Artifact `json:"artifacts"`
}

// Execute implements Task.
func (t FindArtifactsFromResourceTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	_, op, err := opTarget[*targetConfig](t.env, run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	obj, err := op.cluster.Get(ctx, op.ref)
	if err != nil {
		return manifestFailure(op.ref.String()+" in "+op.ref.Namespace, err), nil
	}
	found := foundArtifacts{Manifest: trimManifest(obj), Artifacts: artifactsOf(obj)}
	return succeeded(found, found), nil
}

// podSpec is the part of a pod spec that names what the pods run. The
// manifest itself stays free-form; only this part is read typed.
type podSpec struct {
	InitContainers []container `json:"initContainers"`
	Containers     []container `json:"containers"`
	Volumes        []struct {
		ConfigMap struct {
			Name string `json:"name"`
		} `json:"configMap"`
		Secret struct {
			SecretName string `json:"secretName"`
		} `json:"secret"`
	} `json:"volumes"`
}

type container struct {
	Image   string `json:"image"`
	EnvFrom []struct {
		ConfigMapRef struct {
			Name string `json:"name"`
		} `json:"configMapRef"`
		SecretRef struct {
			Name string `json:"name"`
		} `json:"secretRef"`
	} `json:"envFrom"`
}

// podSpecOf finds the pod spec of a pod, of a workload's pod template or of
// a CronJob's job template.
func podSpecOf(o manifest.Object) podSpec {
	var raw any
	switch {
	case manifest.SameKind(o.Kind(), "pod"):
		raw = o["spec"]
	case manifest.Nested(o, "spec", "template", "spec") != nil:
		raw = manifest.Nested(o, "spec", "template", "spec")
	default:
		raw = manifest.Nested(o, "spec", "jobTemplate", "spec", "template", "spec")
	}
	var spec podSpec
	if m, ok := raw.(map[string]any); ok {
		// What does not fit is not an artifact; the API server accepted the
		// object, so there is nothing to report.
		_ = stages.Decode(m, &spec)
	}
	return spec
}

// artifactsOf lists the images and configuration a workload's pods use.
func artifactsOf(o manifest.Object) []model.Artifact {
	spec := podSpecOf(o)
	out := []model.Artifact{}
	seen := map[string]bool{}
	add := func(typ, name, reference string) {
		if reference == "" || seen[typ+"/"+reference] {
			return
		}
		seen[typ+"/"+reference] = true
		a := model.Artifact{Type: typ, Name: name, Reference: reference}
		if typ != "docker/image" {
			a.Location = o.Namespace()
		}
		out = append(out, a)
	}
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		add("docker/image", imageRepository(c.Image), c.Image)
		for _, ef := range c.EnvFrom {
			add("kubernetes/configMap", baseOf(ef.ConfigMapRef.Name), ef.ConfigMapRef.Name)
			add("kubernetes/secret", baseOf(ef.SecretRef.Name), ef.SecretRef.Name)
		}
	}
	for _, v := range spec.Volumes {
		add("kubernetes/configMap", baseOf(v.ConfigMap.Name), v.ConfigMap.Name)
		add("kubernetes/secret", baseOf(v.Secret.SecretName), v.Secret.SecretName)
	}
	return out
}

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
