package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

const helloLock = "cluster/local/local/local/hello-prod"

func TestAcquireClusterLockWaitsForTheHolder(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	leases := e.store.Leases()
	if err := leases.Acquire(context.Background(), helloLock, "other/stage", time.Minute); err != nil {
		t.Fatal(err)
	}
	run := e.newRun(t, "deploy", `{"clusters": [`+clusterJSON("")+`]}`)
	e.decode(t, run)
	res, err := AcquireClusterLockTask{}.Execute(context.Background(), run)
	if err != nil || res.Status != model.StatusRunning || res.Context["waitingForClusterLock"] != helloLock {
		t.Fatalf("with the lock held elsewhere = %s %v, %v; want RUNNING waiting for %s", res.Status, res.Context, err, helloLock)
	}
	if err := leases.Release(context.Background(), helloLock, "other/stage"); err != nil {
		t.Fatal(err)
	}
	res, err = AcquireClusterLockTask{}.Execute(context.Background(), run)
	if err != nil || res.Status != model.StatusSucceeded || res.Context["clusterLock"] != helloLock {
		t.Fatalf("with the lock free = %s %v, %v", res.Status, res.Context, err)
	}
}

func TestAcquireClusterLockNeedsADeployableCluster(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	run := e.newRun(t, "deploy", `{"clusters": [{"account": "local", "application": "hello"}]}`)
	e.decode(t, run)
	res, _ := AcquireClusterLockTask{}.Execute(context.Background(), run)
	stagestest.CheckFailure(t, res, model.StatusTerminal, "capacity is required: {min, max, desired}")
}

// A step of a deploy whose lease another deployment took stops without
// acting; a store it cannot reach is asked again.
func TestKeepClusterLock(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	run := e.newRun(t, "deploy", `{}`)
	if r := keepClusterLock(context.Background(), run, nil); r != nil {
		t.Fatalf("a stage without a deploy renewed a lock: %v", r)
	}
	if r := keepClusterLock(context.Background(), run, &deployConfig{}); r != nil {
		t.Fatalf("a deploy without a lock renewed one: %v", r)
	}
	if err := e.store.Leases().Acquire(context.Background(), helloLock, "other/stage", time.Minute); err != nil {
		t.Fatal(err)
	}
	d := &deployConfig{deployState: deployState{ClusterLock: helloLock}}
	r := keepClusterLock(context.Background(), run, d)
	if r == nil {
		t.Fatal("a deploy that lost its lock went on")
	}
	stagestest.CheckFailure(t, *r, model.StatusTerminal, "lost the cluster lock "+helloLock+" to another deployment; this deploy stops and leaves the cluster to it")
}

func TestReleaseClusterLockLetsTheNextGo(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	run := e.newRun(t, "deploy", `{"clusterLock": "`+helloLock+`"}`)
	if err := e.store.Leases().Acquire(context.Background(), helloLock, lockOwner(run), time.Minute); err != nil {
		t.Fatal(err)
	}
	e.decode(t, run)
	if res, err := (ReleaseClusterLockTask{}).Execute(context.Background(), run); err != nil || res.Status != model.StatusSucceeded {
		t.Fatalf("release = %s, %v", res.Status, err)
	}
	if err := e.store.Leases().Acquire(context.Background(), helloLock, "next/stage", time.Minute); err != nil {
		t.Fatalf("the next deployment cannot take the lock: %v", err)
	}
}
