package k8s_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gennaker/gennaker/shared/model"
)

// deployManifest with source artifact fetches an http/file artifact and
// deploys what it holds; a manifest server that answers an error fails the
// stage with the URL and the status.
func TestDeployManifestFromAnHTTPFileArtifact(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "artifact")
	e := newEnv(t, []string{ns}, "", "")
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/manifests/settings.yaml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-artifact\ndata:\n  greeting: hello\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\ndata:\n  n: \"2\"\n"))
	}))
	defer files.Close()
	artifactStage := func(url string) string {
		return stage("1", "Deploy", "deployManifest", map[string]any{
			"account": "k8s", "cloudProvider": "kubernetes", "namespaceOverride": ns, "source": "artifact",
			"manifestArtifact": map[string]any{"type": "http/file", "reference": url, "name": "settings.yaml"},
		})
	}
	ex := e.run(artifactStage(files.URL + "/manifests/settings.yaml"))
	assertStatus(t, ex, model.StatusSucceeded)
	for _, name := range []string{"from-artifact-v000", "second-v000"} {
		cm, err := kube.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("ConfigMap %s from the artifact: %v", name, err)
		}
		if name == "from-artifact-v000" && cm.Data["greeting"] != "hello" {
			t.Fatalf("ConfigMap data %v", cm.Data)
		}
	}

	missing := e.run(artifactStage(files.URL + "/manifests/nope.yaml"))
	assertFailedWith(t, missing, "Deploy", "/manifests/nope.yaml", "404")

	// An artifact type gennaker cannot read is saved, as Spinnaker saves it,
	// and refused when the pipeline is triggered, before anything runs.
	code, body := e.try("POST", "/pipelines", map[string]any{"application": e.app, "name": "s3", "stages": []any{map[string]any{
		"refId": "1", "type": "deployManifest", "name": "Deploy", "account": "k8s", "cloudProvider": "kubernetes", "source": "artifact",
		"manifestArtifact": map[string]any{"type": "s3/object", "reference": "s3://bucket/m.yaml"},
	}}})
	if code != 200 {
		t.Fatalf("saving an s3/object manifest artifact: %d %s", code, body)
	}
	code, body = e.try("POST", "/pipelines/"+e.app+"/s3", map[string]any{"type": "manual"})
	if code != 400 || !strings.Contains(body, "cannot run here") || !strings.Contains(body, `manifestArtifact.type: \"s3/object\" is not supported`) {
		t.Fatalf("triggering a pipeline with an s3/object manifest artifact: %d %s", code, body)
	}
}
