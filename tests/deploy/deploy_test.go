package deploy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
)

func TestRedBlackServesEveryRequestAndRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	assertStatus(t, e.run(deployStage("v1", "redblack", 2, "", "")), model.StatusSucceeded)
	if got := versionsNow(t, e.lb, 10); got["v1"] != 10 {
		t.Fatalf("after deploying v1 the load balancer served %v", got)
	}

	tr := startTraffic(e.lb)
	time.Sleep(200 * time.Millisecond)
	ex := e.run(deployStage("v2", "redblack", 2, "", `, "scaleDown": true, "maxRemainingAsgs": 2`))
	time.Sleep(200 * time.Millisecond)
	versions, failures := tr.finishAfter(50)
	assertStatus(t, ex, model.StatusSucceeded)
	assertNoFailures(t, versions, failures)
	if versions["v1"] == 0 || versions["v2"] == 0 {
		t.Fatalf("traffic during red/black was served by %v, want both versions", versions)
	}
	if got, want := e.state(), "v000:disabled:0 v001:enabled:2"; got != want {
		t.Fatalf("cluster after red/black = %s, want %s", got, want)
	}
	if got := versionsNow(t, e.lb, 10); got["v2"] != 10 {
		t.Fatalf("after red/black the load balancer served %v, want only v2", got)
	}

	// Roll the cluster back to v1 while traffic flows: v000 is scaled back
	// up, enabled, and v001 disabled only once v000 serves.
	tr = startTraffic(e.lb)
	ex = e.run(`{"refId": "rb", "type": "rollbackCluster", "name": "Rollback", "cloudProvider": "local",
	  "credentials": "local", "regions": ["local"], "cluster": "hello-prod"}`)
	versions, failures = tr.finishAfter(50)
	assertStatus(t, ex, model.StatusSucceeded)
	assertNoFailures(t, versions, failures)
	if got, want := e.state(), "v000:enabled:2 v001:disabled:2"; got != want {
		t.Fatalf("cluster after the rollback = %s, want %s", got, want)
	}
	if got := versionsNow(t, e.lb, 10); got["v1"] != 10 {
		t.Fatalf("after the rollback the load balancer served %v, want only v1", got)
	}
	g := e.groups()[1]
	if g.Provenance.ExecutionID == "" || g.Provenance.User != "tester" || g.Provenance.Pipeline == "" {
		t.Fatalf("server group provenance not recorded: %+v", g.Provenance)
	}
}

func TestRollingRedBlackServesEveryRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	assertStatus(t, e.run(deployStage("v1", "rollingredblack", 2, "", "")), model.StatusSucceeded)
	tr := startTraffic(e.lb)
	ex := e.run(deployStage("v2", "rollingredblack", 2, "", `, "targetPercentages": [50, 100]`))
	versions, failures := tr.finishAfter(50)
	assertStatus(t, ex, model.StatusSucceeded)
	assertNoFailures(t, versions, failures)
	if got, want := e.state(), "v000:disabled:2 v001:enabled:2"; got != want {
		t.Fatalf("cluster after rolling red/black = %s, want %s", got, want)
	}
	var steps []string
	for _, task := range ex.Stages[0].Tasks {
		steps = append(steps, task.Name)
	}
	if got := strings.Count(strings.Join(steps, " "), "ScaleTargetServerGroup"); got != 2 {
		t.Fatalf("rolling red/black ran %d steps, want 2: %v", got, steps)
	}
}

func TestStrategies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		strategy string
		want     string
	}{
		{"none", "v000:enabled:1 v001:enabled:1"},
		{"highlander", "v001:enabled:1"},
		{"redblack", "v000:disabled:1 v001:enabled:1"},
	}
	for _, tc := range cases {
		t.Run(tc.strategy, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			assertStatus(t, e.run(deployStage("v1", tc.strategy, 1, "", "")), model.StatusSucceeded)
			tr := startTraffic(e.lb)
			ex := e.run(deployStage("v2", tc.strategy, 1, "", ""))
			versions, failures := tr.finishAfter(50)
			assertStatus(t, ex, model.StatusSucceeded)
			assertNoFailures(t, versions, failures)
			if got := e.state(); got != tc.want {
				t.Fatalf("cluster after %s = %s, want %s", tc.strategy, got, tc.want)
			}
		})
	}
}

func TestUnhealthyVersionFailsAtStageTimeoutAndIsRolledBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	assertStatus(t, e.run(deployStage("v1", "redblack", 2, "", "")), model.StatusSucceeded)
	tr := startTraffic(e.lb)
	start := time.Now()
	ex := e.run(`{"refId": "deploy", "type": "deploy", "name": "Deploy broken", "stageTimeoutMs": 3000,
	  "clusters": [` + cluster("v3", "redblack", 2, `, "FAIL_HEALTH": "true"`, `, "rollback": {"onFailure": true}`) + `]}`)
	elapsed := time.Since(start)
	versions, failures := tr.finishAfter(50)
	assertStatus(t, ex, model.StatusTerminal)
	if msg := describe(ex); !strings.Contains(msg, "timed out") || !strings.Contains(msg, "stageTimeoutMs 3000") {
		t.Fatalf("the stage did not fail at its timeout: %s", msg)
	}
	if elapsed < 3*time.Second {
		t.Fatalf("the deploy failed after %s, before its stageTimeoutMs", elapsed)
	}
	assertNoFailures(t, versions, failures)
	if versions["v3"] != 0 || versions["v1"] == 0 {
		t.Fatalf("traffic during the broken deploy was served by %v, want only v1", versions)
	}
	if got, want := e.state(), "v000:enabled:2"; got != want {
		t.Fatalf("cluster after the rollback on failure = %s, want %s", got, want)
	}
	rb, _ := ex.Stages[0].Context["rollback"].(map[string]any)
	if rb["destroyedServerGroup"] != "hello-prod-v001" {
		t.Fatalf("rollback not recorded in the stage context: %v", ex.Stages[0].Context["rollback"])
	}
}

func TestTrafficGuardBlocksDisablingTheLastServerGroup(t *testing.T) {
	t.Parallel()
	yes := true
	e := newEnv(t, model.TrafficGuard{Account: "local", Location: "local", Stack: "prod", Detail: "", Enabled: &yes})
	assertStatus(t, e.run(deployStage("v1", "redblack", 1, "", "")), model.StatusSucceeded)
	ex := e.run(`{"refId": "d", "type": "disableServerGroup", "name": "Disable", "cloudProvider": "local",
	  "credentials": "local", "regions": ["local"], "cluster": "hello-prod", "target": "current_asg_dynamic"}`)
	assertStatus(t, ex, model.StatusTerminal)
	if msg := describe(ex); !strings.Contains(msg, `traffic guard {account: \"local\", location: \"local\", stack: \"prod\"`) {
		t.Fatalf("the failure does not name the guard: %s", msg)
	}
	if got, want := e.state(), "v000:enabled:1"; got != want {
		t.Fatalf("cluster = %s, want %s", got, want)
	}
	if got := versionsNow(t, e.lb, 5); got["v1"] != 5 {
		t.Fatalf("the guarded cluster stopped serving: %v", got)
	}
	// With a second serving server group the same disable is allowed.
	assertStatus(t, e.run(deployStage("v2", "none", 1, "", "")), model.StatusSucceeded)
	ex = e.run(`{"refId": "d", "type": "disableServerGroup", "name": "Disable", "cloudProvider": "local",
	  "credentials": "local", "regions": ["local"], "cluster": "hello-prod", "target": "oldest_asg_dynamic"}`)
	assertStatus(t, ex, model.StatusSucceeded)
	if got, want := e.state(), "v000:disabled:1 v001:enabled:1"; got != want {
		t.Fatalf("cluster = %s, want %s", got, want)
	}
}

func TestConcurrentDeploysToOneClusterSerialize(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.start(deployStage("v1", "redblack", 1, "", ""))
	b := e.start(deployStage("v2", "redblack", 1, "", ""))
	ea, eb := e.wait(a, 60*time.Second), e.wait(b, 60*time.Second)
	assertStatus(t, ea, model.StatusSucceeded)
	assertStatus(t, eb, model.StatusSucceeded)
	span := func(ex *model.Execution) (int64, int64) {
		var alloc, release int64
		for _, task := range ex.Stages[0].Tasks {
			switch task.Name {
			case "AllocateServerGroupName":
				alloc = task.StartTime
			case "ReleaseClusterLock":
				release = task.EndTime
			}
		}
		return alloc, release
	}
	as, ae := span(ea)
	bs, be := span(eb)
	if !(ae <= bs || be <= as) {
		t.Fatalf("the deploys interleaved: first held the cluster %d–%d, second %d–%d", as, ae, bs, be)
	}
	if got := e.state(); got != "v000:disabled:1 v001:enabled:1" {
		t.Fatalf("cluster after two serialized deploys = %s", got)
	}
}

func TestDeployCompletesAfterRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	assertStatus(t, e.run(deployStage("v1", "redblack", 1, "", "")), model.StatusSucceeded)
	id := e.start(deployStage("v2", "redblack", 1, `, "STARTUP_DELAY": "2s"`, ""))
	// Stop the runtime while the new server group comes up.
	deadline := time.Now().Add(20 * time.Second)
	for len(e.groups()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := e.rt.Close(); err != nil {
		t.Fatal(err)
	}
	e.rt = e.open()
	ex := e.wait(id, 60*time.Second)
	assertStatus(t, ex, model.StatusSucceeded)
	if got, want := e.state(), "v000:disabled:1 v001:enabled:1"; got != want {
		t.Fatalf("cluster after a restart mid-deploy = %s, want %s", got, want)
	}
	if got := versionsNow(t, e.lb, 5); got["v2"] != 5 {
		t.Fatalf("after the restart the load balancer served %v", got)
	}
}
