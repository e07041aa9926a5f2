package manifest

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
)

func TestUndoRolloutManifestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stage string
		want  []string
	}{
		{"ok", `{"type": "undoRolloutManifest", "account": "k8s", "manifestName": "deployment web", "numRevisionsBack": 2}`, nil},
		{"one revision by default", `{"type": "undoRolloutManifest", "account": "k8s", "manifestName": "deployment web"}`, nil},
		{"zero revisions", `{"type": "undoRolloutManifest", "account": "k8s", "manifestName": "deployment web", "numRevisionsBack": 0}`,
			[]string{"numRevisionsBack: must be at least 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) { validateStage(t, tc.stage, tc.want...) })
	}
}

func TestUndoRolloutManifestRetriedGoesNoFurther(t *testing.T) {
	// The first attempt went back to revision 4; the retry must not roll
	// back again, so it does not touch the cluster at all.
	c := newFakeCluster(webDeployment)
	run := stageRun(t, "undoRolloutManifest", `{"account": "k8s", "manifestName": "deployment web", "location": "shop", "undoneToRevision": 4}`)
	r := execute(t, registryWith(c), run, "UndoRolloutManifest")
	if r.Status != model.StatusSucceeded || len(c.patches) != 0 {
		t.Fatalf("a retried undo: %s, patches %q", r.Status, c.patches)
	}
	if got := contextJSON(t, run, "undoneToRevision"); got != "4" {
		t.Errorf("undoneToRevision = %s, want 4", got)
	}
}
