package manifest

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestWaitForManifestStable(t *testing.T) {
	const (
		ready   = `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "generation": 2}, "spec": {"replicas": 1}, "status": {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}}`
		rolling = `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "generation": 2}, "spec": {"replicas": 3}, "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 1, "readyReplicas": 1}}`
		stuck   = `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "generation": 2}, "spec": {"replicas": 3}, "status": {"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"web-1\" has timed out progressing."}]}}`
		refs    = `{"account": "k8s", "manifestRefs": [{"kind": "deployment", "namespace": "shop", "name": "web"}]}`
	)
	for _, tc := range []struct {
		name, typ, obj string
		status         model.Status
		want           []string
		stable         string
	}{
		{"ready after a deploy", "deployManifest", ready, model.StatusSucceeded, nil, `["deployment web"]`},
		{"ready after a scale", "scaleManifest", ready, model.StatusSucceeded, nil, `["deployment web"]`},
		{"rolling out", "patchManifest", rolling, model.StatusRunning, nil, "null"},
		{"past its progress deadline", "undoRolloutManifest", stuck, model.StatusTerminal, []string{"deployment web in shop failed", "timed out progressing"}, "null"},
		{"gone", "rollingRestartManifest", "", model.StatusTerminal, []string{"deployment web in shop", "not found"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster()
			if tc.obj != "" {
				c = newFakeCluster(tc.obj)
			}
			run := stageRun(t, tc.typ, refs)
			r := execute(t, registryWith(c), run, "WaitForManifestStable")
			if tc.want != nil {
				stagestest.CheckFailure(t, r, tc.status, tc.want...)
			} else if r.Status != tc.status {
				t.Fatalf("status %s, want %s (%v)", r.Status, tc.status, stagestest.ErrorsOf(r))
			}
			if tc.stable != "" {
				if got := contextJSON(t, run, "stableManifests"); got != tc.stable {
					t.Errorf("stableManifests = %s, want %s", got, tc.stable)
				}
			}
			if tc.status == model.StatusRunning && contextJSON(t, run, "messages") == "null" {
				t.Errorf("a waiting stage does not say what it waits for")
			}
			if tc.status == model.StatusSucceeded && contextJSON(t, run, "messages") != "null" {
				t.Errorf("a stable stage still says it waits: %s", contextJSON(t, run, "messages"))
			}
		})
	}
}
