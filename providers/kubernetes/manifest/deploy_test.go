package manifest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// fakeCluster keeps objects in memory: a unit-test stand-in for the API
// server, enough for the decisions Deploy makes (names, versions, pruning).
type fakeCluster struct {
	objs  map[string]Object
	clock int
}

func newFakeCluster() *fakeCluster { return &fakeCluster{objs: map[string]Object{}} }

func fkey(kind, ns, name string) string { return strings.ToLower(kind) + "/" + ns + "/" + name }

func (f *fakeCluster) DefaultNamespace() string { return "default" }

func (f *fakeCluster) Apply(_ context.Context, o Object) (Object, error) {
	k := fkey(o.Kind(), o.Namespace(), o.Name())
	c := o.DeepCopy()
	if prev, ok := f.objs[k]; ok {
		c.Metadata()["creationTimestamp"] = prev.Metadata()["creationTimestamp"]
	} else {
		f.clock++
		c.Metadata()["creationTimestamp"] = fmt.Sprintf("2025-01-01T00:00:%02dZ", f.clock)
	}
	f.objs[k] = c
	return c.DeepCopy(), nil
}

func (f *fakeCluster) Get(_ context.Context, r Ref) (Object, error) {
	o, ok := f.objs[fkey(r.Kind, r.Namespace, r.Name)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", r, ErrNotFound)
	}
	return o.DeepCopy(), nil
}

func (f *fakeCluster) List(_ context.Context, kind, ns, _ string) ([]Object, error) {
	var out []Object
	for k, o := range f.objs {
		if strings.HasPrefix(k, strings.ToLower(kind)+"/"+ns+"/") {
			out = append(out, o.DeepCopy())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (f *fakeCluster) Patch(context.Context, Ref, PatchType, []byte) (Object, error) {
	return nil, fmt.Errorf("fakeCluster: no patches")
}

func (f *fakeCluster) Delete(_ context.Context, r Ref, _ DeleteOptions) error {
	delete(f.objs, fkey(r.Kind, r.Namespace, r.Name))
	return nil
}

func (f *fakeCluster) Logs(context.Context, string, string, string) (string, error) { return "", nil }

func (f *fakeCluster) names(kind string) []string {
	var out []string
	for k := range f.objs {
		if strings.HasPrefix(k, strings.ToLower(kind)+"/") {
			out = append(out, k[strings.LastIndex(k, "/")+1:])
		}
	}
	slices.Sort(out)
	return out
}

var _ Cluster = (*fakeCluster)(nil)

func objs(t *testing.T, js string) []Object {
	t.Helper()
	var out []Object
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeployVersionsConfigMapsAndRewritesReferences(t *testing.T) {
	ctx := context.Background()
	c := newFakeCluster()
	manifests := func(greeting string) []Object {
		return objs(t, fmt.Sprintf(`[
		  {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
		   "spec": {"template": {"spec": {
		     "volumes": [{"name": "cfg", "configMap": {"name": "settings"}}, {"name": "s", "secret": {"secretName": "creds"}}],
		     "containers": [{"name": "main", "envFrom": [{"configMapRef": {"name": "settings"}}],
		       "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw"}}}]}]}}}},
		  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings",
		   "annotations": {"strategy.spinnaker.io/max-version-history": "2"}}, "data": {"greeting": %q}},
		  {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"pw": "x"}}]`, greeting))
	}
	deploy := func(greeting string) []Deployed {
		t.Helper()
		d, err := Deploy(ctx, c, manifests(greeting), DeployOptions{Moniker: Moniker{App: "shop"}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	d := deploy("hello")
	// Configuration is deployed before the workload that refers to it.
	if got := []string{d[0].Ref.Name, d[1].Ref.Name, d[2].Ref.Name}; !slices.Equal(got, []string{"settings-v000", "creds-v000", "api"}) {
		t.Fatalf("deployed %v", got)
	}
	api, _ := c.Get(ctx, Ref{Kind: "Deployment", Namespace: "default", Name: "api"})
	js, _ := json.Marshal(api)
	for _, want := range []string{`"name":"settings-v000"`, `"secretName":"creds-v000"`, `"secretKeyRef":{"key":"pw","name":"creds-v000"}`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("deployment does not refer to the versions: missing %s in %s", want, js)
		}
	}
	if got := api.Annotations()[AnnotationCluster]; got != "deployment api" {
		t.Errorf("cluster = %q", got)
	}

	d = deploy("hello")
	if !d[0].Reused || d[0].Ref.Name != "settings-v000" {
		t.Errorf("an identical ConfigMap was deployed as %+v, want settings-v000 reused", d[0])
	}
	deploy("bonjour")
	deploy("hola")
	if got := c.names("configmap"); !slices.Equal(got, []string{"settings-v001", "settings-v002"}) {
		t.Errorf("max-version-history 2 kept %v", got)
	}
	if got := c.names("secret"); !slices.Equal(got, []string{"creds-v000"}) {
		t.Errorf("an unchanged secret made versions %v", got)
	}
}

func TestChooseVersion(t *testing.T) {
	v := func(seq int, hash string) Object {
		o := Object{"metadata": map[string]any{"name": VersionedName("cfg", seq)}}
		o.SetAnnotation(AnnotationHash, hash)
		return o
	}
	for _, tc := range []struct {
		name     string
		existing []Object
		hash     string
		seq      int
		reused   bool
	}{
		{"first version", nil, "a", 0, false},
		{"identical reuses", []Object{v(0, "a"), v(1, "b")}, "a", 0, true},
		{"changed gets the next", []Object{v(0, "a"), v(4, "b")}, "c", 5, false},
		{"wraps after 999", []Object{v(999, "a")}, "c", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seq, reused := ChooseVersion(tc.hash, tc.existing)
			if seq != tc.seq || reused != tc.reused {
				t.Fatalf("ChooseVersion = %d, %v; want %d, %v", seq, reused, tc.seq, tc.reused)
			}
		})
	}
}

func TestVersionedKinds(t *testing.T) {
	for _, tc := range []struct {
		js   string
		want bool
	}{
		{`{"kind": "ReplicaSet"}`, true},
		{`{"kind": "ConfigMap"}`, true},
		{`{"kind": "Secret"}`, true},
		{`{"kind": "Pod"}`, true},
		{`{"kind": "Deployment"}`, false},
		{`{"kind": "ConfigMap", "metadata": {"annotations": {"strategy.spinnaker.io/versioned": "false"}}}`, false},
		{`{"kind": "Service", "metadata": {"annotations": {"strategy.spinnaker.io/versioned": "true"}}}`, true},
	} {
		var o Object
		if err := json.Unmarshal([]byte(tc.js), &o); err != nil {
			t.Fatal(err)
		}
		if got := Versioned(o); got != tc.want {
			t.Errorf("Versioned(%s) = %v, want %v", tc.js, got, tc.want)
		}
	}
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in, err string
		want    Ref
	}{
		{in: "deployment my-app", want: Ref{Kind: "deployment", Namespace: "ns", Name: "my-app"}},
		{in: "replicaSet web-v002", want: Ref{Kind: "replicaSet", Namespace: "ns", Name: "web-v002"}},
		{in: "my-app", err: `is not "<kind> <name>"`},
		{in: "deployment a b", err: `is not "<kind> <name>"`},
	} {
		got, err := ParseRef(tc.in, "ns")
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseRef(%q) error = %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if got := (Ref{Kind: "ReplicaSet", Name: "web-v001"}).String(); got != "replicaSet web-v001" {
		t.Errorf("Ref.String() = %q", got)
	}
}

func TestTrafficLabelsMustBeTheServicesOwn(t *testing.T) {
	ctx := context.Background()
	c := newFakeCluster()
	if _, err := c.Apply(ctx, objs(t, `[{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
	  "spec": {"selector": {"app": "web"}}}]`)[0]); err != nil {
		t.Fatal(err)
	}
	rs := objs(t, `[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
	  "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}}}}]`)
	_, err := Deploy(ctx, c, rs, DeployOptions{Services: []string{"service web"}})
	if err == nil || !strings.Contains(err.Error(), `shares the label "app"`) {
		t.Fatalf("Deploy = %v, want an error about the shared label", err)
	}
}
