package manifest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestDeployManifestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stage string
		want  []string
	}{
		{"ok", `{"type": "deployManifest", "account": "k8s", "cloudProvider": "kubernetes", "source": "text",
		  "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]}`, nil},
		{"without account", `{"type": "deployManifest", "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]}`,
			[]string{"account: is required"}},
		{"to another cloud", `{"type": "deployManifest", "account": "k8s", "cloudProvider": "aws", "manifests": []}`,
			[]string{"cloudProvider", "manifests: is required"}},
		{"a manifest without a name", `{"type": "deployManifest", "account": "k8s", "manifests": [{"apiVersion": "v1", "kind": "ConfigMap"}]}`,
			[]string{"manifests[0].metadata.name: is required"}},
		{"a manifest that is a number", `{"type": "deployManifest", "account": "k8s", "manifests": [3]}`,
			[]string{"manifests[0]: must be an object, not the number 3"}},
		{"manifests that are not a list", `{"type": "deployManifest", "account": "k8s", "manifests": {"kind": "ConfigMap"}}`,
			[]string{"manifests: must be a list"}},
		{"a bad strategy", `{"type": "deployManifest", "account": "k8s", "manifests": ["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}"],
		  "trafficManagement": {"enabled": true, "options": {"strategy": "canary", "services": ["service web"]}}}`,
			[]string{`trafficManagement.options.strategy: "canary" is not redblack, highlander or none`}},
		{"red/black without traffic", `{"type": "deployManifest", "account": "k8s", "manifests": ["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}"],
		  "trafficManagement": {"enabled": true, "options": {"strategy": "redblack", "enableTraffic": false, "services": ["service web"]}}}`,
			[]string{"trafficManagement.options.enableTraffic: the redblack strategy sends traffic to the new version, so it cannot be false"}},
		{"a service that is not one", `{"type": "deployManifest", "account": "k8s", "manifests": ["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}"],
		  "trafficManagement": {"enabled": true, "options": {"strategy": "redblack", "services": ["deployment web"]}}}`,
			[]string{`trafficManagement.options.services[0]: "deployment web" is not "service <name>"`}},
		{"a namespace that is a number", `{"type": "deployManifest", "account": "k8s", "namespaceOverride": 3,
		  "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]}`,
			[]string{"namespaceOverride: must be a string, not the number 3"}},
		{"expressions", `{"type": "deployManifest", "account": "${parameters.account}", "manifests": "${parameters.manifests}",
		  "namespaceOverride": "${parameters.ns}", "trafficManagement": "${parameters.traffic}"}`, nil},
		{"a manifest given by an expression", `{"type": "deployManifest", "account": "k8s", "manifests": ["${parameters.manifest}"]}`, nil},
		{"an unknown source", `{"type": "deployManifest", "account": "k8s", "source": "s3"}`, []string{`source: "s3" is not text or artifact`}},
		{"an artifact of another type", `{"type": "deployManifest", "account": "k8s", "source": "artifact",
		  "manifestArtifact": {"type": "s3/object", "reference": "s3://b/k"}}`, []string{`manifestArtifact.type: "s3/object" is not supported`}},
		{"an artifact without reference", `{"type": "deployManifest", "account": "k8s", "source": "artifact",
		  "manifestArtifact": {"type": "http/file"}}`, []string{"manifestArtifact.reference: is required for a http/file artifact"}},
	} {
		t.Run(tc.name, func(t *testing.T) { validateStage(t, tc.stage, tc.want...) })
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

func TestDeployManifestRecordsWhatItDeployed(t *testing.T) {
	c := newFakeCluster()
	reg := registryWith(c)
	run := stageRun(t, "deployManifest", `{"account": "k8s", "namespaceOverride": "shop", "moniker": {"cluster": "web"}, "manifests": [
	  {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"}, "spec": {"replicas": 2}},
	  "apiVersion: v1\nkind: Service\nmetadata: {name: web}"]}`)
	r := execute(t, reg, run, "DeployManifest")
	if r.Status != model.StatusSucceeded {
		t.Fatalf("DeployManifest: %s %v", r.Status, stagestest.ErrorsOf(r))
	}
	for key, want := range map[string]string{
		// Services are deployed before what they select.
		"manifestRefs":             `[{"kind":"Service","name":"web","namespace":"shop"},{"kind":"ReplicaSet","name":"web-v000","namespace":"shop"}]`,
		"manifestNamesByNamespace": `{"shop":["service web","replicaSet web-v000"]}`,
		"deploy.account.name":      `"k8s"`,
		"deployedManifests":        `[{"cluster":"web","location":"shop","manifestName":"service web"},{"cluster":"web","location":"shop","manifestName":"replicaSet web-v000","reused":false,"version":"v000"}]`,
		"outputs.createdArtifacts": `[{"location":"shop","name":"web","reference":"web","type":"kubernetes/service"},{"location":"shop","name":"web","reference":"web-v000","type":"kubernetes/replicaSet","version":"v000"}]`,
	} {
		if got := contextJSON(t, run, key); got != want {
			t.Errorf("context %s = %s, want %s", key, got, want)
		}
	}
	for _, key := range []string{"manifestNamesByNamespace", "outputs.manifests", "outputs.createdArtifacts", "deployedManifests"} {
		if _, ok := r.Outputs[key]; !ok {
			t.Errorf("outputs lack %s: %v", key, r.Outputs)
		}
	}
	if _, ok := c.objs["replicaset/shop/web-v000"]; !ok {
		t.Errorf("the cluster holds %v, want replicaset/shop/web-v000", c.objs)
	}

	// A retry deploys nothing new: the same version is reused.
	execute(t, reg, run, "DeployManifest")
	if got := contextJSON(t, run, "deployedManifests"); !strings.Contains(got, `"reused":true,"version":"v000"`) {
		t.Errorf("a retried deploy records %s, want v000 reused", got)
	}
}

var errRefused = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")

func TestDeployManifestFailsNamingTheManifest(t *testing.T) {
	unreachable := newFakeCluster()
	unreachable.err = errRefused
	reg := registryWith(unreachable)
	for _, tc := range []struct {
		name, ctx string
		want      []string
	}{
		{"unreachable cluster", `{"account": "k8s", "manifests": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}]}`,
			[]string{"deploy deployment web in namespace default", "connection refused"}},
		{"unknown account", `{"account": "nope", "manifests": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}]}`,
			[]string{`unknown account "nope"`}},
		{"no account", `{"manifests": [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}]}`,
			[]string{"account: is required (the Kubernetes account to act in)"}},
		{"no manifests", `{"account": "k8s"}`, []string{"manifests: is required: at least one manifest to deploy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := execute(t, reg, stageRun(t, "deployManifest", tc.ctx), "DeployManifest")
			stagestest.CheckFailure(t, r, model.StatusTerminal, tc.want...)
		})
	}
}

func TestDeployManifestConfigNamesTheFieldThatDoesNotFit(t *testing.T) {
	s := &model.StageExecution{Context: stagestest.ContextFromJSON(t, `{"account": "k8s", "moniker": {"app": 3}}`)}
	_, err := DeployManifestStage{}.Config(s)
	if err == nil || !strings.Contains(err.Error(), "moniker.app: must be a string, not the number 3") {
		t.Fatalf("Config = %v, want moniker.app named", err)
	}
}
