package embedded

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// check walks every bucket of the file and returns every broken invariant
// it finds: a record that does not decode, a stage without its header or
// missing from the stage order, an index entry without its header, a header
// without its index entries. A store that only ever commits whole writes
// has none.
func (s *Store) check() []error {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	err := s.db.View(func(tx *bbolt.Tx) error {
		// bbolt's own check of pages and freelist.
		for err := range tx.Check() {
			bad("bbolt: %v", err)
		}

		execs := tx.Bucket(bucketExecutions)
		headers := map[string]indexed{}
		execs.ForEach(func(k, v []byte) error {
			e, err := readHeader(tx, model.ExecutionID(k))
			if err != nil {
				bad("header %s: %v", k, err)
				return nil
			}
			headers[string(k)] = indexedOf(e)
			byApp, byPipeline := indexedOf(e).keys(e.ID)
			if tx.Bucket(bucketExecByApp).Get(byApp) == nil {
				bad("header %s is missing from the application index", k)
			}
			if byPipeline != nil && tx.Bucket(bucketExecByPipeline).Get(byPipeline) == nil {
				bad("header %s is missing from the pipeline index", k)
			}
			return nil
		})

		// Every index entry points at a header whose fields make that key.
		for _, index := range [][]byte{bucketExecByApp, bucketExecByPipeline} {
			tx.Bucket(index).ForEach(func(k, _ []byte) error {
				i := bytes.IndexByte(k, 0)
				if i < 0 || len(k) < i+1+8 {
					bad("%s: malformed key %q", index, k)
					return nil
				}
				id := string(k[i+9:])
				ix, ok := headers[id]
				if !ok {
					bad("%s: entry for missing header %s", index, id)
					return nil
				}
				byApp, byPipeline := ix.keys(model.ExecutionID(id))
				if !bytes.Equal(k, byApp) && !bytes.Equal(k, byPipeline) {
					bad("%s: stale entry %q for header %s", index, k, id)
				}
				return nil
			})
		}

		// Stages and their order match one to one, and belong to a header.
		ordered := map[string]bool{}
		tx.Bucket(bucketStageOrder).ForEach(func(k, sid []byte) error {
			exec, _, _ := bytes.Cut(k, []byte{0})
			key := string(stageKey(model.ExecutionID(exec), model.StageID(sid)))
			if ordered[key] {
				bad("stage %s of %s is in the stage order twice", sid, exec)
			}
			ordered[key] = true
			if _, ok := headers[string(exec)]; !ok {
				bad("stage order entry %s of missing header %s", sid, exec)
			}
			return nil
		})
		tx.Bucket(bucketStages).ForEach(func(k, v []byte) error {
			exec, sid, _ := bytes.Cut(k, []byte{0})
			if _, err := decodeStage(v); err != nil {
				bad("stage %s of %s: %v", sid, exec, err)
			}
			if _, ok := headers[string(exec)]; !ok {
				bad("stage %s of missing header %s", sid, exec)
			}
			if !ordered[string(k)] {
				bad("stage %s of %s is not in the stage order", sid, exec)
			}
			delete(ordered, string(k))
			return nil
		})
		for k := range ordered {
			bad("stage order entry %q has no stage", k)
		}
		for id := range headers {
			if _, err := readStages(tx, model.ExecutionID(id), new(int)); err != nil {
				bad("stages of %s: %v", id, err)
			}
		}

		// Pipelines: the head, its current version and its name agree.
		tx.Bucket(bucketPipelines).ForEach(func(k, _ []byte) error {
			h, _, err := head(tx, model.PipelineID(k))
			if err != nil {
				bad("pipeline head %s: %v", k, err)
				return nil
			}
			if _, err := current(tx, model.PipelineID(k)); err != nil {
				bad("pipeline %s: %v", k, err)
			}
			if owner := tx.Bucket(bucketPipelineNames).Get(join(string(h.Application), h.Name)); string(owner) != string(k) {
				bad("pipeline %s does not hold its name %q", k, h.Name)
			}
			return nil
		})
		tx.Bucket(bucketPipelineVersions).ForEach(func(k, v []byte) error {
			var pv store.PipelineVersion
			if err := json.Unmarshal(v, &pv); err != nil {
				bad("pipeline version %q: %v", k, err)
			}
			return nil
		})
		tx.Bucket(bucketApplications).ForEach(func(k, v []byte) error {
			var app model.Application
			if err := json.Unmarshal(v, &app); err != nil {
				bad("application %s: %v", k, err)
			}
			return nil
		})
		tx.Bucket(bucketLeases).ForEach(func(k, v []byte) error {
			var l lease
			if err := json.Unmarshal(v, &l); err != nil {
				bad("lease %s: %v", k, err)
			}
			return nil
		})
		return nil
	})
	if err != nil {
		problems = append(problems, err)
	}
	return problems
}
