package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// DeployOptions say how a set of manifests is deployed.
type DeployOptions struct {
	// Namespace overrides every namespaced manifest's namespace.
	Namespace string
	// Moniker names the application (and optionally the cluster).
	Moniker Moniker
	// Services are load balancers ("service name") to put in every
	// deployed ReplicaSet's traffic annotation.
	Services []string
	// DisableTraffic deploys ReplicaSets without their load balancers'
	// selector labels (trafficManagement.options.enableTraffic: false).
	DisableTraffic bool
}

// Deployed is one object as deployed.
type Deployed struct {
	Ref Ref `json:"ref"`
	// BaseName is the name in the manifest; Ref.Name adds the version of
	// a versioned object.
	BaseName string `json:"baseName"`
	// Version is -1 for an unversioned object.
	Version int  `json:"version"`
	Reused  bool `json:"reused,omitempty"`
	// Cluster is the moniker cluster the object belongs to.
	Cluster string `json:"cluster"`
	// Pruned names older versions deleted for max-version-history.
	Pruned []string `json:"pruned,omitempty"`
	// Object is the object as the API server stored it.
	Object Object `json:"-"`
}

// Deploy applies the manifests to the cluster as Spinnaker's deployManifest
// does: namespaces defaulted or overridden, moniker and artifact
// annotations, versioned kinds named -vNNN (an identical manifest reuses
// its version), references to versioned ConfigMaps and Secrets deployed
// together rewritten to their versions, traffic labels for ReplicaSets, and
// older versions pruned to max-version-history. It stops at the first
// manifest that fails, naming it.
//
// Deploying the same manifests again deploys nothing new, so a retried
// deploy finds its own work done.
func Deploy(ctx context.Context, c Cluster, manifests []Object, opts DeployOptions) ([]Deployed, error) {
	objs := make([]Object, 0, len(manifests))
	for i, m := range manifests {
		if m.Kind() == "" || m.APIVersion() == "" {
			return nil, fmt.Errorf("manifests[%d]: apiVersion and kind are required", i)
		}
		if m.Name() == "" {
			return nil, fmt.Errorf("manifests[%d] (%s): metadata.name is required", i, m.Kind())
		}
		o := m.DeepCopy()
		ns := opts.Namespace
		if ns == "" {
			ns = o.Namespace()
		}
		if ns == "" {
			ns = c.DefaultNamespace()
		}
		if ns != "" {
			o.Metadata()["namespace"] = ns
		}
		objs = append(objs, o)
	}
	// Deploy what others refer to first: namespaces, then configuration,
	// then services, then workloads.
	sort.SliceStable(objs, func(i, j int) bool { return priority(objs[i]) < priority(objs[j]) })

	renamed := map[string]string{} // "configmap/ns/name" → versioned name
	var out []Deployed
	for _, o := range objs {
		d, err := deployOne(ctx, c, o, opts, renamed)
		if err != nil {
			return out, fmt.Errorf("deploy %s in namespace %s: %w", o.Ref(), orNone(o.Namespace()), err)
		}
		out = append(out, d)
	}
	return out, nil
}

func deployOne(ctx context.Context, c Cluster, o Object, opts DeployOptions, renamed map[string]string) (Deployed, error) {
	base := o.Name()
	replaceReferences(o, renamed)
	Annotate(o, opts.Moniker, base)
	if err := prepareTraffic(ctx, c, o, opts); err != nil {
		return Deployed{}, err
	}
	d := Deployed{BaseName: base, Version: -1, Cluster: o.Annotations()[AnnotationCluster]}
	var existing []Object
	if Versioned(o) {
		hash := Hash(o)
		o.SetAnnotation(AnnotationHash, hash)
		all, err := c.List(ctx, o.Kind(), o.Namespace(), "")
		if err != nil {
			return Deployed{}, err
		}
		for _, e := range all {
			if BaseName(e) == base && SequenceOf(e) >= 0 {
				existing = append(existing, e)
			}
		}
		seq, reused := ChooseVersion(hash, existing)
		SetVersion(o, base, seq)
		d.Version, d.Reused = seq, reused
		if k := strings.ToLower(o.Kind()); k == "configmap" || k == "secret" {
			renamed[k+"/"+o.Namespace()+"/"+base] = o.Name()
		}
	}
	stored, err := c.Apply(ctx, o)
	if err != nil {
		return Deployed{}, err
	}
	d.Ref, d.Object = stored.Ref(), stored
	if d.Ref.Kind == "" {
		d.Ref = o.Ref()
	}
	if d.Version >= 0 {
		pruned, err := prune(ctx, c, o, existing)
		if err != nil {
			return d, err
		}
		d.Pruned = pruned
	}
	return d, nil
}

// prune deletes the oldest versions beyond max-version-history, counting
// the one just deployed.
func prune(ctx context.Context, c Cluster, deployed Object, existing []Object) ([]string, error) {
	keep, err := MaxVersionHistory(deployed)
	if err != nil || keep == 0 {
		return nil, err
	}
	others := slices.DeleteFunc(slices.Clone(existing), func(e Object) bool { return e.Name() == deployed.Name() })
	sort.Slice(others, func(i, j int) bool { return createdBefore(others[i], others[j]) })
	var pruned []string
	for len(others) > keep-1 {
		victim := others[0]
		others = others[1:]
		if err := c.Delete(ctx, victim.Ref(), DeleteOptions{Cascading: true}); err != nil {
			return pruned, fmt.Errorf("prune %s: %w", victim.Ref(), err)
		}
		pruned = append(pruned, victim.Ref().String())
	}
	return pruned, nil
}

// createdBefore orders versions oldest first: by creation time, then by
// version.
func createdBefore(a, b Object) bool {
	ta, tb := nestedString(a, "metadata", "creationTimestamp"), nestedString(b, "metadata", "creationTimestamp")
	if ta != tb {
		return ta < tb // RFC 3339 in UTC sorts as text
	}
	return SequenceOf(a) < SequenceOf(b)
}

// prepareTraffic records the Services a ReplicaSet is behind and, unless
// traffic is disabled, gives its pod template their selector labels.
func prepareTraffic(ctx context.Context, c Cluster, o Object, opts DeployOptions) error {
	if len(opts.Services) > 0 {
		if !SameKind(o.Kind(), "replicaset") {
			return nil // only ReplicaSets take traffic management, as in Spinnaker
		}
		existing, err := LoadBalancers(o)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(existing)+len(opts.Services))
		for _, r := range existing {
			names = append(names, r.String())
		}
		for _, s := range opts.Services {
			if !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
		b, _ := json.Marshal(names)
		o.SetAnnotation(AnnotationLoadBalancers, string(b))
	}
	lbs, err := LoadBalancers(o)
	if err != nil || len(lbs) == 0 || opts.DisableTraffic {
		return err
	}
	labels, ok := o.TemplateLabels()
	if !ok {
		return fmt.Errorf("%s has no pod template to carry its load balancers' labels", o.Ref())
	}
	for _, lb := range lbs {
		sel, err := serviceSelector(ctx, c, lb)
		if err != nil {
			return err
		}
		for k := range sel {
			if _, clash := labels[k]; clash {
				return fmt.Errorf("%s: the selector of %s shares the label %q with the pod template; a Service used for traffic management must select on labels of its own", o.Ref(), lb, k)
			}
		}
		tmplMeta := ensureMap(Nested(o, "spec", "template").(map[string]any), "metadata")
		maps.Copy(ensureMap(tmplMeta, "labels"), toAny(sel))
	}
	return nil
}

func serviceSelector(ctx context.Context, c Cluster, svc Ref) (map[string]string, error) {
	obj, err := c.Get(ctx, svc)
	if err != nil {
		return nil, fmt.Errorf("load balancer %s: %w", svc, err)
	}
	sel := stringMap(Nested(obj, "spec", "selector"))
	if len(sel) == 0 {
		return nil, fmt.Errorf("load balancer %s has no selector, so it cannot route to a workload", svc)
	}
	return sel, nil
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// priority orders kinds for deployment, as clouddriver's deploy priorities.
func priority(o Object) int {
	switch strings.ToLower(o.Kind()) {
	case "namespace", "customresourcedefinition":
		return 0
	case "serviceaccount", "role", "clusterrole", "rolebinding", "clusterrolebinding", "resourcequota", "limitrange":
		return 1
	case "configmap", "secret", "persistentvolume", "persistentvolumeclaim", "storageclass":
		return 2
	case "service", "ingress", "networkpolicy":
		return 3
	default:
		return 4
	}
}

// replaceReferences points a pod spec's references to ConfigMaps and
// Secrets deployed as new versions in the same deploy at those versions.
func replaceReferences(o Object, renamed map[string]string) {
	if len(renamed) == 0 {
		return
	}
	var spec map[string]any
	if SameKind(o.Kind(), "pod") {
		spec, _ = o["spec"].(map[string]any)
	} else {
		spec, _ = Nested(o, "spec", "template", "spec").(map[string]any)
		if spec == nil {
			spec, _ = Nested(o, "spec", "jobTemplate", "spec", "template", "spec").(map[string]any)
		}
	}
	if spec == nil {
		return
	}
	ns := o.Namespace()
	swap := func(m map[string]any, key, kind string) {
		if m == nil {
			return
		}
		if name, ok := m[key].(string); ok {
			if v, ok := renamed[kind+"/"+ns+"/"+name]; ok {
				m[key] = v
			}
		}
	}
	asMap := func(v any) map[string]any { m, _ := v.(map[string]any); return m }
	for _, v := range asSlice(spec["volumes"]) {
		vol := asMap(v)
		swap(asMap(vol["configMap"]), "name", "configmap")
		swap(asMap(vol["secret"]), "secretName", "secret")
		for _, s := range asSlice(Nested(vol, "projected", "sources")) {
			swap(asMap(asMap(s)["configMap"]), "name", "configmap")
			swap(asMap(asMap(s)["secret"]), "name", "secret")
		}
	}
	for _, list := range []string{"containers", "initContainers"} {
		for _, ct := range asSlice(spec[list]) {
			container := asMap(ct)
			for _, ef := range asSlice(container["envFrom"]) {
				swap(asMap(asMap(ef)["configMapRef"]), "name", "configmap")
				swap(asMap(asMap(ef)["secretRef"]), "name", "secret")
			}
			for _, e := range asSlice(container["env"]) {
				from := asMap(asMap(e)["valueFrom"])
				swap(asMap(from["configMapKeyRef"]), "name", "configmap")
				swap(asMap(from["secretKeyRef"]), "name", "secret")
			}
		}
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func orNone(s string) string {
	if s == "" {
		return "(cluster-scoped)"
	}
	return s
}

// IsNotFound reports whether err says the object does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
