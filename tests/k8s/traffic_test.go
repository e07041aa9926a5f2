package k8s_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gennaker/gennaker/shared/model"
)

// replicaSet is a ReplicaSet of image, selected by app=web; the Service
// selects frontend=web, which only enabled ReplicaSets' pods carry.
func replicaSet(image string) string {
	return fmt.Sprintf(`{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
	  "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
	    "template": {"metadata": {"labels": {"app": "web"}},
	      "spec": {"containers": [{"name": "main", "image": %q}]}}}}`, image)
}

const webService = `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
  "spec": {"selector": {"frontend": "web"}, "ports": [{"port": 80}]}}`

func traffic(strategy string) map[string]any {
	return map[string]any{"trafficManagement": map[string]any{"enabled": true,
		"options": map[string]any{"enableTraffic": true, "services": []any{"service web"}, "strategy": strategy}}}
}

// served returns, per ReplicaSet, whether its template and its pods carry
// the Service's selector, and the pods the Service's endpoints list.
func served(t *testing.T, ns string) (templates map[string]bool, pods map[string]bool, endpoints []string) {
	t.Helper()
	ctx := context.Background()
	rss, err := kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	templates, pods = map[string]bool{}, map[string]bool{}
	for _, rs := range rss.Items {
		templates[rs.Name] = rs.Spec.Template.Labels["frontend"] == "web"
	}
	list, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		owner := ""
		if len(p.OwnerReferences) > 0 {
			owner = p.OwnerReferences[0].Name
		}
		if p.Labels["frontend"] == "web" {
			pods[owner] = true
		} else if _, seen := pods[owner]; !seen {
			pods[owner] = false
		}
	}
	slices, err := kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.TargetRef != nil {
				endpoints = append(endpoints, ep.TargetRef.Name)
			}
		}
	}
	return templates, pods, endpoints
}

// onlyServedBy waits until the Service routes only to pods of rs.
func onlyServedBy(t *testing.T, ns, rs string) {
	t.Helper()
	eventually(t, 30*time.Second, "the service to route only to "+rs, func() error {
		templates, pods, endpoints := served(t, ns)
		for name, sel := range templates {
			if sel != (name == rs) {
				return fmt.Errorf("replicaSet %s template selected=%v", name, sel)
			}
		}
		for owner, sel := range pods {
			if sel != (owner == rs) {
				return fmt.Errorf("pods of %s selected=%v", owner, sel)
			}
		}
		if len(endpoints) == 0 {
			return fmt.Errorf("the service has no endpoints")
		}
		for _, ep := range endpoints {
			if !strings.HasPrefix(ep, rs+"-") {
				return fmt.Errorf("endpoints %v include a pod not of %s", endpoints, rs)
			}
		}
		return nil
	})
}

func TestRedBlackLeavesOnlyTheNewReplicaSetSelected(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "redblack")
	e := newEnv(t, []string{ns}, "", "")
	deploy := func(image, strategy string) *model.Execution {
		t.Helper()
		ex := e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, "["+webService+","+replicaSet(image)+"]"), traffic(strategy)))
		assertStatus(t, ex, model.StatusSucceeded)
		return ex
	}
	deploy("web:1", "redblack")
	onlyServedBy(t, ns, "web-v000")

	ex := deploy("web:2", "redblack")
	onlyServedBy(t, ns, "web-v001")
	if got := fmt.Sprint(stageNamed(t, ex, "Deploy").Context["disabledManifests"]); !strings.Contains(got, "replicaSet web-v000") {
		t.Errorf("disabledManifests = %s, want replicaSet web-v000", got)
	}
	// The old version still runs, ready to be enabled again.
	old, err := kube.AppsV1().ReplicaSets(ns).Get(context.Background(), "web-v000", metav1.GetOptions{})
	if err != nil || old.Status.ReadyReplicas != 2 {
		t.Fatalf("web-v000 after red/black: %v, %v", old.Status, err)
	}

	// Roll back by hand: enable the old version, disable the new one.
	manual := func(typ, name string) {
		t.Helper()
		assertStatus(t, e.run(stage("1", typ, typ, map[string]any{
			"account": "k8s", "location": ns, "manifestName": "replicaSet " + name})), model.StatusSucceeded)
	}
	manual("enableManifest", "web-v000")
	manual("disableManifest", "web-v001")
	onlyServedBy(t, ns, "web-v000")
	manual("enableManifest", "web-v001")
	manual("disableManifest", "web-v000")
	onlyServedBy(t, ns, "web-v001")

	// Highlander keeps only the newest version.
	deploy("web:3", "highlander")
	onlyServedBy(t, ns, "web-v002")
	eventually(t, 30*time.Second, "older versions deleted", func() error {
		rss, err := kube.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		var names []string
		for _, rs := range rss.Items {
			names = append(names, rs.Name)
		}
		if !slices.Equal(names, []string{"web-v002"}) {
			return fmt.Errorf("replicaSets %v, want only web-v002", names)
		}
		return nil
	})
}

func TestBadInputFailsTheStageWithTheReason(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "bad")
	e := newEnv(t, []string{ns}, "", "")
	for _, tc := range []struct {
		name      string
		account   string
		ns        string
		manifest  string
		fragments []string
	}{{
		name: "rejected by the API server", account: "k8s", ns: ns,
		manifest:  strings.Replace(deployment("bad", "x", 1, ""), `"labels": {"app": "bad"}`, `"labels": {"app": "other"}`, 1),
		fragments: []string{"deployment bad", "selector` does not match template `labels`"},
	}, {
		name: "unknown kind", account: "k8s", ns: ns,
		manifest:  `{"apiVersion": "example.com/v1", "kind": "Frobnicator", "metadata": {"name": "frob"}}`,
		fragments: []string{"frobnicator frob", "unknown kind", "Frobnicator"},
	}, {
		name: "forbidden namespace", account: "k8s", ns: "kube-system",
		manifest:  deployment("web", "x", 1, ""),
		fragments: []string{"deployment web", `may not use namespace "kube-system"`, ns},
	}, {
		name: "unreachable cluster", account: "k8s-unreachable", ns: "default",
		manifest:  deployment("web", "x", 1, ""),
		fragments: []string{"deployment web", "connection refused"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			ex := e.run(deployStage("1", "Deploy", tc.account, tc.ns, objects(t, "["+tc.manifest+"]"), nil))
			assertFailedWith(t, ex, "Deploy", tc.fragments...)
			if took := time.Since(start); took > 45*time.Second {
				t.Errorf("failing took %s", took)
			}
		})
	}
}

func TestStagingThenManualJudgmentThenProduction(t *testing.T) {
	t.Parallel()
	staging, prod := namespace(t, "staging"), namespace(t, "production")
	e := newEnv(t, nil, staging, prod)
	ctx := context.Background()
	id := e.start(
		deployStage("1", "Deploy to staging", "k8s-staging", staging, objects(t, "["+deployment("shop", "shop:7", 2, "")+"]"), nil),
		stage("2", "Promote to production?", "manualJudgment", map[string]any{"judgmentInputs": []any{map[string]any{"value": "ship"}}}, "1"),
		deployStage("3", "Deploy to production", "k8s-prod", prod, objects(t, "["+deployment("shop", "shop:7", 3, "")+"]"),
			map[string]any{"requisiteStageRefIds": []any{"2"}}),
	)
	// The production deploy waits behind the judgment.
	var judge *model.StageExecution
	eventually(t, time.Minute, "the manual judgment", func() error {
		ex := e.get(id)
		if ex == nil {
			return fmt.Errorf("not stored yet")
		}
		if ex.Status.IsComplete() {
			t.Fatalf("run ended before the judgment: %s", describe(ex))
		}
		s := stageNamed(t, ex, "Promote to production?")
		if s.Status != model.StatusRunning {
			return fmt.Errorf("judgment is %s", s.Status)
		}
		judge = s
		return nil
	})
	d, err := kube.AppsV1().Deployments(staging).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil || d.Status.ReadyReplicas != 2 {
		t.Fatalf("staging before the judgment: %v %v", d.Status, err)
	}
	if _, err := kube.AppsV1().Deployments(prod).Get(ctx, "shop", metav1.GetOptions{}); !isNotFound(err) {
		t.Fatalf("production was deployed before the judgment: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // judged after the stage parked
	e.judge(id, judge.ID, "continue", "ship")
	ex := e.wait(id, 2*time.Minute)
	assertStatus(t, ex, model.StatusSucceeded)
	d, err = kube.AppsV1().Deployments(prod).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil || d.Status.ReadyReplicas != 3 {
		t.Fatalf("production after the judgment: %v %v", d.Status, err)
	}

	// The staging account may not deploy to production.
	ex = e.run(deployStage("1", "Sneak", "k8s-staging", prod, objects(t, "["+deployment("shop", "shop:8", 1, "")+"]"), nil))
	assertFailedWith(t, ex, "Sneak", "deployment shop", `may not use namespace "`+prod+`"`)
}

func TestReplicaSetsAreServerGroups(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "servergroups")
	e := newEnv(t, []string{ns}, "", "")
	for _, image := range []string{"web:1", "web:2"} {
		assertStatus(t, e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, "["+webService+","+replicaSet(image)+"]"), traffic("redblack"))), model.StatusSucceeded)
	}
	acct := providersAccount(t, ns)
	sgs := acct.ServerGroups
	ctx := context.Background()
	list, err := sgs.List(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "web-v000" || list[1].Name != "web-v001" {
		t.Fatalf("server groups of shop = %+v", list)
	}
	old, cur := list[0], list[1]
	if !old.Disabled || cur.Disabled || cur.Region != ns || cur.Cluster != "replicaSet web" || cur.Counts.Up != 2 || old.Counts.OutOfService != 2 {
		t.Fatalf("after red/black: old %+v, new %+v", old, cur)
	}
	if err := sgs.SetEnabled(ctx, ns, "web-v000", true); err != nil {
		t.Fatal(err)
	}
	if err := sgs.SetEnabled(ctx, ns, "web-v001", false); err != nil {
		t.Fatal(err)
	}
	onlyServedBy(t, ns, "web-v000")
	if err := sgs.Resize(ctx, ns, "web-v001", providersCapacity(0)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "web-v001 scaled to zero", func() error {
		g, err := sgs.Get(ctx, ns, "web-v001")
		if err != nil {
			return err
		}
		if g.Capacity.Desired != 0 || g.Counts.Total != 0 {
			return fmt.Errorf("web-v001: %+v", g)
		}
		return nil
	})
	if err := sgs.Destroy(ctx, ns, "web-v001"); err != nil {
		t.Fatal(err)
	}
	if _, err := sgs.Get(ctx, ns, "web-v001"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Get after Destroy: %v", err)
	}
}
