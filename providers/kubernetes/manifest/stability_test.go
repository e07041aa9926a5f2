package manifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusOf checks the stability rule of each kind on objects as the API
// server returned them (testdata/status, captured from the local control
// plane and edited into the states that are hard to catch live).
func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		file    string
		stable  bool
		failed  bool
		message string
	}{
		{"deployment-ready", true, false, ""},
		{"deployment-no-status", false, false, "No status reported yet"},
		{"deployment-old-generation", false, false, "Waiting for status generation to match updated object generation"},
		{"deployment-rolling-out", false, false, "Waiting for all replicas to be updated"},
		{"deployment-progress-deadline-exceeded", false, true, `Deployment exceeded its progress deadline: ReplicaSet "stuck-76958b4bc6" has timed out progressing.`},
		{"replicaset-ready", true, false, ""},
		{"replicaset-not-ready", false, false, "Waiting for all replicas to be ready"},
		{"replicaset-scaled-to-zero", true, false, ""},
		{"statefulset-ready", true, false, "Partitioned roll out complete"},
		{"statefulset-updating", false, false, "Waiting for partitioned roll out to finish"},
		{"statefulset-partition-pending", false, false, "Waiting for partitioned roll out to finish"},
		{"statefulset-partition-done", true, false, "Partitioned roll out complete"},
		{"statefulset-revision-pending", false, false, "Waiting for the updated revision to match the current revision"},
		{"statefulset-ondelete", true, false, ""},
		{"daemonset-ready", true, false, ""},
		{"daemonset-updating", false, false, "Waiting for all updated replicas to be scheduled"},
		{"job-complete", true, false, ""},
		{"job-running", false, false, "Waiting for jobs to finish"},
		{"job-failed", false, true, "Job has reached the specified backoff limit (BackoffLimitExceeded)"},
		{"pod-running", true, false, ""},
		{"pod-pending", false, false, "Pod is pending"},
		{"pod-failed", false, false, "Pod has failed"},
		{"service-clusterip", true, false, ""},
		{"service-loadbalancer-pending", false, false, "Waiting for the load balancer to be assigned an ingress"},
		{"service-loadbalancer-assigned", true, false, ""},
		{"pvc-pending", false, false, "Waiting for the claim to be bound (phase Pending)"},
		{"pvc-bound", true, false, ""},
		{"pvc-lost", false, true, "PersistentVolumeClaim lost its volume"},
		{"configmap", true, false, ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got := StatusOf(fixture(t, tc.file))
			want := Status{Stable: tc.stable, Failed: tc.failed, Message: tc.message}
			if got != want {
				t.Fatalf("StatusOf(%s) = %+v, want %+v", tc.file, got, want)
			}
		})
	}
}

// TestEveryFixtureHasARule keeps the table above in step with testdata.
func TestEveryFixtureHasARule(t *testing.T) {
	files, err := filepath.Glob("testdata/status/*.json")
	if err != nil || len(files) < 20 {
		t.Fatalf("fixtures: %v (%d)", err, len(files))
	}
	src, err := os.ReadFile("stability_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if !strings.Contains(string(src), `{"`+name+`",`) {
			t.Errorf("fixture %s is not in TestStatusOf", name)
		}
	}
}

func fixture(t *testing.T, name string) Object {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "status", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var o Object
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o
}
