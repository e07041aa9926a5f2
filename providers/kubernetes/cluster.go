package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
)

// kindError is an error of the API server that also says which of the
// manifest package's errors it is, keeping the server's own message.
type kindError struct {
	err  error
	kind error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.err, e.kind} }
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return &kindError{err, manifest.ErrNotFound}
	}
	return err
}

// DefaultNamespace implements manifest.Cluster.
func (c *Cluster) DefaultNamespace() string { return c.defaultNS }

// Namespaces are the namespaces the account may use; empty means all but
// the omitted ones.
func (c *Cluster) Namespaces() []string { return slices.Clone(c.allowed) }

// checkNamespace refuses a namespace the account may not use.
func (c *Cluster) checkNamespace(ns string) error {
	if slices.Contains(c.omitted, ns) || (len(c.allowed) > 0 && !slices.Contains(c.allowed, ns)) {
		allowed := "every namespace"
		if len(c.allowed) > 0 {
			allowed = strings.Join(c.allowed, ", ")
		}
		if len(c.omitted) > 0 {
			allowed += " except " + strings.Join(c.omitted, ", ")
		}
		return fmt.Errorf("%w: account %q may not use namespace %q (it may use %s)", manifest.ErrForbiddenNamespace, c.account, ns, allowed)
	}
	return nil
}

// mapping resolves a kind, spelled as in a manifest or as Spinnaker writes
// it, with an optional apiVersion, to its resource. The discovery cache is
// refreshed once when the kind is not found, for CRDs created since.
func (c *Cluster) mapping(ctx context.Context, kind, apiVersion string) (*meta.RESTMapping, error) {
	if err := c.clients(ctx); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		m, err := c.mapOnce(kind, apiVersion)
		if err == nil {
			return m, nil
		}
		if !meta.IsNoMatchError(err) && !errors.Is(err, errNoKind) {
			return nil, fmt.Errorf("account %q: cannot reach the API server to look up kind %q: %w", c.account, kind, err)
		}
		if attempt == 0 {
			c.mapper.Reset()
			continue
		}
		what := kind
		if apiVersion != "" {
			what = apiVersion + " " + kind
		}
		return nil, fmt.Errorf("%w %q: the API server of account %q serves no such kind", manifest.ErrUnknownKind, what, c.account)
	}
}

var errNoKind = errors.New("no such kind")

func (c *Cluster) mapOnce(kind, apiVersion string) (*meta.RESTMapping, error) {
	if apiVersion != "" {
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			return nil, fmt.Errorf("apiVersion %q: %w", apiVersion, err)
		}
		return c.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: kind}, gv.Version)
	}
	// Spinnaker writes kinds in lower camel case ("replicaSet"); the
	// mapper matches resources by their lower-case singular name.
	gvk, err := c.mapper.KindFor(schema.GroupVersionResource{Resource: strings.ToLower(kind)})
	if err != nil {
		return nil, err
	}
	if gvk.Kind == "" {
		return nil, errNoKind
	}
	return c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
}

// resource returns the client for a kind in a namespace, refusing a
// namespace the account may not use.
func (c *Cluster) resource(ctx context.Context, kind, apiVersion, ns string) (dynamic.ResourceInterface, *meta.RESTMapping, error) {
	m, err := c.mapping(ctx, kind, apiVersion)
	if err != nil {
		return nil, nil, err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource), m, nil
	}
	if ns == "" {
		ns = c.defaultNS
	}
	if err := c.checkNamespace(ns); err != nil {
		return nil, nil, err
	}
	return c.dyn.Resource(m.Resource).Namespace(ns), m, nil
}

// Apply implements manifest.Cluster.
func (c *Cluster) Apply(ctx context.Context, obj manifest.Object) (manifest.Object, error) {
	u, err := toUnstructured(obj)
	if err != nil {
		return nil, err
	}
	ri, m, err := c.resource(ctx, u.GetKind(), u.GetAPIVersion(), u.GetNamespace())
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		u.SetNamespace("")
	}
	out, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return nil, classify(err)
	}
	return manifest.Object(out.Object), nil
}

// Get implements manifest.Cluster.
func (c *Cluster) Get(ctx context.Context, ref manifest.Ref) (manifest.Object, error) {
	ri, _, err := c.resource(ctx, ref.Kind, "", ref.Namespace)
	if err != nil {
		return nil, err
	}
	out, err := ri.Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, classify(err)
	}
	return manifest.Object(out.Object), nil
}

// List implements manifest.Cluster.
func (c *Cluster) List(ctx context.Context, kind, ns, selector string) ([]manifest.Object, error) {
	ri, _, err := c.resource(ctx, kind, "", ns)
	if err != nil {
		return nil, err
	}
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, classify(err)
	}
	out := make([]manifest.Object, 0, len(list.Items))
	for _, item := range list.Items {
		obj := item.Object
		// Items of a list carry no kind of their own.
		if _, ok := obj["kind"]; !ok {
			obj["kind"] = strings.TrimSuffix(list.GetKind(), "List")
			obj["apiVersion"] = list.GetAPIVersion()
		}
		out = append(out, manifest.Object(obj))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Patch implements manifest.Cluster.
func (c *Cluster) Patch(ctx context.Context, ref manifest.Ref, typ manifest.PatchType, patch []byte) (manifest.Object, error) {
	var pt types.PatchType
	switch typ {
	case manifest.PatchStrategic:
		pt = types.StrategicMergePatchType
	case manifest.PatchMerge:
		pt = types.MergePatchType
	case manifest.PatchJSON:
		pt = types.JSONPatchType
	default:
		return nil, fmt.Errorf("patch type %q is not strategic, merge or json", typ)
	}
	ri, _, err := c.resource(ctx, ref.Kind, "", ref.Namespace)
	if err != nil {
		return nil, err
	}
	out, err := ri.Patch(ctx, ref.Name, pt, patch, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, classify(err)
	}
	return manifest.Object(out.Object), nil
}

// Delete implements manifest.Cluster.
func (c *Cluster) Delete(ctx context.Context, ref manifest.Ref, opts manifest.DeleteOptions) error {
	ri, _, err := c.resource(ctx, ref.Kind, "", ref.Namespace)
	if err != nil {
		return err
	}
	policy := metav1.DeletePropagationBackground
	if !opts.Cascading {
		policy = metav1.DeletePropagationOrphan
	}
	err = ri.Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: &policy, GracePeriodSeconds: opts.GracePeriodSeconds})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// Logs implements manifest.Cluster.
func (c *Cluster) Logs(ctx context.Context, ns, pod, container string) (string, error) {
	if err := c.checkNamespace(ns); err != nil {
		return "", err
	}
	if err := c.clients(ctx); err != nil {
		return "", err
	}
	logs := func(name string) ([]byte, error) {
		b, err := c.rest.Get().AbsPath("/api/v1/namespaces", ns, "pods", pod, "log").Param("container", name).DoRaw(ctx)
		return b, classify(err)
	}
	if container != "" {
		b, err := logs(container)
		return string(b), err
	}
	p, err := c.dyn.Resource(podsResource).Namespace(ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return "", classify(err)
	}
	specs, _, _ := unstructured.NestedSlice(p.Object, "spec", "containers")
	var names []string
	for _, ct := range specs {
		if m, ok := ct.(map[string]any); ok {
			if n, ok := m["name"].(string); ok {
				names = append(names, n)
			}
		}
	}
	if len(names) == 1 {
		b, err := logs(names[0])
		return string(b), err
	}
	var sb strings.Builder
	for _, name := range names {
		b, err := logs(name)
		if err != nil {
			fmt.Fprintf(&sb, "--- container %s: no logs: %v\n", name, err)
			continue
		}
		fmt.Fprintf(&sb, "--- container %s\n%s", name, b)
	}
	return sb.String(), nil
}

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// toUnstructured reads a manifest the way the API machinery expects
// (whole numbers as int64).
func toUnstructured(obj manifest.Object) (*unstructured.Unstructured, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", obj.Ref(), err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("%s: %w", obj.Ref(), err)
	}
	return u, nil
}
