package manifest

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

// servingCluster is cluster "replicaSet web" of application shop in
// namespace shop: one ReplicaSet behind Service web, with its one pod up.
func servingCluster() *fakeCluster {
	return newFakeCluster(
		`{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"app": "web"}}}`,
		`{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-v000", "namespace": "shop", "annotations": {
		   "moniker.spinnaker.io/cluster": "replicaSet web", "moniker.spinnaker.io/application": "shop",
		   "traffic.spinnaker.io/load-balancers": "[\"service web\"]"}},
		  "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "web"}}}}}`,
		`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-v000-a", "namespace": "shop",
		   "ownerReferences": [{"kind": "ReplicaSet", "name": "web-v000", "controller": true}]},
		  "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}`)
}

func TestTrafficGuardsRefuseToTakeTheLastServerGroupOutOfService(t *testing.T) {
	st, err := embedded.Open(t.TempDir() + "/g.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	enabled := true
	if err := st.Applications().Put(t.Context(), &model.Application{Name: "shop",
		TrafficGuards: []model.TrafficGuard{{Account: "k8s", Location: "shop", Enabled: &enabled}}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, typ, task, ctx, refusal string
	}{
		{"disable", "disableManifest", "DisableManifest", `{"manifestName": "replicaSet web-v000"}`, "refuses to disable replicaSet web-v000"},
		{"scale to 0", "scaleManifest", "ScaleManifest", `{"manifestName": "replicaSet web-v000", "replicas": 0}`, "refuses to scale to 0 replicaSet web-v000"},
		{"delete", "deleteManifest", "DeleteManifest", `{"manifestName": "replicaSet web-v000"}`, "refuses to delete replicaSet web-v000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, guarded := range []bool{true, false} {
				c := servingCluster()
				run := stageRun(t, tc.typ, tc.ctx)
				run.Stage.Context["account"], run.Stage.Context["location"] = "k8s", "shop"
				if guarded {
					run.Services = &stages.Services{Store: st}
				}
				r := execute(t, registryWith(c), run, tc.task)
				if !guarded {
					if r.Status != model.StatusSucceeded {
						t.Fatalf("unguarded %s: %s %v", tc.name, r.Status, stagestest.ErrorsOf(r))
					}
					continue
				}
				stagestest.CheckFailure(t, r, model.StatusTerminal, "traffic guard", tc.refusal)
				if len(c.patches) != 0 || len(c.deleted) != 0 {
					t.Errorf("a refused %s still patched %q and deleted %q", tc.name, c.patches, c.deleted)
				}
			}
		})
	}
}
