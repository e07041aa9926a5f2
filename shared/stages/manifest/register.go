// Package manifest holds Spinnaker's Kubernetes manifest stage types:
// deploying, deleting, scaling, patching, rolling back, restarting,
// enabling and disabling manifests, finding the artifacts a workload runs,
// and running Jobs. Each stage type decodes its context once into its own
// configuration (the orchestrator hands it to the tasks as Run.Config) and
// acts on an account's manifest.Cluster.
package manifest

import (
	"errors"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
)

// ClusterResolver finds the Kubernetes cluster an account names.
type ClusterResolver func(run *stages.Run, account string) (manifest.Cluster, error)

// RegisterManifests registers Spinnaker's Kubernetes manifest stage types:
// deployManifest, deleteManifest, scaleManifest, patchManifest,
// undoRolloutManifest, rollingRestartManifest, enableManifest,
// disableManifest, findArtifactsFromResource and runJob. Their accounts are
// found among the run's providers (Services.Providers), whose Kubernetes
// clouds serve Manifests.
func RegisterManifests(r *stages.Registry) { RegisterManifestsWith(r, nil) }

// RegisterManifestsWith registers the manifest stage types with their own
// way of finding an account's cluster; nil means the run's providers.
func RegisterManifestsWith(r *stages.Registry, clusters ClusterResolver) {
	env := &manifestEnv{clusters: clusters}
	r.Register(DeployManifestStage{})
	r.Register(DeleteManifestStage{})
	r.Register(opStage{typ: "scaleManifest", task: ScaleManifestTask{}.Name(), newConfig: newScaleConfig})
	r.Register(opStage{typ: "patchManifest", task: PatchManifestTask{}.Name(), newConfig: newPatchConfig})
	r.Register(opStage{typ: "undoRolloutManifest", task: UndoRolloutManifestTask{}.Name(), newConfig: newUndoConfig})
	r.Register(opStage{typ: "rollingRestartManifest", task: RollingRestartManifestTask{}.Name(), newConfig: newTarget})
	r.Register(opStage{typ: "enableManifest", task: EnableManifestTask{}.Name(), noWait: true, newConfig: newTarget})
	r.Register(opStage{typ: "disableManifest", task: DisableManifestTask{}.Name(), noWait: true, newConfig: newTarget})
	r.Register(opStage{typ: "findArtifactsFromResource", task: FindArtifactsFromResourceTask{}.Name(), noWait: true, newConfig: newTarget})
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
