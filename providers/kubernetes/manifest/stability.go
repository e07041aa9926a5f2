package manifest

import (
	"fmt"
	"strings"
)

// Status is whether an object has settled, as Spinnaker's clouddriver
// reports it for WaitForManifestStable: stable (done), failed (it will not
// get there by itself), or neither (keep waiting), with a message saying why.
type Status struct {
	Stable  bool   `json:"stable"`
	Failed  bool   `json:"failed"`
	Message string `json:"message,omitempty"`
}

func stable() Status               { return Status{Stable: true} }
func unstable(msg string) Status   { return Status{Message: msg} }
func failed(msg string) Status     { return Status{Failed: true, Message: msg} }
func stableWith(msg string) Status { return Status{Stable: true, Message: msg} }

// Messages for objects that are not stable yet, as clouddriver words them.
const (
	msgNoStatus        = "No status reported yet"
	msgOldGeneration   = "Waiting for status generation to match updated object generation"
	msgUpdatedReplicas = "Waiting for all replicas to be updated"
	msgOldReplicas     = "Waiting for old replicas to finish termination"
	msgAvailable       = "Waiting for all replicas to be available"
	msgReady           = "Waiting for all replicas to be ready"
	msgFullyLabeled    = "Waiting for all replicas to be fully-labeled"
)

// StatusOf applies the stability rule of the object's kind to the object as
// the API server returned it. Kinds without a rule are stable at once.
//
// The rules are clouddriver's (KubernetesDeploymentHandler and its
// siblings), plus two the issue asks for that clouddriver leaves stable at
// once: a Service of type LoadBalancer waits for its ingress, and a
// PersistentVolumeClaim for Bound.
func StatusOf(o Object) Status {
	switch strings.ToLower(o.Kind()) {
	case "deployment":
		return deploymentStatus(o)
	case "replicaset":
		return replicaSetStatus(o)
	case "statefulset":
		return statefulSetStatus(o)
	case "daemonset":
		return daemonSetStatus(o)
	case "job":
		return jobStatus(o)
	case "pod":
		return podStatus(o)
	case "service":
		return serviceStatus(o)
	case "persistentvolumeclaim":
		return pvcStatus(o)
	default:
		return stable()
	}
}

func statusOf(o Object) (map[string]any, bool) {
	s, ok := o["status"].(map[string]any)
	return s, ok && len(s) > 0
}

// generationObserved: the controller has seen the latest spec.
func generationObserved(o Object, status map[string]any) bool {
	observed, ok := nestedInt(status, "observedGeneration")
	gen, _ := nestedInt(o, "metadata", "generation")
	return ok && observed == gen
}

type condition struct{ Type, Status, Reason, Message string }

func conditions(status map[string]any) []condition {
	list, _ := status["conditions"].([]any)
	out := make([]condition, 0, len(list))
	for _, c := range list {
		m, _ := c.(map[string]any)
		out = append(out, condition{
			Type: nestedString(m, "type"), Status: nestedString(m, "status"),
			Reason: nestedString(m, "reason"), Message: nestedString(m, "message"),
		})
	}
	return out
}

func count(obj map[string]any, path ...string) int64 {
	n, _ := nestedInt(obj, path...)
	return n
}

// deploymentStatus: the controller observed the generation, the rollout did
// not exceed its progress deadline, and every desired replica is updated,
// available and ready with no old replica left.
func deploymentStatus(o Object) Status {
	status, ok := statusOf(o)
	if !ok {
		return unstable(msgNoStatus)
	}
	if !generationObserved(o, status) {
		return unstable(msgOldGeneration)
	}
	conds := conditions(status)
	for _, c := range conds {
		if strings.EqualFold(c.Type, "Progressing") && strings.EqualFold(c.Reason, "ProgressDeadlineExceeded") {
			msg := "Deployment exceeded its progress deadline"
			if c.Message != "" {
				msg += ": " + c.Message
			}
			return failed(msg)
		}
	}
	desired := replicasOf(o)
	switch {
	case count(status, "updatedReplicas") < desired:
		return unstable(msgUpdatedReplicas)
	case count(status, "replicas") > count(status, "updatedReplicas"):
		return unstable(msgOldReplicas)
	case count(status, "availableReplicas") < desired:
		return unstable(msgAvailable)
	case count(status, "readyReplicas") < desired:
		return unstable(msgReady)
	}
	for _, c := range conds {
		if strings.EqualFold(c.Type, "Available") && strings.EqualFold(c.Status, "False") {
			return unstable(c.Message)
		}
	}
	return stable()
}

// replicasOf is spec.replicas, which the API server defaults to 1.
func replicasOf(o Object) int64 {
	if n, ok := nestedInt(o, "spec", "replicas"); ok {
		return n
	}
	return 1
}

// replicaSetStatus: every desired replica is fully labeled, ready and
// available, and the controller observed the generation.
func replicaSetStatus(o Object) Status {
	status, ok := statusOf(o)
	if !ok {
		// A ReplicaSet scaled to zero reports {replicas: 0}, which decodes
		// as an empty status in some clients.
		if replicasOf(o) == 0 {
			return stable()
		}
		return unstable(msgNoStatus)
	}
	desired := replicasOf(o)
	switch {
	case desired > count(status, "fullyLabeledReplicas"):
		return unstable(msgFullyLabeled)
	case desired > count(status, "readyReplicas"):
		return unstable(msgReady)
	case desired > count(status, "availableReplicas"):
		return unstable(msgAvailable)
	case !generationObserved(o, status):
		return unstable("Waiting for replicaset spec update to be observed")
	}
	return stable()
}

// statefulSetStatus follows the update strategy: OnDelete is stable at once;
// RollingUpdate waits for the desired count, readiness, and the partitioned
// roll out or the updated revision.
func statefulSetStatus(o Object) Status {
	strategy := nestedString(o, "spec", "updateStrategy", "type")
	if strings.EqualFold(strategy, "OnDelete") {
		return stable()
	}
	status, ok := statusOf(o)
	if !ok {
		return unstable(msgNoStatus)
	}
	if !generationObserved(o, status) {
		return unstable(msgOldGeneration)
	}
	desired := replicasOf(o)
	if desired > count(status, "replicas") {
		return unstable("Waiting for at least the desired replica count to be met")
	}
	if desired > count(status, "readyReplicas") {
		return unstable("Waiting for all updated replicas to be ready")
	}
	updated, hasUpdated := nestedInt(status, "updatedReplicas")
	partition, hasPartition := nestedInt(o, "spec", "updateStrategy", "rollingUpdate", "partition")
	if (strategy == "" || strings.EqualFold(strategy, "RollingUpdate")) && hasUpdated && hasPartition {
		if replicas, ok := nestedInt(status, "replicas"); ok && updated < replicas-partition {
			return unstable("Waiting for partitioned roll out to finish")
		}
		return stableWith("Partitioned roll out complete")
	}
	if desired > count(status, "currentReplicas") {
		return unstable("Waiting for all updated replicas to be scheduled")
	}
	if nestedString(status, "currentRevision") != nestedString(status, "updateRevision") {
		return unstable("Waiting for the updated revision to match the current revision")
	}
	return stable()
}

// daemonSetStatus: with RollingUpdate, every node that should run a pod runs
// an updated, available, ready one.
func daemonSetStatus(o Object) Status {
	status, ok := statusOf(o)
	if !ok {
		return unstable(msgNoStatus)
	}
	if !generationObserved(o, status) {
		return unstable(msgOldGeneration)
	}
	strategy := nestedString(o, "spec", "updateStrategy", "type")
	if strategy != "" && !strings.EqualFold(strategy, "RollingUpdate") {
		return stable()
	}
	desired := count(status, "desiredNumberScheduled")
	switch {
	case desired > count(status, "currentNumberScheduled"):
		return unstable("Waiting for all replicas to be scheduled")
	case desired > count(status, "updatedNumberScheduled"):
		return unstable("Waiting for all updated replicas to be scheduled")
	case desired > count(status, "numberAvailable"):
		return unstable(msgAvailable)
	case desired > count(status, "numberReady"):
		return unstable(msgReady)
	}
	return stable()
}

// jobStatus: stable once spec.completions pods succeeded (default 1);
// failed when the Failed condition holds, with its message.
func jobStatus(o Object) Status {
	status, ok := statusOf(o)
	if !ok {
		return unstable(msgNoStatus)
	}
	completions := int64(1)
	if n, ok := nestedInt(o, "spec", "completions"); ok {
		completions = n
	}
	if count(status, "succeeded") >= completions {
		return stable()
	}
	for _, c := range conditions(status) {
		if strings.EqualFold(c.Type, "Failed") && strings.EqualFold(c.Status, "True") {
			msg := c.Message
			if msg == "" {
				msg = "Job failed"
			}
			if c.Reason != "" {
				msg = fmt.Sprintf("%s (%s)", msg, c.Reason)
			}
			return failed(msg)
		}
	}
	return unstable("Waiting for jobs to finish")
}

// podStatus: Running and Succeeded are stable; Pending, Failed and Unknown
// are not (clouddriver keeps waiting on a failed pod rather than failing).
func podStatus(o Object) Status {
	status, ok := statusOf(o)
	if !ok {
		return unstable(msgNoStatus)
	}
	switch nestedString(status, "phase") {
	case "Running", "Succeeded":
		return stable()
	case "Pending":
		return unstable("Pod is pending")
	case "Failed":
		return unstable("Pod has failed")
	default:
		return unstable("Pod phase is unknown")
	}
}

// serviceStatus: a LoadBalancer Service waits until the cloud assigned it
// an ingress; other Services are stable at once.
func serviceStatus(o Object) Status {
	if !strings.EqualFold(nestedString(o, "spec", "type"), "LoadBalancer") {
		return stable()
	}
	if ingress, _ := Nested(o, "status", "loadBalancer", "ingress").([]any); len(ingress) > 0 {
		return stable()
	}
	return unstable("Waiting for the load balancer to be assigned an ingress")
}

// pvcStatus: a PersistentVolumeClaim is stable once Bound; Lost fails.
func pvcStatus(o Object) Status {
	switch phase := nestedString(o, "status", "phase"); phase {
	case "Bound":
		return stable()
	case "Lost":
		return failed("PersistentVolumeClaim lost its volume")
	case "":
		return unstable("Waiting for the claim to be bound")
	default:
		return unstable(fmt.Sprintf("Waiting for the claim to be bound (phase %s)", phase))
	}
}
