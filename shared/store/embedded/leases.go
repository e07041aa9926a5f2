package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/gennaker/gennaker/shared/store"
)

// leases stores each lease as one record: who holds it and until when.
// An expired lease is simply overwritten by the next Acquire.
type leases struct{ s *Store }

var _ store.Leases = leases{}

// lease is a stored lease.
type lease struct {
	Owner string `json:"owner"`
	// Expires is in Unix nanoseconds, from this machine's clock: the
	// embedded store is one process, so there is only one clock.
	Expires int64 `json:"expires"`
}

// Acquire takes the lease for owner until ttl from now. The check of the
// current holder and the write are one transaction, so of two owners
// racing for a free lease exactly one wins.
func (l leases) Acquire(ctx context.Context, name, owner string, ttl time.Duration) error {
	if err := alive(ctx, "acquire lease %s for %s", name, owner); err != nil {
		return err
	}
	switch {
	case name == "":
		return fmt.Errorf("acquire lease for %s: the lease name is empty", owner)
	case owner == "":
		return fmt.Errorf("acquire lease %s: the owner is empty", name)
	case ttl <= 0:
		return fmt.Errorf("acquire lease %s for %s: ttl %s is not positive", name, owner, ttl)
	}
	err := l.s.update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		now := time.Now()
		if v := b.Get([]byte(name)); v != nil {
			var cur lease
			if err := decode(v, &cur); err != nil {
				return err
			}
			if cur.Owner != owner && now.UnixNano() < cur.Expires {
				return fmt.Errorf("held by %s until %s: %w", cur.Owner, time.Unix(0, cur.Expires).UTC().Format(time.RFC3339Nano), store.ErrConflict)
			}
		}
		v, err := json.Marshal(lease{Owner: owner, Expires: now.Add(ttl).UnixNano()})
		if err != nil {
			return err
		}
		return b.Put([]byte(name), v)
	})
	writeUnits(ctx, len(name)+len(owner)) // one conditional put, won or lost
	if err != nil {
		return fmt.Errorf("acquire lease %s for %s: %w", name, owner, err)
	}
	return nil
}

// errNotHeld ends Release's transactions when there is nothing to free.
var errNotHeld = errors.New("not held by the owner")

// Release frees the lease if owner holds it; otherwise it does nothing.
func (l leases) Release(ctx context.Context, name, owner string) error {
	if err := alive(ctx, "release lease %s for %s", name, owner); err != nil {
		return err
	}
	// Read first: releasing a lease one does not hold is common (a retry,
	// a cleanup after expiry) and should not cost a commit.
	err := l.s.view(func(tx *bbolt.Tx) error {
		return heldBy(tx, name, owner)
	})
	if errors.Is(err, errNotHeld) {
		return nil
	}
	if err == nil {
		writeUnits(ctx, len(name))
		err = l.s.update(func(tx *bbolt.Tx) error {
			if err := heldBy(tx, name, owner); err != nil {
				return err
			}
			return tx.Bucket(bucketLeases).Delete([]byte(name))
		})
	}
	if err != nil && !errors.Is(err, errNotHeld) {
		return fmt.Errorf("release lease %s for %s: %w", name, owner, err)
	}
	return nil
}

// heldBy returns errNotHeld unless owner holds the lease (expired or not).
func heldBy(tx *bbolt.Tx, name, owner string) error {
	v := tx.Bucket(bucketLeases).Get([]byte(name))
	if v == nil {
		return errNotHeld
	}
	var cur lease
	if err := decode(v, &cur); err != nil {
		return err
	}
	if cur.Owner != owner {
		return errNotHeld
	}
	return nil
}
