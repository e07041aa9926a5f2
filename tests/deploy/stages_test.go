package deploy_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
)

// The server group and cluster stages, each run on real hello processes
// behind the real load balancer, asserting what a user sees afterwards:
// which server groups exist, which serve, at what capacity, and which
// version answers through the load balancer.

// onCluster is a stage of type typ acting on the hello-prod cluster, with
// extra fields as JSON members (`, "target": "current_asg_dynamic"`).
func onCluster(typ, extra string) string {
	return fmt.Sprintf(`{"refId": "s", "type": %q, "name": %q, "cloudProvider": "local",
	  "credentials": "local", "regions": ["local"], "cluster": "hello-prod"%s}`, typ, typ, extra)
}

// deployAll deploys each version in turn with strategy, one instance each
// unless sizes says otherwise.
func (e *env) deployAll(strategy string, versions []string, sizes ...int) {
	e.t.Helper()
	for i, v := range versions {
		n := 1
		if i < len(sizes) {
			n = sizes[i]
		}
		assertStatus(e.t, e.run(deployStage(v, strategy, n, "", "")), model.StatusSucceeded)
	}
}

// group returns the server group whose name ends with suffix ("v000").
func (e *env) group(suffix string) *providers.ServerGroup {
	e.t.Helper()
	for _, g := range e.groups() {
		if strings.HasSuffix(g.Name, "-"+suffix) {
			return &g
		}
	}
	e.t.Fatalf("no server group %s; the cluster is %s", suffix, e.state())
	return nil
}

// answersDirectly asks an instance itself, not the load balancer, which
// version it runs; "" when it does not answer.
func answersDirectly(addr string) string {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		return ""
	}
	resp.Body.Close()
	return resp.Header.Get("X-Version")
}

// eventually polls cond every 20 ms for at most limit.
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func assertState(t testing.TB, e *env, what, want string) {
	t.Helper()
	if got := e.state(); got != want {
		t.Fatalf("cluster %s = %s, want %s", what, got, want)
	}
}

// assertServes asks the load balancer n times and wants only version.
func assertServes(t testing.TB, url string, version string) {
	t.Helper()
	if got := versionsNow(t, url, 10); got[version] != 10 {
		t.Fatalf("the load balancer served %v, want only %s", got, version)
	}
}

func TestCloneServerGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("redblack", []string{"v1"}, 2)
	tr := startTraffic(e.lb)
	ex := e.run(`{"refId": "c", "type": "cloneServerGroup", "name": "Clone", "cloudProvider": "local",
	  "credentials": "local", "region": "local", "strategy": "redblack",
	  "source": {"account": "local", "region": "local", "serverGroupName": "hello-prod-v000"},
	  "capacity": {"min": 1, "max": 3, "desired": 3}}`)
	versions, failures := tr.finishAfter(50)
	assertStatus(t, ex, model.StatusSucceeded)
	assertNoFailures(t, versions, failures)
	// The clone runs the source's version at the stage's capacity, and took
	// the traffic from the source by red/black.
	assertState(t, e, "after the clone", "v000:disabled:2 v001:enabled:3")
	clone := e.group("v001")
	if clone.Counts.Up != 3 || clone.HealthCheckPath != "/health" || len(clone.LoadBalancers) != 1 || clone.LoadBalancers[0] != "hello-lb" {
		t.Fatalf("the clone did not take the source's load balancer and health check, or is not up: %+v", clone)
	}
	for _, in := range clone.Instances {
		if v := answersDirectly(in.Address); v != "v1" {
			t.Fatalf("clone instance %s answers as %q, want the source's v1", in.ID, v)
		}
	}
	assertServes(t, e.lb, "v1")
	if clone.Provenance.Stage != "Clone" || clone.Provenance.ExecutionID != ex.ID {
		t.Fatalf("the clone's provenance does not name the clone stage: %+v", clone.Provenance)
	}
}

func TestEnableServerGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("redblack", []string{"v1", "v2"})
	assertState(t, e, "before", "v000:disabled:1 v001:enabled:1")
	assertServes(t, e.lb, "v2")
	ex := e.run(onCluster("enableServerGroup", `, "target": "ancestor_asg_dynamic"`))
	assertStatus(t, ex, model.StatusSucceeded)
	assertState(t, e, "after enabling the ancestor", "v000:enabled:1 v001:enabled:1")
	if got := versionsNow(t, e.lb, 20); got["v1"] == 0 || got["v2"] == 0 || got["v1"]+got["v2"] != 20 {
		t.Fatalf("with both server groups enabled the load balancer served %v, want both versions", got)
	}
	if got := ex.Stages[0].Outputs["serverGroupName"]; got != "hello-prod-v000" {
		t.Fatalf("the stage acted on %v, want hello-prod-v000", got)
	}
}

func TestResizeServerGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("redblack", []string{"v1"}, 2)
	tr := startTraffic(e.lb)
	steps := []struct {
		name   string
		fields string
		want   providers.Capacity
	}{
		{"pct up 50%", `"resizeType": "pct", "action": "scale_up", "scalePct": 50`, providers.Capacity{Min: 2, Max: 3, Desired: 3}},
		{"incr down 2", `"resizeType": "incr", "action": "scale_down", "scaleNum": 2`, providers.Capacity{Min: 1, Max: 3, Desired: 1}},
		{"exact", `"resizeType": "exact", "capacity": {"min": 1, "max": 4, "desired": 2}`, providers.Capacity{Min: 1, Max: 4, Desired: 2}},
		{"pct down 50%", `"resizeType": "pct", "action": "scale_down", "scalePct": 50`, providers.Capacity{Min: 1, Max: 4, Desired: 1}},
		{"incr up 1", `"resizeType": "incr", "action": "scale_up", "scaleNum": 1`, providers.Capacity{Min: 1, Max: 4, Desired: 2}},
	}
	for _, st := range steps {
		ex := e.run(onCluster("resizeServerGroup", `, "target": "current_asg_dynamic", `+st.fields))
		assertStatus(t, ex, model.StatusSucceeded)
		g := e.group("v000")
		if g.Capacity != st.want {
			t.Fatalf("%s: capacity = %+v, want %+v", st.name, g.Capacity, st.want)
		}
		// The stage waits for the capacity: every desired instance is up
		// and there are no others.
		if g.Counts.Up != st.want.Desired || g.Counts.Total != st.want.Desired {
			t.Fatalf("%s: instances %+v when the stage ended, want %d up", st.name, g.Counts, st.want.Desired)
		}
	}
	versions, failures := tr.finishAfter(50)
	assertNoFailures(t, versions, failures)
	assertServes(t, e.lb, "v1")
}

func TestResizeToZeroIsGuarded(t *testing.T) {
	t.Parallel()
	yes := true
	e := newEnv(t, model.TrafficGuard{Account: "local", Location: "local", Stack: "prod", Enabled: &yes})
	e.deployAll("redblack", []string{"v1"})
	ex := e.run(onCluster("resizeServerGroup", `, "target": "current_asg_dynamic", "resizeType": "exact", "capacity": {"min": 0, "max": 1, "desired": 0}`))
	assertStatus(t, ex, model.StatusTerminal)
	if msg := describe(ex); !strings.Contains(msg, "traffic guard") || !strings.Contains(msg, "resize hello-prod-v000 to 0") {
		t.Fatalf("the failure does not name the guard and the resize: %s", msg)
	}
	assertState(t, e, "after the refused resize", "v000:enabled:1")
	assertServes(t, e.lb, "v1")
}

func TestDestroyServerGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("redblack", []string{"v1", "v2"})
	old := e.group("v000")
	if len(old.Instances) != 1 || answersDirectly(old.Instances[0].Address) != "v1" {
		t.Fatalf("the disabled server group's instance does not run: %+v", old.Instances)
	}
	tr := startTraffic(e.lb)
	ex := e.run(onCluster("destroyServerGroup", `, "target": "oldest_asg_dynamic"`))
	versions, failures := tr.finishAfter(50)
	assertStatus(t, ex, model.StatusSucceeded)
	assertNoFailures(t, versions, failures)
	assertState(t, e, "after destroying the oldest", "v001:enabled:1")
	// Its process is stopped, not just forgotten.
	eventually(t, 10*time.Second, "the destroyed server group's instance stops", func() bool {
		return answersDirectly(old.Instances[0].Address) == ""
	})
	assertServes(t, e.lb, "v2")
}

func TestDisableCluster(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fields string
		sizes  []int
		want   string
		serves string
	}{
		{"keeps the newest", `, "remainingEnabledServerGroups": 1`, []int{1, 1, 1},
			"v000:disabled:1 v001:disabled:1 v002:enabled:1", "v3"},
		{"keeps the largest", `, "remainingEnabledServerGroups": 1, "preferLargerOverNewer": true`, []int{1, 2, 1},
			"v000:disabled:1 v001:enabled:2 v002:disabled:1", "v2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.deployAll("none", []string{"v1", "v2", "v3"}, tc.sizes...)
			tr := startTraffic(e.lb)
			ex := e.run(onCluster("disableCluster", tc.fields))
			versions, failures := tr.finishAfter(50)
			assertStatus(t, ex, model.StatusSucceeded)
			assertNoFailures(t, versions, failures)
			assertState(t, e, "after disableCluster", tc.want)
			assertServes(t, e.lb, tc.serves)
		})
	}
}

func TestShrinkCluster(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		fields string
		want   string
		serves []string
	}{
		{"destroys only disabled ones", `, "shrinkToSize": 1`, "v001:enabled:1 v002:enabled:1", []string{"v2", "v3"}},
		{"destroys enabled ones when allowed", `, "shrinkToSize": 1, "allowDeleteActive": true`, "v002:enabled:1", []string{"v3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.deployAll("none", []string{"v1"})
			e.deployAll("redblack", []string{"v2"})
			e.deployAll("none", []string{"v3"})
			assertState(t, e, "before shrinking", "v000:disabled:1 v001:enabled:1 v002:enabled:1")
			tr := startTraffic(e.lb)
			ex := e.run(onCluster("shrinkCluster", tc.fields))
			versions, failures := tr.finishAfter(50)
			assertStatus(t, ex, model.StatusSucceeded)
			assertNoFailures(t, versions, failures)
			assertState(t, e, "after shrinkCluster", tc.want)
			got := versionsNow(t, e.lb, 20)
			for _, v := range tc.serves {
				if got[v] == 0 {
					t.Fatalf("after shrinkCluster the load balancer served %v, want %v", got, tc.serves)
				}
			}
			if len(got) != len(tc.serves) {
				t.Fatalf("after shrinkCluster the load balancer served %v, want only %v", got, tc.serves)
			}
		})
	}
}

func TestScaleDownCluster(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("redblack", []string{"v1", "v2"}, 2, 1)
	e.deployAll("none", []string{"v3"})
	assertState(t, e, "before scaling down", "v000:disabled:2 v001:enabled:1 v002:enabled:1")
	ex := e.run(onCluster("scaleDownCluster", `, "remainingFullSizeServerGroups": 1`))
	assertStatus(t, ex, model.StatusSucceeded)
	// The disabled server group has no instances left; the enabled older
	// one keeps its capacity without allowScaleDownActive.
	assertState(t, e, "after scaleDownCluster", "v000:disabled:0 v001:enabled:1 v002:enabled:1")
	eventually(t, 10*time.Second, "the scaled-down server group's instances stop", func() bool {
		return e.group("v000").Counts.Total == 0
	})
	if got := versionsNow(t, e.lb, 20); got["v2"] == 0 || got["v3"] == 0 || got["v2"]+got["v3"] != 20 {
		t.Fatalf("after scaleDownCluster the load balancer served %v, want v2 and v3", got)
	}
}

func TestFindImageFromClusterFeedsADeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("none", []string{"v1", "v2", "v3"}, 1, 2, 1)
	cases := []struct {
		selection string
		want      string
	}{
		{"NEWEST", "v3"},
		{"OLDEST", "v1"},
		{"LARGEST", "v2"},
	}
	for _, tc := range cases {
		t.Run(tc.selection, func(t *testing.T) {
			detail := strings.ToLower(tc.selection)
			ex := e.run(
				onCluster("findImageFromCluster", fmt.Sprintf(`, "refId": "find", "name": "Find", "selectionStrategy": %q, "onlyEnabled": true`, tc.selection)),
				fmt.Sprintf(`{"refId": "deploy", "requisiteStageRefIds": ["find"], "type": "deploy", "name": "Deploy found",
				  "clusters": [{"cloudProvider": "local", "account": "local", "region": "local",
				    "application": "hello", "stack": "staging", "freeFormDetails": %q, "strategy": "redblack",
				    "capacity": {"min": 1, "max": 1, "desired": 1}, "healthCheckPath": "/health"}]}`, detail))
			assertStatus(t, ex, model.StatusSucceeded)
			var staging *providers.ServerGroup
			for _, g := range e.groups() {
				if g.Cluster == "hello-staging-"+detail {
					staging = &g
				}
			}
			if staging == nil || len(staging.Instances) != 1 {
				t.Fatalf("no staging server group was deployed: %s", e.state())
			}
			if got := answersDirectly(staging.Instances[0].Address); got != tc.want {
				t.Fatalf("the deploy after findImageFromCluster %s runs %q, want %s", tc.selection, got, tc.want)
			}
		})
	}
}

func TestDeleteLoadBalancer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.run(`{"refId": "lb", "type": "upsertLoadBalancer", "name": "Extra load balancer",
	  "loadBalancers": [{"cloudProvider": "local", "account": "local", "region": "local", "name": "hello-extra", "listenPort": 0}]}`)
	assertStatus(t, ex, model.StatusSucceeded)
	extra, _ := ex.Stages[0].Outputs["loadBalancers"].([]any)[0].(map[string]any)["url"].(string)
	assertStatus(t, e.run(`{"refId": "deploy", "type": "deploy", "name": "Deploy", "clusters": [{"cloudProvider": "local",
	  "account": "local", "region": "local", "application": "hello", "stack": "prod", "strategy": "redblack",
	  "capacity": {"min": 1, "max": 1, "desired": 1}, "loadBalancers": ["hello-lb", "hello-extra"], "healthCheckPath": "/health",
	  "artifact": {"type": "local/command", "command": "`+helloBin+`", "env": {"VERSION": "v1"}}}]}`), model.StatusSucceeded)
	assertServes(t, extra, "v1")

	ex = e.run(`{"refId": "del", "type": "deleteLoadBalancer", "name": "Delete", "cloudProvider": "local",
	  "credentials": "local", "regions": ["local"], "loadBalancerName": "hello-extra"}`)
	assertStatus(t, ex, model.StatusSucceeded)
	client := &http.Client{Timeout: 2 * time.Second}
	if resp, err := client.Get(extra); err == nil {
		resp.Body.Close()
		t.Fatalf("the deleted load balancer still answers at %s: %s", extra, resp.Status)
	}
	c, err := e.rt.Providers.Cloud("local", "local")
	if err != nil {
		t.Fatal(err)
	}
	lbs, err := c.LoadBalancers.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(lbs) != 1 || lbs[0].Name != "hello-lb" {
		t.Fatalf("load balancers after the delete: %+v", lbs)
	}
	// The server group that named it keeps serving through the other one.
	assertState(t, e, "after deleting a load balancer", "v000:enabled:1")
	assertServes(t, e.lb, "v1")
	// Deleting it again is done at once.
	assertStatus(t, e.run(`{"refId": "del", "type": "deleteLoadBalancer", "name": "Delete", "cloudProvider": "local",
	  "credentials": "local", "regions": ["local"], "loadBalancerName": "hello-extra"}`), model.StatusSucceeded)
}

func TestRollbackServerGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.deployAll("redblack", []string{"v1"}, 2)
	for _, v := range []string{"v2", "v3"} {
		assertStatus(t, e.run(deployStage(v, "redblack", 2, "", `, "scaleDown": true`)), model.StatusSucceeded)
	}
	assertState(t, e, "before the rollback", "v000:disabled:0 v001:disabled:0 v002:enabled:2")
	// Roll v002 back to v000 explicitly, skipping v001, while traffic flows.
	tr := startTraffic(e.lb)
	ex := e.run(`{"refId": "rb", "type": "rollbackServerGroup", "name": "Rollback", "cloudProvider": "local",
	  "credentials": "local", "regions": ["local"], "rollbackType": "EXPLICIT",
	  "rollbackContext": {"rollbackServerGroupName": "hello-prod-v002", "restoreServerGroupName": "hello-prod-v000"}}`)
	versions, failures := tr.finishAfter(50)
	assertStatus(t, ex, model.StatusSucceeded)
	assertNoFailures(t, versions, failures)
	assertState(t, e, "after the rollback", "v000:enabled:2 v001:disabled:0 v002:disabled:2")
	assertServes(t, e.lb, "v1")
	// The pinned min is released: v000 is back at its own min.
	if g := e.group("v000"); g.Capacity != (providers.Capacity{Min: 0, Max: 2, Desired: 2}) || g.Counts.Up != 2 {
		t.Fatalf("restored server group: capacity %+v, instances %+v", g.Capacity, g.Counts)
	}
}

// A deploy stage of two clusters deploys both, in parallel, each as a stage
// of its own with its own strategy, and a later stage finds both new server
// groups among the deploy's outputs.
func TestDeployOfTwoClustersRunsInParallel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ex := e.run(fmt.Sprintf(`{"refId": "deploy", "type": "deploy", "name": "Deploy both", "clusters": [%s, %s]}`,
		cluster("v1", "redblack", 1, "", ""),
		cluster("v1", "highlander", 1, "", `, "stack": "canary"`)),
		`{"refId": "after", "type": "evaluateVariables", "name": "After", "requisiteStageRefIds": ["deploy"],
		  "variables": [{"key": "deployed", "value": "${#stage('Deploy both')['outputs']['deploy.server.groups']['local']}"}]}`)
	assertStatus(t, ex, model.StatusSucceeded)
	var parts []*model.StageExecution
	var parent *model.StageExecution
	for i := range ex.Stages {
		s := &ex.Stages[i]
		switch {
		case s.Name == "Deploy both":
			parent = s
		case s.SyntheticStageOwner == "STAGE_BEFORE":
			parts = append(parts, s)
		}
	}
	if parent == nil || len(parts) != 2 {
		t.Fatalf("want the deploy and two parts, got %s", describe(ex))
	}
	for _, p := range parts {
		if p.ParentStageID != parent.ID || p.Type != "createServerGroup" || p.Status != model.StatusSucceeded {
			t.Fatalf("part %q: parent %s, type %s, status %s", p.Name, p.ParentStageID, p.Type, p.Status)
		}
	}
	// Both parts were running at once.
	if parts[1].StartTime >= parts[0].EndTime && parts[0].StartTime >= parts[1].EndTime {
		t.Fatalf("the parts ran one after the other: %d-%d and %d-%d", parts[0].StartTime, parts[0].EndTime, parts[1].StartTime, parts[1].EndTime)
	}
	var names []string
	for _, g := range e.groups() {
		if g.Counts.Up != 1 || g.Disabled {
			t.Errorf("server group %s is not up and enabled: %+v", g.Name, g.Counts)
		}
		names = append(names, g.Name)
	}
	if strings.Join(names, " ") != "hello-prod-v000 hello-canary-v000" && strings.Join(names, " ") != "hello-canary-v000 hello-prod-v000" {
		t.Fatalf("server groups = %v, want one in each cluster", names)
	}
	after := stageNamed(t, ex, "After")
	got := fmt.Sprint(after.Outputs["deployed"])
	if !strings.Contains(got, "hello-prod-v000") || !strings.Contains(got, "hello-canary-v000") {
		t.Fatalf("a later stage sees the deploy's server groups as %v", got)
	}
}
