package manifest

import (
	"slices"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

// replicaSetVersion is version v of ReplicaSet web of cluster "replicaSet
// web", created at second v.
func replicaSetVersion(v string) string {
	return `{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-` + v + `", "namespace": "shop",
	  "creationTimestamp": "2025-01-01T00:00:0` + v[len(v)-1:] + `Z",
	  "annotations": {"moniker.spinnaker.io/cluster": "replicaSet web", "moniker.spinnaker.io/application": "shop"}}}`
}

func TestDeleteOldManifestsDeletesTheOlderVersions(t *testing.T) {
	c := newFakeCluster(replicaSetVersion("v000"), replicaSetVersion("v001"), replicaSetVersion("v002"))
	run := stageRun(t, "deployManifest", `{"account": "k8s", "manifestRefs": [
	  {"kind": "ReplicaSet", "namespace": "shop", "name": "web-v002"}, {"kind": "Service", "namespace": "shop", "name": "web"}]}`)
	r := execute(t, registryWith(c), run, "DeleteOldManifests")
	if r.Status != model.StatusSucceeded {
		t.Fatalf("DeleteOldManifests: %s %v", r.Status, stagestest.ErrorsOf(r))
	}
	if want := []string{"replicaset/shop/web-v000 cascading=true", "replicaset/shop/web-v001 cascading=true"}; !slices.Equal(c.deleted, want) {
		t.Errorf("deleted %q, want %q", c.deleted, want)
	}
	if got := contextJSON(t, run, "deletedManifests"); got != `["replicaSet web-v000","replicaSet web-v001"]` {
		t.Errorf("deletedManifests = %s", got)
	}
}

func TestDisableOldManifestsLeavesWhatNoLoadBalancerSelects(t *testing.T) {
	// No older version names a load balancer: there is nothing to take out
	// of service, and nothing is patched.
	c := newFakeCluster(replicaSetVersion("v000"), replicaSetVersion("v001"))
	run := stageRun(t, "deployManifest", `{"account": "k8s", "manifestRefs": [{"kind": "ReplicaSet", "namespace": "shop", "name": "web-v001"}]}`)
	r := execute(t, registryWith(c), run, "DisableOldManifests")
	if r.Status != model.StatusSucceeded || len(c.patches) != 0 {
		t.Fatalf("DisableOldManifests: %s %v, patches %q", r.Status, stagestest.ErrorsOf(r), c.patches)
	}
	if got := contextJSON(t, run, "disabledManifests"); got != "null" {
		t.Errorf("disabledManifests = %s, want null", got)
	}
}
