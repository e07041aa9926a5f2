package manifest

import (
	"encoding/json"
	"testing"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestArtifactsOf(t *testing.T) {
	for _, tc := range []struct {
		name, obj, want string
	}{
		{"a deployment", `{"kind": "Deployment", "metadata": {"namespace": "shop"}, "spec": {"template": {"spec": {
		  "initContainers": [{"image": "busybox:1.36"}],
		  "containers": [{"image": "registry:5000/api:1", "envFrom": [{"configMapRef": {"name": "settings-v001"}}, {"secretRef": {"name": "keys"}}]},
		                 {"image": "registry:5000/api:1"}],
		  "volumes": [{"configMap": {"name": "settings-v001"}}, {"secret": {"secretName": "tls-v002"}}]}}}}`,
			`[{"type":"docker/image","name":"busybox","reference":"busybox:1.36"},` +
				`{"type":"docker/image","name":"registry:5000/api","reference":"registry:5000/api:1"},` +
				`{"type":"kubernetes/configMap","name":"settings","location":"shop","reference":"settings-v001"},` +
				`{"type":"kubernetes/secret","name":"keys","location":"shop","reference":"keys"},` +
				`{"type":"kubernetes/secret","name":"tls","location":"shop","reference":"tls-v002"}]`},
		{"a pod pinned by digest", `{"kind": "Pod", "spec": {"containers": [{"image": "api@sha256:abc"}]}}`,
			`[{"type":"docker/image","name":"api","reference":"api@sha256:abc"}]`},
		{"a cron job", `{"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "report:2"}]}}}}}}`,
			`[{"type":"docker/image","name":"report","reference":"report:2"}]`},
		{"a config map", `{"kind": "ConfigMap", "data": {"a": "b"}}`, `[]`},
		{"a container of the wrong shape", `{"kind": "Pod", "spec": {"containers": [{"image": 3}, {"image": "api:1"}]}}`,
			`[{"type":"docker/image","name":"api","reference":"api:1"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o manifest.Object
			if err := json.Unmarshal([]byte(tc.obj), &o); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(artifactsOf(o))
			if string(b) != tc.want {
				t.Errorf("artifacts\n got %s\nwant %s", b, tc.want)
			}
		})
	}
}

func TestFindArtifactsFromResourceOffersThemToLaterStages(t *testing.T) {
	c := newFakeCluster(`{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop", "managedFields": [{}]},
	  "spec": {"template": {"spec": {"containers": [{"image": "api:1"}]}}}}`)
	run := stageRun(t, "findArtifactsFromResource", `{"account": "k8s", "manifestName": "deployment api", "location": "shop"}`)
	r := execute(t, registryWith(c), run, "FindArtifactsFromResource")
	if r.Status != model.StatusSucceeded {
		t.Fatalf("FindArtifactsFromResource: %s %v", r.Status, stagestest.ErrorsOf(r))
	}
	if got, _ := json.Marshal(r.Outputs["artifacts"]); string(got) != `[{"name":"api","reference":"api:1","type":"docker/image"}]` {
		t.Errorf("artifacts output = %s", got)
	}
	if m, _ := r.Outputs["manifest"].(map[string]any); manifest.Nested(m, "metadata", "managedFields") != nil || manifest.Nested(m, "metadata", "name") != "api" {
		t.Errorf("manifest output = %v, want the deployment without managedFields", m)
	}
}
