package manifest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
)

// ClusterResolver finds the Kubernetes cluster an account names.
type ClusterResolver func(run *stages.Run, account string) (manifest.Cluster, error)

// RegisterManifests registers Spinnaker's Kubernetes manifest stage types:
// deployManifest, deleteManifest, scaleManifest, patchManifest,
// undoRolloutManifest, rollingRestartManifest, enableManifest,
// disableManifest, findArtifactsFromResource and runJob. Their accounts are found among the run's
// providers (Services.Providers), whose Kubernetes clouds serve Manifests.
func RegisterManifests(r *stages.Registry) { RegisterManifestsWith(r, nil) }

// RegisterManifestsWith registers the manifest stage types with their own
// way of finding an account's cluster; nil means the run's providers.
func RegisterManifestsWith(r *stages.Registry, clusters ClusterResolver) {
	env := &manifestEnv{clusters: clusters}
	r.Register(DeployManifestStage{})
	r.Register(DeleteManifestStage{})
	r.Register(manifestOpStage{typ: "scaleManifest", task: ScaleManifestTask{env}.Name(), validate: validateScale})
	r.Register(manifestOpStage{typ: "patchManifest", task: PatchManifestTask{env}.Name(), validate: validatePatch})
	r.Register(manifestOpStage{typ: "undoRolloutManifest", task: UndoRolloutManifestTask{env}.Name(), validate: validateUndo})
	r.Register(manifestOpStage{typ: "rollingRestartManifest", task: RollingRestartManifestTask{env}.Name()})
	r.Register(manifestOpStage{typ: "enableManifest", task: EnableManifestTask{env}.Name(), noWait: true})
	r.Register(manifestOpStage{typ: "disableManifest", task: DisableManifestTask{env}.Name(), noWait: true})
	r.Register(manifestOpStage{typ: "findArtifactsFromResource", task: FindArtifactsFromResourceTask{env}.Name(), noWait: true})
	r.Register(RunJobStage{})
	for _, t := range []stages.Task{
		DeployManifestTask{env}, WaitForManifestStableTask{env},
		DisableOldManifestsTask{env}, DeleteOldManifestsTask{env},
		DeleteManifestTask{env}, ScaleManifestTask{env}, PatchManifestTask{env},
		UndoRolloutManifestTask{env}, RollingRestartManifestTask{env},
		EnableManifestTask{env}, DisableManifestTask{env},
		FindArtifactsFromResourceTask{env},
		RunJobTask{env}, WaitOnJobCompletionTask{env},
	} {
		r.RegisterTask(t)
	}
}

// manifestEnv is what the manifest tasks share.
type manifestEnv struct {
	clusters ClusterResolver
}

// cluster finds the account's cluster: through the resolver when one was
// given, else through the run's providers.
func (e *manifestEnv) cluster(run *stages.Run, account string) (manifest.Cluster, error) {
	if e != nil && e.clusters != nil {
		return e.clusters(run, account)
	}
	if run.Services == nil || run.Services.Providers == nil {
		return nil, errors.New("no deployment accounts are configured")
	}
	return run.Services.Providers.Manifests(account, "kubernetes")
}

// Context keys the manifest tasks share.
const (
	// manifestRefsKey lists the objects a stage acted on
	// ([{kind, namespace, name}]), for WaitForManifestStable.
	manifestRefsKey = "manifestRefs"
	// manifestNamesKey is Spinnaker's manifestNamesByNamespace.
	manifestNamesKey = "manifestNamesByNamespace"
)

// manifestAccount reads account (Spinnaker also writes credentials) and
// checks cloudProvider.
func manifestAccount(ctx map[string]any) (string, error) {
	if cp, _, err := stages.String(ctx, "cloudProvider"); err != nil {
		return "", err
	} else if cp != "" && cp != "kubernetes" {
		return "", fmt.Errorf("cloudProvider: manifest stages deploy to kubernetes, not %q", cp)
	}
	for _, key := range []string{"account", "credentials"} {
		a, ok, err := stages.String(ctx, key)
		if err != nil {
			return "", err
		}
		if ok {
			return a, nil
		}
	}
	return "", errors.New("account is required (the Kubernetes account to act in)")
}

// validateManifestAccount records a problem with account or cloudProvider.
func validateManifestAccount(cfg map[string]any, p *stages.Problems) {
	if stages.IsExpression(cfg["account"]) || stages.IsExpression(cfg["credentials"]) {
		return
	}
	if _, err := manifestAccount(cfg); err != nil {
		p.AddErr(err)
	}
}

// targetRef reads the object a stage acts on: manifestName ("deployment
// my-app") in location (the namespace).
func targetRef(ctx map[string]any) (manifest.Ref, error) {
	name, ok, err := stages.String(ctx, "manifestName")
	if err != nil {
		return manifest.Ref{}, err
	}
	if !ok {
		return manifest.Ref{}, errors.New("manifestName is required (such as \"deployment my-app\")")
	}
	ns, _, err := stages.String(ctx, "location")
	if err != nil {
		return manifest.Ref{}, err
	}
	return manifest.ParseRef(name, ns)
}

// refsContext records the objects acted on, in Spinnaker's shape and ours.
func refsContext(refs []manifest.Ref) map[string]any {
	byNS := map[string]any{}
	list := make([]any, 0, len(refs))
	for _, r := range refs {
		names, _ := byNS[r.Namespace].([]any)
		byNS[r.Namespace] = append(names, r.String())
		list = append(list, map[string]any{"kind": r.Kind, "namespace": r.Namespace, "name": r.Name})
	}
	return map[string]any{manifestRefsKey: list, manifestNamesKey: byNS}
}

func refsFromContext(ctx map[string]any) ([]manifest.Ref, error) {
	var refs []manifest.Ref
	if _, err := stages.DecodeField(ctx, manifestRefsKey, &refs); err != nil {
		return nil, err
	}
	return refs, nil
}

// manifestFailure fails the task with what the cluster said, naming the
// object.
func manifestFailure(what string, err error) stages.Result {
	msg := err.Error()
	if what != "" && !strings.Contains(msg, what) {
		msg = what + ": " + msg
	}
	return stages.Failed("%s", msg)
}

// pollBackoff polls every 2 s for the first half minute, then every 5 s.
func pollBackoff(run *stages.Run, task string) time.Duration {
	start, err := stages.TaskStart(run, task)
	if err == nil && run.Now.Sub(start) > 30*time.Second {
		return 5 * time.Second
	}
	return 2 * time.Second
}

// manifestOpStage is a stage that does one thing to one object and, unless
// noWait, waits until it is stable again.
type manifestOpStage struct {
	typ      string
	task     string
	noWait   bool
	validate func(cfg map[string]any, p *stages.Problems)
}

// Type implements Definition.
func (s manifestOpStage) Type() string { return s.typ }

// Validate checks account and manifestName, and the stage's own fields.
func (s manifestOpStage) Validate(st *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(st, &p)
	validateManifestAccount(cfg, &p)
	if !stages.IsExpression(cfg["manifestName"]) {
		if _, err := targetRef(cfg); err != nil {
			p.AddErr(err)
		}
	}
	if s.validate != nil {
		s.validate(cfg, &p)
	}
	return p
}

// Plan implements Definition.
func (s manifestOpStage) Plan(*model.StageExecution) ([]string, error) {
	if s.noWait {
		return []string{s.task}, nil
	}
	return []string{s.task, WaitForManifestStableTask{}.Name()}, nil
}
