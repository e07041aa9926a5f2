// Package manifest is what gennaker knows about Kubernetes manifests without
// talking to a cluster: the Cluster port the manifest stages act through,
// Spinnaker's conventions (versioned resources named -vNNN, moniker and
// artifact annotations, traffic annotations) and its stability rules per
// kind.
//
// It imports only the standard library, so the stage engine can use it
// without linking client-go; providers/kubernetes implements Cluster with
// client-go against a real API server.
package manifest

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// Errors a Cluster returns, wrapped with the identity of the thing.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrForbiddenNamespace: the account may not act in that namespace.
	ErrForbiddenNamespace = errors.New("namespace not allowed for this account")
	// ErrUnknownKind: the API server serves no such kind.
	ErrUnknownKind = errors.New("unknown kind")
)

// Object is one Kubernetes object as JSON decodes it.
type Object map[string]any

// Ref names one object: its kind (as in manifests, "Deployment", or as
// Spinnaker writes it, "deployment"), namespace and name.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String is Spinnaker's "manifestName": "deployment my-app".
func (r Ref) String() string { return SpinnakerKind(r.Kind) + " " + r.Name }

// ParseRef reads Spinnaker's "kind name" (such as "deployment my-app") in
// namespace.
func ParseRef(manifestName, namespace string) (Ref, error) {
	kind, name, ok := strings.Cut(strings.TrimSpace(manifestName), " ")
	name = strings.TrimSpace(name)
	if !ok || kind == "" || name == "" || strings.Contains(name, " ") {
		return Ref{}, fmt.Errorf("manifestName %q is not \"<kind> <name>\" (such as \"deployment my-app\")", manifestName)
	}
	return Ref{Kind: kind, Namespace: namespace, Name: name}, nil
}

// SpinnakerKind writes a kind as Spinnaker does: lower camel case
// ("replicaSet", "deployment").
func SpinnakerKind(kind string) string {
	if kind == "" {
		return ""
	}
	return strings.ToLower(kind[:1]) + kind[1:]
}

// SameKind reports whether two spellings name the same kind.
func SameKind(a, b string) bool { return strings.EqualFold(a, b) }

// Kind is the object's kind.
func (o Object) Kind() string { s, _ := o["kind"].(string); return s }

// APIVersion is the object's apiVersion.
func (o Object) APIVersion() string { s, _ := o["apiVersion"].(string); return s }

// Name is metadata.name.
func (o Object) Name() string { return o.metaString("name") }

// Namespace is metadata.namespace.
func (o Object) Namespace() string { return o.metaString("namespace") }

// Ref is the object's reference.
func (o Object) Ref() Ref { return Ref{Kind: o.Kind(), Namespace: o.Namespace(), Name: o.Name()} }

func (o Object) metaString(key string) string {
	s, _ := Nested(o, "metadata", key).(string)
	return s
}

// Metadata returns metadata, creating it when missing.
func (o Object) Metadata() map[string]any { return ensureMap(o, "metadata") }

// Annotations returns a copy of metadata.annotations.
func (o Object) Annotations() map[string]string {
	return stringMap(Nested(o, "metadata", "annotations"))
}

// Labels returns a copy of metadata.labels.
func (o Object) Labels() map[string]string { return stringMap(Nested(o, "metadata", "labels")) }

// SetAnnotation sets metadata.annotations[key].
func (o Object) SetAnnotation(key, value string) { ensureMap(o.Metadata(), "annotations")[key] = value }

// SetLabel sets metadata.labels[key].
func (o Object) SetLabel(key, value string) { ensureMap(o.Metadata(), "labels")[key] = value }

// TemplateLabels returns spec.template.metadata.labels, and whether the
// object has a pod template.
func (o Object) TemplateLabels() (map[string]string, bool) {
	tmpl, ok := Nested(o, "spec", "template").(map[string]any)
	if !ok {
		return nil, false
	}
	return stringMap(Nested(tmpl, "metadata", "labels")), true
}

// DeepCopy copies the object through its JSON shape.
func (o Object) DeepCopy() Object { return deepCopy(map[string]any(o)).(map[string]any) }

// Nested returns the value at path, or nil.
func Nested(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// nestedInt reads a whole number at path; absent is 0, false.
func nestedInt(obj map[string]any, path ...string) (int64, bool) {
	switch n := Nested(obj, path...).(type) {
	case float64:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	}
	return 0, false
}

func nestedString(obj map[string]any, path ...string) string {
	s, _ := Nested(obj, path...).(string)
	return s
}

func ensureMap(m map[string]any, key string) map[string]any {
	if sub, ok := m[key].(map[string]any); ok {
		return sub
	}
	sub := map[string]any{}
	m[key] = sub
	return sub
}

func stringMap(v any) map[string]string {
	out := map[string]string{}
	m, _ := v.(map[string]any)
	for k, val := range m {
		if s, ok := val.(string); ok {
			out[k] = s
		}
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = deepCopy(val)
		}
		return out
	case Object:
		return deepCopy(map[string]any(x))
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = deepCopy(val)
		}
		return out
	case map[string]string:
		return maps.Clone(x)
	default:
		return v
	}
}
