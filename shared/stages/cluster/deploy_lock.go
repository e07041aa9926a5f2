package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Two deployments to one cluster never interleave: a deploy holds a lease on
// its cluster from before it allocates a server group name until after it
// has cleaned up. Tasks that poll renew it; a crashed holder loses it when
// it expires.

// clusterLockTTL is how long a lease lives without renewal.
const clusterLockTTL = 2 * time.Minute

func clusterLockName(l Location, cluster string) string {
	return fmt.Sprintf("cluster/%s/%s/%s/%s", l.CloudProvider, l.Account, l.Region, cluster)
}

func lockOwner(run *stages.Run) string {
	id := model.ExecutionID("")
	if run.Execution != nil {
		id = run.Execution.ID
	}
	return fmt.Sprintf("%s/%s", id, run.Stage.ID)
}

// AcquireClusterLockTask waits until the deploy holds its cluster's lock.
type AcquireClusterLockTask struct{}

// Name implements Task.
func (AcquireClusterLockTask) Name() string { return "AcquireClusterLock" }

// Execute implements Task.
func (AcquireClusterLockTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	spec, err := d.resolve(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	name := clusterLockName(spec.location, spec.cluster.String())
	err = run.Services.Store.Leases().Acquire(ctx, name, lockOwner(run), clusterLockTTL)
	if errors.Is(err, store.ErrConflict) {
		return stages.Result{Status: model.StatusRunning, Backoff: deployPollBackoff,
			Context: stages.Record(clusterLockWait{WaitingFor: name})}, nil
	}
	if err != nil {
		return stages.Result{}, fmt.Errorf("lock cluster %s: %w", spec.cluster, err)
	}
	return stages.Result{Status: model.StatusSucceeded, Context: stages.Record(clusterLockHeld{Lock: name})}, nil
}

// errLostClusterLock: the deploy's lease expired and another deployment
// holds the cluster now.
var errLostClusterLock = errors.New("lost the cluster lock")

// renewClusterLock extends the deploy's lease; losing it fails the deploy.
func renewClusterLock(ctx context.Context, run *stages.Run, d *deployConfig) error {
	if d == nil || d.ClusterLock == "" {
		return nil
	}
	name := d.ClusterLock
	err := run.Services.Store.Leases().Acquire(ctx, name, lockOwner(run), clusterLockTTL)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w %s to another deployment", errLostClusterLock, name)
	}
	if err != nil {
		return fmt.Errorf("renew the lock on %s: %w", name, err)
	}
	return nil
}

// keepClusterLock renews the lease before each step of a deploy, instant
// or polling, so a deploy whose lease expired while it stood still (its
// runtime stopped longer than the lease) notices before it acts, rather
// than interleave with the deployment that took the cluster. It returns the
// result to end the task with, or nil to go on. A deploy that lost the lock
// fails without cleaning up: the cluster is another deployment's now. A
// store that cannot be reached is asked again later.
func keepClusterLock(ctx context.Context, run *stages.Run, d *deployConfig) *stages.Result {
	err := renewClusterLock(ctx, run, d)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errLostClusterLock):
		r := stages.Failed("%v; this deploy stops and leaves the cluster to it", err)
		return &r
	default:
		r := stages.Result{Status: model.StatusRunning, Backoff: deployPollBackoff, Context: stages.Record(clusterLockTrouble{err.Error()})}
		return &r
	}
}

// clusterLockTrouble is recorded while the cluster lock cannot be renewed
// and the deploy waits to try again.
type clusterLockTrouble struct {
	ClusterLockError string `json:"clusterLockError"`
}

func releaseClusterLock(ctx context.Context, run *stages.Run, d *deployConfig) error {
	if d == nil || d.ClusterLock == "" {
		return nil
	}
	return run.Services.Store.Leases().Release(ctx, d.ClusterLock, lockOwner(run))
}

// ReleaseClusterLockTask lets the next deployment of the cluster go.
type ReleaseClusterLockTask struct{}

// Name implements Task.
func (ReleaseClusterLockTask) Name() string { return "ReleaseClusterLock" }

// Execute implements Task.
func (ReleaseClusterLockTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	d, err := deployConfigOf(run)
	if err != nil {
		return stages.Failed("%v", err), nil
	}
	if err := releaseClusterLock(ctx, run, d); err != nil {
		return stages.Result{}, err
	}
	return stages.Succeeded(), nil
}

// clusterLockWait is what AcquireClusterLock records while another deploy
// holds the cluster's lock: the lock it waits for.
type clusterLockWait struct {
	WaitingFor string `json:"waitingForClusterLock"`
}

// clusterLockHeld is what AcquireClusterLock records once it holds the
// lock, clearing the wait.
type clusterLockHeld struct {
	Lock       string  `json:"clusterLock"`
	WaitingFor *string `json:"waitingForClusterLock"`
}
