package providertest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
)

// ManifestsEnv is what the Manifests suite needs from a provider's test.
type ManifestsEnv struct {
	Cluster manifest.Cluster
	// Namespace is a namespace the account may use, empty of ConfigMaps
	// named "conf-...".
	Namespace string
	// Forbidden is a namespace the account may not use.
	Forbidden string
}

func configMap(ns, name string, labels, data map[string]any) manifest.Object {
	meta := map[string]any{"name": name, "labels": labels}
	if ns != "" {
		meta["namespace"] = ns
	}
	return manifest.Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}
}

// Manifests checks what manifest.Cluster promises for Apply, Get, List,
// Patch and Delete: applying creates, updates and, applied again, changes
// nothing; a missing object is ErrNotFound to Get and Patch and nothing to
// Delete; List filters by label and orders by name; an object without a
// namespace goes to the default one; a namespace the account may not use is
// ErrForbiddenNamespace and a kind the server does not serve is
// ErrUnknownKind. It works with ConfigMaps named "conf-...".
func Manifests(t *testing.T, env ManifestsEnv) {
	ctx := context.Background()
	c := env.Cluster
	ns := env.Namespace
	ref := func(name string) manifest.Ref { return manifest.Ref{Kind: "ConfigMap", Namespace: ns, Name: name} }
	if _, err := c.Get(ctx, ref("conf-missing")); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("Get of a missing object: %v, want ErrNotFound", err)
	}

	stored, err := c.Apply(ctx, configMap(ns, "conf-b", map[string]any{"tier": "front"}, map[string]any{"color": "blue"}))
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ref("conf-b"), manifest.DeleteOptions{}) })
	version := manifest.Nested(stored, "metadata", "resourceVersion")
	if stored.Name() != "conf-b" || stored.Namespace() != ns || manifest.Nested(stored, "data", "color") != "blue" || version == nil {
		t.Fatalf("Apply returned %v, want the stored ConfigMap conf-b in %s", stored, ns)
	}
	again, err := c.Apply(ctx, configMap(ns, "conf-b", map[string]any{"tier": "front"}, map[string]any{"color": "blue"}))
	if err != nil || manifest.Nested(again, "metadata", "resourceVersion") != version {
		t.Fatalf("Apply of the same object again changed it: resourceVersion %v, was %v (%v)", manifest.Nested(again, "metadata", "resourceVersion"), version, err)
	}
	if _, err := c.Apply(ctx, configMap(ns, "conf-b", map[string]any{"tier": "front"}, map[string]any{"color": "green"})); err != nil {
		t.Fatalf("Apply an update: %v", err)
	}
	// Spinnaker writes kinds in lower camel case.
	got, err := c.Get(ctx, manifest.Ref{Kind: "configMap", Namespace: ns, Name: "conf-b"})
	if err != nil || manifest.Nested(got, "data", "color") != "green" {
		t.Fatalf("Get after the update = %v, %v; want color green", got, err)
	}

	for _, o := range []manifest.Object{
		configMap(ns, "conf-a", map[string]any{"tier": "front"}, nil),
		configMap(ns, "conf-c", map[string]any{"tier": "back"}, nil),
	} {
		if _, err := c.Apply(ctx, o); err != nil {
			t.Fatalf("Apply %s: %v", o.Name(), err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), o.Ref(), manifest.DeleteOptions{}) })
	}
	list := func(selector string) []string {
		t.Helper()
		objs, err := c.List(ctx, "ConfigMap", ns, selector)
		if err != nil {
			t.Fatalf("List(%q): %v", selector, err)
		}
		out := []string{}
		for _, o := range objs {
			if o.Kind() != "ConfigMap" || o.Namespace() != ns {
				t.Fatalf("List(%q) returned %s in %q, want ConfigMaps in %s", selector, o.Ref(), o.Namespace(), ns)
			}
			out = append(out, o.Name())
		}
		return out
	}
	if got := list("tier=front"); !slices.Equal(got, []string{"conf-a", "conf-b"}) {
		t.Fatalf("List(tier=front) = %v, want [conf-a conf-b]", got)
	}
	if got := list("tier in (front, back)"); !slices.Equal(got, []string{"conf-a", "conf-b", "conf-c"}) {
		t.Fatalf("List(tier in (front, back)) = %v, want [conf-a conf-b conf-c]", got)
	}
	if all := list(""); !slices.IsSorted(all) || len(all) < 3 {
		t.Fatalf("List with no selector = %v, want every ConfigMap ordered by name", all)
	}
	if got := list("tier=none-such"); len(got) != 0 {
		t.Fatalf("List of what matches nothing = %v, want an empty list", got)
	}

	patched, err := c.Patch(ctx, ref("conf-b"), manifest.PatchMerge, []byte(`{"data": {"size": "large"}}`))
	if err != nil || manifest.Nested(patched, "data", "size") != "large" || manifest.Nested(patched, "data", "color") != "green" {
		t.Fatalf("merge Patch = %v, %v; want size large and color green", patched, err)
	}
	if _, err := c.Patch(ctx, ref("conf-b"), manifest.PatchStrategic, []byte(`{"metadata": {"labels": {"tier": "back"}}}`)); err != nil {
		t.Fatalf("strategic Patch: %v", err)
	}
	if _, err := c.Patch(ctx, ref("conf-b"), manifest.PatchJSON, []byte(`[{"op": "remove", "path": "/data/size"}]`)); err != nil {
		t.Fatalf("json Patch: %v", err)
	}
	got, err = c.Get(ctx, ref("conf-b"))
	if err != nil || got.Labels()["tier"] != "back" || manifest.Nested(got, "data", "size") != nil {
		t.Fatalf("after the patches: %v, %v; want tier back and no size", got, err)
	}
	if got := list("tier=back"); !slices.Equal(got, []string{"conf-b", "conf-c"}) {
		t.Fatalf("List(tier=back) after patching conf-b = %v, want [conf-b conf-c]", got)
	}
	if _, err := c.Patch(ctx, ref("conf-missing"), manifest.PatchMerge, []byte(`{"data": {"a": "b"}}`)); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("Patch of a missing object: %v, want ErrNotFound", err)
	}

	if err := c.Delete(ctx, ref("conf-b"), manifest.DeleteOptions{Cascading: true}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.Get(ctx, ref("conf-b")); !errors.Is(err, manifest.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := c.Delete(ctx, ref("conf-b"), manifest.DeleteOptions{}); err != nil {
		t.Fatalf("Delete again: %v", err)
	}

	// An object without a namespace goes to the default namespace.
	def := c.DefaultNamespace()
	if def == "" {
		t.Fatal("DefaultNamespace is empty")
	}
	stored, err = c.Apply(ctx, configMap("", "conf-default", nil, map[string]any{"a": "b"}))
	if err != nil || stored.Namespace() != def {
		t.Fatalf("Apply without a namespace = %v, %v; want it stored in %s", stored, err, def)
	}
	defRef := manifest.Ref{Kind: "ConfigMap", Namespace: def, Name: "conf-default"}
	t.Cleanup(func() { _ = c.Delete(context.Background(), defRef, manifest.DeleteOptions{}) })
	if _, err := c.Get(ctx, defRef); err != nil {
		t.Fatalf("Get in the default namespace %s: %v", def, err)
	}

	forbidden := manifest.Ref{Kind: "ConfigMap", Namespace: env.Forbidden, Name: "conf-forbidden"}
	for what, call := range map[string]func() error{
		"Apply": func() error {
			_, err := c.Apply(ctx, configMap(env.Forbidden, "conf-forbidden", nil, nil))
			return err
		},
		"Get":  func() error { _, err := c.Get(ctx, forbidden); return err },
		"List": func() error { _, err := c.List(ctx, "ConfigMap", env.Forbidden, ""); return err },
		"Patch": func() error {
			_, err := c.Patch(ctx, forbidden, manifest.PatchMerge, []byte(`{"data": {"a": "b"}}`))
			return err
		},
		"Delete": func() error { return c.Delete(ctx, forbidden, manifest.DeleteOptions{}) },
	} {
		if err := call(); !errors.Is(err, manifest.ErrForbiddenNamespace) {
			t.Errorf("%s in namespace %s, which the account may not use: %v, want ErrForbiddenNamespace", what, env.Forbidden, err)
		}
	}

	unknown := manifest.Object{"apiVersion": "conf.example.com/v1", "kind": "NoSuchKind",
		"metadata": map[string]any{"name": "conf-x", "namespace": ns}}
	if _, err := c.Apply(ctx, unknown); !errors.Is(err, manifest.ErrUnknownKind) {
		t.Errorf("Apply of a kind the server does not serve: %v, want ErrUnknownKind", err)
	}
	if _, err := c.Get(ctx, manifest.Ref{Kind: "noSuchKind", Namespace: ns, Name: "conf-x"}); !errors.Is(err, manifest.ErrUnknownKind) {
		t.Errorf("Get of a kind the server does not serve: %v, want ErrUnknownKind", err)
	}
}
