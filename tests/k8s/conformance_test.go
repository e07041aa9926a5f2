package k8s_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/providers/kubernetes/manifest"
	"github.com/gennaker/gennaker/providers/providertest"
	"github.com/gennaker/gennaker/shared/naming"
)

// TestConformance runs the conformance suite of each ability a Kubernetes
// account serves (providers/kubernetes pins down which) against the
// control plane, each in a namespace of its own that the account is
// limited to.
func TestConformance(t *testing.T) {
	t.Parallel()
	needCluster(t)
	t.Run("ServerGroups", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "conf-sg")
		c := providersAccount(t, ns)
		providertest.ServerGroups(t, providertest.ServerGroupsEnv{
			ServerGroups: c.ServerGroups,
			Create:       applyReplicaSet(c.Manifests),
			Region:       ns,
			Artifact: func(version string) map[string]any {
				return map[string]any{"type": "docker/image", "reference": "nginx:" + version}
			},
			UpTimeout: time.Minute,
		})
	})
	t.Run("Managers", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, "conf-managers")
		c := providersAccount(t, ns)
		providertest.Managers(t, providertest.ManagersEnv{
			Managers: c.Managers, ServerGroups: c.ServerGroups, Region: ns,
			Deploy:  applyDeployment(c.Manifests, ns),
			Timeout: time.Minute,
		})
	})
	t.Run("Manifests", func(t *testing.T) {
		t.Parallel()
		ns, forbidden := namespace(t, "conf-manifests"), namespace(t, "conf-forbidden")
		c := providersAccount(t, ns)
		providertest.Manifests(t, providertest.ManifestsEnv{Cluster: c.Manifests, Namespace: ns, Forbidden: forbidden})
		// What the account may not touch stayed untouched.
		if list, err := kube.CoreV1().ConfigMaps(forbidden).List(context.Background(), metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		} else {
			for _, cm := range list.Items {
				if cm.Name == "conf-forbidden" {
					t.Fatalf("ConfigMap conf-forbidden was created in %s, which the account may not use", forbidden)
				}
			}
		}
	})
}

// applyReplicaSet creates a server group as a Kubernetes user does, by
// applying a ReplicaSet of the spec's name, application and capacity,
// running the image of its artifact behind the Service "conf" (created
// with the first one). A disabled spec leaves its pods out of the
// Service's selector.
func applyReplicaSet(c manifest.Cluster) func(context.Context, providers.ServerGroupSpec) error {
	return func(ctx context.Context, spec providers.ServerGroupSpec) error {
		svc := manifest.Object{"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": "conf", "namespace": spec.Region},
			"spec":     map[string]any{"selector": map[string]any{"frontend": "conf"}, "ports": []any{map[string]any{"port": 80}}}}
		if _, err := c.Apply(ctx, svc); err != nil {
			return err
		}
		labels := map[string]any{"replicaset": spec.Name}
		if !spec.Disabled {
			labels["frontend"] = "conf"
		}
		rs := manifest.Object{"apiVersion": "apps/v1", "kind": "ReplicaSet",
			"metadata": map[string]any{"name": spec.Name, "namespace": spec.Region, "annotations": map[string]any{
				manifest.AnnotationApp:           string(spec.Provenance.Application),
				manifest.AnnotationCluster:       "replicaSet " + naming.ClusterOf(spec.Name),
				manifest.AnnotationLoadBalancers: `["service conf"]`,
			}},
			"spec": map[string]any{
				"replicas": spec.Capacity.Desired,
				"selector": map[string]any{"matchLabels": map[string]any{"replicaset": spec.Name}},
				"template": map[string]any{"metadata": map[string]any{"labels": labels},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "main", "image": spec.Artifact["reference"]}}}},
			}}
		_, err := c.Apply(ctx, rs)
		return err
	}
}

// applyDeployment deploys a server group manager as a Kubernetes user does:
// a Deployment whose image changes with the version, so that each version
// rolls out a ReplicaSet of its own.
func applyDeployment(c manifest.Cluster, ns string) func(ctx context.Context, app, name string, version int) error {
	return func(ctx context.Context, app, name string, version int) error {
		d := manifest.Object{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": name, "namespace": ns, "annotations": map[string]any{
				manifest.AnnotationApp:     app,
				manifest.AnnotationCluster: "deployment " + name,
			}},
			"spec": map[string]any{
				"replicas": 1,
				"selector": map[string]any{"matchLabels": map[string]any{"app": name}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": name}},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "main", "image": "nginx:" + strconv.Itoa(version)}}}},
			}}
		_, err := c.Apply(ctx, d)
		return err
	}
}
