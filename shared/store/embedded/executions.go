package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// executions stores a run as a header record, a record per stage and a
// stage-order entry per stage, and indexes headers by application and by
// pipeline. Stage writes never touch the header, so the orchestrator's
// updates of different stages of one run do not conflict.
type executions struct{ s *Store }

var _ store.Executions = executions{}

// indexed is the part of a header its index keys are made of.
type indexed struct {
	Application      model.ApplicationName `json:"application"`
	PipelineConfigID model.PipelineID      `json:"pipelineConfigId"`
	BuildTime        int64                 `json:"buildTime"`
}

func indexedOf(e *model.Execution) indexed {
	return indexed{Application: e.Application, PipelineConfigID: e.PipelineConfigID, BuildTime: e.BuildTime}
}

// keys returns the run's keys in the application index and in the pipeline
// index (nil if the run has no pipeline, like an ad-hoc orchestration).
func (ix indexed) keys(id model.ExecutionID) (byApp, byPipeline []byte) {
	t := inverted(ix.BuildTime)
	byApp = append(withUint(prefix(string(ix.Application)), t), id...)
	if ix.PipelineConfigID != "" {
		byPipeline = append(withUint(prefix(string(ix.PipelineConfigID)), t), id...)
	}
	return byApp, byPipeline
}

// putIndex adds (or with del, removes) the run's index entries.
func (ix indexed) putIndex(tx *bbolt.Tx, id model.ExecutionID, del bool) error {
	byApp, byPipeline := ix.keys(id)
	for _, e := range []struct {
		bucket, key []byte
	}{{bucketExecByApp, byApp}, {bucketExecByPipeline, byPipeline}} {
		if e.key == nil {
			continue
		}
		b := tx.Bucket(e.bucket)
		var err error
		if del {
			err = b.Delete(e.key)
		} else {
			err = b.Put(e.key, []byte{})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func stageKey(id model.ExecutionID, stage model.StageID) []byte {
	return join(string(id), string(stage))
}

func orderKey(id model.ExecutionID, seq uint64) []byte {
	return withUint(prefix(string(id)), seq)
}

// checkHeader rejects a header the key layout cannot hold.
func checkHeader(e *model.Execution) error {
	if err := checkName("execution id", string(e.ID)); err != nil {
		return err
	}
	if err := checkName("application name", string(e.Application)); err != nil {
		return err
	}
	if strings.IndexByte(string(e.PipelineConfigID), 0) >= 0 {
		return fmt.Errorf("pipeline id %q contains a NUL byte", e.PipelineConfigID)
	}
	return nil
}

// encodeHeader returns the header's JSON: the run without its stages.
func encodeHeader(e *model.Execution) ([]byte, error) {
	h := e.Header()
	b, err := json.Marshal(&h)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if err := checkSize(b); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	return b, nil
}

// encodeStage returns the stage's JSON.
func encodeStage(s *model.StageExecution) ([]byte, error) {
	if err := checkName("stage id", string(s.ID)); err != nil {
		return nil, err
	}
	b, err := json.Marshal(s)
	if err == nil {
		err = checkSize(b)
	}
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", s.ID, err)
	}
	return b, nil
}

// readHeader reads the header; it returns store.ErrNotFound if there is none.
func readHeader(tx *bbolt.Tx, id model.ExecutionID) (*model.Execution, error) {
	v := tx.Bucket(bucketExecutions).Get([]byte(id))
	if v == nil {
		return nil, store.ErrNotFound
	}
	rev, body, err := splitRevision(v)
	if err != nil {
		return nil, err
	}
	var e model.Execution
	if err := decode(body, &e); err != nil {
		return nil, err
	}
	e.Revision = rev
	e.Stages = nil
	return &e, nil
}

// decodeStage decodes a stored stage record.
func decodeStage(v []byte) (*model.StageExecution, error) {
	return decodedStages.get(v, decodeStageRecord)
}

func decodeStageRecord(v []byte) (*model.StageExecution, error) {
	rev, body, err := splitRevision(v)
	if err != nil {
		return nil, err
	}
	var s model.StageExecution
	if err := decode(body, &s); err != nil {
		return nil, err
	}
	s.Revision = rev
	return &s, nil
}

// readStages reads the run's stages in creation order, following the
// stage-order index.
// It adds the stored size of the stages to *size.
func readStages(tx *bbolt.Tx, id model.ExecutionID, size *int) ([]model.StageExecution, error) {
	stages := []model.StageExecution{}
	records := tx.Bucket(bucketStages)
	pre := prefix(string(id))
	c := tx.Bucket(bucketStageOrder).Cursor()
	for k, sid := c.Seek(pre); k != nil && bytes.HasPrefix(k, pre); k, sid = c.Next() {
		v := records.Get(stageKey(id, model.StageID(sid)))
		if v == nil {
			return nil, fmt.Errorf("stage %s: corrupt record: listed in the stage order but missing", sid)
		}
		*size += len(v)
		s, err := decodeStage(v)
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", sid, err)
		}
		stages = append(stages, *s)
	}
	return stages, nil
}

// nextSeq returns the sequence number for the run's next new stage: one
// past the last in its stage order.
func nextSeq(order *bbolt.Bucket, id model.ExecutionID) uint64 {
	pre := prefix(string(id))
	// Every order key of the run sorts below id+0x01, the end of its range.
	end := append([]byte(id), 1)
	c := order.Cursor()
	k, _ := c.Seek(end)
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, pre) || len(k) != len(pre)+8 {
		return 1
	}
	return binary.BigEndian.Uint64(k[len(pre):]) + 1
}

// Create stores the header and its stages in one transaction, so a run is
// never visible with stages missing. Revisions start at 1; Create sets them
// on e and its stages so the caller can update without reading back.
func (x executions) Create(ctx context.Context, e *model.Execution) error {
	if err := alive(ctx, "create execution %s", e.ID); err != nil {
		return err
	}
	if err := checkHeader(e); err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	header, err := encodeHeader(e)
	if err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	bodies := make([][]byte, len(e.Stages))
	seen := make(map[model.StageID]bool, len(e.Stages))
	for i := range e.Stages {
		st := &e.Stages[i]
		if seen[st.ID] {
			return fmt.Errorf("create execution %s: stage id %s appears twice", e.ID, st.ID)
		}
		seen[st.ID] = true
		if bodies[i], err = encodeStage(st); err != nil {
			return fmt.Errorf("create execution %s: %w", e.ID, err)
		}
	}
	const rev = 1
	err = x.s.update(func(tx *bbolt.Tx) error {
		execs := tx.Bucket(bucketExecutions)
		if execs.Get([]byte(e.ID)) != nil {
			return fmt.Errorf("it already exists: %w", store.ErrConflict)
		}
		stages, order := tx.Bucket(bucketStages), tx.Bucket(bucketStageOrder)
		for i := range e.Stages {
			sid := e.Stages[i].ID
			if err := stages.Put(stageKey(e.ID, sid), withRevision(rev, bodies[i])); err != nil {
				return err
			}
			if err := order.Put(orderKey(e.ID, uint64(i+1)), []byte(sid)); err != nil {
				return err
			}
		}
		// Header last, as the interface promises. Here the transaction
		// makes the order moot; the DynamoDB store depends on it.
		if err := execs.Put([]byte(e.ID), withRevision(rev, header)); err != nil {
			return err
		}
		return indexedOf(e).putIndex(tx, e.ID, false)
	})
	writeUnits(ctx, len(header))
	for _, b := range bodies {
		writeUnits(ctx, len(b))
	}
	if err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	e.Revision = rev
	for i := range e.Stages {
		e.Stages[i].Revision = rev
	}
	return nil
}

// Get returns the header and all stages, read in one transaction so they
// are consistent with each other, or store.ErrNotFound.
func (x executions) Get(ctx context.Context, id model.ExecutionID) (*model.Execution, error) {
	if err := alive(ctx, "get execution %s", id); err != nil {
		return nil, err
	}
	var e *model.Execution
	size := 0
	err := x.s.view(func(tx *bbolt.Tx) (err error) {
		if e, err = readHeader(tx, id); err != nil {
			return err
		}
		size = len(tx.Bucket(bucketExecutions).Get([]byte(id)))
		e.Stages, err = readStages(tx, id, &size)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("execution %s: %w", id, err)
	}
	readUnits(ctx, size) // one Query of the header and stage items
	return e, nil
}

// GetHeader returns the header without stages, or store.ErrNotFound.
func (x executions) GetHeader(ctx context.Context, id model.ExecutionID) (*model.Execution, error) {
	if err := alive(ctx, "get execution %s", id); err != nil {
		return nil, err
	}
	var e *model.Execution
	size := 0
	err := x.s.view(func(tx *bbolt.Tx) (err error) {
		e, err = readHeader(tx, id)
		size = len(tx.Bucket(bucketExecutions).Get([]byte(id)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("execution %s: %w", id, err)
	}
	readUnits(ctx, size)
	return e, nil
}

// UpdateHeader writes the header if its stored revision still equals
// e.Revision, moving its index entries if the application, pipeline or
// build time changed. It never touches the stages.
func (x executions) UpdateHeader(ctx context.Context, e *model.Execution) error {
	if err := alive(ctx, "update execution %s", e.ID); err != nil {
		return err
	}
	if err := checkHeader(e); err != nil {
		return fmt.Errorf("update execution %s: %w", e.ID, err)
	}
	header, err := encodeHeader(e)
	if err != nil {
		return fmt.Errorf("update execution %s: %w", e.ID, err)
	}
	var rev int64
	err = x.s.update(func(tx *bbolt.Tx) error {
		rev = 0
		execs := tx.Bucket(bucketExecutions)
		v := execs.Get([]byte(e.ID))
		if v == nil {
			return store.ErrNotFound
		}
		stored, body, err := splitRevision(v)
		if err != nil {
			return err
		}
		if stored != e.Revision {
			return fmt.Errorf("revision %d is stale, the stored one is %d: %w", e.Revision, stored, store.ErrConflict)
		}
		var was indexed
		if err := decode(body, &was); err != nil {
			return err
		}
		if now := indexedOf(e); now != was {
			if err := was.putIndex(tx, e.ID, true); err != nil {
				return err
			}
			if err := now.putIndex(tx, e.ID, false); err != nil {
				return err
			}
		}
		if err := execs.Put([]byte(e.ID), withRevision(stored+1, header)); err != nil {
			return err
		}
		rev = stored + 1
		return nil
	})
	writeUnits(ctx, len(header))
	if err != nil {
		return fmt.Errorf("update execution %s: %w", e.ID, err)
	}
	e.Revision = rev
	return nil
}

// GetStage returns one stage, or store.ErrNotFound.
func (x executions) GetStage(ctx context.Context, id model.ExecutionID, stageID model.StageID) (*model.StageExecution, error) {
	if err := alive(ctx, "get execution %s stage %s", id, stageID); err != nil {
		return nil, err
	}
	var s *model.StageExecution
	err := x.s.view(func(tx *bbolt.Tx) (err error) {
		v := tx.Bucket(bucketStages).Get(stageKey(id, stageID))
		if v == nil {
			return store.ErrNotFound
		}
		readUnits(ctx, len(v))
		s, err = decodeStage(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("execution %s stage %s: %w", id, stageID, err)
	}
	return s, nil
}

// PutStage writes a stage if its stored revision still equals s.Revision
// (0 for a new stage, which is appended to the run's stage order). The run
// must exist: a stage written after its run was deleted would be an orphan
// nobody can list, so that returns store.ErrNotFound.
func (x executions) PutStage(ctx context.Context, id model.ExecutionID, s *model.StageExecution) error {
	if err := alive(ctx, "put execution %s stage %s", id, s.ID); err != nil {
		return err
	}
	body, err := encodeStage(s)
	if err != nil {
		return fmt.Errorf("put execution %s %w", id, err)
	}
	var rev int64
	err = x.s.update(func(tx *bbolt.Tx) error {
		rev = 0
		if tx.Bucket(bucketExecutions).Get([]byte(id)) == nil {
			return fmt.Errorf("no such execution: %w", store.ErrNotFound)
		}
		stages := tx.Bucket(bucketStages)
		key := stageKey(id, s.ID)
		v := stages.Get(key)
		var stored int64
		if v != nil {
			var err error
			if stored, _, err = splitRevision(v); err != nil {
				return err
			}
		}
		switch {
		case v == nil && s.Revision != 0:
			return fmt.Errorf("revision %d is stale, the stage does not exist: %w", s.Revision, store.ErrConflict)
		case v != nil && s.Revision == 0:
			return fmt.Errorf("the stage already exists: %w", store.ErrConflict)
		case stored != s.Revision:
			return fmt.Errorf("revision %d is stale, the stored one is %d: %w", s.Revision, stored, store.ErrConflict)
		}
		if v == nil {
			order := tx.Bucket(bucketStageOrder)
			if err := order.Put(orderKey(id, nextSeq(order, id)), []byte(s.ID)); err != nil {
				return err
			}
		}
		if err := stages.Put(key, withRevision(stored+1, body)); err != nil {
			return err
		}
		rev = stored + 1
		return nil
	})
	writeUnits(ctx, len(body)) // a conditional write that loses is billed too
	if err != nil {
		return fmt.Errorf("put execution %s stage %s: %w", id, s.ID, err)
	}
	s.Revision = rev
	return nil
}

// ListByApplication returns the application's runs, newest first, as
// headers without stages.
func (x executions) ListByApplication(ctx context.Context, app model.ApplicationName, opts store.ListOptions) ([]model.Execution, error) {
	list, err := x.list(ctx, bucketExecByApp, string(app), opts)
	if err != nil {
		return nil, fmt.Errorf("list executions of application %s: %w", app, err)
	}
	return list, nil
}

// ListByPipeline returns the pipeline's runs, newest first, as headers
// without stages.
func (x executions) ListByPipeline(ctx context.Context, id model.PipelineID, opts store.ListOptions) ([]model.Execution, error) {
	list, err := x.list(ctx, bucketExecByPipeline, string(id), opts)
	if err != nil {
		return nil, fmt.Errorf("list executions of pipeline %s: %w", id, err)
	}
	return list, nil
}

// list walks one index from owner's newest run, reading headers until it
// has opts.Limit that match opts.Statuses.
func (x executions) list(ctx context.Context, index []byte, owner string, opts store.ListOptions) ([]model.Execution, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var want map[model.Status]bool
	if len(opts.Statuses) > 0 {
		want = make(map[model.Status]bool, len(opts.Statuses))
		for _, st := range opts.Statuses {
			want[st] = true
		}
	}
	list := []model.Execution{}
	err := x.s.view(func(tx *bbolt.Tx) error {
		pre := prefix(owner)
		c := tx.Bucket(index).Cursor()
		for k, _ := c.Seek(pre); k != nil && bytes.HasPrefix(k, pre); k, _ = c.Next() {
			if opts.Limit > 0 && len(list) >= opts.Limit {
				break
			}
			if len(k) < len(pre)+8 {
				return fmt.Errorf("corrupt index key %q", k)
			}
			id := model.ExecutionID(k[len(pre)+8:])
			e, err := readHeader(tx, id)
			if err != nil {
				return fmt.Errorf("execution %s (indexed): %w", id, err)
			}
			if want != nil && !want[e.Status] {
				continue
			}
			list = append(list, *e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// Delete removes the header, its index entries, the stages and their order;
// a missing run is not an error.
func (x executions) Delete(ctx context.Context, id model.ExecutionID) error {
	if err := alive(ctx, "delete execution %s", id); err != nil {
		return err
	}
	err := x.s.update(func(tx *bbolt.Tx) error {
		execs := tx.Bucket(bucketExecutions)
		if v := execs.Get([]byte(id)); v != nil {
			_, body, err := splitRevision(v)
			if err != nil {
				return err
			}
			var ix indexed
			if err := decode(body, &ix); err != nil {
				return err
			}
			if err := ix.putIndex(tx, id, true); err != nil {
				return err
			}
			if err := execs.Delete([]byte(id)); err != nil {
				return err
			}
		}
		pre := prefix(string(id))
		for _, name := range [][]byte{bucketStages, bucketStageOrder} {
			b := tx.Bucket(name)
			if err := deleteAll(b, scanPrefix(b, pre)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete execution %s: %w", id, err)
	}
	return nil
}
