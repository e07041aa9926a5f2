package manifest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// WaitForManifestStableTask polls the objects the stage acted on until every
// one is stable by its kind's rule, failing when one reports that it failed
// (a Deployment past its progress deadline, a failed Job). Deploy, scale,
// patch, undo and restart stages plan it after the task that recorded the
// objects.
type WaitForManifestStableTask struct{ env *manifestEnv }

// Name implements Task.
func (WaitForManifestStableTask) Name() string { return "WaitForManifestStable" }

// Timeout is Spinnaker's 30 minutes unless the stage sets stageTimeoutMs.
func (WaitForManifestStableTask) Timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, 30*time.Minute)
}

// stability is what WaitForManifestStable records after each poll: what is
// stable, and what the others wait for (null once nothing waits).
type stability struct {
	StableManifests []string `json:"stableManifests"`
	Messages        []string `json:"messages"`
}

// instability is what WaitForManifestStable records when an object failed.
type instability struct {
	StableManifests []string `json:"stableManifests"`
	FailedManifests []string `json:"failedManifests"`
}

// Execute implements Task.
func (t WaitForManifestStableTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	cfg, err := stages.ConfigOf[stageState](run)
	if err != nil {
		return stages.Result{}, err
	}
	account, err := cfg.config().account()
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	cluster, err := t.env.cluster(run, account)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	var st stability
	for _, ref := range cfg.recorded().ManifestRefs {
		obj, err := cluster.Get(ctx, ref)
		if err != nil {
			if ctx.Err() != nil {
				return stages.Result{}, ctx.Err()
			}
			if manifest.IsNotFound(err) || errors.Is(err, manifest.ErrForbiddenNamespace) || errors.Is(err, manifest.ErrUnknownKind) {
				return stages.Failed("%s in %s: %v", ref, ref.Namespace, err), nil
			}
			// The cluster may be briefly unreachable; the timeout bounds it.
			st.Messages = append(st.Messages, fmt.Sprintf("%s: %v", ref, err))
			continue
		}
		status := manifest.StatusOf(obj)
		switch {
		case status.Failed:
			failed := stages.Record(instability{StableManifests: st.StableManifests, FailedManifests: []string{ref.String()}})
			return stages.FailedWith(failed, "%s in %s failed: %s", ref, ref.Namespace, status.Message), nil
		case status.Stable:
			st.StableManifests = append(st.StableManifests, ref.String())
		default:
			st.Messages = append(st.Messages, fmt.Sprintf("%s: %s", ref, status.Message))
		}
	}
	r := succeeded(st, nil)
	if len(st.Messages) == 0 {
		return r, nil
	}
	r.Status, r.Backoff = model.StatusRunning, pollBackoff(run, t.Name())
	return r, nil
}

var _ stages.TimeoutTask = WaitForManifestStableTask{}
