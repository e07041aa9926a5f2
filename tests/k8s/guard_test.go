package k8s_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gennaker/gennaker/shared/model"
)

// guard sets the application's traffic guards through the API.
func (e *env) guard(guards ...map[string]any) {
	e.t.Helper()
	list := make([]any, len(guards))
	for i, g := range guards {
		list[i] = g
	}
	e.call("POST", "/tasks", map[string]any{"job": []any{map[string]any{"type": "updateApplication",
		"application": map[string]any{"name": e.app, "trafficGuards": list}}}}, nil)
}

func TestTrafficGuardsProtectKubernetesClusters(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "guarded")
	e := newEnv(t, []string{ns}, "", "")
	e.guard(map[string]any{"account": "k8s", "location": ns, "enabled": true})
	ctx := context.Background()

	deployRS := func(image string, replicas int, strategy string) *model.Execution {
		t.Helper()
		rs := strings.Replace(replicaSet(image), `"replicas": 2`, `"replicas": `+string(rune('0'+replicas)), 1)
		return e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, "["+webService+","+rs+"]"), traffic(strategy)))
	}
	op := func(typ, target string, extra map[string]any) *model.Execution {
		t.Helper()
		f := map[string]any{"account": "k8s", "location": ns, "manifestName": target}
		for k, v := range extra {
			f[k] = v
		}
		return e.run(stage("1", typ, typ, f))
	}
	refusal := []string{"traffic guard", `account: "k8s"`, `location: "` + ns + `"`, "of application shop", "cluster replicaSet web in k8s/" + ns}

	assertStatus(t, deployRS("web:1", 2, "redblack"), model.StatusSucceeded)
	onlyServedBy(t, ns, "web-v000")

	// The only serving ReplicaSet of a guarded cluster cannot be taken out
	// of service in any way.
	assertFailedWith(t, op("disableManifest", "replicaSet web-v000", nil), "disableManifest", append(refusal, "refuses to disable replicaSet web-v000")...)
	assertFailedWith(t, op("scaleManifest", "replicaSet web-v000", map[string]any{"replicas": 0}), "scaleManifest", append(refusal, "refuses to scale to 0 replicaSet web-v000")...)
	assertFailedWith(t, op("deleteManifest", "replicaSet web-v000", nil), "deleteManifest", append(refusal, "refuses to delete replicaSet web-v000")...)
	assertFailedWith(t, e.run(stage("1", "deleteManifest", "deleteManifest", map[string]any{"account": "k8s", "location": ns,
		"kinds": []any{"replicaSet"}, "labelSelectors": map[string]any{"selectors": []any{map[string]any{"kind": "EQUALS", "key": "app.kubernetes.io/managed-by", "values": []any{"gennaker"}}}}})),
		"deleteManifest", append(refusal, "refuses to delete replicaSet web-v000")...)
	onlyServedBy(t, ns, "web-v000")

	// A red/black or highlander deploy whose new version has no pods up
	// would leave nothing serving: its last step is refused.
	assertFailedWith(t, deployRS("web:2", 0, "redblack"), "Deploy", append(refusal, "refuses to disable replicaSet web-v000")...)
	assertFailedWith(t, deployRS("web:2", 0, "highlander"), "Deploy", append(refusal, "refuses to delete replicaSet web-v000")...)
	// web-v001 is enabled but has no pods: the Service still routes to
	// web-v000 alone.
	eventually(t, 30*time.Second, "the service to route to web-v000", func() error {
		_, pods, endpoints := served(t, ns)
		if !pods["web-v000"] || len(endpoints) == 0 {
			return fmt.Errorf("pods of web-v000 selected=%v, endpoints %v", pods["web-v000"], endpoints)
		}
		for _, ep := range endpoints {
			if !strings.HasPrefix(ep, "web-v000-") {
				return fmt.Errorf("endpoints %v include a pod not of web-v000", endpoints)
			}
		}
		return nil
	})
	if _, err := kube.AppsV1().ReplicaSets(ns).Get(ctx, "web-v000", metav1.GetOptions{}); err != nil {
		t.Fatalf("web-v000 after the refused highlander: %v", err)
	}

	// With a new version serving, red/black goes through, and the old one
	// may then be disabled and deleted.
	assertStatus(t, deployRS("web:3", 2, "redblack"), model.StatusSucceeded)
	onlyServedBy(t, ns, "web-v002")
	assertStatus(t, op("deleteManifest", "replicaSet web-v000", nil), model.StatusSucceeded)
	assertFailedWith(t, op("disableManifest", "replicaSet web-v002", nil), "disableManifest", append(refusal, "refuses to disable replicaSet web-v002")...)

	// A Deployment acts through its ReplicaSets.
	assertStatus(t, e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, "["+deployment("api", "api:1", 1, "")+"]"), nil)), model.StatusSucceeded)
	apiRefusal := []string{"traffic guard", "cluster deployment api in k8s/" + ns}
	assertFailedWith(t, op("scaleManifest", "deployment api", map[string]any{"replicas": 0}), "scaleManifest", append(apiRefusal, "refuses to scale to 0 replicaSet api-")...)
	assertFailedWith(t, op("deleteManifest", "deployment api", nil), "deleteManifest", append(apiRefusal, "refuses to delete replicaSet api-")...)
	if _, err := kube.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{}); err != nil {
		t.Fatalf("deployment api after the refused delete: %v", err)
	}

	// A disabled guard, or one for another namespace, guards nothing.
	e.guard(map[string]any{"account": "k8s", "location": ns, "enabled": false},
		map[string]any{"account": "k8s", "location": "elsewhere"})
	assertStatus(t, op("disableManifest", "replicaSet web-v002", nil), model.StatusSucceeded)
	assertStatus(t, op("deleteManifest", "deployment api", nil), model.StatusSucceeded)
}
