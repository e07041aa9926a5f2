package manifest

import (
	"context"
	"strconv"
)

// Spinnaker shows a ReplicaSet as a server group: enabled when the Services
// of its traffic annotation select its pods, with one instance per pod. A
// Deployment is the server group manager of the ReplicaSets it owns. The
// provider's server group view and the traffic guards of the manifest
// stages both read a ReplicaSet this way.

// Pod health as Spinnaker names it.
const (
	HealthUp           = "Up"
	HealthDown         = "Down"
	HealthStarting     = "Starting"
	HealthOutOfService = "OutOfService"
)

// Enabled reports whether every Service in the workload's
// traffic.spinnaker.io/load-balancers annotation selects its pod template.
// A workload behind no load balancer is enabled; one whose Service is gone
// is not.
func Enabled(ctx context.Context, c Cluster, o Object) (bool, error) {
	lbs, err := LoadBalancers(o)
	if err != nil {
		return false, err
	}
	labels, _ := o.TemplateLabels()
	for _, lb := range lbs {
		svc, err := c.Get(ctx, lb)
		if IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		for k, v := range stringMap(Nested(svc, "spec", "selector")) {
			if labels[k] != v {
				return false, nil
			}
		}
	}
	return true, nil
}

// PodHealth is a pod's health: Up when Ready, OutOfService when Ready but
// its server group is disabled, Down when it failed, Starting otherwise.
func PodHealth(p Object, disabled bool) string {
	switch nestedString(p, "status", "phase") {
	case "Failed", "Unknown":
		return HealthDown
	case "Running":
		for _, c := range asSlice(Nested(p, "status", "conditions")) {
			m, _ := c.(map[string]any)
			if m["type"] == "Ready" && m["status"] == "True" {
				if disabled {
					return HealthOutOfService
				}
				return HealthUp
			}
		}
	}
	return HealthStarting
}

// Replicas is spec.replicas of a workload; absent means 1, as the API
// server defaults it.
func Replicas(o Object) int {
	if n, ok := nestedInt(o, "spec", "replicas"); ok {
		return int(n)
	}
	return 1
}

// OwnedReplicaSets lists the ReplicaSets a Deployment owns, ordered by
// name.
func OwnedReplicaSets(ctx context.Context, c Cluster, deployment Object) ([]Object, error) {
	return ownedReplicaSets(ctx, c, deployment)
}

// Owner returns the kind and name of the object's controller (a
// ReplicaSet's Deployment), or empty strings when it has none.
func Owner(o Object) (kind, name string) {
	for _, r := range asSlice(Nested(o, "metadata", "ownerReferences")) {
		m, _ := r.(map[string]any)
		if m["controller"] == true {
			return nestedString(m, "kind"), nestedString(m, "name")
		}
	}
	return "", ""
}

// Revision is a Deployment's ReplicaSet's rollout revision
// (deployment.kubernetes.io/revision), which Spinnaker shows as its
// sequence; -1 when it has none.
func Revision(o Object) int {
	n, err := strconv.Atoi(o.Annotations()["deployment.kubernetes.io/revision"])
	if err != nil {
		return -1
	}
	return n
}
