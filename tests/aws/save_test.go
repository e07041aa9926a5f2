package aws_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// save posts a pipeline to the API as a user does and returns its
// warnings.
func (e *env) save(t *testing.T, stages string) []string {
	t.Helper()
	e.n++
	body := fmt.Sprintf(`{"application": "shop", "name": "saved %d", "stages": [%s]}`, e.n, stages)
	req := httptest.NewRequest("POST", "/pipelines", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.rt.API().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("save answered %d: %s", rec.Code, rec.Body)
	}
	return rec.Header().Values("Warning")
}

// A field of an AWS cluster the provider does not apply is a save warning
// that names it; the fields it applies are not.
func TestUnappliedFieldsWarnOnSave(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if w := e.save(t, deployStage(amiV1, "redblack", 1, regions, `, "spotPrice": "0.05", "keyPair": "ops", "iamRole": "shop",
	  "ebsOptimized": true, "instanceMonitoring": false, "terminationPolicies": ["Default"], "cooldown": 10,
	  "securityGroups": ["sg-1"], "subnetType": "internal", "useSourceCapacity": true, "copySourceCustomBlockDeviceMappings": false,
	  "suspendedProcesses": [], "enabledMetrics": [], "loadBalancers": []`)); len(w) != 0 {
		t.Fatalf("warnings for a cluster of applied fields: %v", w)
	}
	w := e.save(t, deployStage(amiV1, "redblack", 1, regions, `, "placementGroup": "low-latency"`))
	if len(w) != 1 || !strings.Contains(w[0], "clusters[0].placementGroup") || !strings.Contains(w[0], "not applied by the aws provider") {
		t.Fatalf("warnings = %v, want one naming clusters[0].placementGroup as not applied", w)
	}
}
