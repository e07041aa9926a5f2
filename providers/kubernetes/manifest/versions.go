package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Spinnaker's annotations and labels on the objects it deploys.
const (
	AnnotationApp      = "moniker.spinnaker.io/application"
	AnnotationCluster  = "moniker.spinnaker.io/cluster"
	AnnotationStack    = "moniker.spinnaker.io/stack"
	AnnotationDetail   = "moniker.spinnaker.io/detail"
	AnnotationSequence = "moniker.spinnaker.io/sequence"

	AnnotationArtifactName     = "artifact.spinnaker.io/name"
	AnnotationArtifactType     = "artifact.spinnaker.io/type"
	AnnotationArtifactLocation = "artifact.spinnaker.io/location"
	AnnotationArtifactVersion  = "artifact.spinnaker.io/version"

	// AnnotationVersioned ("true"/"false") overrides whether a kind is
	// versioned.
	AnnotationVersioned = "strategy.spinnaker.io/versioned"
	// AnnotationMaxVersionHistory keeps at most this many versions.
	AnnotationMaxVersionHistory = "strategy.spinnaker.io/max-version-history"
	// AnnotationLoadBalancers lists the Services ("service my-svc") whose
	// selectors a ReplicaSet's pods carry when the ReplicaSet is enabled.
	AnnotationLoadBalancers = "traffic.spinnaker.io/load-balancers"

	// AnnotationHash is the hash of the manifest a version was deployed
	// from, before gennaker added its own annotations: an identical
	// manifest reuses that version.
	AnnotationHash = "deployment.gennaker.io/manifest-hash"

	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelName      = "app.kubernetes.io/name"
	// ManagedBy is the value of LabelManagedBy on what gennaker deploys.
	ManagedBy = "gennaker"
)

// versionedKinds are the kinds Spinnaker versions by default.
var versionedKinds = []string{"replicaset", "configmap", "secret", "pod"}

// Versioned reports whether obj is deployed as a new -vNNN version rather
// than updated in place: ReplicaSet, ConfigMap, Secret and Pod are, unless
// the strategy.spinnaker.io/versioned annotation says otherwise.
func Versioned(o Object) bool {
	if v, ok := o.Annotations()[AnnotationVersioned]; ok {
		return strings.EqualFold(v, "true")
	}
	return slices.Contains(versionedKinds, strings.ToLower(o.Kind()))
}

var versionSuffix = regexp.MustCompile(`-v([0-9]{3})$`)

// VersionedName is base-vNNN.
func VersionedName(base string, seq int) string { return fmt.Sprintf("%s-v%03d", base, seq) }

// SequenceOf reads the version of a deployed object: its sequence
// annotation, else its -vNNN suffix; -1 when it has neither.
func SequenceOf(o Object) int {
	if s, ok := o.Annotations()[AnnotationSequence]; ok {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	}
	if m := versionSuffix.FindStringSubmatch(o.Name()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return -1
}

// BaseName is the name a versioned object was deployed under, without its
// version.
func BaseName(o Object) string {
	if n, ok := o.Annotations()[AnnotationArtifactName]; ok && n != "" {
		return n
	}
	return versionSuffix.ReplaceAllString(o.Name(), "")
}

// Hash identifies a manifest's content, ignoring status and the fields the
// API server fills in.
func Hash(o Object) string {
	c := o.DeepCopy()
	delete(c, "status")
	meta := c.Metadata()
	for _, k := range []string{"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink"} {
		delete(meta, k)
	}
	b, _ := json.Marshal(c) // maps marshal with sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// ChooseVersion decides the version of a versioned manifest whose content
// hash is hash among the existing versions of the same base name: the
// version already deployed from an identical manifest, or the next one
// after the highest (999 wraps to 000, as Spinnaker does).
func ChooseVersion(hash string, existing []Object) (seq int, reused bool) {
	highest := -1
	for _, e := range existing {
		s := SequenceOf(e)
		if e.Annotations()[AnnotationHash] == hash && s >= 0 {
			return s, true
		}
		highest = max(highest, s)
	}
	return (highest + 1) % 1000, false
}

// Moniker names the application and cluster an object belongs to.
type Moniker struct {
	App     string `json:"app,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	Stack   string `json:"stack,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Annotate writes the moniker (cluster defaulting to Spinnaker's "kind
// name"), the artifact annotations and the managed-by labels on obj and
// on its pod template, so the pods are found by application too.
func Annotate(o Object, m Moniker, baseName string) {
	cluster := m.Cluster
	if cluster == "" {
		cluster = SpinnakerKind(o.Kind()) + " " + baseName
	}
	set := func(meta map[string]any) {
		ann := ensureMap(meta, "annotations")
		if m.App != "" {
			ann[AnnotationApp] = m.App
		}
		ann[AnnotationCluster] = cluster
		if m.Stack != "" {
			ann[AnnotationStack] = m.Stack
		}
		if m.Detail != "" {
			ann[AnnotationDetail] = m.Detail
		}
		labels := ensureMap(meta, "labels")
		labels[LabelManagedBy] = ManagedBy
		if m.App != "" {
			if _, set := labels[LabelName]; !set {
				labels[LabelName] = m.App
			}
		}
	}
	set(o.Metadata())
	if tmpl, ok := Nested(o, "spec", "template").(map[string]any); ok {
		set(ensureMap(tmpl, "metadata"))
	}
	o.SetAnnotation(AnnotationArtifactName, baseName)
	o.SetAnnotation(AnnotationArtifactType, "kubernetes/"+SpinnakerKind(o.Kind()))
	if ns := o.Namespace(); ns != "" {
		o.SetAnnotation(AnnotationArtifactLocation, ns)
	}
}

// SetVersion names obj base-vNNN and records the version.
func SetVersion(o Object, baseName string, seq int) {
	o.Metadata()["name"] = VersionedName(baseName, seq)
	o.SetAnnotation(AnnotationSequence, strconv.Itoa(seq))
	o.SetAnnotation(AnnotationArtifactVersion, fmt.Sprintf("v%03d", seq))
	if tmpl, ok := Nested(o, "spec", "template").(map[string]any); ok {
		ensureMap(ensureMap(tmpl, "metadata"), "annotations")[AnnotationSequence] = strconv.Itoa(seq)
	}
}

// MaxVersionHistory reads the max-version-history annotation; 0 means keep
// every version.
func MaxVersionHistory(o Object) (int, error) {
	v, ok := o.Annotations()[AnnotationMaxVersionHistory]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s: %s annotation must be a whole number of at least 1, not %q", o.Ref(), AnnotationMaxVersionHistory, v)
	}
	return n, nil
}

// LoadBalancers reads the traffic.spinnaker.io/load-balancers annotation:
// a JSON list of "service name".
func LoadBalancers(o Object) ([]Ref, error) {
	v, ok := o.Annotations()[AnnotationLoadBalancers]
	if !ok || strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var names []string
	if err := json.Unmarshal([]byte(v), &names); err != nil {
		return nil, fmt.Errorf("%s: %s annotation must be a JSON list such as [\"service my-svc\"]: %v", o.Ref(), AnnotationLoadBalancers, err)
	}
	refs := make([]Ref, 0, len(names))
	for _, n := range names {
		r, err := ParseRef(n, o.Namespace())
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", o.Ref(), AnnotationLoadBalancers, err)
		}
		if !SameKind(r.Kind, "service") {
			return nil, fmt.Errorf("%s: %s: only Services can route traffic, not %q", o.Ref(), AnnotationLoadBalancers, n)
		}
		refs = append(refs, r)
	}
	return refs, nil
}
