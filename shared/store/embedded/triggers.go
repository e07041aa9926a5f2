package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// triggers is the trigger index: one record per trigger of each pipeline's
// current version, under key 0 pipeline 0 index. Pipelines.Save and Delete
// rewrite a pipeline's records in their own transaction, so the index never
// disagrees with the pipelines.
type triggers struct{ s *Store }

var _ store.Triggers = triggers{}

// Triggers returns the trigger index.
func (s *Store) Triggers() store.Triggers { return triggers{s} }

func triggerKey(indexKey string, id model.PipelineID, index int) []byte {
	k := join(indexKey, string(id))
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(index))
}

// Lookup returns the entries under key, ordered by pipeline id, then index.
func (t triggers) Lookup(ctx context.Context, key string) ([]store.TriggerEntry, error) {
	if err := alive(ctx, "look up triggers %q", key); err != nil {
		return nil, err
	}
	var out []store.TriggerEntry
	err := t.s.view(func(tx *bbolt.Tx) error {
		pre := prefix(key)
		c := tx.Bucket(bucketTriggers).Cursor()
		for k, v := c.Seek(pre); k != nil && bytes.HasPrefix(k, pre); k, v = c.Next() {
			var e store.TriggerEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode trigger %q: %w", k, err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up triggers %q: %w", key, err)
	}
	return out, nil
}

// indexTriggers replaces the index records of old (the version being
// replaced or deleted; nil for none) with those of cur (nil for none).
func indexTriggers(tx *bbolt.Tx, old, cur *model.Pipeline) error {
	b := tx.Bucket(bucketTriggers)
	if old != nil {
		for i, tr := range old.Triggers {
			if err := b.Delete(triggerKey(tr.IndexKey(), old.ID, i)); err != nil {
				return err
			}
		}
	}
	if cur == nil {
		return nil
	}
	for _, e := range store.TriggerEntries(cur) {
		v, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("trigger %d: %w", e.Index, err)
		}
		if err := b.Put(triggerKey(e.Trigger.IndexKey(), cur.ID, e.Index), v); err != nil {
			return err
		}
	}
	return nil
}

// reindexTriggers fills an empty trigger index from the current pipelines:
// a file written before the index existed gets one when it is opened.
func reindexTriggers(tx *bbolt.Tx) error {
	c := tx.Bucket(bucketPipelines).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		p, err := current(tx, model.PipelineID(k))
		if err != nil {
			return fmt.Errorf("index triggers of pipeline %s: %w", k, err)
		}
		if err := indexTriggers(tx, nil, p); err != nil {
			return fmt.Errorf("index triggers of pipeline %s: %w", k, err)
		}
	}
	return nil
}
