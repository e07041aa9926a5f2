package manifest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Scale sets the replicas of a Deployment, ReplicaSet or StatefulSet.
func Scale(ctx context.Context, c Cluster, ref Ref, replicas int) error {
	switch strings.ToLower(ref.Kind) {
	case "deployment", "replicaset", "statefulset":
	default:
		return fmt.Errorf("scale %s: only deployments, replicaSets and statefulSets can be scaled", ref)
	}
	if replicas < 0 {
		return fmt.Errorf("scale %s: replicas must not be negative, got %d", ref, replicas)
	}
	patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
	if _, err := c.Patch(ctx, ref, PatchMerge, []byte(patch)); err != nil {
		return fmt.Errorf("scale %s: %w", ref, err)
	}
	return nil
}

// RollingRestart restarts every pod of a Deployment, StatefulSet or
// DaemonSet through a rollout, as `kubectl rollout restart` does.
func RollingRestart(ctx context.Context, c Cluster, ref Ref, now time.Time) error {
	switch strings.ToLower(ref.Kind) {
	case "deployment", "statefulset", "daemonset":
	default:
		return fmt.Errorf("rolling restart %s: only deployments, statefulSets and daemonSets can be restarted", ref)
	}
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, now.UTC().Format(time.RFC3339))
	if _, err := c.Patch(ctx, ref, PatchMerge, []byte(patch)); err != nil {
		return fmt.Errorf("rolling restart %s: %w", ref, err)
	}
	return nil
}

// Undo rolls a Deployment back numRevisionsBack revisions (1: the one
// before the current) by restoring that revision's pod template, as
// `kubectl rollout undo` does. It returns the revision restored.
func Undo(ctx context.Context, c Cluster, ref Ref, numRevisionsBack int) (int64, error) {
	if !SameKind(ref.Kind, "deployment") {
		return 0, fmt.Errorf("undo rollout of %s: only deployments can be rolled back here", ref)
	}
	if numRevisionsBack < 1 {
		return 0, fmt.Errorf("undo rollout of %s: numRevisionsBack must be at least 1, got %d", ref, numRevisionsBack)
	}
	dep, err := c.Get(ctx, ref)
	if err != nil {
		return 0, fmt.Errorf("undo rollout of %s: %w", ref, err)
	}
	owned, err := ownedReplicaSets(ctx, c, dep)
	if err != nil {
		return 0, fmt.Errorf("undo rollout of %s: %w", ref, err)
	}
	type rev struct {
		n  int64
		rs Object
	}
	var revs []rev
	for _, rs := range owned {
		n, err := strconv.ParseInt(rs.Annotations()["deployment.kubernetes.io/revision"], 10, 64)
		if err == nil {
			revs = append(revs, rev{n, rs})
		}
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].n > revs[j].n })
	if len(revs) <= numRevisionsBack {
		return 0, fmt.Errorf("undo rollout of %s: it has %d revisions, cannot go %d back", ref, len(revs), numRevisionsBack)
	}
	target := revs[numRevisionsBack]
	tmpl, _ := Nested(target.rs, "spec", "template").(map[string]any)
	tmpl = deepCopy(tmpl).(map[string]any)
	if labels, ok := Nested(tmpl, "metadata", "labels").(map[string]any); ok {
		delete(labels, "pod-template-hash")
	}
	patch, err := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": tmpl}})
	if err != nil {
		return 0, err
	}
	if _, err := c.Patch(ctx, ref, PatchJSON, patch); err != nil {
		return 0, fmt.Errorf("undo rollout of %s to revision %d: %w", ref, target.n, err)
	}
	return target.n, nil
}

// ownedReplicaSets lists the ReplicaSets a Deployment owns.
func ownedReplicaSets(ctx context.Context, c Cluster, dep Object) ([]Object, error) {
	all, err := c.List(ctx, "ReplicaSet", dep.Namespace(), selectorString(dep))
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, rs := range all {
		if ownedBy(rs, dep.Kind(), dep.Name()) {
			out = append(out, rs)
		}
	}
	return out, nil
}

// Pods lists the pods a ReplicaSet or Job owns.
func Pods(ctx context.Context, c Cluster, owner Object) ([]Object, error) {
	all, err := c.List(ctx, "Pod", owner.Namespace(), selectorString(owner))
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, p := range all {
		if ownedBy(p, owner.Kind(), owner.Name()) {
			out = append(out, p)
		}
	}
	return out, nil
}

func ownedBy(o Object, kind, name string) bool {
	for _, r := range asSlice(Nested(o, "metadata", "ownerReferences")) {
		m, _ := r.(map[string]any)
		if SameKind(nestedString(m, "kind"), kind) && nestedString(m, "name") == name {
			return true
		}
	}
	return false
}

// selectorString is spec.selector.matchLabels as a label selector.
func selectorString(o Object) string {
	sel := stringMap(Nested(o, "spec", "selector", "matchLabels"))
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + sel[k]
	}
	return strings.Join(parts, ",")
}

// SetTraffic enables (true) or disables a ReplicaSet behind the Services
// its traffic.spinnaker.io/load-balancers annotation names: it adds or
// removes their selector labels on its pod template and on each of its
// pods, as Spinnaker's enableManifest and disableManifest do. Pods keep
// running either way.
func SetTraffic(ctx context.Context, c Cluster, ref Ref, enabled bool) error {
	verb := map[bool]string{true: "enable", false: "disable"}[enabled]
	obj, err := c.Get(ctx, ref)
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, ref, err)
	}
	lbs, err := LoadBalancers(obj)
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, ref, err)
	}
	if len(lbs) == 0 {
		return fmt.Errorf("%s %s: it names no load balancers (annotation %s)", verb, ref, AnnotationLoadBalancers)
	}
	labels := map[string]any{}
	for _, lb := range lbs {
		sel, err := serviceSelector(ctx, c, lb)
		if err != nil {
			return fmt.Errorf("%s %s: %w", verb, ref, err)
		}
		for k, v := range sel {
			if enabled {
				labels[k] = v
			} else {
				labels[k] = nil // a merge patch removes null keys
			}
		}
	}
	if _, hasTemplate := obj.TemplateLabels(); hasTemplate {
		patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{"labels": labels}}}})
		if _, err := c.Patch(ctx, ref, PatchMerge, patch); err != nil {
			return fmt.Errorf("%s %s: %w", verb, ref, err)
		}
		pods, err := Pods(ctx, c, obj)
		if err != nil {
			return fmt.Errorf("%s %s: %w", verb, ref, err)
		}
		for _, p := range pods {
			if err := patchLabels(ctx, c, p.Ref(), labels); err != nil && !IsNotFound(err) {
				return fmt.Errorf("%s %s: pod %s: %w", verb, ref, p.Name(), err)
			}
		}
		return nil
	}
	if err := patchLabels(ctx, c, ref, labels); err != nil {
		return fmt.Errorf("%s %s: %w", verb, ref, err)
	}
	return nil
}

func patchLabels(ctx context.Context, c Cluster, ref Ref, labels map[string]any) error {
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	_, err := c.Patch(ctx, ref, PatchMerge, patch)
	return err
}

// OtherVersions lists the objects of the same kind, namespace and moniker
// cluster as deployed, other than it, oldest first: what a red/black or
// highlander deploy disables or deletes.
func OtherVersions(ctx context.Context, c Cluster, deployed Object) ([]Object, error) {
	cluster := deployed.Annotations()[AnnotationCluster]
	all, err := c.List(ctx, deployed.Kind(), deployed.Namespace(), "")
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, o := range all {
		if o.Name() != deployed.Name() && cluster != "" && o.Annotations()[AnnotationCluster] == cluster {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return createdBefore(out[i], out[j]) })
	return out, nil
}

// JobLogs returns the logs of every pod of a Job, each headed by the pod's
// name. A pod whose logs cannot be read says why in place of its logs.
func JobLogs(ctx context.Context, c Cluster, job Object) (string, error) {
	pods, err := c.List(ctx, "Pod", job.Namespace(), "batch.kubernetes.io/job-name="+job.Name())
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range pods {
		logs, err := c.Logs(ctx, p.Namespace(), p.Name(), "")
		if err != nil {
			logs = fmt.Sprintf("(no logs: %v)\n", err)
		}
		fmt.Fprintf(&b, "==> pod %s (%s) <==\n%s", p.Name(), podOutcome(p), logs)
		if !strings.HasSuffix(logs, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String(), nil
}

// podOutcome says how a pod ended: its phase and its containers' exit codes.
func podOutcome(p Object) string {
	out := nestedString(p, "status", "phase")
	for _, cs := range asSlice(Nested(p, "status", "containerStatuses")) {
		m, _ := cs.(map[string]any)
		if code, ok := nestedInt(m, "state", "terminated", "exitCode"); ok {
			out += fmt.Sprintf(", container %s exited %d", nestedString(m, "name"), code)
		}
	}
	return out
}
