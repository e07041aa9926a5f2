package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestClusterGroups(t *testing.T) {
	t.Parallel()
	f := &fakeCloud{}
	f.add("hello-prod-v001", 1, false)
	f.add("hello-prod-canary-v000", 1, false)
	f.add("hello-prod-v000", 1, false) // created later despite its name
	f.add("other-prod-v000", 1, false)
	c := &providers.Cloud{ServerGroups: f, Account: providers.Account{Name: "local"}}
	groups, err := clusterGroups(context.Background(), c, "local", "hello-prod")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := namesOf(groups), []string{"hello-prod-v001", "hello-prod-v000"}; !equal(got, want) {
		t.Fatalf("cluster hello-prod = %v, want %v (oldest first)", got, want)
	}
	if groups, _ := clusterGroups(context.Background(), c, "elsewhere", "hello-prod"); len(groups) != 0 {
		t.Fatalf("another region has %v", groups)
	}
}

func TestCloudAtNeedsServerGroups(t *testing.T) {
	t.Parallel()
	run := stagestest.NewRun(nil)
	if _, err := cloudAt(run, Location{Account: "local"}); err == nil {
		t.Fatal("a runtime without providers served an account")
	}
	e := newTestEnv(t)
	run.Services = &stages.Services{Providers: e.provs}
	if _, err := cloudAt(run, Location{Account: "prod"}); err == nil {
		t.Fatal("an unknown account was served")
	}
	if c, err := cloudAt(run, Location{Account: "local", Region: "local"}); err != nil || c.ServerGroups == nil {
		t.Fatalf("cloudAt(local) = %v, %v", c, err)
	}
}

// A polling task never looks past its stage's stageTimeoutMs.
func TestPollBrieflyStopsAtTheStageTimeout(t *testing.T) {
	t.Parallel()
	run := stagestest.NewRun(nil)
	run.Config = &targetConfig{stageFields: stageFields{StageTimeoutMs: 1}}
	run.Now = stagestest.T0.Add(time.Second)
	calls := 0
	res, err := pollBriefly(context.Background(), run, func() (stages.Result, error) {
		calls++
		return stages.Running(time.Second), nil
	})
	if err != nil || res.Status != model.StatusRunning || calls != 1 {
		t.Fatalf("pollBriefly = %s, %v after %d calls; want one look", res.Status, err, calls)
	}
	if got := stageTimeoutOf(run); got != time.Millisecond {
		t.Fatalf("stageTimeoutOf = %v", got)
	}
}

func TestProvenanceOf(t *testing.T) {
	t.Parallel()
	run := stagestest.NewRun(nil)
	p := provenanceOf(run)
	if p.ExecutionID != "parent-exec" || p.StageID != "stage-1" || p.User != "alice" || p.Application != "shop" {
		t.Fatalf("provenance = %+v", p)
	}
}
