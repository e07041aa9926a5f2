package k8s_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/deployapi"
	"github.com/gennaker/gennaker/shared/model"
)

// TestDeploymentsAreServerGroupManagersInTheReadAPI reads what is deployed
// through Gate's endpoints: a Deployment's ReplicaSets are server groups of
// the Deployment's cluster, each naming the Deployment as its manager and
// its rollout revision as its sequence, next to a versioned ReplicaSet.
func TestDeploymentsAreServerGroupManagersInTheReadAPI(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "managers")
	e := newEnv(t, []string{ns}, "", "")
	assertStatus(t, e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, "["+webService+","+replicaSet("web:1")+"]"), traffic("redblack"))), model.StatusSucceeded)
	for _, image := range []string{"api:1", "api:2"} {
		assertStatus(t, e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, "["+deployment("api", image, 2, "")+"]"),
			map[string]any{"moniker": map[string]any{"app": "shop", "stack": "prod"}})), model.StatusSucceeded)
	}

	var groups []deployapi.ServerGroup
	e.call("GET", "/applications/shop/serverGroups", nil, &groups)
	var managed []deployapi.ServerGroup
	var web *deployapi.ServerGroup
	for i, g := range groups {
		switch {
		case g.Cluster == "deployment api":
			managed = append(managed, g)
		case g.Name == "web-v000":
			web = &groups[i]
		}
	}
	if web == nil || web.Cluster != "replicaSet web" || len(web.ServerGroupManagers) != 0 || web.InstanceCounts.Up != 2 {
		t.Fatalf("replicaSet web-v000 as a server group: %+v", web)
	}
	if len(managed) != 2 {
		t.Fatalf("server groups of cluster deployment api: %+v (all: %+v)", managed, groups)
	}
	slices.SortFunc(managed, func(a, b deployapi.ServerGroup) int { return *a.Moniker.Sequence - *b.Moniker.Sequence })
	for i, g := range managed {
		want := deployapi.ManagerSummary{Account: "k8s", Location: ns, Name: "api"}
		if !strings.HasPrefix(g.Name, "api-") || g.Region != ns || g.Account != "k8s" || g.CloudProvider != "kubernetes" ||
			len(g.ServerGroupManagers) != 1 || g.ServerGroupManagers[0] != want ||
			g.Moniker.App != "shop" || g.Moniker.Stack != "prod" || g.Moniker.Cluster != "deployment api" || *g.Moniker.Sequence != i+1 {
			t.Fatalf("replicaSet of deployment api, revision %d: %+v", i+1, g)
		}
	}
	if cur, old := managed[1], managed[0]; cur.Capacity.Desired != 2 || cur.InstanceCounts.Up != 2 || old.Capacity.Desired != 0 {
		t.Fatalf("after the rollout: current %+v, previous %+v", cur, old)
	}

	var clusters map[string][]string
	e.call("GET", "/applications/shop/clusters", nil, &clusters)
	if !slices.Equal(clusters["k8s"], []string{"deployment api", "replicaSet web"}) {
		t.Fatalf("clusters = %v", clusters)
	}
	var cluster deployapi.Cluster
	e.call("GET", "/applications/shop/clusters/k8s/"+url.PathEscape("deployment api"), nil, &cluster)
	if len(cluster.ServerGroups) != 2 || cluster.ServerGroups[0].ServerGroupManagers[0].Name != "api" {
		t.Fatalf("cluster deployment api = %+v", cluster)
	}
	var one deployapi.ServerGroup
	e.call("GET", "/serverGroups/k8s/"+ns+"/"+managed[1].Name, nil, &one)
	if len(one.ServerGroupManagers) != 1 || one.Cluster != "deployment api" || *one.Moniker.Sequence != 2 {
		t.Fatalf("serverGroup %s = %+v", managed[1].Name, one)
	}

	var managers []deployapi.ServerGroupManager
	e.call("GET", "/applications/shop/serverGroupManagers", nil, &managers)
	if len(managers) != 1 {
		t.Fatalf("serverGroupManagers = %+v", managers)
	}
	m := managers[0]
	if m.Name != "deployment api" || m.DisplayName != "api" || m.Kind != "deployment" || m.Account != "k8s" || m.Region != ns ||
		m.CloudProvider != "kubernetes" || m.Moniker.Cluster != "deployment api" || m.Moniker.Stack != "prod" || m.CreatedTime == 0 ||
		len(m.ServerGroups) != 2 || m.ServerGroups[0].Name != managed[0].Name || m.ServerGroups[1].Name != managed[1].Name ||
		*m.ServerGroups[1].Moniker.Sequence != 2 {
		t.Fatalf("deployment api as a server group manager: %+v", m)
	}
}
