package manifest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/artifacts"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// manifestSource is where deployManifest's and runJob's manifests come
// from: manifests (objects, or strings of YAML) with source text, the
// default, or manifestArtifact (embedded/base64, or http/file fetched when
// the stage runs) with source artifact. The manifests stay free-form.
type manifestSource struct {
	Source           string          `json:"source"`
	Manifests        []any           `json:"manifests"`
	ManifestArtifact *model.Artifact `json:"manifestArtifact"`
	// ManifestArtifactID names, instead of manifestArtifact, the expected
	// artifact whose bound artifact is the manifest (bound by the trigger
	// or an earlier stage of the run).
	ManifestArtifactID string `json:"manifestArtifactId"`
	// RequiredArtifactIDs name expected artifacts the manifests use: the
	// docker images bound to them replace the images of the same name in
	// the manifests' containers, as do the images the trigger brought.
	RequiredArtifactIDs []string `json:"requiredArtifactIds"`
}

// bindsAtRunTime reports a manifest artifact named by id, known only once
// the run has bound it.
func (m *manifestSource) bindsAtRunTime() bool {
	return m.Source == "artifact" && m.ManifestArtifact == nil && m.ManifestArtifactID != ""
}

// The artifact types a manifest can come from.
const (
	embeddedArtifact   = "embedded/base64"
	httpFileArtifact   = "http/file"
	githubFileArtifact = "github/file"
	gitlabFileArtifact = "gitlab/file"
)

// fetched reports an artifact type whose contents are fetched over HTTP
// when the stage runs. github/file and gitlab/file are read from the
// hosts' APIs without credentials, so from public repositories only.
func fetched(typ string) bool {
	return typ == httpFileArtifact || typ == githubFileArtifact || typ == gitlabFileArtifact
}

// check records what is wrong with the source and, unless they are only
// known when the stage runs, the manifests.
func (m *manifestSource) check(exprs stages.Expressions, p *stages.Problems) {
	switch {
	case exprs.Has("source"):
	case m.Source != "" && m.Source != "text" && m.Source != "artifact":
		p.Add("source", "%q is not text or artifact", m.Source)
	case m.Source == "artifact":
		if exprs.Has("manifestArtifact") || m.bindsAtRunTime() {
			return
		}
		if _, err := m.artifact(); err != nil {
			addErr(p, err)
		}
	default:
		if exprs.Has("manifests") {
			return
		}
		if ms, err := m.read(); err != nil {
			addErr(p, err)
		} else if len(ms) == 0 {
			p.Add("manifests", "is required: at least one manifest to deploy")
		}
	}
}

// artifact is the manifest artifact of source artifact.
func (m *manifestSource) artifact() (*model.Artifact, error) {
	art := m.ManifestArtifact
	if art == nil {
		return nil, fieldErr("manifestArtifact", "is required with source artifact (an embedded/base64 or http/file artifact), unless manifestArtifactId names an expected artifact")
	}
	if art.Type != embeddedArtifact && !fetched(art.Type) {
		return nil, fieldErr("manifestArtifact.type", "%q is not supported; use embedded/base64 (the manifests in reference), http/file (a URL in reference), or github/file or gitlab/file of a public repository", art.Type)
	}
	if art.Reference == "" {
		return nil, fieldErr("manifestArtifact.reference", "is required for a %s artifact", art.Type)
	}
	return art, nil
}

// maxManifestBytes bounds a manifest fetched from an http/file artifact.
const maxManifestBytes = 4 << 20

// load reads the manifests, fetching an http/file artifact with the run's
// HTTP client.
func (m *manifestSource) load(gctx context.Context, run *stages.Run) ([]manifest.Object, error) {
	objs, err := m.fetch(gctx, run)
	if err != nil {
		return nil, err
	}
	if err := m.bindArtifacts(run.Execution, objs); err != nil {
		return nil, err
	}
	return objs, nil
}

// fetch reads the manifests, binding manifestArtifactId first.
func (m *manifestSource) fetch(gctx context.Context, run *stages.Run) ([]manifest.Object, error) {
	if m.Source != "artifact" {
		return m.read()
	}
	if m.bindsAtRunTime() {
		bound := artifacts.Bound(run.Execution, m.ManifestArtifactID)
		if bound == nil {
			return nil, fieldErr("manifestArtifactId", "no artifact is bound to expected artifact %q in this run: neither the trigger nor an earlier stage supplied one", m.ManifestArtifactID)
		}
		m.ManifestArtifact = bound
	}
	art, err := m.artifact()
	if err != nil {
		return nil, err
	}
	if !fetched(art.Type) {
		return m.read()
	}
	req, err := http.NewRequestWithContext(gctx, http.MethodGet, art.Reference, nil)
	if err != nil {
		return nil, fmt.Errorf("manifestArtifact.reference %q: %v", art.Reference, err)
	}
	if art.Type == githubFileArtifact || art.Type == gitlabFileArtifact {
		// The file as of the artifact's version (the pushed commit).
		if art.Version != "" {
			q := req.URL.Query()
			q.Set("ref", art.Version)
			req.URL.RawQuery = q.Encode()
		}
		if art.Type == githubFileArtifact {
			req.Header.Set("Accept", "application/vnd.github.raw")
		}
	}
	resp, err := run.HTTP().Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch manifest artifact %s: %v", art.Reference, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch manifest artifact %s: %v", art.Reference, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("fetch manifest artifact %s: %s", art.Reference, resp.Status)
	}
	if len(raw) > maxManifestBytes {
		return nil, fmt.Errorf("manifest artifact %s is larger than %d bytes", art.Reference, maxManifestBytes)
	}
	return parseYAMLManifests("manifestArtifact "+art.Reference, raw)
}

// read reads the manifests given in the stage: manifests, or an
// embedded/base64 manifestArtifact. An http/file artifact is only fetched
// when the stage runs (load), so it reads as none.
func (m *manifestSource) read() ([]manifest.Object, error) {
	if m.Source == "artifact" {
		if m.bindsAtRunTime() {
			return nil, nil
		}
		art, err := m.artifact()
		if err != nil {
			return nil, err
		}
		if fetched(art.Type) {
			return nil, nil
		}
		raw, err := base64.StdEncoding.DecodeString(art.Reference)
		if err != nil {
			return nil, fieldErr("manifestArtifact.reference", "not base64: %v", err)
		}
		return parseYAMLManifests("manifestArtifact", raw)
	}
	var out []manifest.Object
	for i, item := range m.Manifests {
		switch o := item.(type) {
		case map[string]any:
			obj := manifest.Object(o)
			// A List manifest deploys its items.
			if items, ok := obj["items"].([]any); ok && strings.HasSuffix(obj.Kind(), "List") {
				for j, it := range items {
					item, ok := it.(map[string]any)
					if !ok {
						return nil, fieldErr(stages.Path("manifests", i, "items", j), "must be an object")
					}
					out = append(out, manifest.Object(item))
				}
				continue
			}
			out = append(out, obj)
		case string:
			objs, err := parseYAMLManifests(stages.Path("manifests", i), []byte(o))
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		default:
			return nil, fieldErr(stages.Path("manifests", i), "must be an object, not %s", stages.Describe(item))
		}
	}
	for i, o := range out {
		if o.Kind() == "" || o.APIVersion() == "" {
			return nil, fieldErr(stages.Path("manifests", i), "apiVersion and kind are required")
		}
		if o.Name() == "" {
			return nil, fieldErr(stages.Path("manifests", i, "metadata", "name"), "is required (the %s has none)", o.Kind())
		}
	}
	return out, nil
}

// parseYAMLManifests reads one or more YAML documents of field.
func parseYAMLManifests(field string, raw []byte) ([]manifest.Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var out []manifest.Object
	for i := 0; ; i++ {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fieldErr(field, "document %d is not YAML: %v", i, err)
		}
		if doc == nil {
			continue
		}
		// Round-trip through JSON for the shape JSON decoding gives.
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, fieldErr(field, "document %d: %v", i, err)
		}
		var o manifest.Object
		if err := json.Unmarshal(b, &o); err != nil || o == nil {
			return nil, fieldErr(field, "document %d must be an object", i)
		}
		out = append(out, o)
	}
}

// bindArtifacts replaces the images of the manifests' containers with the
// docker images bound to requiredArtifactIds and those the trigger brought:
// a container whose image is the artifact's name, with or without a tag or
// digest, runs the artifact's reference.
func (m *manifestSource) bindArtifacts(e *model.Execution, objs []manifest.Object) error {
	var images []model.Artifact
	for _, id := range m.RequiredArtifactIDs {
		a := artifacts.Bound(e, id)
		if a == nil {
			return fieldErr("requiredArtifactIds", "no artifact is bound to expected artifact %q in this run: neither the trigger nor an earlier stage supplied one", id)
		}
		if a.Type == "docker/image" {
			images = append(images, *a)
		}
	}
	if e != nil {
		for _, a := range e.Trigger.Artifacts {
			if a.Type == "docker/image" {
				images = append(images, a)
			}
		}
	}
	if len(images) == 0 {
		return nil
	}
	for _, o := range objs {
		bindImages(map[string]any(o), images)
	}
	return nil
}

// bindImages walks a manifest for containers and sets their images.
func bindImages(v any, images []model.Artifact) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if k == "containers" || k == "initContainers" || k == "ephemeralContainers" {
				if list, ok := child.([]any); ok {
					for _, c := range list {
						if cm, ok := c.(map[string]any); ok {
							bindImage(cm, images)
						}
					}
				}
			}
			bindImages(child, images)
		}
	case []any:
		for _, child := range x {
			bindImages(child, images)
		}
	}
}

func bindImage(container map[string]any, images []model.Artifact) {
	img, _ := container["image"].(string)
	if img == "" {
		return
	}
	for _, a := range images {
		if a.Name == "" || a.Reference == "" {
			continue
		}
		if img == a.Name || strings.HasPrefix(img, a.Name+":") || strings.HasPrefix(img, a.Name+"@") {
			container["image"] = a.Reference
			return
		}
	}
}
