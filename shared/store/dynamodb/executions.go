package dynamodb

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Executions table items (see the package documentation).
const (
	headerSK    = "header"
	stageSKPfx  = "stage#"
	attrStatus  = "status"
	attrListKey = "listKey"
	attrOrd     = "ord"
	// attrPending marks the header of a run whose Create has not finished;
	// its value identifies that Create.
	attrPending = "pending"

	attrPipelineConfigID = "pipelineConfigId"

	indexByApplication = "byApplication"
	indexByPipeline    = "byPipeline"
)

// createParallelism is how many stage items Create writes at once.
const createParallelism = 8

func stageSK(id model.StageID) string { return stageSKPfx + string(id) }

// listKey sorts a run among its application's or pipeline's runs, in
// ascending order: newest build time first (the time is subtracted from the
// largest int64 and zero-padded), then by id.
func listKey(e *model.Execution) string {
	return fmt.Sprintf("%019d#%s", math.MaxInt64-max(e.BuildTime, 0), e.ID)
}

type executions struct{ s *Store }

var _ store.Executions = executions{}

func (x executions) Create(ctx context.Context, e *model.Execution) error {
	if e.ID == "" {
		return errors.New("create execution: the execution has no id")
	}
	// Encode and measure everything before writing anything, so a run too
	// large to store leaves nothing behind.
	header, err := headerItem(e, 1)
	if err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	stages := make([]item, len(e.Stages))
	seen := make(map[model.StageID]bool, len(e.Stages))
	sum := sha256.New()
	sum.Write([]byte(stringAttr(header, attrDoc)))
	for i := range e.Stages {
		st := &e.Stages[i]
		if st.ID == "" {
			return fmt.Errorf("create execution %s: stage %d (%s) has no id", e.ID, i, st.RefID)
		}
		if seen[st.ID] {
			return fmt.Errorf("create execution %s: two stages have id %s", e.ID, st.ID)
		}
		seen[st.ID] = true
		if stages[i], err = stageItem(e.ID, st, 1, int64(i)); err != nil {
			return fmt.Errorf("create execution %s: %w", e.ID, err)
		}
		sum.Write([]byte{0})
		sum.Write([]byte(stringAttr(stages[i], attrDoc)))
	}
	// The run's content names this attempt: a retry of the same Create may
	// go on where it stopped, another Create of the same id may not.
	attempt := attrS(hex.EncodeToString(sum.Sum(nil)))

	// Claim the id with a pending header, which no read shows and no index
	// holds: exactly one Create gets past this.
	placeholder := key(string(e.ID), headerSK)
	placeholder[attrPending] = attempt
	_, err = x.s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &x.s.tables.Executions,
		Item:                      placeholder,
		ConditionExpression:       ptr("attribute_not_exists(#pk) OR #pending = :attempt"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#pending": attrPending},
		ExpressionAttributeValues: item{":attempt": attempt},
	})
	if conditionFailed(err) {
		return fmt.Errorf("create execution %s: it exists: %w", e.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, writeError(err))
	}

	// Then the stages, and last the header, which makes the run visible.
	// Only this Create and its retries write them, but a slow twin of a
	// Create that already won must not undo what the orchestrator has since
	// written (any PutStage moves a stage past revision 1).
	err = parallel(ctx, len(stages), createParallelism, func(ctx context.Context, i int) error {
		_, err := x.s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 &x.s.tables.Executions,
			Item:                      stages[i],
			ConditionExpression:       ptr("attribute_not_exists(#pk) OR #rev = :one"),
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#rev": attrRevision},
			ExpressionAttributeValues: item{":one": attrN(1)},
		})
		if err != nil {
			return fmt.Errorf("write stage %s: %w", e.Stages[i].ID, writeError(err))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create execution %s: %w", e.ID, err)
	}
	_, err = x.s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &x.s.tables.Executions,
		Item:                      header,
		ConditionExpression:       ptr("#pending = :attempt"),
		ExpressionAttributeNames:  map[string]string{"#pending": attrPending},
		ExpressionAttributeValues: item{":attempt": attempt},
	})
	if conditionFailed(err) {
		return fmt.Errorf("create execution %s: created or deleted meanwhile: %w", e.ID, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create execution %s: write header: %w", e.ID, writeError(err))
	}
	e.Revision = 1
	for i := range e.Stages {
		e.Stages[i].Revision = 1
	}
	return nil
}

func (x executions) Get(ctx context.Context, id model.ExecutionID) (*model.Execution, error) {
	if id == "" {
		return nil, fmt.Errorf("get execution: empty id: %w", store.ErrNotFound)
	}
	e, err := x.load(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get execution %s: %w", id, err)
	}
	return e, nil
}

// load reads a run's header and stages with one (paged) Query.
func (x executions) load(ctx context.Context, id model.ExecutionID) (*model.Execution, error) {
	var (
		e      *model.Execution
		stages []model.StageExecution
		ords   = map[model.StageID]int64{}
	)
	err := x.s.query(ctx, &dynamodb.QueryInput{
		TableName:                 &x.s.tables.Executions,
		KeyConditionExpression:    ptr("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: item{":pk": attrS(string(id))},
		ConsistentRead:            ptr(true),
	}, func(it item) (bool, error) {
		sk := stringAttr(it, attrSK)
		switch {
		case sk == headerSK:
			if _, pending := it[attrPending]; pending {
				return true, nil
			}
			h, err := decodeHeader(it)
			if err != nil {
				return false, err
			}
			e = h
		case strings.HasPrefix(sk, stageSKPfx):
			st, err := decodeStage(it)
			if err != nil {
				return false, err
			}
			ord, err := numberAttr(it, attrOrd)
			if err != nil {
				return false, fmt.Errorf("stage %s: %w", st.ID, err)
			}
			ords[st.ID] = ord
			stages = append(stages, *st)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, store.ErrNotFound
	}
	slices.SortStableFunc(stages, func(a, b model.StageExecution) int {
		return cmp.Compare(ords[a.ID], ords[b.ID])
	})
	if stages == nil {
		stages = []model.StageExecution{}
	}
	e.Stages = stages
	return e, nil
}

func (x executions) GetHeader(ctx context.Context, id model.ExecutionID) (*model.Execution, error) {
	if id == "" {
		return nil, fmt.Errorf("get execution header: empty id: %w", store.ErrNotFound)
	}
	out, err := x.s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &x.s.tables.Executions,
		Key:            key(string(id), headerSK),
		ConsistentRead: ptr(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get execution header %s: %w", id, err)
	}
	if _, pending := out.Item[attrPending]; out.Item == nil || pending {
		return nil, fmt.Errorf("get execution header %s: %w", id, store.ErrNotFound)
	}
	e, err := decodeHeader(out.Item)
	if err != nil {
		return nil, fmt.Errorf("get execution header %s: %w", id, err)
	}
	return e, nil
}

func (x executions) UpdateHeader(ctx context.Context, e *model.Execution) error {
	if e.ID == "" {
		return errors.New("update execution header: the execution has no id")
	}
	header, err := headerItem(e, e.Revision+1)
	if err != nil {
		return fmt.Errorf("update execution header %s: %w", e.ID, err)
	}
	_, err = x.s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &x.s.tables.Executions,
		Item:                      header,
		ConditionExpression:       ptr("#rev = :rev"),
		ExpressionAttributeNames:  map[string]string{"#rev": attrRevision},
		ExpressionAttributeValues: item{":rev": attrN(e.Revision)},
	})
	if conditionFailed(err) {
		return fmt.Errorf("update execution header %s: %w", e.ID, x.lost(ctx, key(string(e.ID), headerSK), e.Revision))
	}
	if err != nil {
		return fmt.Errorf("update execution header %s: %w", e.ID, writeError(err))
	}
	e.Revision++
	return nil
}

func (x executions) GetStage(ctx context.Context, id model.ExecutionID, stageID model.StageID) (*model.StageExecution, error) {
	if id == "" || stageID == "" {
		return nil, fmt.Errorf("get stage %q of execution %q: %w", stageID, id, store.ErrNotFound)
	}
	out, err := x.s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &x.s.tables.Executions,
		Key:            key(string(id), stageSK(stageID)),
		ConsistentRead: ptr(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get stage %s of execution %s: %w", stageID, id, err)
	}
	if out.Item == nil {
		return nil, fmt.Errorf("get stage %s of execution %s: %w", stageID, id, store.ErrNotFound)
	}
	st, err := decodeStage(out.Item)
	if err != nil {
		return nil, fmt.Errorf("get stage %s of execution %s: %w", stageID, id, err)
	}
	return st, nil
}

func (x executions) PutStage(ctx context.Context, id model.ExecutionID, st *model.StageExecution) error {
	if id == "" || st.ID == "" {
		return fmt.Errorf("put stage %q of execution %q: empty id", st.ID, id)
	}
	if st.Revision == 0 {
		// A stage added to a running execution sorts after those it was
		// created with (whose ord is their index), in the order added.
		it, err := stageItem(id, st, 1, x.s.now().UnixNano())
		if err != nil {
			return fmt.Errorf("put stage %s of execution %s: %w", st.ID, id, err)
		}
		_, err = x.s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                &x.s.tables.Executions,
			Item:                     it,
			ConditionExpression:      ptr("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK},
		})
		if conditionFailed(err) {
			return fmt.Errorf("put stage %s of execution %s: a new stage, but it exists: %w", st.ID, id, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("put stage %s of execution %s: %w", st.ID, id, writeError(err))
		}
		st.Revision = 1
		return nil
	}

	// An update keeps the stage's place (ord), so it sets only what changes.
	it, err := stageItem(id, st, st.Revision+1, 0)
	if err != nil {
		return fmt.Errorf("put stage %s of execution %s: %w", st.ID, id, err)
	}
	_, err = x.s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &x.s.tables.Executions,
		Key:                      key(string(id), stageSK(st.ID)),
		UpdateExpression:         ptr("SET #doc = :doc, #rev = :next"),
		ConditionExpression:      ptr("#rev = :rev"),
		ExpressionAttributeNames: map[string]string{"#doc": attrDoc, "#rev": attrRevision},
		ExpressionAttributeValues: item{
			":doc":  it[attrDoc],
			":next": attrN(st.Revision + 1),
			":rev":  attrN(st.Revision),
		},
	})
	if conditionFailed(err) {
		return fmt.Errorf("put stage %s of execution %s: %w", st.ID, id, x.lost(ctx, key(string(id), stageSK(st.ID)), st.Revision))
	}
	if err != nil {
		return fmt.Errorf("put stage %s of execution %s: %w", st.ID, id, writeError(err))
	}
	st.Revision++
	return nil
}

// lost explains a conditional update that lost: the item is gone (an error
// that is both store.ErrConflict and store.ErrNotFound) or has another
// revision (store.ErrConflict).
func (x executions) lost(ctx context.Context, k item, revision int64) error {
	out, err := x.s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &x.s.tables.Executions,
		Key:            k,
		ConsistentRead: ptr(true),
	})
	if err != nil {
		return fmt.Errorf("revision %d is stale: %w", revision, store.ErrConflict)
	}
	if _, pending := out.Item[attrPending]; out.Item == nil || pending {
		return fmt.Errorf("it does not exist: %w (%w)", store.ErrNotFound, store.ErrConflict)
	}
	stored, _ := numberAttr(out.Item, attrRevision)
	return fmt.Errorf("revision %d is stale, the stored one is %d: %w", revision, stored, store.ErrConflict)
}

func (x executions) ListByApplication(ctx context.Context, app model.ApplicationName, opts store.ListOptions) ([]model.Execution, error) {
	list, err := x.list(ctx, indexByApplication, attrApplication, string(app), opts)
	if err != nil {
		return nil, fmt.Errorf("list executions of application %s: %w", app, err)
	}
	return list, nil
}

func (x executions) ListByPipeline(ctx context.Context, id model.PipelineID, opts store.ListOptions) ([]model.Execution, error) {
	list, err := x.list(ctx, indexByPipeline, attrPipelineConfigID, string(id), opts)
	if err != nil {
		return nil, fmt.Errorf("list executions of pipeline %s: %w", id, err)
	}
	return list, nil
}

// list queries an index of headers, newest first, and returns the headers
// as the index holds them (projection ALL).
func (x executions) list(ctx context.Context, index, attr, value string, opts store.ListOptions) ([]model.Execution, error) {
	list := []model.Execution{}
	if value == "" {
		return list, nil // headers without the attribute are not in the index
	}
	in := &dynamodb.QueryInput{
		TableName:                 &x.s.tables.Executions,
		IndexName:                 &index,
		KeyConditionExpression:    ptr("#k = :k"),
		ExpressionAttributeNames:  map[string]string{"#k": attr},
		ExpressionAttributeValues: item{":k": attrS(value)},
		// listKey sorts newest first.
		ScanIndexForward: ptr(true),
	}
	if len(opts.Statuses) > 0 {
		in.ExpressionAttributeNames["#status"] = attrStatus
		names := make([]string, len(opts.Statuses))
		for i, st := range opts.Statuses {
			names[i] = fmt.Sprintf(":s%d", i)
			in.ExpressionAttributeValues[names[i]] = attrS(string(st))
		}
		in.FilterExpression = ptr("#status IN (" + strings.Join(names, ", ") + ")")
	}
	switch {
	case x.s.pageSize > 0:
		in.Limit = &x.s.pageSize
	case opts.Limit > 0 && in.FilterExpression == nil:
		// Without a filter every item read is returned: read no more.
		in.Limit = ptr(int32(min(opts.Limit, 1000)))
	}
	err := x.s.query(ctx, in, func(it item) (bool, error) {
		e, err := decodeHeader(it)
		if err != nil {
			return false, err
		}
		list = append(list, *e)
		return opts.Limit <= 0 || len(list) < opts.Limit, nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

func (x executions) Delete(ctx context.Context, id model.ExecutionID) error {
	if id == "" {
		return nil
	}
	// The header first, so the run disappears at once; a delete that stops
	// half-way leaves only stages no read reaches, and deleting again
	// removes them.
	_, err := x.s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &x.s.tables.Executions,
		Key:       key(string(id), headerSK),
	})
	if err != nil {
		return fmt.Errorf("delete execution %s: %w", id, err)
	}
	var keys []item
	err = x.s.query(ctx, &dynamodb.QueryInput{
		TableName:                 &x.s.tables.Executions,
		KeyConditionExpression:    ptr("#pk = :pk"),
		ProjectionExpression:      ptr("#pk, #sk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: item{":pk": attrS(string(id))},
		ConsistentRead:            ptr(true),
	}, func(it item) (bool, error) {
		keys = append(keys, key(string(id), stringAttr(it, attrSK)))
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("delete execution %s: list stages: %w", id, err)
	}
	if err := x.s.batchDelete(ctx, x.s.tables.Executions, keys); err != nil {
		return fmt.Errorf("delete execution %s: delete stages: %w", id, err)
	}
	return nil
}

// headerItem is the item of e's header at the given revision, measured.
func headerItem(e *model.Execution, revision int64) (item, error) {
	h := e.Header()
	doc, err := json.Marshal(&h)
	if err != nil {
		return nil, err
	}
	it := key(string(e.ID), headerSK)
	it[attrDoc] = attrS(string(doc))
	it[attrRevision] = attrN(revision)
	it[attrStatus] = attrS(string(e.Status))
	it[attrListKey] = attrS(listKey(e))
	// Index key attributes may not be empty strings; leaving them out keeps
	// the header out of that index.
	if e.Application != "" {
		it[attrApplication] = attrS(string(e.Application))
	}
	if e.PipelineConfigID != "" {
		it[attrPipelineConfigID] = attrS(string(e.PipelineConfigID))
	}
	if err := checkSize(fmt.Sprintf("header of execution %s", e.ID), it); err != nil {
		return nil, err
	}
	return it, nil
}

// stageItem is the item of a stage at the given revision and place, measured.
func stageItem(id model.ExecutionID, st *model.StageExecution, revision, ord int64) (item, error) {
	doc, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("stage %s: %w", st.ID, err)
	}
	it := key(string(id), stageSK(st.ID))
	it[attrDoc] = attrS(string(doc))
	it[attrRevision] = attrN(revision)
	it[attrOrd] = attrN(ord)
	if err := checkSize(fmt.Sprintf("stage %s (%s) of execution %s", st.ID, st.Name, id), it); err != nil {
		return nil, err
	}
	return it, nil
}

func decodeHeader(it item) (*model.Execution, error) {
	var e model.Execution
	if err := json.Unmarshal([]byte(stringAttr(it, attrDoc)), &e); err != nil {
		return nil, fmt.Errorf("decode header of execution %s: %w", stringAttr(it, attrPK), err)
	}
	rev, err := numberAttr(it, attrRevision)
	if err != nil {
		return nil, fmt.Errorf("decode header of execution %s: %w", stringAttr(it, attrPK), err)
	}
	e.Revision = rev
	e.Stages = nil
	return &e, nil
}

func decodeStage(it item) (*model.StageExecution, error) {
	var st model.StageExecution
	if err := json.Unmarshal([]byte(stringAttr(it, attrDoc)), &st); err != nil {
		return nil, fmt.Errorf("decode %s of execution %s: %w", stringAttr(it, attrSK), stringAttr(it, attrPK), err)
	}
	rev, err := numberAttr(it, attrRevision)
	if err != nil {
		return nil, fmt.Errorf("decode %s of execution %s: %w", stringAttr(it, attrSK), stringAttr(it, attrPK), err)
	}
	st.Revision = rev
	return &st, nil
}

// parallel calls fn for 0…n-1, at most limit at a time, and returns the
// first error; after one, the calls not yet started are skipped.
func parallel(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		sem   = make(chan struct{}, limit)
	)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
