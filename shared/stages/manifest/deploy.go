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
	"slices"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"gopkg.in/yaml.v3"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
)

// DeployManifestStage is Spinnaker's "deployManifest": apply manifests to a
// Kubernetes account, then wait until every object is stable.
//
// Fields: account, manifests (with source "text", the default) or
// manifestArtifact (an embedded/base64 artifact of YAML), namespaceOverride,
// moniker {app, cluster}, and trafficManagement {enabled, options:
// {enableTraffic, services ["service my-svc"], strategy redblack |
// highlander | none}} for ReplicaSets. Versioned kinds (ReplicaSet,
// ConfigMap, Secret, Pod) are named -vNNN; an identical manifest reuses its
// version; strategy.spinnaker.io/max-version-history prunes.
type DeployManifestStage struct{}

// Type implements Definition.
func (DeployManifestStage) Type() string { return "deployManifest" }

// Validate checks the account, the source and the traffic options.
func (DeployManifestStage) Validate(s *model.Stage) []model.Problem {
	var p stages.Problems
	cfg := stages.RawConfigOf(s, &p)
	validateManifestAccount(cfg, &p)
	if src, _, err := stages.String(cfg, "source"); err != nil {
		p.AddErr(err)
	} else if !stages.IsExpression(src) && src != "" && src != "text" && src != "artifact" {
		p.Add("source", "%q is not text or artifact", src)
	} else if src == "artifact" && !stages.IsExpression(cfg["manifestArtifact"]) {
		if _, err := manifestArtifactOf(cfg); err != nil {
			p.AddErr(err)
		}
	} else if (src == "" || src == "text") && !stages.IsExpression(cfg["manifests"]) {
		if ms, err := readManifests(cfg); err != nil {
			p.AddErr(err)
		} else if len(ms) == 0 {
			p.Add("manifests", "is required: at least one manifest to deploy")
		}
	}
	stages.CheckField(cfg, "namespaceOverride", &p, stages.ReadsString)
	if _, err := trafficOf(cfg); err != nil {
		p.AddErr(err)
	}
	return p
}

// Plan deploys, waits until stable, then applies the traffic strategy.
func (DeployManifestStage) Plan(s *model.StageExecution) ([]string, error) {
	tm, err := trafficOf(s.Context)
	if err != nil {
		return nil, err
	}
	tasks := []string{DeployManifestTask{}.Name(), WaitForManifestStableTask{}.Name()}
	switch tm.strategy() {
	case "redblack":
		tasks = append(tasks, DisableOldManifestsTask{}.Name())
	case "highlander":
		tasks = append(tasks, DeleteOldManifestsTask{}.Name())
	}
	return tasks, nil
}

// trafficManagement is deployManifest's trafficManagement field.
type trafficManagement struct {
	Enabled bool `json:"enabled"`
	Options struct {
		EnableTraffic *bool    `json:"enableTraffic"`
		Services      []string `json:"services"`
		Strategy      string   `json:"strategy"`
		Namespace     string   `json:"namespace"`
	} `json:"options"`
}

func (t trafficManagement) strategy() string {
	if !t.Enabled {
		return ""
	}
	return strings.ToLower(t.Options.Strategy)
}

func (t trafficManagement) enableTraffic() bool {
	return t.Options.EnableTraffic == nil || *t.Options.EnableTraffic
}

func trafficOf(ctx map[string]any) (trafficManagement, error) {
	var tm trafficManagement
	if _, err := stages.DecodeField(ctx, "trafficManagement", &tm); err != nil {
		return tm, err
	}
	if !tm.Enabled {
		return tm, nil
	}
	switch tm.strategy() {
	case "", "none", "redblack", "highlander":
	default:
		return tm, fmt.Errorf("trafficManagement.options.strategy: %q is not redblack, highlander or none", tm.Options.Strategy)
	}
	if (tm.strategy() == "redblack" || tm.strategy() == "highlander") && !tm.enableTraffic() {
		return tm, fmt.Errorf("trafficManagement.options.enableTraffic: the %s strategy sends traffic to the new version, so it cannot be false", tm.strategy())
	}
	for i, s := range tm.Options.Services {
		if r, err := manifest.ParseRef(s, ""); err != nil || !manifest.SameKind(r.Kind, "service") {
			return tm, fmt.Errorf("trafficManagement.options.services[%d]: %q is not \"service <name>\"", i, s)
		}
	}
	return tm, nil
}

// The artifact types a manifest can come from.
const (
	embeddedArtifact = "embedded/base64"
	httpFileArtifact = "http/file"
)

// manifestArtifact is the artifact a deployManifest reads with source
// artifact.
type manifestArtifact struct {
	Type      string `json:"type"`
	Reference string `json:"reference"`
	Name      string `json:"name"`
}

func manifestArtifactOf(ctx map[string]any) (manifestArtifact, error) {
	var art manifestArtifact
	ok, err := stages.DecodeField(ctx, "manifestArtifact", &art)
	if err != nil {
		return art, err
	}
	if !ok {
		return art, errors.New("manifestArtifact: is required with source artifact (an embedded/base64 or http/file artifact)")
	}
	if art.Type != embeddedArtifact && art.Type != httpFileArtifact {
		return art, fmt.Errorf("manifestArtifact.type: %q is not supported; use embedded/base64 (the manifests in reference) or http/file (a URL in reference)", art.Type)
	}
	if art.Reference == "" {
		return art, fmt.Errorf("manifestArtifact.reference: is required for a %s artifact", art.Type)
	}
	return art, nil
}

// maxManifestBytes bounds a manifest fetched from an http/file artifact.
const maxManifestBytes = 4 << 20

// loadManifests reads the manifests a stage deploys, fetching an http/file
// artifact with the stage's HTTP client.
func loadManifests(gctx context.Context, run *stages.Run) ([]manifest.Object, error) {
	c := run.Stage.Context
	if src, _, _ := stages.String(c, "source"); src != "artifact" {
		return readManifests(c)
	}
	art, err := manifestArtifactOf(c)
	if err != nil {
		return nil, err
	}
	if art.Type != httpFileArtifact {
		return readManifests(c)
	}
	req, err := http.NewRequestWithContext(gctx, http.MethodGet, art.Reference, nil)
	if err != nil {
		return nil, fmt.Errorf("manifestArtifact.reference %q: %v", art.Reference, err)
	}
	client := run.HTTP()
	resp, err := client.Do(req)
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

// readManifests reads the manifests to deploy: manifests (a list of
// objects, or of YAML strings) or manifestArtifact (embedded/base64).
func readManifests(ctx map[string]any) ([]manifest.Object, error) {
	src, _, err := stages.String(ctx, "source")
	if err != nil {
		return nil, err
	}
	if src == "artifact" {
		art, err := manifestArtifactOf(ctx)
		if err != nil {
			return nil, err
		}
		if art.Type == httpFileArtifact {
			// Fetched when the stage runs (loadManifests); nothing to read here.
			return nil, nil
		}
		raw, err := base64.StdEncoding.DecodeString(art.Reference)
		if err != nil {
			return nil, fmt.Errorf("manifestArtifact.reference: not base64: %v", err)
		}
		return parseYAMLManifests("manifestArtifact", raw)
	}
	list, ok := ctx["manifests"].([]any)
	if !ok {
		if ctx["manifests"] != nil {
			return nil, fmt.Errorf("manifests: must be a list of manifests, not %s", stages.Describe(ctx["manifests"]))
		}
		return nil, nil
	}
	var out []manifest.Object
	for i, item := range list {
		switch m := item.(type) {
		case map[string]any:
			// A List manifest deploys its items.
			if items, ok := m["items"].([]any); ok && strings.HasSuffix(fmt.Sprint(m["kind"]), "List") {
				for j, it := range items {
					obj, ok := it.(map[string]any)
					if !ok {
						return nil, fmt.Errorf("manifests[%d].items[%d]: must be an object", i, j)
					}
					out = append(out, manifest.Object(obj))
				}
				continue
			}
			out = append(out, manifest.Object(m))
		case string:
			objs, err := parseYAMLManifests(fmt.Sprintf("manifests[%d]", i), []byte(m))
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		default:
			return nil, fmt.Errorf("manifests[%d]: must be an object, not %s", i, stages.Describe(item))
		}
	}
	for i, m := range out {
		if m.Kind() == "" || m.APIVersion() == "" {
			return nil, fmt.Errorf("manifests[%d]: apiVersion and kind are required", i)
		}
		if m.Name() == "" {
			return nil, fmt.Errorf("manifests[%d] (%s): metadata.name is required", i, m.Kind())
		}
	}
	return out, nil
}

// parseYAMLManifests reads one or more YAML documents.
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
			return nil, fmt.Errorf("%s: document %d is not YAML: %v", field, i, err)
		}
		if doc == nil {
			continue
		}
		// Round-trip through JSON for the shape JSON decoding gives.
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %v", field, i, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("%s: document %d must be an object", field, i)
		}
		out = append(out, manifest.Object(m))
	}
}

// DeployManifestTask applies the manifests and records what it deployed.
type DeployManifestTask struct{ env *manifestEnv }

// Name implements Task.
func (DeployManifestTask) Name() string { return "DeployManifest" }

// Execute implements Task.
func (t DeployManifestTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c := run.Stage.Context
	account, err := manifestAccount(c)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	objs, err := loadManifests(ctx, run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if len(objs) == 0 {
		return stages.Failed("manifests is required: at least one manifest to deploy"), nil
	}
	tm, err := trafficOf(c)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	opts := manifest.DeployOptions{DisableTraffic: tm.Enabled && !tm.enableTraffic()}
	if opts.Namespace, _, err = stages.String(c, "namespaceOverride"); err != nil {
		return stages.Failed("%v", err), nil
	}
	if tm.Enabled {
		opts.Services = tm.Options.Services
		if opts.Namespace == "" && tm.Options.Namespace != "" {
			opts.Namespace = tm.Options.Namespace
		}
	}
	if _, err := stages.DecodeField(c, "moniker", &opts.Moniker); err != nil {
		return stages.Failed("%v", err), nil
	}
	if opts.Moniker.App == "" {
		opts.Moniker.App = string(run.Execution.Application)
	}
	cluster, err := t.env.cluster(run, account)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	deployed, err := manifest.Deploy(ctx, cluster, objs, opts)
	if err != nil {
		if ctx.Err() != nil {
			return stages.Result{}, ctx.Err()
		}
		return stages.Failed("%v", err), nil
	}
	refs := make([]manifest.Ref, 0, len(deployed))
	var summary, manifests, artifacts []any
	for _, d := range deployed {
		refs = append(refs, d.Ref)
		entry := map[string]any{"manifestName": d.Ref.String(), "location": d.Ref.Namespace, "cluster": d.Cluster}
		if d.Version >= 0 {
			entry["version"] = fmt.Sprintf("v%03d", d.Version)
			entry["reused"] = d.Reused
			if len(d.Pruned) > 0 {
				entry["pruned"] = d.Pruned
			}
		}
		summary = append(summary, entry)
		manifests = append(manifests, trimManifest(d.Object))
		art := map[string]any{
			"type":      "kubernetes/" + manifest.SpinnakerKind(d.Ref.Kind),
			"name":      d.BaseName,
			"reference": d.Ref.Name,
			"location":  d.Ref.Namespace,
		}
		if d.Version >= 0 {
			art["version"] = fmt.Sprintf("v%03d", d.Version)
		}
		artifacts = append(artifacts, art)
	}
	out := refsContext(refs)
	out["deployedManifests"] = summary
	out["deploy.account.name"] = account
	out["outputs.manifests"] = manifests
	out["outputs.createdArtifacts"] = artifacts
	return stages.Result{
		Status:  model.StatusSucceeded,
		Context: out,
		Outputs: map[string]any{
			manifestNamesKey:           out[manifestNamesKey],
			"outputs.manifests":        manifests,
			"outputs.createdArtifacts": artifacts,
			"deployedManifests":        summary,
		},
	}, nil
}

// trimManifest drops what only the API server needs from an object kept in
// the stage.
func trimManifest(o manifest.Object) map[string]any {
	c := o.DeepCopy()
	delete(c.Metadata(), "managedFields")
	return c
}

// WaitForManifestStableTask polls the objects the stage acted on until every
// one is stable by its kind's rule, failing when one reports that it failed
// (a Deployment past its progress deadline, a failed Job).
type WaitForManifestStableTask struct{ env *manifestEnv }

// Name implements Task.
func (WaitForManifestStableTask) Name() string { return "WaitForManifestStable" }

// Timeout is Spinnaker's 30 minutes unless the stage sets stageTimeoutMs.
func (WaitForManifestStableTask) Timeout(s *model.StageExecution) time.Duration {
	return stages.OverridableTimeout(s, 30*time.Minute)
}

// Execute implements Task.
func (t WaitForManifestStableTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	account, err := manifestAccount(run.Stage.Context)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	refs, err := refsFromContext(run.Stage.Context)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	cluster, err := t.env.cluster(run, account)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	var messages, stableNames, failedNames []any
	for _, ref := range refs {
		obj, err := cluster.Get(ctx, ref)
		if err != nil {
			if ctx.Err() != nil {
				return stages.Result{}, ctx.Err()
			}
			if manifest.IsNotFound(err) || errors.Is(err, manifest.ErrForbiddenNamespace) || errors.Is(err, manifest.ErrUnknownKind) {
				return stages.Failed("%s in %s: %v", ref, ref.Namespace, err), nil
			}
			// The cluster may be briefly unreachable; the timeout bounds it.
			messages = append(messages, fmt.Sprintf("%s: %v", ref, err))
			continue
		}
		st := manifest.StatusOf(obj)
		switch {
		case st.Failed:
			failedNames = append(failedNames, ref.String())
			r := stages.Failed("%s in %s failed: %s", ref, ref.Namespace, st.Message)
			r.Context["failedManifests"] = failedNames
			r.Context["stableManifests"] = stableNames
			return r, nil
		case st.Stable:
			stableNames = append(stableNames, ref.String())
		default:
			messages = append(messages, fmt.Sprintf("%s: %s", ref, st.Message))
		}
	}
	out := map[string]any{"stableManifests": stableNames, "messages": messages}
	if len(messages) == 0 {
		return stages.Result{Status: model.StatusSucceeded, Context: out}, nil
	}
	return stages.Result{Status: model.StatusRunning, Context: out, Backoff: pollBackoff(run, t.Name())}, nil
}

var _ stages.TimeoutTask = WaitForManifestStableTask{}

// deployedReplicaSets are the ReplicaSets the stage deployed.
func deployedReplicaSets(ctx map[string]any) ([]manifest.Ref, error) {
	refs, err := refsFromContext(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(refs, func(r manifest.Ref) bool { return !manifest.SameKind(r.Kind, "replicaset") }), nil
}

// DisableOldManifestsTask is red/black's last step: every older ReplicaSet
// of each deployed ReplicaSet's cluster is taken out of its load balancers,
// so only the new one is selected. The old ones keep running.
type DisableOldManifestsTask struct{ env *manifestEnv }

// Name implements Task.
func (DisableOldManifestsTask) Name() string { return "DisableOldManifests" }

// Execute implements Task.
func (t DisableOldManifestsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return t.env.eachOlder(ctx, run, "disabledManifests", changeDisable, func(old manifest.Object) bool {
		lbs, err := manifest.LoadBalancers(old)
		return err != nil || len(lbs) > 0 // never behind a load balancer: nothing to disable
	}, func(c manifest.Cluster, old manifest.Object) error {
		return manifest.SetTraffic(ctx, c, old.Ref(), false)
	})
}

// DeleteOldManifestsTask is highlander's last step: every older ReplicaSet
// of each deployed ReplicaSet's cluster is deleted.
type DeleteOldManifestsTask struct{ env *manifestEnv }

// Name implements Task.
func (DeleteOldManifestsTask) Name() string { return "DeleteOldManifests" }

// Execute implements Task.
func (t DeleteOldManifestsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	return t.env.eachOlder(ctx, run, "deletedManifests", changeDelete, nil, func(c manifest.Cluster, old manifest.Object) error {
		return c.Delete(ctx, old.Ref(), manifest.DeleteOptions{Cascading: true})
	})
}

// eachOlder applies act to every other version of the deployed
// ReplicaSets' clusters that concerns (nil: every one) and records their
// names under key. The application's traffic guards see the change first.
func (e *manifestEnv) eachOlder(ctx context.Context, run *stages.Run, key string, change manifestChange, concerns func(manifest.Object) bool, act func(manifest.Cluster, manifest.Object) error) (stages.Result, error) {
	account, err := manifestAccount(run.Stage.Context)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	refs, err := deployedReplicaSets(run.Stage.Context)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	cluster, err := e.cluster(run, account)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	var olds []manifest.Object
	for _, ref := range refs {
		obj, err := cluster.Get(ctx, ref)
		if err != nil {
			return manifestFailure(ref.String(), err), nil
		}
		others, err := manifest.OtherVersions(ctx, cluster, obj)
		if err != nil {
			return manifestFailure(ref.String(), err), nil
		}
		for _, old := range others {
			if concerns == nil || concerns(old) {
				olds = append(olds, old)
			}
		}
	}
	if err := guardManifests(ctx, run, cluster, account, change, olds); err != nil {
		return stages.Failed("%v", err), nil
	}
	var done []any
	for _, old := range olds {
		if err := act(cluster, old); err != nil {
			return manifestFailure(old.Ref().String(), err), nil
		}
		done = append(done, old.Ref().String())
	}
	return stages.Result{Status: model.StatusSucceeded, Context: map[string]any{key: done}}, nil
}
