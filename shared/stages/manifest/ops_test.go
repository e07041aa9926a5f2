package manifest

import (
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

// webDeployment is a Deployment the one-object stages act on.
const webDeployment = `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}`

func TestOneObjectStagesValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stage string
		want  []string
	}{
		{"restart ok", `{"type": "rollingRestartManifest", "account": "k8s", "manifestName": "deployment web", "location": "shop"}`, nil},
		{"restart nothing", `{"type": "rollingRestartManifest", "account": "k8s"}`, []string{`manifestName: is required (such as "deployment my-app")`}},
		{"enable a bad name", `{"type": "enableManifest", "account": "k8s", "manifestName": "web"}`, []string{`manifestName: "web" is not "<kind> <name>"`}},
		{"disable in another cloud", `{"type": "disableManifest", "credentials": "k8s", "cloudProvider": "aws", "manifestName": "replicaSet web-v000"}`,
			[]string{`cloudProvider: manifest stages deploy to kubernetes, not "aws"`}},
		{"find artifacts with expressions", `{"type": "findArtifactsFromResource", "account": "${parameters.account}", "manifestName": "${parameters.target}"}`, nil},
		{"a location that is a list", `{"type": "findArtifactsFromResource", "account": "k8s", "manifestName": "deployment web", "location": []}`,
			[]string{"location: must be a string, not a list"}},
	} {
		t.Run(tc.name, func(t *testing.T) { validateStage(t, tc.stage, tc.want...) })
	}
}

func TestRollingRestartManifestPatchesTheTemplate(t *testing.T) {
	c := newFakeCluster(webDeployment)
	run := stageRun(t, "rollingRestartManifest", `{"account": "k8s", "manifestName": "deployment web", "location": "shop"}`)
	if r := execute(t, registryWith(c), run, "RollingRestartManifest"); r.Status != model.StatusSucceeded {
		t.Fatalf("RollingRestartManifest: %s %v", r.Status, stagestest.ErrorsOf(r))
	}
	if len(c.patches) != 1 || !strings.Contains(c.patches[0], `"kubectl.kubernetes.io/restartedAt":"2025-03-10T12:00:00Z"`) {
		t.Errorf("patches = %q, want the restart annotation", c.patches)
	}
	if got := contextJSON(t, run, "manifestRefs"); got != `[{"kind":"deployment","name":"web","namespace":"shop"}]` {
		t.Errorf("manifestRefs = %s", got)
	}
}

func TestOneObjectTasksFailNamingWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		name, typ, task, ctx string
		want                 []string
	}{
		{"no account", "rollingRestartManifest", "RollingRestartManifest", `{"manifestName": "deployment web"}`,
			[]string{"account: is required"}},
		{"unknown account", "enableManifest", "EnableManifest", `{"account": "nope", "manifestName": "replicaSet web-v000"}`,
			[]string{`unknown account "nope"`}},
		{"missing object", "findArtifactsFromResource", "FindArtifactsFromResource", `{"account": "k8s", "manifestName": "deployment gone"}`,
			[]string{"deployment gone in default", "not found"}},
		{"a kind that does not restart", "rollingRestartManifest", "RollingRestartManifest", `{"account": "k8s", "manifestName": "configMap c"}`,
			[]string{"only deployments, statefulSets and daemonSets can be restarted"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := execute(t, registryWith(newFakeCluster()), stageRun(t, tc.typ, tc.ctx), tc.task)
			stagestest.CheckFailure(t, r, model.StatusTerminal, tc.want...)
		})
	}
}

func TestOneObjectStagesPlan(t *testing.T) {
	reg := registryWith(nil)
	for typ, want := range map[string]string{
		"scaleManifest":             "ScaleManifest WaitForManifestStable",
		"patchManifest":             "PatchManifest WaitForManifestStable",
		"undoRolloutManifest":       "UndoRolloutManifest WaitForManifestStable",
		"rollingRestartManifest":    "RollingRestartManifest WaitForManifestStable",
		"enableManifest":            "EnableManifest",
		"disableManifest":           "DisableManifest",
		"findArtifactsFromResource": "FindArtifactsFromResource",
	} {
		def, err := reg.Definition(typ)
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := def.Plan(&model.StageExecution{})
		if err != nil || strings.Join(tasks, " ") != want {
			t.Errorf("%s plans %v (%v), want %s", typ, tasks, err, want)
		}
	}
}
