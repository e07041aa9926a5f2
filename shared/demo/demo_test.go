package demo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/demo"
	"github.com/gennaker/gennaker/shared/model"
)

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	s, err := demo.Run(context.Background(), &out, demo.Options{DataDir: t.TempDir()})
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if s.Failed != 0 || s.Served["v1"] == 0 || s.Served["v2"] == 0 || s.Served["v3"] != 0 {
		t.Fatalf("traffic: served %v, failed %d", s.Served, s.Failed)
	}
	want := []model.Status{model.StatusSucceeded, model.StatusSucceeded, model.StatusTerminal}
	for i := range want {
		if s.Statuses[i] != want[i] {
			t.Fatalf("deploy statuses = %v, want %v", s.Statuses, want)
		}
	}
	if !strings.Contains(s.Cluster, "hello-prod-v001 (v2, enabled, 2/2 up)") || strings.Contains(s.Cluster, "v002") {
		t.Fatalf("cluster at the end: %s", s.Cluster)
	}
	for _, want := range []string{"requests served:", "failed requests: 0", "WaitForUpInstances", "DisableOldServerGroups"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("the demo's output lacks %q", want)
		}
	}
}
