package manifest

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/cluster"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
)

// Traffic guards for Kubernetes server groups. A ReplicaSet is a server
// group of the cluster its moniker annotation names, in its namespace (the
// guard's location); a Deployment acts through the ReplicaSets it owns.
// Whether a guard refuses is decided by the cluster family (cluster/deploy_guard.go), on the cluster's
// ReplicaSets as they are and as they would be after the change.

// manifestChange is what a stage is about to do to its targets.
type manifestChange int

const (
	changeDisable manifestChange = iota
	changeDelete
	changeScaleToZero
)

// verb names the change in a guard's refusal.
func (c manifestChange) verb() string {
	switch c {
	case changeDelete:
		return "delete"
	case changeScaleToZero:
		return "scale to 0"
	default:
		return "disable"
	}
}

// guardedCluster is one cluster touched by a change: its namespace,
// moniker and the ReplicaSets the change touches.
type guardedCluster struct {
	namespace string
	name      string
	moniker   naming.Cluster
	targets   []string
}

// guardManifests applies the applications' traffic guards to a change of
// targets in account. It returns the refusal of the first guard that would
// see its cluster left without an enabled ReplicaSet with pods up, nil when
// none does. Targets other than ReplicaSets and Deployments, and missing
// ones, are not server groups and pass.
func guardManifests(ctx context.Context, run *stages.Run, c manifest.Cluster, account string, change manifestChange, targets []manifest.Object) error {
	byCluster := map[[2]string]*guardedCluster{}
	guardsOf := map[string][]model.TrafficGuard{}
	add := func(rs manifest.Object) error {
		ann := rs.Annotations()
		clusterName := ann[manifest.AnnotationCluster]
		if clusterName == "" {
			return nil // not deployed as part of a cluster
		}
		app := ann[manifest.AnnotationApp]
		if app == "" && run.Execution != nil {
			app = string(run.Execution.Application)
		}
		if _, read := guardsOf[app]; !read {
			gs, err := cluster.ApplicationGuards(ctx, run, app)
			if err != nil {
				return err
			}
			guardsOf[app] = gs
		}
		if len(guardsOf[app]) == 0 {
			return nil
		}
		key := [2]string{rs.Namespace(), clusterName}
		gc := byCluster[key]
		if gc == nil {
			gc = &guardedCluster{namespace: rs.Namespace(), name: clusterName,
				moniker: naming.Cluster{App: app, Stack: ann[manifest.AnnotationStack], Detail: ann[manifest.AnnotationDetail]}}
			byCluster[key] = gc
		}
		gc.targets = append(gc.targets, rs.Name())
		return nil
	}
	for _, t := range targets {
		switch {
		case manifest.SameKind(t.Kind(), "replicaset"):
			if err := add(t); err != nil {
				return err
			}
		case manifest.SameKind(t.Kind(), "deployment"):
			owned, err := manifest.OwnedReplicaSets(ctx, c, t)
			if err != nil {
				return fmt.Errorf("%s: list its replicaSets: %w", t.Ref(), err)
			}
			for _, rs := range owned {
				if err := add(rs); err != nil {
					return err
				}
			}
		}
	}
	keys := make([][2]string, 0, len(byCluster))
	for k := range byCluster {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"/"+keys[i][1] < keys[j][0]+"/"+keys[j][1] })
	for _, k := range keys {
		gc := byCluster[k]
		before, err := replicaSetGroups(ctx, c, account, gc)
		if err != nil {
			return err
		}
		var after []providers.ServerGroup
		switch change {
		case changeDelete:
			after = cluster.Destroying(gc.targets...)(cluster.CloneGroups(before))
		case changeScaleToZero:
			after = cluster.CloneGroups(before)
			for _, n := range gc.targets {
				after = cluster.Resizing(n, 0)(after)
			}
		default:
			after = cluster.Disabling(gc.targets...)(cluster.CloneGroups(before))
		}
		l := cluster.Location{CloudProvider: "kubernetes", Account: account, Region: gc.namespace}
		action := change.verb() + " replicaSet " + strings.Join(gc.targets, ", ")
		if err := cluster.MonikerGuardDecision(guardsOf[gc.moniker.App], gc.moniker.App, l, gc.name, gc.moniker, action, before, after); err != nil {
			return err
		}
	}
	return nil
}

// replicaSetGroups is the cluster's ReplicaSets as server groups: enabled
// or not, with their desired and up pods.
func replicaSetGroups(ctx context.Context, c manifest.Cluster, account string, gc *guardedCluster) ([]providers.ServerGroup, error) {
	all, err := c.List(ctx, "ReplicaSet", gc.namespace, "")
	if err != nil {
		return nil, fmt.Errorf("list the replicaSets of cluster %s in %s: %w", gc.name, gc.namespace, err)
	}
	var out []providers.ServerGroup
	for _, rs := range all {
		if rs.Annotations()[manifest.AnnotationCluster] != gc.name {
			continue
		}
		enabled, err := manifest.Enabled(ctx, c, rs)
		if err != nil {
			return nil, err
		}
		g := providers.ServerGroup{Name: rs.Name(), Cluster: gc.name, Account: account, Region: gc.namespace, Disabled: !enabled}
		n := manifest.Replicas(rs)
		g.Capacity = providers.Capacity{Min: n, Max: n, Desired: n}
		pods, err := manifest.Pods(ctx, c, rs)
		if err != nil {
			return nil, fmt.Errorf("%s: list its pods: %w", rs.Ref(), err)
		}
		for _, p := range pods {
			if manifest.PodHealth(p, false) == manifest.HealthUp {
				g.Counts.Up++
			}
		}
		out = append(out, g)
	}
	return out, nil
}

// guardRefs reads the targets of a change and applies the guards to it.
// Targets that do not exist are left for the change itself to report.
func guardRefs(ctx context.Context, run *stages.Run, c manifest.Cluster, account string, change manifestChange, refs []manifest.Ref) error {
	var objs []manifest.Object
	for _, ref := range refs {
		if !manifest.SameKind(ref.Kind, "replicaset") && !manifest.SameKind(ref.Kind, "deployment") {
			continue
		}
		obj, err := c.Get(ctx, ref)
		if manifest.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s in %s: %w", ref, ref.Namespace, err)
		}
		objs = append(objs, obj)
	}
	if len(objs) == 0 {
		return nil
	}
	return guardManifests(ctx, run, c, account, change, objs)
}
