package manifest

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestPatchManifestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stage string
		want  []string
	}{
		{"ok", `{"type": "patchManifest", "account": "k8s", "manifestName": "deployment web",
		  "patchBody": [{"op": "add", "path": "/metadata/labels/a", "value": "b"}], "options": {"mergeStrategy": "json"}}`, nil},
		{"json with an object", `{"type": "patchManifest", "account": "k8s", "manifestName": "deployment web",
		  "patchBody": {"metadata": {}}, "options": {"mergeStrategy": "json"}}`, []string{"patchBody: a json patch is a list"}},
		{"no body", `{"type": "patchManifest", "account": "k8s", "manifestName": "deployment web"}`, []string{"patchBody: is required"}},
		{"an unknown strategy", `{"type": "patchManifest", "account": "k8s", "manifestName": "deployment web",
		  "patchBody": {}, "options": {"mergeStrategy": "replace"}}`, []string{`options.mergeStrategy: "replace" is not strategic, json or merge`}},
		{"a body by expression", `{"type": "patchManifest", "account": "k8s", "manifestName": "deployment web", "patchBody": "${parameters.patch}"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { validateStage(t, tc.stage, tc.want...) })
	}
}

func TestPatchManifestAppliesThePatch(t *testing.T) {
	for _, tc := range []struct {
		name, ctx, want string
	}{
		{"strategic by default, from a list of one", `{"patchBody": [{"metadata": {"labels": {"a": ""}}}]}`,
			`deployment/web strategic {"metadata":{"labels":{"a":""}}}`},
		{"merge", `{"patchBody": {"spec": {"paused": true}}, "options": {"mergeStrategy": "Merge"}}`,
			`deployment/web merge {"spec":{"paused":true}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(webDeployment)
			run := stageRun(t, "patchManifest", tc.ctx)
			for k, v := range map[string]string{"account": "k8s", "manifestName": "deployment web", "location": "shop"} {
				run.Stage.Context[k] = v
			}
			if r := execute(t, registryWith(c), run, "PatchManifest"); r.Status != model.StatusSucceeded {
				t.Fatalf("PatchManifest: %s %v", r.Status, stagestest.ErrorsOf(r))
			}
			if len(c.patches) != 1 || c.patches[0] != tc.want {
				t.Errorf("patches = %q, want %q", c.patches, tc.want)
			}
		})
	}
}
