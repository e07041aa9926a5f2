package k8s_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gennaker/gennaker/shared/model"
)

// deployment is a Deployment manifest of image with replicas.
func deployment(name, image string, replicas int, extraSpec string) string {
	return fmt.Sprintf(`{"apiVersion": "apps/v1", "kind": "Deployment",
	  "metadata": {"name": %q},
	  "spec": {"replicas": %d, "selector": {"matchLabels": {"app": %q}}%s,
	    "template": {"metadata": {"labels": {"app": %q}},
	      "spec": {"containers": [{"name": "main", "image": %q}]}}}}`, name, replicas, name, extraSpec, name, image)
}

func deployStage(refID, name, account, ns string, manifests []any, extra map[string]any) string {
	f := map[string]any{"account": account, "cloudProvider": "kubernetes", "source": "text",
		"namespaceOverride": ns, "manifests": manifests, "moniker": map[string]any{"app": "shop"}}
	for k, v := range extra {
		f[k] = v
	}
	return stage(refID, name, "deployManifest", f)
}

func TestDeployManifestWaitsUntilTheDeploymentIsReady(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "deploy")
	e := newEnv(t, []string{ns}, "", "")
	ex := e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, `[`+deployment("web", "nginx:1.27", 3, "")+`,
	  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
	   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}]`), nil))
	assertStatus(t, ex, model.StatusSucceeded)

	// The stage ended only once the rollout was done.
	d, err := kube.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.ReadyReplicas != 3 || d.Status.UpdatedReplicas != 3 {
		t.Fatalf("deployment status after the stage = %+v, want 3 ready and updated", d.Status)
	}
	s := stageNamed(t, ex, "Deploy")
	names, _ := s.Context["manifestNamesByNamespace"].(map[string]any)[ns].([]any)
	if !slices.Contains(names, any("deployment web")) || !slices.Contains(names, any("service web")) {
		t.Errorf("manifestNamesByNamespace = %v", s.Context["manifestNamesByNamespace"])
	}
	if got := d.Annotations["moniker.spinnaker.io/application"]; got != "shop" {
		t.Errorf("moniker application annotation = %q, want shop", got)
	}
	if got := d.Annotations["moniker.spinnaker.io/cluster"]; got != "deployment web" {
		t.Errorf("moniker cluster annotation = %q, want \"deployment web\"", got)
	}
	if got := d.ManagedFields; len(got) == 0 || !slices.ContainsFunc(got, func(f metav1.ManagedFieldsEntry) bool {
		return f.Manager == "gennaker" && f.Operation == metav1.ManagedFieldsOperationApply
	}) {
		t.Errorf("no server-side apply by field manager gennaker in %v", got)
	}
}

func TestUnschedulableDeploymentFailsAtItsProgressDeadline(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "stuck")
	e := newEnv(t, []string{ns}, "", "")
	stuck := deployment("stuck", "nginx", 2, `, "progressDeadlineSeconds": 5`)
	stuck = strings.Replace(stuck, `"containers"`, `"nodeSelector": {"disk": "none-such"}, "containers"`, 1)
	start := time.Now()
	ex := e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, "["+stuck+"]"), nil))
	assertFailedWith(t, ex, "Deploy", "deployment stuck", "exceeded its progress deadline", `has timed out progressing`)
	if took := time.Since(start); took > time.Minute {
		t.Errorf("the stage took %s to fail; the deadline was 5 s", took)
	}
}

func configMap(name, data string, annotations string) string {
	return fmt.Sprintf(`{"apiVersion": "v1", "kind": "ConfigMap",
	  "metadata": {"name": %q, "annotations": {%s}}, "data": {"greeting": %q}}`, name, annotations, data)
}

func TestVersionedConfigMaps(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "versions")
	e := newEnv(t, []string{ns}, "", "")
	deploy := func(data string) *model.StageExecution {
		t.Helper()
		user := deployment("api", "api:1", 1, "")
		user = strings.Replace(user, `"image": "api:1"`, `"image": "api:1", "envFrom": [{"configMapRef": {"name": "settings"}}]`, 1)
		ex := e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, "["+
			configMap("settings", data, `"strategy.spinnaker.io/max-version-history": "2"`)+","+user+"]"), nil))
		assertStatus(t, ex, model.StatusSucceeded)
		return stageNamed(t, ex, "Deploy")
	}
	versions := func() []string {
		list, err := kube.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, cm := range list.Items {
			if strings.HasPrefix(cm.Name, "settings") {
				names = append(names, cm.Name)
			}
		}
		slices.Sort(names)
		return names
	}
	refOfDeployment := func() string {
		d, err := kube.AppsV1().Deployments(ns).Get(context.Background(), "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name
	}

	deploy("hello")
	if got := versions(); !slices.Equal(got, []string{"settings-v000"}) {
		t.Fatalf("after the first deploy: %v, want [settings-v000]", got)
	}
	deploy("hello")
	if got := versions(); !slices.Equal(got, []string{"settings-v000"}) {
		t.Fatalf("an unchanged ConfigMap made a new version: %v", got)
	}
	if got := refOfDeployment(); got != "settings-v000" {
		t.Errorf("the deployment refers to %q, want settings-v000", got)
	}
	s := deploy("bonjour")
	if got := versions(); !slices.Equal(got, []string{"settings-v000", "settings-v001"}) {
		t.Fatalf("a changed ConfigMap: %v, want v000 and v001", got)
	}
	if got := refOfDeployment(); got != "settings-v001" {
		t.Errorf("the deployment refers to %q, want settings-v001", got)
	}
	if names := fmt.Sprint(s.Context["manifestNamesByNamespace"]); !strings.Contains(names, "configMap settings-v001") {
		t.Errorf("manifestNamesByNamespace = %s", names)
	}
	ex := e.run(stage("1", "Find", "findArtifactsFromResource", map[string]any{
		"account": "k8s", "location": ns, "manifestName": "deployment api"}))
	assertStatus(t, ex, model.StatusSucceeded)
	arts := fmt.Sprint(stageNamed(t, ex, "Find").Outputs["artifacts"])
	for _, want := range []string{"reference:settings-v001", "type:kubernetes/configMap", "reference:api:1", "type:docker/image"} {
		if !strings.Contains(arts, want) {
			t.Errorf("findArtifactsFromResource artifacts %s do not have %s", arts, want)
		}
	}

	deploy("hola")
	if got := versions(); !slices.Equal(got, []string{"settings-v001", "settings-v002"}) {
		t.Fatalf("max-version-history 2 kept %v, want v001 and v002", got)
	}
}

func TestScalePatchUndoRestartAndDelete(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "ops")
	e := newEnv(t, []string{ns}, "", "")
	ctx := context.Background()
	op := func(typ string, fields map[string]any) *model.Execution {
		t.Helper()
		f := map[string]any{"account": "k8s", "cloudProvider": "kubernetes", "location": ns, "manifestName": "deployment web"}
		for k, v := range fields {
			f[k] = v
		}
		return e.run(stage("1", typ, typ, f))
	}
	image := func() string {
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Spec.Containers[0].Image
	}

	assertStatus(t, e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, "["+deployment("web", "web:1", 2, "")+"]"), nil)), model.StatusSucceeded)

	assertStatus(t, op("patchManifest", map[string]any{
		"patchBody": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "main", "image": "web:2"}}}}}},
		"options": map[string]any{"mergeStrategy": "strategic"}}), model.StatusSucceeded)
	if got := image(); got != "web:2" {
		t.Fatalf("after a strategic patch the image is %q, want web:2", got)
	}
	assertStatus(t, op("patchManifest", map[string]any{
		"patchBody": []any{map[string]any{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "web:3"}},
		"options":   map[string]any{"mergeStrategy": "json"}}), model.StatusSucceeded)
	if got := image(); got != "web:3" {
		t.Fatalf("after a json patch the image is %q, want web:3", got)
	}
	assertStatus(t, op("patchManifest", map[string]any{
		"patchBody": map[string]any{"metadata": map[string]any{"labels": map[string]any{"team": "checkout"}}},
		"options":   map[string]any{"mergeStrategy": "merge"}}), model.StatusSucceeded)

	assertStatus(t, op("scaleManifest", map[string]any{"replicas": 5}), model.StatusSucceeded)
	d, err := kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.ReadyReplicas != 5 || d.Labels["team"] != "checkout" {
		t.Fatalf("after scaling to 5: ready %d, labels %v", d.Status.ReadyReplicas, d.Labels)
	}

	ex := op("undoRolloutManifest", map[string]any{"numRevisionsBack": 1})
	assertStatus(t, ex, model.StatusSucceeded)
	if got := image(); got != "web:2" {
		t.Fatalf("after undoing one revision the image is %q, want web:2", got)
	}

	assertStatus(t, op("rollingRestartManifest", nil), model.StatusSucceeded)
	d, _ = kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" || d.Status.UpdatedReplicas != 5 {
		t.Fatalf("after a rolling restart: template annotations %v, updated %d", d.Spec.Template.Annotations, d.Status.UpdatedReplicas)
	}

	assertStatus(t, op("deleteManifest", map[string]any{"options": map[string]any{"cascading": true}}), model.StatusSucceeded)
	if _, err := kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); !isNotFound(err) {
		t.Fatalf("after deleteManifest, get deployment web: %v", err)
	}
	// Deleting what is gone succeeds.
	assertStatus(t, op("deleteManifest", nil), model.StatusSucceeded)

	// Delete by label selector.
	assertStatus(t, e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, `[`+
		configMap("a", "x", "")+`, `+configMap("b", "y", "")+`]`), nil)), model.StatusSucceeded)
	assertStatus(t, e.run(stage("1", "Delete by label", "deleteManifest", map[string]any{
		"account": "k8s", "location": ns, "kinds": []any{"configMap"},
		"labelSelectors": map[string]any{"selectors": []any{map[string]any{"kind": "EQUALS", "key": "app.kubernetes.io/managed-by", "values": []any{"gennaker"}}}}})), model.StatusSucceeded)
	left, err := kube.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=gennaker"})
	if err != nil || len(left.Items) != 0 {
		t.Fatalf("after deleting by label: %v %v", left, err)
	}
}

var clusterLogs = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "clusterlogs"}

// podLogs makes the kwok nodes serve text as the logs of every pod in ns.
func podLogs(t *testing.T, ns, text string) {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(&b, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), line)
	}
	file := filepath.Join(t.TempDir(), "pod.log")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterLogs",
		"metadata": map[string]any{"name": ns},
		"spec": map[string]any{
			"selector": map[string]any{"matchNamespaces": []any{ns}},
			"logs":     []any{map[string]any{"logsFile": file}},
		},
	}}
	if _, err := dyn.Resource(clusterLogs).Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
		t.Fatalf("ClusterLogs: %v", err)
	}
	t.Cleanup(func() { _ = dyn.Resource(clusterLogs).Delete(context.Background(), ns, metav1.DeleteOptions{}) })
}

func job(exitCode int) map[string]any {
	return map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "migrate"},
		"spec": map[string]any{
			"backoffLimit": 0,
			"template": map[string]any{
				"metadata": map[string]any{"annotations": map[string]any{"kwok.gennaker.dev/exit-code": fmt.Sprint(exitCode)}},
				"spec": map[string]any{"restartPolicy": "Never",
					"containers": []any{map[string]any{"name": "migrate", "image": "migrate:1"}}},
			},
		},
	}
}

func TestRunJobSucceedsWithItsLogsAndProperties(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "job-ok")
	podLogs(t, ns, "migrating 3 tables\nSPINNAKER_PROPERTY_TABLES=3\ndone")
	e := newEnv(t, []string{ns}, "", "")
	ex := e.run(stage("1", "Migrate", "runJob", map[string]any{
		"account": "k8s", "cloudProvider": "kubernetes", "application": "shop",
		"manifest": withNamespace(job(0), ns)}),
		stage("2", "After", "evaluateVariables", map[string]any{
			"variables": []any{map[string]any{"key": "tables", "value": "${#stage('Migrate').outputs.tables}"}}}, "1"))
	assertStatus(t, ex, model.StatusSucceeded)
	s := stageNamed(t, ex, "Migrate")
	status, _ := s.Context["jobStatus"].(map[string]any)
	if logs := fmt.Sprint(status["logs"]); !strings.Contains(logs, "migrating 3 tables") || status["status"] != "SUCCEEDED" {
		t.Fatalf("jobStatus = %v", status)
	}
	if got := stageNamed(t, ex, "After").Outputs["tables"]; got != "3" {
		t.Errorf("the job's property tables reached the next stage as %v, want 3", got)
	}
	// Every run gets its own Job.
	ex2 := e.run(stage("1", "Migrate", "runJob", map[string]any{"account": "k8s", "manifest": withNamespace(job(0), ns)}))
	assertStatus(t, ex2, model.StatusSucceeded)
	jobs, err := kube.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(jobs.Items) != 2 {
		t.Fatalf("two runs made %d jobs (%v), want 2", len(jobs.Items), err)
	}
}

func TestRunJobFailsWithTheLogs(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "job-fail")
	podLogs(t, ns, "migrating\nerror: table users is locked")
	e := newEnv(t, []string{ns}, "", "")
	ex := e.run(stage("1", "Migrate", "runJob", map[string]any{
		"account": "k8s", "cloudProvider": "kubernetes", "manifest": withNamespace(job(3), ns)}))
	assertFailedWith(t, ex, "Migrate", "failed", "BackoffLimitExceeded", "error: table users is locked", "exited 3")
	status, _ := stageNamed(t, ex, "Migrate").Context["jobStatus"].(map[string]any)
	if status["status"] != "FAILED" || !strings.Contains(fmt.Sprint(status["logs"]), "table users is locked") {
		t.Fatalf("jobStatus = %v", status)
	}
}

func withNamespace(obj map[string]any, ns string) map[string]any {
	obj["metadata"].(map[string]any)["namespace"] = ns
	return obj
}

func TestWaitingIsBoundedByTheStageTimeout(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "timeout")
	e := newEnv(t, []string{ns}, "", "")
	// Nothing assigns load balancers on this control plane, so the Service
	// never becomes stable.
	ex := e.run(deployStage("1", "Deploy", "k8s", ns, objects(t, `[{"apiVersion": "v1", "kind": "Service",
	  "metadata": {"name": "edge"}, "spec": {"type": "LoadBalancer", "selector": {"app": "edge"}, "ports": [{"port": 80}]}}]`),
		map[string]any{"stageTimeoutMs": 4000}))
	assertFailedWith(t, ex, "Deploy", "timed out")
	if msgs := fmt.Sprint(stageNamed(t, ex, "Deploy").Context["messages"]); !strings.Contains(msgs, "service edge: Waiting for the load balancer to be assigned an ingress") {
		t.Errorf("the stage does not say what it waited for: messages = %s", msgs)
	}
}
