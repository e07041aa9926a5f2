package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/store"
)

// Lease durations. A test never depends on how fast the machine is: a lease
// that must still be held is taken for an hour, and one that must have
// expired is short and the test sleeps well past it.
const (
	held      = time.Hour
	shortTTL  = 20 * time.Millisecond
	pastShort = 4 * shortTTL
)

var leaseTests = []test{
	{"AcquireFreeLease", func(t *testing.T, s store.Store) {
		noErr(t, s.Leases().Acquire(ctx(t), "cluster/shop-web", "run-1", held), "acquire")
	}},
	{"OtherOwnerConflicts", func(t *testing.T, s store.Store) {
		l := s.Leases()
		noErr(t, l.Acquire(ctx(t), "cluster/shop-web", "run-1", held), "acquire")
		wantErr(t, l.Acquire(ctx(t), "cluster/shop-web", "run-2", held), store.ErrConflict, "cluster/shop-web")
		// Another lease is independent.
		noErr(t, l.Acquire(ctx(t), "cluster/shop-api", "run-2", held), "acquire another lease")
	}},
	{"OwnerReacquireExtends", func(t *testing.T, s store.Store) {
		l := s.Leases()
		noErr(t, l.Acquire(ctx(t), "slot", "run-1", shortTTL), "acquire")
		noErr(t, l.Acquire(ctx(t), "slot", "run-1", held), "re-acquire by the owner")
		time.Sleep(pastShort)
		wantErr(t, l.Acquire(ctx(t), "slot", "run-2", held), store.ErrConflict, "slot")
	}},
	{"ExpiryLetsAnotherOwnerIn", func(t *testing.T, s store.Store) {
		l := s.Leases()
		noErr(t, l.Acquire(ctx(t), "slot", "crashed-run", shortTTL), "acquire")
		time.Sleep(pastShort)
		noErr(t, l.Acquire(ctx(t), "slot", "run-2", held), "acquire an expired lease")
		wantErr(t, l.Acquire(ctx(t), "slot", "crashed-run", held), store.ErrConflict, "slot")
	}},
	{"ReleaseFrees", func(t *testing.T, s store.Store) {
		l := s.Leases()
		noErr(t, l.Acquire(ctx(t), "slot", "run-1", held), "acquire")
		noErr(t, l.Release(ctx(t), "slot", "run-1"), "release")
		noErr(t, l.Acquire(ctx(t), "slot", "run-2", held), "acquire a released lease")
	}},
	{"ReleaseByNonOwnerDoesNothing", func(t *testing.T, s store.Store) {
		l := s.Leases()
		noErr(t, l.Acquire(ctx(t), "slot", "run-1", held), "acquire")
		noErr(t, l.Release(ctx(t), "slot", "run-2"), "release by a non-owner")
		wantErr(t, l.Acquire(ctx(t), "slot", "run-3", held), store.ErrConflict, "slot")
		noErr(t, l.Release(ctx(t), "never-taken", "run-1"), "release of a lease nobody holds")
	}},
	{"ConcurrentAcquireOneWinner", func(t *testing.T, s store.Store) {
		const owners = 8
		errs := make([]error, owners)
		var wg sync.WaitGroup
		for i := range owners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Leases().Acquire(ctx(t), "slot", fmt.Sprintf("run-%d", i), held)
			}()
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("owner %d: %v, want nil or ErrConflict", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d owners acquired one lease at once, want exactly 1", wins, owners)
		}
	}},
}
