package k8s_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gennaker/gennaker/shared/model"
)

// A webhook brings a manifest and an image as artifacts; the pipeline's
// expected artifacts bind them, and deployManifest deploys the manifest
// named by manifestArtifactId with the image named by requiredArtifactIds.
func TestDeployManifestBoundToTriggerArtifacts(t *testing.T) {
	t.Parallel()
	ns := namespace(t, "trigart")
	e := newEnv(t, []string{ns}, "", "")
	// gennaker up's API, triggers included.
	srv := httptest.NewServer(e.rt.API())
	defer srv.Close()
	pipeline := map[string]any{
		"application": e.app, "name": "from-webhook", "id": "from-webhook",
		"triggers": []any{map[string]any{"type": "webhook", "enabled": true, "source": "manifests",
			"expectedArtifactIds": []string{"manifest", "image"}}},
		"expectedArtifacts": []any{
			map[string]any{"id": "manifest", "displayName": "web manifest", "matchArtifact": map[string]any{"type": "embedded/base64", "name": "web\\.yaml"}},
			map[string]any{"id": "image", "displayName": "web image", "matchArtifact": map[string]any{"type": "docker/image", "name": "registry.example.com/shop/web"}},
		},
		"stages": []any{map[string]any{"refId": "1", "type": "deployManifest", "name": "Deploy", "account": "k8s", "cloudProvider": "kubernetes",
			"namespaceOverride": ns, "source": "artifact", "manifestArtifactId": "manifest", "requiredArtifactIds": []string{"image"},
			"moniker": map[string]any{"app": "shop"}}},
	}
	e.call("POST", "/pipelines", pipeline, nil)

	manifest := deployment("web", "registry.example.com/shop/web:placeholder", 1, "")
	delivery, _ := json.Marshal(map[string]any{"artifacts": []any{
		map[string]any{"type": "embedded/base64", "name": "web.yaml", "reference": base64.StdEncoding.EncodeToString([]byte(manifest))},
		map[string]any{"type": "docker/image", "name": "registry.example.com/shop/web", "reference": "registry.example.com/shop/web:2.0", "version": "2.0"},
	}})
	post := func(body []byte) string {
		resp, err := http.Post(srv.URL+"/webhooks/webhook/manifests", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("webhook: %d %s", resp.StatusCode, out)
		}
		return string(out)
	}

	// Without the image, the run does not start, and the answer says why.
	noImage, _ := json.Marshal(map[string]any{"artifacts": []any{
		map[string]any{"type": "embedded/base64", "name": "web.yaml", "reference": base64.StdEncoding.EncodeToString([]byte(manifest))}}})
	if out := post(noImage); !strings.Contains(out, `\"web image\"`) || strings.Contains(out, `"started":true`) {
		t.Fatalf("a delivery without the image answered %s; want no run, naming the web image", out)
	}

	out := post(delivery)
	var resp struct {
		Events []struct {
			Pipelines []struct {
				Started     bool   `json:"started"`
				ExecutionID string `json:"executionId"`
			} `json:"pipelines"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.Events) != 1 || len(resp.Events[0].Pipelines) != 1 || !resp.Events[0].Pipelines[0].Started {
		t.Fatalf("the webhook answered %s; want one run started", out)
	}
	ex := e.wait(model.ExecutionID(resp.Events[0].Pipelines[0].ExecutionID), 2*time.Minute)
	assertStatus(t, ex, model.StatusSucceeded)
	d, err := kube.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the Deployment from the bound manifest: %v", err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/shop/web:2.0" {
		t.Fatalf("the Deployment runs %s, want the bound image registry.example.com/shop/web:2.0", img)
	}
}
