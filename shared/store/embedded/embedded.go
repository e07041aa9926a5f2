// Package embedded is gennaker's local store: all state in one bbolt file
// in the data directory (<data-dir>/gennaker.db), used by `gennaker up` and
// by tests that want a real store without a server.
//
// It keeps the same shape as the DynamoDB store so that a problem of one
// shows in the other: an execution is a header record plus one record per
// stage, listings read an index instead of scanning every run, writes that
// may race are conditional on a revision, and a record larger than
// DynamoDB's item limit is refused with store.ErrTooLarge.
//
// # Layout
//
// Every bucket is top-level. Composite keys join their parts with a NUL
// byte, which ids and names may not contain, so no key of one record is a
// prefix of another's; numbers in keys are 8-byte big-endian, so they sort.
//
//	applications              name                        → application JSON
//	pipelines                 id                          → {version, application, name} of the current version
//	pipeline-versions         id 0 version                → PipelineVersion JSON
//	pipeline-names            application 0 name          → id
//	executions                id                          → revision, header JSON (no stages)
//	stages                    execution 0 stage           → revision, stage JSON
//	stage-order               execution 0 sequence        → stage id, in creation order
//	executions-by-application application 0 ~buildTime id → (empty)
//	executions-by-pipeline    pipeline 0 ~buildTime id    → (empty)
//	leases                    name                        → {owner, expires}
//	records                   key                         → value, as given
//	meta                      "schema"                    → layout version
//	triggers                  indexKey 0 pipeline 0 index → store.TriggerEntry JSON
//
// ~buildTime is the build time inverted, so a forward scan of an index
// lists runs newest first, and runs with the same build time by id.
// "revision, JSON" is the 8-byte revision followed by the JSON document.
//
// # Durability
//
// Every method is one bbolt transaction: the revision check and the write
// happen inside it, and bbolt commits a transaction atomically and fsyncs
// it before the method returns. A process killed mid-write therefore leaves
// either the whole write or none of it — never a header without its stages
// or an index entry without its header.
//
// Committing costs a couple of fsyncs. A writer alone commits at once; when
// several goroutines write at the same time, their writes share one
// transaction and one fsync (bbolt's Batch), which is what keeps a local
// pipeline with parallel branches fast.
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/gennaker/gennaker/shared/store"
)

// Store is the embedded implementation of store.Store. Its methods are safe
// for concurrent use.
type Store struct {
	db *bbolt.DB
	// writers counts write transactions in flight, to choose between
	// committing at once and joining a batch.
	writers atomic.Int64
}

var _ store.Store = (*Store)(nil)

// Buckets; see the package documentation for what their keys hold.
var (
	bucketApplications     = []byte("applications")
	bucketPipelines        = []byte("pipelines")
	bucketPipelineVersions = []byte("pipeline-versions")
	bucketPipelineNames    = []byte("pipeline-names")
	bucketExecutions       = []byte("executions")
	bucketStages           = []byte("stages")
	bucketStageOrder       = []byte("stage-order")
	bucketExecByApp        = []byte("executions-by-application")
	bucketExecByPipeline   = []byte("executions-by-pipeline")
	bucketLeases           = []byte("leases")
	bucketRecords          = []byte("records")
	bucketMeta             = []byte("meta")
	bucketTriggers         = []byte("triggers")

	allBuckets = [][]byte{
		bucketApplications, bucketPipelines, bucketPipelineVersions, bucketPipelineNames,
		bucketExecutions, bucketStages, bucketStageOrder, bucketExecByApp, bucketExecByPipeline,
		bucketLeases, bucketRecords, bucketMeta, bucketTriggers,
	}
)

const (
	// schema names the bucket and key layout. A file with another schema
	// is refused rather than misread.
	schema = "1"

	// maxRecordSize is DynamoDB's item limit. Refusing larger records here
	// means a pipeline that works locally also fits in the cloud.
	maxRecordSize = 400 << 10

	// batchDelay is how long a batched write waits for others to join it,
	// instead of bbolt's 10 ms. It applies only when writers overlap (a
	// lone writer commits at once). About one commit's time is enough for
	// the writers queued behind the previous commit to join: the 4-branch
	// case of BenchmarkRun100Stages shares each commit among about four
	// writes.
	batchDelay = time.Millisecond
)

// lockTimeout bounds the wait for the file lock, so a second gennaker on
// the same data directory fails with a message instead of hanging. A
// variable so a test need not wait that long.
var lockTimeout = 2 * time.Second

// Open opens the store in the bbolt file at path, creating the file and
// its directory if needed. Only one process may have the file open; another
// Open fails after a short wait.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: another process holds it (is another gennaker running on this data directory?): %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.MaxBatchDelay = batchDelay
	err = db.Update(func(tx *bbolt.Tx) error {
		reindex := tx.Bucket(bucketTriggers) == nil && tx.Bucket(bucketPipelines) != nil
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if reindex {
			if err := reindexTriggers(tx); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get([]byte("schema")); {
		case v == nil:
			return meta.Put([]byte("schema"), []byte(schema))
		case string(v) != schema:
			return fmt.Errorf("the file has layout %q and this gennaker reads only layout %q", v, schema)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the file. Calls after Close fail.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.db.Path(), err)
	}
	return nil
}

// Applications returns the applications.
func (s *Store) Applications() store.Applications { return applications{s} }

// Pipelines returns the pipeline configurations.
func (s *Store) Pipelines() store.Pipelines { return pipelines{s} }

// Executions returns the runs.
func (s *Store) Executions() store.Executions { return executions{s} }

// Leases returns the leases.
func (s *Store) Leases() store.Leases { return leases{s} }

// Records returns the state-machine journal.
func (s *Store) Records() store.Records { return records{s} }

// update runs fn in one write transaction. A writer alone commits at once
// rather than wait out the batch delay; writers that overlap join a batch
// and share its fsync. bbolt may run fn more than once when it retries a
// batch, so fn must only read and write the transaction and must set any
// result it returns through a closure afresh on every run.
func (s *Store) update(fn func(tx *bbolt.Tx) error) error {
	defer s.writers.Add(-1)
	if s.writers.Add(1) > 1 {
		return s.db.Batch(fn)
	}
	return s.db.Update(fn)
}

// view runs fn in a read transaction. Slices fn reads from the transaction
// are valid only inside it.
func (s *Store) view(fn func(tx *bbolt.Tx) error) error { return s.db.View(fn) }

// alive reports a cancelled context, wrapped with what was being done. bbolt
// transactions are short and cannot be interrupted, so the context is
// checked before starting one.
func alive(ctx context.Context, format string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
	}
	return nil
}

// checkName rejects an empty name, or one with a NUL byte, which the key
// layout uses as its separator.
func checkName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%s is empty", kind)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("%s %q contains a NUL byte", kind, name)
	}
	return nil
}

// checkSize refuses a record larger than maxRecordSize.
func checkSize(b []byte) error {
	if len(b) > maxRecordSize {
		return fmt.Errorf("%d bytes, more than %d: %w", len(b), maxRecordSize, store.ErrTooLarge)
	}
	return nil
}

// prefix is the start of every composite key whose first part is part.
func prefix(part string) []byte {
	b := make([]byte, 0, len(part)+1)
	return append(append(b, part...), 0)
}

// join is a composite key of two parts.
func join(a, b string) []byte {
	return append(prefix(a), b...)
}

// withUint appends n to key as 8 big-endian bytes, so keys sort by n.
func withUint(key []byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64(key, n)
}

// inverted maps a time to 8 bytes that sort in the opposite order: later
// times first, for any int64 (the sign bit is flipped so negative times
// sort below positive ones before the inversion).
func inverted(t int64) uint64 { return ^(uint64(t) ^ 1<<63) }

// withRevision is the stored form of a record under optimistic concurrency:
// its revision, then its JSON.
func withRevision(rev int64, body []byte) []byte {
	b := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint64(b, uint64(rev))
	return append(b, body...)
}

// splitRevision undoes withRevision.
func splitRevision(v []byte) (int64, []byte, error) {
	if len(v) < 8 {
		return 0, nil, errors.New("corrupt record: shorter than its revision")
	}
	return int64(binary.BigEndian.Uint64(v)), v[8:], nil
}

// decode unmarshals a stored JSON document, naming the record on failure.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("corrupt record: %w", err)
	}
	return nil
}

// scanPrefix returns a copy of every key in b that starts with p, so the
// caller may delete them: bbolt cursors skip keys when the bucket changes
// under them.
func scanPrefix(b *bbolt.Bucket, p []byte) [][]byte {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	return keys
}

// deleteAll deletes the keys from b.
func deleteAll(b *bbolt.Bucket, keys [][]byte) error {
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
