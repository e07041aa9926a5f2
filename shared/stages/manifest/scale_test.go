package manifest

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestScaleManifestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stage string
		want  []string
	}{
		{"ok", `{"type": "scaleManifest", "account": "k8s", "manifestName": "deployment web", "location": "ns", "replicas": 3}`, nil},
		{"replicas from an evaluated string", `{"type": "scaleManifest", "account": "k8s", "manifestName": "deployment web", "replicas": "3"}`, nil},
		{"replicas by expression", `{"type": "scaleManifest", "account": "k8s", "manifestName": "deployment web", "replicas": "${parameters.n}"}`, nil},
		{"without replicas", `{"type": "scaleManifest", "account": "k8s", "manifestName": "deployment web"}`, []string{"replicas: is required"}},
		{"negative replicas", `{"type": "scaleManifest", "account": "k8s", "manifestName": "deployment web", "replicas": -1}`,
			[]string{"replicas: must not be negative, got -1"}},
		{"replicas in words", `{"type": "scaleManifest", "account": "k8s", "manifestName": "deployment web", "replicas": "three"}`,
			[]string{`replicas: must be a number, not "three"`}},
		{"a bad name", `{"type": "scaleManifest", "account": "k8s", "manifestName": "web", "replicas": 1}`, []string{`is not "<kind> <name>"`}},
	} {
		t.Run(tc.name, func(t *testing.T) { validateStage(t, tc.stage, tc.want...) })
	}
}

func TestScaleManifestSetsTheReplicas(t *testing.T) {
	c := newFakeCluster(webDeployment)
	run := stageRun(t, "scaleManifest", `{"account": "k8s", "manifestName": "deployment web", "location": "shop", "replicas": "5"}`)
	if r := execute(t, registryWith(c), run, "ScaleManifest"); r.Status != model.StatusSucceeded {
		t.Fatalf("ScaleManifest: %s %v", r.Status, stagestest.ErrorsOf(r))
	}
	if want := `deployment/web merge {"spec":{"replicas":5}}`; len(c.patches) != 1 || c.patches[0] != want {
		t.Errorf("patches = %q, want %q", c.patches, want)
	}
	if got := contextJSON(t, run, "scaledTo"); got != "5" {
		t.Errorf("scaledTo = %s, want 5", got)
	}
}
