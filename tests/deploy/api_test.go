package deploy_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gennaker/gennaker/shared/deployapi"
	"github.com/gennaker/gennaker/shared/model"
)

func TestReadAPIAnswersAsGate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	assertStatus(t, e.run(deployStage("v1", "redblack", 2, "", "")), model.StatusSucceeded)
	assertStatus(t, e.run(deployStage("v2", "redblack", 1, "", "")), model.StatusSucceeded)
	srv := httptest.NewServer(deployapi.New(e.rt.Providers, nil))
	defer srv.Close()
	get := func(path string, v any) int {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode
	}

	var groups []deployapi.ServerGroup
	if get("/applications/hello/serverGroups", &groups) != 200 || len(groups) != 2 {
		t.Fatalf("serverGroups = %+v", groups)
	}
	old, cur := groups[0], groups[1]
	if old.Name != "hello-prod-v000" || !old.IsDisabled || cur.IsDisabled || cur.Cluster != "hello-prod" ||
		cur.InstanceCounts.Up != 1 || old.InstanceCounts.OutOfService != 2 || cur.Capacity.Desired != 1 ||
		cur.Moniker.Sequence == nil || *cur.Moniker.Sequence != 1 || cur.Moniker.Stack != "prod" ||
		cur.BuildInfo["version"] != "v2" || cur.Provenance.User != "tester" || cur.Provenance.ExecutionID == "" || cur.CreatedTime == 0 {
		t.Fatalf("server groups not in Gate's shape:\n%+v\n%+v", old, cur)
	}

	var clusters map[string][]string
	if get("/applications/hello/clusters", &clusters) != 200 || len(clusters["local"]) != 1 || clusters["local"][0] != "hello-prod" {
		t.Fatalf("clusters = %v", clusters)
	}
	var cluster deployapi.Cluster
	if get("/applications/hello/clusters/local/hello-prod", &cluster) != 200 || len(cluster.ServerGroups) != 2 || cluster.LoadBalancers[0] != "hello-lb" {
		t.Fatalf("cluster = %+v", cluster)
	}
	var missing map[string]any
	if code := get("/applications/hello/clusters/local/hello-test", &missing); code != 404 {
		t.Fatalf("a missing cluster answered %d %v", code, missing)
	}
	var one deployapi.ServerGroup
	if get("/serverGroups/local/local/hello-prod-v001", &one) != 200 || one.Name != "hello-prod-v001" || len(one.Instances) != 1 {
		t.Fatalf("serverGroup = %+v", one)
	}
	var lbs []deployapi.LoadBalancer
	if get("/applications/hello/loadBalancers", &lbs) != 200 || len(lbs) != 1 || lbs[0].Name != "hello-lb" || len(lbs[0].ServerGroups) != 2 || lbs[0].URL != e.lb {
		t.Fatalf("loadBalancers = %+v", lbs)
	}
}
