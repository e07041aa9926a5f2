package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/shared/naming"
)

// serverGroups shows a Kubernetes account's ReplicaSets as Spinnaker shows
// them: server groups whose region is their namespace, enabled when their
// pods carry the selectors of the Services in their
// traffic.spinnaker.io/load-balancers annotation. Creating one is done with
// deployManifest, not here.
type serverGroups struct {
	account string
	c       *Cluster
}

var _ providers.ServerGroups = serverGroups{}

const (
	replicaSetKind = "ReplicaSet"
	deploymentKind = "Deployment"
)

// Get implements providers.ServerGroups.
func (s serverGroups) Get(ctx context.Context, namespace, name string) (*providers.ServerGroup, error) {
	rs, err := s.c.Get(ctx, manifest.Ref{Kind: replicaSetKind, Namespace: namespace, Name: name})
	if err != nil {
		if manifest.IsNotFound(err) {
			return nil, fmt.Errorf("server group %s in %s: %w", name, namespace, providers.ErrNotFound)
		}
		return nil, err
	}
	return s.view(ctx, rs)
}

// List implements providers.ServerGroups: the application's ReplicaSets in
// every namespace the account may use, oldest first.
func (s serverGroups) List(ctx context.Context, app string) ([]providers.ServerGroup, error) {
	var all []manifest.Object
	namespaces := s.c.allowed
	if len(namespaces) == 0 {
		namespaces = []string{""} // every namespace
	}
	for _, ns := range namespaces {
		objs, err := s.c.listAny(ctx, replicaSetKind, ns)
		if err != nil {
			return nil, err
		}
		all = append(all, objs...)
	}
	out := []providers.ServerGroup{}
	for _, rs := range all {
		if rs.Annotations()[manifest.AnnotationApp] != app || slices.Contains(s.c.omitted, rs.Namespace()) {
			continue
		}
		g, err := s.view(ctx, rs)
		if err != nil {
			return nil, err
		}
		out = append(out, *g)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedTime < out[j].CreatedTime })
	return out, nil
}

// SetEnabled implements providers.ServerGroups.
func (s serverGroups) SetEnabled(ctx context.Context, namespace, name string, enabled bool) error {
	g, err := s.Get(ctx, namespace, name)
	if err != nil {
		return err
	}
	if g.Disabled != enabled {
		return nil
	}
	return manifest.SetTraffic(ctx, s.c, manifest.Ref{Kind: replicaSetKind, Namespace: namespace, Name: name}, enabled)
}

// Resize implements providers.ServerGroups: the ReplicaSet runs Desired
// replicas.
func (s serverGroups) Resize(ctx context.Context, namespace, name string, c providers.Capacity) error {
	err := manifest.Scale(ctx, s.c, manifest.Ref{Kind: replicaSetKind, Namespace: namespace, Name: name}, c.Desired)
	if manifest.IsNotFound(err) {
		return fmt.Errorf("server group %s in %s: %w", name, namespace, providers.ErrNotFound)
	}
	return err
}

// Destroy implements providers.ServerGroups.
func (s serverGroups) Destroy(ctx context.Context, namespace, name string) error {
	return s.c.Delete(ctx, manifest.Ref{Kind: replicaSetKind, Namespace: namespace, Name: name}, manifest.DeleteOptions{Cascading: true})
}

// view builds the server group of a ReplicaSet.
func (s serverGroups) view(ctx context.Context, rs manifest.Object) (*providers.ServerGroup, error) {
	ann := rs.Annotations()
	replicas := manifest.Replicas(rs)
	g := &providers.ServerGroup{
		Name: rs.Name(), Region: rs.Namespace(), Account: s.account, CloudProvider: Name,
		Application: ann[manifest.AnnotationApp],
		Cluster:     ann[manifest.AnnotationCluster],
		Capacity:    providers.Capacity{Min: replicas, Max: replicas, Desired: replicas},
		Instances:   []providers.Instance{}, LoadBalancers: []string{},
	}
	if g.Application == "" {
		if sg, err := naming.ParseServerGroup(rs.Name()); err == nil {
			g.Application = sg.App
		}
	}
	g.CreatedTime = createdTime(rs)
	lbs, err := manifest.LoadBalancers(rs)
	if err != nil {
		return nil, err
	}
	for _, lb := range lbs {
		g.LoadBalancers = append(g.LoadBalancers, lb.String())
	}
	enabled, err := manifest.Enabled(ctx, s.c, rs)
	if err != nil {
		return nil, err
	}
	g.Disabled = !enabled
	pods, err := manifest.Pods(ctx, s.c, rs)
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		in := providers.Instance{ID: p.Name(), Health: providers.Health(manifest.PodHealth(p, g.Disabled)), LaunchTime: createdTime(p)}
		if ip, ok := manifest.Nested(p, "status", "podIP").(string); ok {
			in.Address = ip
		}
		g.Instances = append(g.Instances, in)
		switch in.Health {
		case providers.HealthUp:
			g.Counts.Up++
		case providers.HealthDown:
			g.Counts.Down++
		case providers.HealthStarting:
			g.Counts.Starting++
		case providers.HealthOutOfService:
			g.Counts.OutOfService++
		}
		g.Counts.Total++
	}
	return g, nil
}

var _ providers.Managers = serverGroups{}

// Managers implements providers.Managers: the application's Deployments in
// every namespace the account may use, each the manager of the ReplicaSets
// it owns, as Spinnaker shows them.
func (s serverGroups) Managers(ctx context.Context, app string) ([]providers.Manager, error) {
	namespaces := s.c.allowed
	if len(namespaces) == 0 {
		namespaces = []string{""} // every namespace
	}
	out := []providers.Manager{}
	for _, ns := range namespaces {
		deps, err := s.c.listAny(ctx, deploymentKind, ns)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			ann := d.Annotations()
			if ann[manifest.AnnotationApp] != app || slices.Contains(s.c.omitted, d.Namespace()) {
				continue
			}
			owned, err := manifest.OwnedReplicaSets(ctx, s.c, d)
			if err != nil {
				return nil, fmt.Errorf("replicaSets of %s in %s: %w", d.Ref(), d.Namespace(), err)
			}
			sort.SliceStable(owned, func(i, j int) bool { return manifest.Revision(owned[i]) < manifest.Revision(owned[j]) })
			m := providers.Manager{
				Kind: manifest.SpinnakerKind(deploymentKind), Name: d.Name(), Region: d.Namespace(), Application: app,
				Cluster: ann[manifest.AnnotationCluster], Stack: ann[manifest.AnnotationStack], Detail: ann[manifest.AnnotationDetail],
				CreatedTime: createdTime(d), ServerGroups: []providers.ManagedServerGroup{},
			}
			for _, rs := range owned {
				m.ServerGroups = append(m.ServerGroups, providers.ManagedServerGroup{Name: rs.Name(), Sequence: manifest.Revision(rs)})
			}
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Region+"/"+out[i].Name < out[j].Region+"/"+out[j].Name
	})
	return out, nil
}

// createdTime is the object's creation time in ms, 0 when unknown.
func createdTime(o manifest.Object) int64 {
	if ts, ok := manifest.Nested(o, "metadata", "creationTimestamp").(string); ok {
		if t, err := time.Parse(time.RFC3339, ts); err == nil {
			return t.UnixMilli()
		}
	}
	return 0
}

// listAny lists a kind in one namespace, or in every namespace when ns is
// empty (for an account that may use them all).
func (c *Cluster) listAny(ctx context.Context, kind, ns string) ([]manifest.Object, error) {
	if ns != "" {
		return c.List(ctx, kind, ns, "")
	}
	m, err := c.mapping(ctx, kind, "")
	if err != nil {
		return nil, err
	}
	list, err := c.dyn.Resource(m.Resource).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, classify(err)
	}
	out := make([]manifest.Object, 0, len(list.Items))
	for _, item := range list.Items {
		item.Object["kind"], item.Object["apiVersion"] = m.GroupVersionKind.Kind, m.GroupVersionKind.GroupVersion().String()
		out = append(out, manifest.Object(item.Object))
	}
	return out, nil
}
