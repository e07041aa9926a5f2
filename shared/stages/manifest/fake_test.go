package manifest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

// fakeCluster keeps objects in memory and records the patches, deletions
// and label selectors asked of it: a stand-in for the API server in unit
// tests of one decision. tests/k8s runs the stages against a real one.
type fakeCluster struct {
	objs      map[string]manifest.Object
	clock     int
	patches   []string // "kind/name type body"
	deleted   []string // "kind/namespace/name cascading=…"
	selectors []string
	logs      string
	// err, when set, is what every call that reaches the cluster returns.
	err error
}

func newFakeCluster(objs ...string) *fakeCluster {
	f := &fakeCluster{objs: map[string]manifest.Object{}}
	for _, js := range objs {
		var o manifest.Object
		if err := json.Unmarshal([]byte(js), &o); err != nil {
			panic(err)
		}
		f.objs[fakeKey(o.Ref())] = o
	}
	return f
}

func fakeKey(r manifest.Ref) string {
	return strings.ToLower(r.Kind) + "/" + r.Namespace + "/" + r.Name
}

func (f *fakeCluster) DefaultNamespace() string { return "default" }

func (f *fakeCluster) Apply(_ context.Context, o manifest.Object) (manifest.Object, error) {
	if f.err != nil {
		return nil, f.err
	}
	c := o.DeepCopy()
	if prev, ok := f.objs[fakeKey(o.Ref())]; ok {
		c.Metadata()["creationTimestamp"] = prev.Metadata()["creationTimestamp"]
	} else {
		f.clock++
		c.Metadata()["creationTimestamp"] = fmt.Sprintf("2025-01-01T00:00:%02dZ", f.clock)
	}
	f.objs[fakeKey(o.Ref())] = c
	return c.DeepCopy(), nil
}

func (f *fakeCluster) Get(_ context.Context, r manifest.Ref) (manifest.Object, error) {
	if f.err != nil {
		return nil, f.err
	}
	o, ok := f.objs[fakeKey(r)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", r, manifest.ErrNotFound)
	}
	return o.DeepCopy(), nil
}

// List ignores the selector, which it records: a test names the objects
// a selector would match.
func (f *fakeCluster) List(_ context.Context, kind, ns, selector string) ([]manifest.Object, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.selectors = append(f.selectors, selector)
	var out []manifest.Object
	for k, o := range f.objs {
		if strings.HasPrefix(k, strings.ToLower(kind)+"/"+ns+"/") {
			out = append(out, o.DeepCopy())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Patch records the patch and returns the object unchanged.
func (f *fakeCluster) Patch(_ context.Context, r manifest.Ref, typ manifest.PatchType, patch []byte) (manifest.Object, error) {
	if f.err != nil {
		return nil, f.err
	}
	o, ok := f.objs[fakeKey(r)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", r, manifest.ErrNotFound)
	}
	f.patches = append(f.patches, fmt.Sprintf("%s/%s %s %s", strings.ToLower(r.Kind), r.Name, typ, patch))
	return o.DeepCopy(), nil
}

func (f *fakeCluster) Delete(_ context.Context, r manifest.Ref, opts manifest.DeleteOptions) error {
	if f.err != nil {
		return f.err
	}
	delete(f.objs, fakeKey(r))
	f.deleted = append(f.deleted, fmt.Sprintf("%s cascading=%v", fakeKey(r), opts.Cascading))
	return nil
}

func (f *fakeCluster) Logs(context.Context, string, string, string) (string, error) {
	return f.logs, f.err
}

var _ manifest.Cluster = (*fakeCluster)(nil)

// registryWith registers the manifest stages with c as the cluster of the
// account "k8s", the only account there is.
func registryWith(c manifest.Cluster) *stages.Registry {
	reg := stages.NewRegistry()
	RegisterManifestsWith(reg, func(_ *stages.Run, account string) (manifest.Cluster, error) {
		if account != "k8s" {
			return nil, fmt.Errorf("unknown account %q", account)
		}
		return c, nil
	})
	return reg
}

// stageRun is a run of one stage of type typ with the context ctx (JSON).
func stageRun(t *testing.T, typ, ctx string) *stages.Run {
	t.Helper()
	run := stagestest.NewRun(stagestest.ContextFromJSON(t, ctx))
	run.Stage.Type = typ
	return run
}

// execute runs the named task of run's stage as the orchestrator does:
// the stage's configuration decoded once by its definition, the result
// merged into the stage.
func execute(t *testing.T, reg *stages.Registry, run *stages.Run, task string) stages.Result {
	t.Helper()
	def, err := reg.Definition(run.Stage.Type)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := def.(stages.Configurer).Config(run.Stage)
	if err != nil {
		t.Fatalf("%s configuration: %v", run.Stage.Type, err)
	}
	run.Config = cfg
	tk, err := reg.Task(task)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tk.Execute(context.Background(), run)
	if err != nil {
		t.Fatalf("%s: %v", task, err)
	}
	stagestest.Apply(run, r)
	return r
}

// validateStage validates a saved stage (JSON) as the pipeline store does.
func validateStage(t *testing.T, stage string, want ...string) {
	t.Helper()
	reg := registryWith(nil)
	s := stagestest.StageFromJSON(t, stage)
	known, problems := reg.ValidateStage(s)
	if !known {
		t.Fatalf("stage type %s is not registered", s.Type)
	}
	stagestest.CheckProblems(t, problems, want...)
}

// contextJSON is the stage context as a user reads it.
func contextJSON(t *testing.T, run *stages.Run, key string) string {
	t.Helper()
	b, err := json.Marshal(run.Stage.Context[key])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
