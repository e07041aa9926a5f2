// Package journaltest provides an in-memory asl.Journal and the conformance
// suite every Journal implementation must pass.
//
// A store package runs the suite against its own implementation:
//
//	func TestJournal(t *testing.T) {
//		journaltest.Run(t, func(t *testing.T) asl.Journal { return newStore(t) })
//	}
package journaltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gennaker/gennaker/shared/asl"
)

// Memory is an in-memory Journal. It counts writes, so tests and benchmarks
// can check how often the runtime persists, and it can be cloned to
// simulate a process killed at an arbitrary moment.
type Memory struct {
	mu      sync.Mutex
	data    map[string][]byte
	puts    atomic.Int64
	deletes atomic.Int64
	failPut atomic.Pointer[error]
}

var _ asl.Journal = (*Memory)(nil)

// NewMemory returns an empty in-memory journal.
func NewMemory() *Memory {
	return &Memory{data: map[string][]byte{}}
}

// Put stores a copy of value under key.
func (m *Memory) Put(_ context.Context, key string, value []byte) error {
	if errp := m.failPut.Load(); errp != nil {
		return *errp
	}
	m.puts.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[key] = bytes.Clone(value)
	return nil
}

// Get returns a copy of the value under key.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.data[key]
	return bytes.Clone(v), ok, nil
}

// Delete removes key.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.deletes.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, key)
	return nil
}

// Scan calls fn for each key with prefix, in key order, on a snapshot: fn
// may modify the journal.
func (m *Memory) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	m.mu.Lock()
	var keys []string
	for k := range m.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	values := make([][]byte, len(keys))
	for i, k := range keys {
		values[i] = bytes.Clone(m.data[k])
	}
	m.mu.Unlock()
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(k, values[i]); err != nil {
			return err
		}
	}
	return nil
}

// Clone returns an independent copy of the journal's current content, as a
// process killed right now would leave it on disk.
func (m *Memory) Clone() *Memory {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := NewMemory()
	for k, v := range m.data {
		c.data[k] = bytes.Clone(v)
	}
	return c
}

// Keys returns every key with the given prefix, sorted.
func (m *Memory) Keys(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k := range maps.Keys(m.data) {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Puts returns how many Put calls succeeded.
func (m *Memory) Puts() int64 { return m.puts.Load() }

// Deletes returns how many Delete calls were made.
func (m *Memory) Deletes() int64 { return m.deletes.Load() }

// FailPuts makes every Put fail with err from now on; nil restores them.
func (m *Memory) FailPuts(err error) {
	if err == nil {
		m.failPut.Store(nil)
		return
	}
	m.failPut.Store(&err)
}

// Run is the conformance suite of asl.Journal. newJournal returns an empty
// journal for each subtest.
func Run(t *testing.T, newJournal func(t *testing.T) asl.Journal) {
	ctx := context.Background()
	t.Run("GetMissing", func(t *testing.T) {
		j := newJournal(t)
		_, found, err := j.Get(ctx, "asl/missing")
		if err != nil || found {
			t.Fatalf("Get(missing) = found %v, err %v; want not found, nil", found, err)
		}
	})
	t.Run("PutGetReplace", func(t *testing.T) {
		j := newJournal(t)
		mustPut(t, j, "asl/a", "one")
		mustPut(t, j, "asl/a", "two")
		v, found, err := j.Get(ctx, "asl/a")
		if err != nil || !found || string(v) != "two" {
			t.Fatalf("Get = %q, %v, %v; want \"two\", true, nil", v, found, err)
		}
	})
	t.Run("PutCopiesValue", func(t *testing.T) {
		j := newJournal(t)
		b := []byte("value")
		if err := j.Put(ctx, "asl/a", b); err != nil {
			t.Fatal(err)
		}
		b[0] = 'X'
		v, _, _ := j.Get(ctx, "asl/a")
		if string(v) != "value" {
			t.Fatalf("Get after caller modified its buffer = %q; want \"value\"", v)
		}
	})
	t.Run("DeleteIsIdempotent", func(t *testing.T) {
		j := newJournal(t)
		mustPut(t, j, "asl/a", "one")
		for i := range 2 {
			if err := j.Delete(ctx, "asl/a"); err != nil {
				t.Fatalf("Delete #%d: %v", i+1, err)
			}
		}
		if _, found, _ := j.Get(ctx, "asl/a"); found {
			t.Fatal("key still present after Delete")
		}
	})
	t.Run("ScanPrefixInOrder", func(t *testing.T) {
		j := newJournal(t)
		for _, k := range []string{"asl/fr/x/r/2.1", "asl/fr/x/r", "asl/ex/x", "asl/fr/y/r", "asl/fr/x/r/1.0", "asl/frz"} {
			mustPut(t, j, k, "v:"+k)
		}
		var got []string
		err := j.Scan(ctx, "asl/fr/x/", func(key string, value []byte) error {
			if string(value) != "v:"+key {
				return fmt.Errorf("value of %s = %q", key, value)
			}
			got = append(got, key)
			return nil
		})
		want := []string{"asl/fr/x/r", "asl/fr/x/r/1.0", "asl/fr/x/r/2.1"}
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Scan = %v, %v; want %v, nil", got, err, want)
		}
	})
	t.Run("ScanStopsOnError", func(t *testing.T) {
		j := newJournal(t)
		mustPut(t, j, "asl/a", "1")
		mustPut(t, j, "asl/b", "2")
		stop := errors.New("stop")
		calls := 0
		err := j.Scan(ctx, "asl/", func(string, []byte) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("Scan = %v after %d calls; want the callback's error after 1", err, calls)
		}
	})
	t.Run("ScanEmpty", func(t *testing.T) {
		j := newJournal(t)
		err := j.Scan(ctx, "asl/none/", func(string, []byte) error {
			return errors.New("called for a missing prefix")
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func mustPut(t *testing.T, j asl.Journal, key, value string) {
	t.Helper()
	if err := j.Put(context.Background(), key, []byte(value)); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}
