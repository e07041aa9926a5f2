package embedded

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/gennaker/gennaker/shared/store"
)

// records is the local state-machine runtime's journal: values stored as
// given, in a bucket of their own.
type records struct{ s *Store }

var _ store.Records = records{}

// scanChunk is how many records Scan reads per transaction. Scan calls fn
// outside any transaction, so fn may write to the store: a write waiting on
// a read transaction held open by the same goroutine can deadlock bbolt
// when the file has to grow.
const scanChunk = 256

// Put stores value under key; the commit is fsynced before Put returns.
func (r records) Put(ctx context.Context, key string, value []byte) error {
	if err := alive(ctx, "put record %q", key); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("put record: the key is empty")
	}
	// bbolt keeps a reference to value until the commit; Put returns
	// after it, so the caller may reuse its buffer afterwards.
	err := r.s.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRecords).Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("put record %q: %w", key, err)
	}
	writeUnits(ctx, len(key)+len(value))
	return nil
}

// Get returns a copy of the value under key; found is false when there is
// none. An empty value is found.
func (r records) Get(ctx context.Context, key string) (value []byte, found bool, err error) {
	if err := alive(ctx, "get record %q", key); err != nil {
		return nil, false, err
	}
	err = r.s.view(func(tx *bbolt.Tx) error {
		// A cursor tells an empty value from a missing key; Bucket.Get
		// does not promise to.
		k, v := tx.Bucket(bucketRecords).Cursor().Seek([]byte(key))
		if k != nil && string(k) == key {
			value, found = append([]byte{}, v...), true
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("get record %q: %w", key, err)
	}
	readUnits(ctx, len(key)+len(value))
	return value, found, nil
}

// Delete removes key; deleting a missing key is not an error.
func (r records) Delete(ctx context.Context, key string) error {
	if err := alive(ctx, "delete record %q", key); err != nil {
		return err
	}
	err := r.s.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRecords).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("delete record %q: %w", key, err)
	}
	writeUnits(ctx, len(key))
	return nil
}

// Scan calls fn for every key with the prefix, in key order, with values
// fn may keep. It reads scanChunk records per transaction and calls fn
// between transactions, so, as with a paginated DynamoDB query, records
// written during the scan may or may not be seen. An error from fn ends the
// scan and is returned.
func (r records) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	type kv struct {
		key   string
		value []byte
	}
	pre := []byte(prefix)
	var after []byte // the last key delivered
	for {
		if err := alive(ctx, "scan records %q", prefix); err != nil {
			return err
		}
		var chunk []kv
		err := r.s.view(func(tx *bbolt.Tx) error {
			c := tx.Bucket(bucketRecords).Cursor()
			k, v := c.Seek(pre)
			if after != nil {
				k, v = c.Seek(after)
				if bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && bytes.HasPrefix(k, pre) && len(chunk) < scanChunk; k, v = c.Next() {
				chunk = append(chunk, kv{string(k), append([]byte{}, v...)})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("scan records %q: %w", prefix, err)
		}
		size := 0
		for _, e := range chunk {
			size += len(e.key) + len(e.value)
		}
		readUnits(ctx, size) // one Query page
		for _, e := range chunk {
			if err := fn(e.key, e.value); err != nil {
				return fmt.Errorf("scan records %q at %q: %w", prefix, e.key, err)
			}
		}
		if len(chunk) < scanChunk {
			return nil
		}
		after = []byte(chunk[len(chunk)-1].key)
	}
}
