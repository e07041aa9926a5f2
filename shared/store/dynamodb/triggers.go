package dynamodb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// The trigger index lives in the Config table, one item per trigger of a
// saved version, partitioned by what the trigger listens to:
//
//	pk "trigger#<index key>"   sk "<pipeline id>#<%010d version>#<%04d index>"
//
// with the entry as doc and the pipeline's version. Without transactions,
// a save writes its version's entries before it moves the head and deletes
// the other versions' entries after, and Lookup keeps only the entries of
// the version each pipeline's head holds: a save that loses or dies half
// way leaves entries no read returns, and the index always answers for the
// current versions; the entries it returns are read from the heads.
func triggerPK(indexKey string) string { return "trigger#" + indexKey }

func triggerSK(id model.PipelineID, version, index int) string {
	return fmt.Sprintf("%s#%010d#%04d", id, version, index)
}

type triggers struct{ s *Store }

var _ store.Triggers = triggers{}

// Triggers returns the trigger index.
func (s *Store) Triggers() store.Triggers { return triggers{s} }

func (t triggers) Lookup(ctx context.Context, indexKey string) ([]store.TriggerEntry, error) {
	type found struct {
		entry   store.TriggerEntry
		version int64
	}
	var all []found
	err := t.s.query(ctx, &dynamodb.QueryInput{
		TableName:                 &t.s.tables.Config,
		KeyConditionExpression:    ptr("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: item{":pk": attrS(triggerPK(indexKey))},
		ConsistentRead:            ptr(true),
	}, func(it item) (bool, error) {
		var f found
		if err := json.Unmarshal([]byte(stringAttr(it, attrDoc)), &f.entry); err != nil {
			return false, fmt.Errorf("decode %s %s: %w", stringAttr(it, attrPK), stringAttr(it, attrSK), err)
		}
		v, err := numberAttr(it, attrVersion)
		if err != nil {
			return false, fmt.Errorf("decode %s %s: %w", stringAttr(it, attrPK), stringAttr(it, attrSK), err)
		}
		f.version = v
		all = append(all, f)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up triggers %q: %w", indexKey, err)
	}
	if len(all) == 0 {
		return nil, nil
	}
	var keys []item
	seen := map[model.PipelineID]bool{}
	for _, f := range all {
		if !seen[f.entry.PipelineID] {
			seen[f.entry.PipelineID] = true
			keys = append(keys, key(pipelinePK(f.entry.PipelineID), pipelineHeadSK))
		}
	}
	heads, err := t.s.batchGet(ctx, t.s.tables.Config, keys)
	if err != nil {
		return nil, fmt.Errorf("look up triggers %q: %w", indexKey, err)
	}
	current := map[model.PipelineID]*pipelineHead{}
	for _, it := range heads {
		h, err := decodePipelineVersion(it)
		if err != nil {
			return nil, fmt.Errorf("look up triggers %q: %w", indexKey, err)
		}
		current[model.PipelineID(strings.TrimPrefix(stringAttr(it, attrPK), "pipeline#"))] = h
	}
	var out []store.TriggerEntry
	for _, f := range all {
		// The head is the truth: an entry counts only if it is of the
		// version the head holds and that version still has the trigger
		// under this key (an entry a deleted namesake left behind does not).
		h, ok := current[f.entry.PipelineID]
		if !ok || int64(h.Version) != f.version {
			continue
		}
		p := &h.Pipeline
		if f.entry.Index >= len(p.Triggers) || p.Triggers[f.entry.Index].IndexKey() != indexKey {
			continue
		}
		out = append(out, store.TriggerEntries(p)[f.entry.Index])
	}
	slices.SortFunc(out, func(a, b store.TriggerEntry) int {
		if c := strings.Compare(string(a.PipelineID), string(b.PipelineID)); c != 0 {
			return c
		}
		return a.Index - b.Index
	})
	return out, nil
}

// indexVersion writes the entries of version of pl, before its head moves.
func (t triggers) indexVersion(ctx context.Context, pl *model.Pipeline, version int) error {
	for _, e := range store.TriggerEntries(pl) {
		doc, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("index trigger %d: %w", e.Index, err)
		}
		it := key(triggerPK(e.Trigger.IndexKey()), triggerSK(pl.ID, version, e.Index))
		it[attrDoc] = attrS(string(doc))
		it[attrVersion] = attrN(int64(version))
		it[attrPipelineID] = attrS(string(pl.ID))
		if _, err := t.s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &t.s.tables.Config, Item: it}); err != nil {
			return fmt.Errorf("index trigger %d: %w", e.Index, writeError(err))
		}
	}
	return nil
}

// prune deletes the pipeline's entries under the index keys of the given
// versions' triggers, except those of version keep (0 keeps none).
func (t triggers) prune(ctx context.Context, id model.PipelineID, keep int, versions ...*model.Pipeline) error {
	keys := map[string]bool{}
	for _, p := range versions {
		if p == nil {
			continue
		}
		for _, tr := range p.Triggers {
			keys[tr.IndexKey()] = true
		}
	}
	var stale []item
	keepPfx := ""
	if keep > 0 {
		keepPfx = fmt.Sprintf("%s#%010d#", id, keep)
	}
	for k := range keys {
		err := t.s.query(ctx, &dynamodb.QueryInput{
			TableName:                &t.s.tables.Config,
			KeyConditionExpression:   ptr("#pk = :pk AND begins_with(#sk, :id)"),
			ProjectionExpression:     ptr("#pk, #sk"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
			ExpressionAttributeValues: item{
				":pk": attrS(triggerPK(k)),
				":id": attrS(string(id) + "#"),
			},
			ConsistentRead: ptr(true),
		}, func(it item) (bool, error) {
			sk := stringAttr(it, attrSK)
			if keepPfx == "" || !strings.HasPrefix(sk, keepPfx) {
				stale = append(stale, key(stringAttr(it, attrPK), sk))
			}
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("prune triggers: %w", err)
		}
	}
	if err := t.s.batchDelete(ctx, t.s.tables.Config, stale); err != nil {
		return fmt.Errorf("prune triggers: %w", err)
	}
	return nil
}
