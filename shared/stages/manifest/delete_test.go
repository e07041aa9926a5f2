package manifest

import (
	"slices"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestDeleteManifestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stage string
		want  []string
	}{
		{"by name", `{"type": "deleteManifest", "account": "k8s", "manifestName": "deployment web"}`, nil},
		{"by label", `{"type": "deleteManifest", "account": "k8s", "kinds": ["configMap"],
		  "labelSelectors": {"selectors": [{"kind": "EQUALS", "key": "app", "values": ["web"]}]}}`, nil},
		{"nothing", `{"type": "deleteManifest", "account": "k8s"}`, []string{"manifestName: is required"}},
		{"a selector without values", `{"type": "deleteManifest", "account": "k8s", "kinds": ["configMap"],
		  "labelSelectors": {"selectors": [{"kind": "EXISTS", "key": "app"}, {"kind": "EQUALS", "key": "app"}]}}`,
			[]string{"labelSelectors.selectors[1].values: needs at least one value"}},
		{"an unknown selector kind", `{"type": "deleteManifest", "account": "k8s", "kinds": ["configMap"],
		  "labelSelectors": {"selectors": [{"kind": "LIKE", "key": "app"}]}}`, []string{`labelSelectors.selectors[0].kind: "LIKE" is not EQUALS`}},
		{"kinds that are not a list", `{"type": "deleteManifest", "account": "k8s", "kinds": "configMap"}`,
			[]string{`kinds: must be a list, not the string "configMap"`, "or kinds and labelSelectors"}},
		{"a name by expression", `{"type": "deleteManifest", "account": "k8s", "manifestName": "${parameters.target}"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { validateStage(t, tc.stage, tc.want...) })
	}
}

func TestDeleteManifestDeletes(t *testing.T) {
	for _, tc := range []struct {
		name, ctx     string
		wantDeleted   []string
		wantSelectors []string
		wantOutput    string
	}{
		{"one object, cascading by default", `{"manifestName": "deployment web", "location": "shop"}`,
			[]string{"deployment/shop/web cascading=true"}, nil, `["deployment web"]`},
		{"orphaning", `{"manifestName": "deployment web", "location": "shop", "options": {"cascading": "false"}}`,
			[]string{"deployment/shop/web cascading=false"}, nil, `["deployment web"]`},
		{"by label", `{"location": "shop", "kinds": ["configMap"], "labelSelectors": {"selectors": [
		  {"kind": "EQUALS", "key": "app", "values": ["web"]}, {"kind": "NOT_CONTAINS", "key": "tier", "values": ["db", "cache"]}, {"kind": "NOT_EXISTS", "key": "keep"}]}}`,
			[]string{"configmap/shop/settings cascading=true"}, []string{"app=web,tier notin (db,cache),!keep"}, `["configMap settings"]`},
		{"already gone", `{"manifestName": "deployment gone", "location": "shop"}`,
			[]string{"deployment/shop/gone cascading=true"}, nil, `["deployment gone"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster(webDeployment, `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}}`)
			run := stageRun(t, "deleteManifest", tc.ctx)
			run.Stage.Context["account"] = "k8s"
			r := execute(t, registryWith(c), run, "DeleteManifest")
			if r.Status != model.StatusSucceeded {
				t.Fatalf("DeleteManifest: %s %v", r.Status, stagestest.ErrorsOf(r))
			}
			if !slices.Equal(c.deleted, tc.wantDeleted) {
				t.Errorf("deleted %q, want %q", c.deleted, tc.wantDeleted)
			}
			if tc.wantSelectors != nil && !slices.Equal(c.selectors, tc.wantSelectors) {
				t.Errorf("listed with selectors %q, want %q", c.selectors, tc.wantSelectors)
			}
			if got := contextJSON(t, run, "manifest.deleted"); got != tc.wantOutput {
				t.Errorf("manifest.deleted = %s, want %s", got, tc.wantOutput)
			}
		})
	}
}
