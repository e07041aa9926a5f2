package k8s_test

import (
	"context"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/stages/builtin"

	"github.com/gennaker/gennaker/providers"
	k8sprovider "github.com/gennaker/gennaker/providers/kubernetes"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// TestBuiltinStagesFindKubernetesAccountsAmongTheProviders runs the built-in
// deployManifest tasks the way a runtime that registers the Kubernetes
// provider does: the account is found through Services.Providers.
func TestBuiltinStagesFindKubernetesAccountsAmongTheProviders(t *testing.T) {
	t.Parallel()
	needCluster(t)
	ns := namespace(t, "builtin")
	reg, err := providers.NewRegistry([]providers.Account{{Name: "prod", Provider: k8sprovider.Name,
		Fields: map[string]any{"kubeconfig": kubeconfig, "namespaces": []any{ns}}}}, k8sprovider.New())
	if err != nil {
		t.Fatal(err)
	}
	builtin := builtin.New()
	run := &stages.Run{
		Execution: &model.Execution{ID: "e1", Application: "shop"},
		Stage: &model.StageExecution{ID: "s1", Name: "Deploy", Type: "deployManifest", StartTime: time.Now().UnixMilli(),
			Context: objectsContext(t, `{"account": "prod", "namespaceOverride": "`+ns+`",
			  "manifests": [`+deployment("api", "api:1", 2, "")+`]}`)},
		Services: &stages.Services{Providers: reg},
	}
	for _, name := range []string{"DeployManifest", "WaitForManifestStable"} {
		task, err := builtin.Task(name)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			// As the orchestrator does, each task call gets the stage's
			// configuration decoded afresh from its context.
			if err := builtin.Configure(run); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			run.Now = time.Now()
			r, err := task.Execute(context.Background(), run)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for k, v := range r.Context {
				run.Stage.Context[k] = v
			}
			if r.Status == model.StatusSucceeded {
				break
			}
			if r.Status != model.StatusRunning || time.Now().After(deadline) {
				t.Fatalf("%s: %s %v", name, r.Status, r.Context)
			}
			time.Sleep(r.Backoff)
		}
	}
	if got := run.Stage.Context["stableManifests"]; len(got.([]any)) != 1 {
		t.Fatalf("stableManifests = %v", got)
	}
}

func objectsContext(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := jsonUnmarshal([]byte(js), &m); err != nil {
		t.Fatalf("context: %v\n%s", err, js)
	}
	return m
}
