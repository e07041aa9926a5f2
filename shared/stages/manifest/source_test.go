package manifest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

// fakeHTTP answers every request with status and body, and records the
// URLs asked for.
type fakeHTTP struct {
	status int
	body   string
	asked  []string
}

func (f *fakeHTTP) Do(req *http.Request) (*http.Response, error) {
	f.asked = append(f.asked, req.URL.String())
	return &http.Response{StatusCode: f.status, Status: http.StatusText(f.status), Body: io.NopCloser(strings.NewReader(f.body))}, nil
}

const twoConfigMaps = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"

func TestManifestSourceRead(t *testing.T) {
	embedded := base64.StdEncoding.EncodeToString([]byte(twoConfigMaps))
	for _, tc := range []struct {
		name, ctx string
		names     string
		err       string
	}{
		{"objects and YAML", `{"manifests": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}, ` + jsonString(twoConfigMaps) + `]}`, "s a b", ""},
		{"a list", `{"manifests": [{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]}]}`, "c", ""},
		{"a list with a string", `{"manifests": [{"apiVersion": "v1", "kind": "ConfigMapList", "items": ["x"]}]}`, "", "manifests[0].items[0]: must be an object"},
		{"an embedded artifact", `{"source": "artifact", "manifestArtifact": {"type": "embedded/base64", "reference": "` + embedded + `"}}`, "a b", ""},
		{"an artifact that is not base64", `{"source": "artifact", "manifestArtifact": {"type": "embedded/base64", "reference": "%%"}}`, "", "manifestArtifact.reference: not base64"},
		{"no artifact", `{"source": "artifact"}`, "", "manifestArtifact: is required with source artifact"},
		{"YAML that is not", `{"manifests": ["a: [b"]}`, "", "manifests[0]: document 0 is not YAML"},
		{"a manifest without kind", `{"manifests": [{"metadata": {"name": "x"}}]}`, "", "manifests[0]: apiVersion and kind are required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var src manifestSource
			if err := stages.Decode(stagestest.ContextFromJSON(t, tc.ctx), &src).Err(); err != nil {
				t.Fatal(err)
			}
			objs, err := src.read()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("read = %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range objs {
				names = append(names, o.Name())
			}
			if got := strings.Join(names, " "); got != tc.names {
				t.Errorf("read %s, want %s", got, tc.names)
			}
		})
	}
}

func TestDeployManifestFetchesAnHTTPFileArtifact(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   []string
	}{
		{"fetched", http.StatusOK, twoConfigMaps, nil},
		{"missing", http.StatusNotFound, "", []string{"fetch manifest artifact http://files/m.yaml", "Not Found"}},
		{"not YAML", http.StatusOK, "a: [b", []string{"manifestArtifact http://files/m.yaml: document 0 is not YAML"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster()
			files := &fakeHTTP{status: tc.status, body: tc.body}
			run := stageRun(t, "deployManifest", `{"account": "k8s", "source": "artifact", "manifestArtifact": {"type": "http/file", "reference": "http://files/m.yaml"}}`)
			run.Services.HTTP = files
			r := execute(t, registryWith(c), run, "DeployManifest")
			if tc.want != nil {
				stagestest.CheckFailure(t, r, model.StatusTerminal, tc.want...)
				return
			}
			if r.Status != model.StatusSucceeded || len(c.objs) != 2 {
				t.Fatalf("DeployManifest: %s %v, cluster holds %v", r.Status, stagestest.ErrorsOf(r), c.objs)
			}
			if len(files.asked) != 1 {
				t.Errorf("fetched %q, want the artifact once", files.asked)
			}
		})
	}
}

func jsonString(s string) string {
	return `"` + strings.NewReplacer("\n", `\n`, `"`, `\"`).Replace(s) + `"`
}

// TestDeployManifestBindsExpectedArtifacts: the manifest named by
// manifestArtifactId and the image named by requiredArtifactIds are those
// the run's trigger bound.
func TestDeployManifestBindsExpectedArtifacts(t *testing.T) {
	deployment := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: web, image: 'registry.example.com/shop/web:old'}\n      initContainers:\n      - {name: migrate, image: 'registry.example.com/shop/migrate'}\n"
	trigger := `{"type": "docker", "artifacts": [{"type": "docker/image", "name": "registry.example.com/shop/migrate", "reference": "registry.example.com/shop/migrate:v7"}],
		"resolvedExpectedArtifacts": [
		{"id": "manifest", "matchArtifact": {"type": "embedded/base64"}, "boundArtifact": {"type": "embedded/base64", "name": "web.yaml", "reference": "` + base64.StdEncoding.EncodeToString([]byte(deployment)) + `"}},
		{"id": "image", "matchArtifact": {"type": "docker/image"}, "boundArtifact": {"type": "docker/image", "name": "registry.example.com/shop/web", "reference": "registry.example.com/shop/web:v2"}}]}`
	for _, tc := range []struct {
		name, ctx string
		want      []string // a failure's message
	}{
		{"bound", `{"account": "k8s", "source": "artifact", "manifestArtifactId": "manifest", "requiredArtifactIds": ["image"]}`, nil},
		{"manifest not bound", `{"account": "k8s", "source": "artifact", "manifestArtifactId": "other"}`, []string{"manifestArtifactId", `expected artifact "other"`}},
		{"image not bound", `{"account": "k8s", "source": "artifact", "manifestArtifactId": "manifest", "requiredArtifactIds": ["nope"]}`, []string{"requiredArtifactIds", `"nope"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCluster()
			run := stageRun(t, "deployManifest", tc.ctx)
			if err := json.Unmarshal([]byte(trigger), &run.Execution.Trigger); err != nil {
				t.Fatal(err)
			}
			r := execute(t, registryWith(c), run, "DeployManifest")
			if tc.want != nil {
				stagestest.CheckFailure(t, r, model.StatusTerminal, tc.want...)
				return
			}
			if r.Status != model.StatusSucceeded || len(c.objs) != 1 {
				t.Fatalf("DeployManifest: %s %v, cluster holds %v", r.Status, stagestest.ErrorsOf(r), c.objs)
			}
			for _, o := range c.objs {
				b, _ := json.Marshal(o)
				for _, img := range []string{"registry.example.com/shop/web:v2", "registry.example.com/shop/migrate:v7"} {
					if !strings.Contains(string(b), img) {
						t.Errorf("the deployed manifest does not run %s: %s", img, b)
					}
				}
			}
		})
	}
}

// A github/file manifest artifact (what a GitHub push brings) is read from
// the contents API at the pushed commit.
func TestDeployManifestFetchesAGitHubFileAtItsVersion(t *testing.T) {
	c := newFakeCluster()
	files := &rawFiles{body: twoConfigMaps}
	run := stageRun(t, "deployManifest", `{"account": "k8s", "source": "artifact", "manifestArtifact": {"type": "github/file", "name": "deploy/cm.yml",
		"version": "da68b0f", "reference": "https://api.github.com/repos/jervi/expert-waffle/contents/deploy/cm.yml"}}`)
	run.Services.HTTP = files
	r := execute(t, registryWith(c), run, "DeployManifest")
	if r.Status != model.StatusSucceeded || len(c.objs) != 2 {
		t.Fatalf("DeployManifest: %s %v, cluster holds %v", r.Status, stagestest.ErrorsOf(r), c.objs)
	}
	if len(files.asked) != 1 || files.asked[0] != "https://api.github.com/repos/jervi/expert-waffle/contents/deploy/cm.yml?ref=da68b0f" || files.accept != "application/vnd.github.raw" {
		t.Errorf("asked %q with Accept %q; want the file at the commit, raw", files.asked, files.accept)
	}
}

// rawFiles is a fake file host that records the URLs and Accept header
// asked for.
type rawFiles struct {
	body   string
	asked  []string
	accept string
}

func (f *rawFiles) Do(req *http.Request) (*http.Response, error) {
	f.asked = append(f.asked, req.URL.String())
	f.accept = req.Header.Get("Accept")
	return &http.Response{StatusCode: 200, Status: "200 OK", Body: io.NopCloser(strings.NewReader(f.body))}, nil
}
