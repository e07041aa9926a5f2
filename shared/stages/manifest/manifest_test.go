package manifest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
)

func TestManifestStagesValidate(t *testing.T) {
	reg := stages.NewRegistry()
	RegisterManifests(reg)
	for _, tc := range []struct {
		name  string
		stage string
		want  []string
	}{
		{"deploy ok", `{"type": "deployManifest", "account": "k8s", "cloudProvider": "kubernetes", "source": "text",
		  "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]}`, nil},
		{"deploy without account", `{"type": "deployManifest", "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]}`,
			[]string{"account is required"}},
		{"deploy to another cloud", `{"type": "deployManifest", "account": "k8s", "cloudProvider": "aws", "manifests": []}`,
			[]string{"cloudProvider", "manifests: is required"}},
		{"deploy a manifest without a name", `{"type": "deployManifest", "account": "k8s", "manifests": [{"apiVersion": "v1", "kind": "ConfigMap"}]}`,
			[]string{"metadata.name is required"}},
		{"deploy with a bad strategy", `{"type": "deployManifest", "account": "k8s", "manifests": ["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}"],
		  "trafficManagement": {"enabled": true, "options": {"strategy": "canary", "services": ["service web"]}}}`,
			[]string{`"canary" is not redblack, highlander or none`}},
		{"red/black without traffic", `{"type": "deployManifest", "account": "k8s", "manifests": ["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}"],
		  "trafficManagement": {"enabled": true, "options": {"strategy": "redblack", "enableTraffic": false, "services": ["service web"]}}}`,
			[]string{"cannot be false"}},
		{"scale ok", `{"type": "scaleManifest", "account": "k8s", "manifestName": "deployment web", "location": "ns", "replicas": 3}`, nil},
		{"scale without replicas", `{"type": "scaleManifest", "account": "k8s", "manifestName": "deployment web"}`, []string{"replicas: is required"}},
		{"scale a bad name", `{"type": "scaleManifest", "account": "k8s", "manifestName": "web", "replicas": 1}`, []string{`is not "<kind> <name>"`}},
		{"patch ok", `{"type": "patchManifest", "account": "k8s", "manifestName": "deployment web",
		  "patchBody": [{"op": "add", "path": "/metadata/labels/a", "value": "b"}], "options": {"mergeStrategy": "json"}}`, nil},
		{"patch json with an object", `{"type": "patchManifest", "account": "k8s", "manifestName": "deployment web",
		  "patchBody": {"metadata": {}}, "options": {"mergeStrategy": "json"}}`, []string{"a json patch is a list"}},
		{"undo zero revisions", `{"type": "undoRolloutManifest", "account": "k8s", "manifestName": "deployment web", "numRevisionsBack": 0}`,
			[]string{"must be at least 1"}},
		{"delete by label", `{"type": "deleteManifest", "account": "k8s", "kinds": ["configMap"],
		  "labelSelectors": {"selectors": [{"kind": "EQUALS", "key": "app", "values": ["web"]}]}}`, nil},
		{"delete nothing", `{"type": "deleteManifest", "account": "k8s"}`, []string{"manifestName is required"}},
		{"run a job", `{"type": "runJob", "account": "k8s", "cloudProvider": "kubernetes",
		  "manifest": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"}}}`, nil},
		{"run a deployment", `{"type": "runJob", "account": "k8s",
		  "manifest": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}}`, []string{"runJob runs a Job, not a Deployment"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := stagestest.StageFromJSON(t, tc.stage)
			known, Problems := reg.ValidateStage(s)
			if !known {
				t.Fatalf("stage type %s is not registered", s.Type)
			}
			stagestest.CheckProblems(t, Problems, tc.want...)
		})
	}
}

func TestDeployManifestPlansTheTrafficStrategy(t *testing.T) {
	for strategy, last := range map[string]string{"redblack": "DisableOldManifests", "highlander": "DeleteOldManifests", "none": "WaitForManifestStable"} {
		s := &model.StageExecution{Context: stagestest.ContextFromJSON(t, `{"trafficManagement": {"enabled": true,
		  "options": {"strategy": "`+strategy+`", "services": ["service web"]}}}`)}
		tasks, err := DeployManifestStage{}.Plan(s)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tasks[:2], []string{"DeployManifest", "WaitForManifestStable"}) || tasks[len(tasks)-1] != last {
			t.Errorf("strategy %s plans %v, want it to end with %s", strategy, tasks, last)
		}
	}
}

// unreachableCluster answers every call as a cluster that cannot be
// reached would.
type unreachableCluster struct{ manifest.Cluster }

var errRefused = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")

func (unreachableCluster) DefaultNamespace() string { return "default" }
func (unreachableCluster) Apply(context.Context, manifest.Object) (manifest.Object, error) {
	return nil, errRefused
}

func TestDeployManifestFailsNamingTheManifest(t *testing.T) {
	reg := stages.NewRegistry()
	RegisterManifestsWith(reg, func(_ *stages.Run, account string) (manifest.Cluster, error) {
		if account != "k8s" {
			return nil, errors.New(`unknown account "` + account + `"`)
		}
		return unreachableCluster{}, nil
	})
	task, err := reg.Task("DeployManifest")
	if err != nil {
		t.Fatal(err)
	}
	run := stagestest.NewRun(stagestest.ContextFromJSON(t, `{"account": "k8s", "manifests": [
	  {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}]}`))
	r, err := task.Execute(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	stagestest.CheckFailure(t, r, model.StatusTerminal, "deploy deployment web in namespace default", "connection refused")

	run = stagestest.NewRun(stagestest.ContextFromJSON(t, `{"account": "nope", "manifests": [
	  {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}]}`))
	r, _ = task.Execute(context.Background(), run)
	stagestest.CheckFailure(t, r, model.StatusTerminal, `unknown account "nope"`)
}

func TestJobNamesAreStablePerStage(t *testing.T) {
	job := manifest.Object{"kind": "Job", "metadata": map[string]any{"name": "migrate"}}
	a, b := stagestest.NewRun(nil), stagestest.NewRun(nil)
	if jobName(job, a) != jobName(job, b) {
		t.Errorf("a retried RunJob would name another Job")
	}
	b.Stage.ID = "stage-2"
	if jobName(job, a) == jobName(job, b) {
		t.Errorf("two stages share the Job name %s", jobName(job, a))
	}
	if got := properties("x\nSPINNAKER_PROPERTY_TABLES=3\nSPINNAKER_PROPERTY_Url=http://a=b\n"); got["tables"] != "3" || got["url"] != "http://a=b" {
		t.Errorf("properties = %v", got)
	}
}
