package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// Config table items of pipelines (see the package documentation).
const (
	pipelineHeadSK       = "head"
	pipelineVersionSKPfx = "v#"

	attrVersion     = "version"
	attrApplication = "application"
	attrName        = "name"
	attrTimestamp   = "timestamp"
	attrUser        = "user"
	attrPipelineID  = "pipelineId"
	attrClaimedAt   = "claimedAt"
)

// claimGrace is how long a name claim whose pipeline does not (yet) carry
// the name is left alone: its pipeline may be between claiming the name and
// writing its head. After that the claim is stale (its save lost or
// crashed) and another pipeline may take the name over.
const claimGrace = time.Minute

// saveAttempts bounds how often Save retries after losing a race it was not
// asked to detect (expectVersion 0).
const saveAttempts = 8

func pipelinePK(id model.PipelineID) string { return "pipeline#" + string(id) }

func pipelineVersionSK(v int) string { return fmt.Sprintf("%s%010d", pipelineVersionSKPfx, v) }

func pipelineNamesPK(app model.ApplicationName) string { return "names#" + string(app) }

type pipelines struct{ s *Store }

var _ store.Pipelines = pipelines{}

// pipelineHead is a version of a pipeline as its head or version item
// holds it.
type pipelineHead struct {
	store.PipelineVersion
	// doc is the pipeline's JSON as stored.
	doc string
}

func (p pipelines) Get(ctx context.Context, id model.PipelineID) (*model.Pipeline, error) {
	h, err := p.head(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get pipeline %s: %w", id, err)
	}
	if h == nil {
		return nil, fmt.Errorf("get pipeline %s: %w", id, store.ErrNotFound)
	}
	return &h.Pipeline, nil
}

func (p pipelines) GetByName(ctx context.Context, app model.ApplicationName, name string) (*model.Pipeline, error) {
	if name == "" {
		return nil, fmt.Errorf("get pipeline %q of application %s: %w", name, app, store.ErrNotFound)
	}
	out, err := p.s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &p.s.tables.Config,
		Key:            key(pipelineNamesPK(app), name),
		ConsistentRead: ptr(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get pipeline %q of application %s: %w", name, app, err)
	}
	if out.Item != nil {
		id := model.PipelineID(stringAttr(out.Item, attrPipelineID))
		h, err := p.head(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("get pipeline %q of application %s: %w", name, app, err)
		}
		// A claim whose pipeline no longer carries the name is stale.
		if h != nil && h.Pipeline.Application == app && h.Pipeline.Name == name {
			return &h.Pipeline, nil
		}
	}
	return nil, fmt.Errorf("get pipeline %q of application %s: %w", name, app, store.ErrNotFound)
}

func (p pipelines) List(ctx context.Context, app model.ApplicationName) ([]model.Pipeline, error) {
	// The name claims of the application lead to its pipelines' heads. A
	// stale claim leads to a pipeline also reached by its own claim, or to
	// one of another application, so duplicates and strangers are dropped.
	var keys []item
	seen := map[model.PipelineID]bool{}
	err := p.s.query(ctx, &dynamodb.QueryInput{
		TableName:                 &p.s.tables.Config,
		KeyConditionExpression:    ptr("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: item{":pk": attrS(pipelineNamesPK(app))},
		ConsistentRead:            ptr(true),
	}, func(it item) (bool, error) {
		id := model.PipelineID(stringAttr(it, attrPipelineID))
		if id != "" && !seen[id] {
			seen[id] = true
			keys = append(keys, key(pipelinePK(id), pipelineHeadSK))
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pipelines of application %s: %w", app, err)
	}
	heads, err := p.s.batchGet(ctx, p.s.tables.Config, keys)
	if err != nil {
		return nil, fmt.Errorf("list pipelines of application %s: %w", app, err)
	}
	list := []model.Pipeline{}
	for _, it := range heads {
		h, err := decodePipelineVersion(it)
		if err != nil {
			return nil, fmt.Errorf("list pipelines of application %s: %w", app, err)
		}
		if h.Pipeline.Application != app {
			continue
		}
		list = append(list, h.Pipeline)
	}
	slices.SortFunc(list, comparePipelines)
	return list, nil
}

// comparePipelines orders pipelines by index, those without one last, then
// by name.
func comparePipelines(a, b model.Pipeline) int {
	switch {
	case a.Index != nil && b.Index != nil && *a.Index != *b.Index:
		return *a.Index - *b.Index
	case a.Index != nil && b.Index == nil:
		return -1
	case a.Index == nil && b.Index != nil:
		return 1
	}
	return strings.Compare(a.Name, b.Name)
}

func (p pipelines) Save(ctx context.Context, pl *model.Pipeline, user string, expectVersion int) (int, error) {
	if pl.ID == "" {
		return 0, errors.New("save pipeline: the pipeline has no id")
	}
	if pl.Name == "" {
		return 0, fmt.Errorf("save pipeline %s: the pipeline has no name", pl.ID)
	}
	doc, err := json.Marshal(pl)
	if err != nil {
		return 0, fmt.Errorf("save pipeline %s: %w", pl.ID, err)
	}
	for attempt := 1; ; attempt++ {
		version, err := p.save(ctx, pl, doc, user, expectVersion)
		if err == nil {
			return version, nil
		}
		// Another save of the same pipeline won the head. When the caller
		// did not ask to detect that, the last writer wins: try again on top.
		if !errors.Is(err, errLostHead) {
			return 0, fmt.Errorf("save pipeline %s: %w", pl.ID, err)
		}
		if expectVersion != 0 || attempt == saveAttempts {
			return 0, fmt.Errorf("save pipeline %s: another save won: %w", pl.ID, store.ErrConflict)
		}
	}
}

// errLostHead: the conditional write of a pipeline's head lost.
var errLostHead = errors.New("lost the pipeline head")

// save makes one attempt at Save; it returns errLostHead if another save
// moved the head first.
func (p pipelines) save(ctx context.Context, pl *model.Pipeline, doc []byte, user string, expectVersion int) (int, error) {
	cur, err := p.head(ctx, pl.ID)
	if err != nil {
		return 0, err
	}
	curVersion := 0
	if cur != nil {
		curVersion = cur.Version
	}
	if expectVersion != 0 && curVersion != expectVersion {
		return 0, fmt.Errorf("it is at version %d, not %d: %w", curVersion, expectVersion, store.ErrConflict)
	}
	next := store.PipelineVersion{
		Version:   curVersion + 1,
		Timestamp: p.s.now().UnixMilli(),
		User:      user,
		Pipeline:  *pl,
	}
	head := pipelineItem(pipelineHeadSK, &next, doc)
	head[attrApplication] = attrS(string(pl.Application))
	head[attrName] = attrS(pl.Name)
	if err := checkSize(fmt.Sprintf("pipeline %s version %d", pl.ID, next.Version), head); err != nil {
		return 0, err
	}

	if cur == nil {
		// A new pipeline: drop any version a deleted namesake left behind.
		if err := p.deleteVersions(ctx, pl.ID); err != nil {
			return 0, err
		}
	} else {
		// Make sure the version being replaced is in the history: a save
		// that stopped between its head and its version item left it out.
		// Versions never change, so writing it again is harmless.
		prev := pipelineItem(pipelineVersionSK(cur.Version), &cur.PipelineVersion, []byte(cur.doc))
		if _, err := p.s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &p.s.tables.Config, Item: prev}); err != nil {
			return 0, fmt.Errorf("write version %d: %w", cur.Version, writeError(err))
		}
	}

	if err := p.claimName(ctx, pl.Application, pl.Name, pl.ID); err != nil {
		return 0, err
	}
	if err := (triggers{p.s}).indexVersion(ctx, pl, next.Version); err != nil {
		return 0, err
	}

	in := &dynamodb.PutItemInput{TableName: &p.s.tables.Config, Item: head}
	if cur == nil {
		in.ConditionExpression = ptr("attribute_not_exists(#pk)")
		in.ExpressionAttributeNames = map[string]string{"#pk": attrPK}
	} else {
		in.ConditionExpression = ptr("#version = :version")
		in.ExpressionAttributeNames = map[string]string{"#version": attrVersion}
		in.ExpressionAttributeValues = item{":version": attrN(int64(cur.Version))}
	}
	if _, err := p.s.client.PutItem(ctx, in); err != nil {
		if conditionFailed(err) {
			return 0, errLostHead
		}
		return 0, fmt.Errorf("write head: %w", writeError(err))
	}

	// The save has won: the head is the pipeline and its newest version.
	// What follows completes it, and failing here does not undo it (so it
	// is not reported as a failed save): reads of the history fall back to
	// the head until the next save writes the missing version item, and a
	// stale claim on the old name is ignored by reads and taken over after
	// claimGrace.
	ver := pipelineItem(pipelineVersionSK(next.Version), &next, doc)
	_, _ = p.s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &p.s.tables.Config, Item: ver})
	if cur != nil && (cur.Pipeline.Application != pl.Application || cur.Pipeline.Name != pl.Name) {
		_ = p.releaseName(ctx, cur.Pipeline.Application, cur.Pipeline.Name, pl.ID)
	}
	// Entries of other versions are never returned; pruning them only
	// keeps the index small.
	var prev *model.Pipeline
	if cur != nil {
		prev = &cur.Pipeline
	}
	_ = (triggers{p.s}).prune(ctx, pl.ID, next.Version, prev, pl)
	return next.Version, nil
}

// claimName makes id the holder of the application's pipeline name. It
// returns store.ErrConflict if another pipeline holds the name, or may be
// about to.
func (p pipelines) claimName(ctx context.Context, app model.ApplicationName, name string, id model.PipelineID) error {
	condition := "attribute_not_exists(#pk) OR #pid = :id"
	values := item{":id": attrS(string(id))}
	for range 4 {
		claim := key(pipelineNamesPK(app), name)
		claim[attrPipelineID] = attrS(string(id))
		claim[attrClaimedAt] = attrN(p.s.now().UnixMilli())
		_, err := p.s.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 &p.s.tables.Config,
			Item:                      claim,
			ConditionExpression:       &condition,
			ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#pid": attrPipelineID},
			ExpressionAttributeValues: values,
		})
		if err == nil {
			return nil
		}
		if !conditionFailed(err) {
			return fmt.Errorf("claim name %q: %w", name, err)
		}
		// Someone holds the name: is it still theirs?
		out, err := p.s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      &p.s.tables.Config,
			Key:            key(pipelineNamesPK(app), name),
			ConsistentRead: ptr(true),
		})
		if err != nil {
			return fmt.Errorf("claim name %q: %w", name, err)
		}
		if out.Item == nil {
			condition, values = "attribute_not_exists(#pk) OR #pid = :id", item{":id": attrS(string(id))}
			continue // released meanwhile
		}
		holder := model.PipelineID(stringAttr(out.Item, attrPipelineID))
		h, err := p.head(ctx, holder)
		if err != nil {
			return fmt.Errorf("claim name %q: %w", name, err)
		}
		if h != nil && h.Pipeline.Application == app && h.Pipeline.Name == name {
			return fmt.Errorf("application %s already has a pipeline named %q (%s): %w", app, name, holder, store.ErrConflict)
		}
		claimedAt, _ := numberAttr(out.Item, attrClaimedAt)
		if p.s.now().Sub(time.UnixMilli(claimedAt)) < claimGrace {
			return fmt.Errorf("pipeline %s is being saved as %q in application %s: %w", holder, name, app, store.ErrConflict)
		}
		// A stale claim: take it over, unless its holder moves first.
		condition = "#pid = :holder OR attribute_not_exists(#pk)"
		values = item{":holder": attrS(string(holder))}
	}
	return fmt.Errorf("claim name %q in application %s: contended: %w", name, app, store.ErrConflict)
}

// releaseName gives up id's claim on the application's pipeline name; a
// claim that id does not hold is left alone.
func (p pipelines) releaseName(ctx context.Context, app model.ApplicationName, name string, id model.PipelineID) error {
	_, err := p.s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &p.s.tables.Config,
		Key:                       key(pipelineNamesPK(app), name),
		ConditionExpression:       ptr("#pid = :id"),
		ExpressionAttributeNames:  map[string]string{"#pid": attrPipelineID},
		ExpressionAttributeValues: item{":id": attrS(string(id))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("release name %q: %w", name, err)
	}
	return nil
}

func (p pipelines) Delete(ctx context.Context, id model.PipelineID) error {
	if id == "" {
		return nil
	}
	for range saveAttempts {
		cur, err := p.head(ctx, id)
		if err != nil {
			return fmt.Errorf("delete pipeline %s: %w", id, err)
		}
		// History first and the head last, so that a delete that stops
		// half-way leaves a pipeline that exists and can be deleted again.
		if err := p.deleteVersions(ctx, id); err != nil {
			return fmt.Errorf("delete pipeline %s: %w", id, err)
		}
		if cur == nil {
			return nil
		}
		_, err = p.s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 &p.s.tables.Config,
			Key:                       key(pipelinePK(id), pipelineHeadSK),
			ConditionExpression:       ptr("#version = :version"),
			ExpressionAttributeNames:  map[string]string{"#version": attrVersion},
			ExpressionAttributeValues: item{":version": attrN(int64(cur.Version))},
		})
		if conditionFailed(err) {
			continue // saved meanwhile: delete the new version too
		}
		if err != nil {
			return fmt.Errorf("delete pipeline %s: %w", id, err)
		}
		if err := p.releaseName(ctx, cur.Pipeline.Application, cur.Pipeline.Name, id); err != nil {
			return fmt.Errorf("delete pipeline %s: %w", id, err)
		}
		if err := (triggers{p.s}).prune(ctx, id, 0, &cur.Pipeline); err != nil {
			return fmt.Errorf("delete pipeline %s: %w", id, err)
		}
		return nil
	}
	return fmt.Errorf("delete pipeline %s: saved again while being deleted: %w", id, store.ErrConflict)
}

// deleteVersions deletes every version item of the pipeline.
func (p pipelines) deleteVersions(ctx context.Context, id model.PipelineID) error {
	var keys []item
	err := p.s.query(ctx, &dynamodb.QueryInput{
		TableName:                &p.s.tables.Config,
		KeyConditionExpression:   ptr("#pk = :pk AND begins_with(#sk, :v)"),
		ProjectionExpression:     ptr("#pk, #sk"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: item{
			":pk": attrS(pipelinePK(id)),
			":v":  attrS(pipelineVersionSKPfx),
		},
		ConsistentRead: ptr(true),
	}, func(it item) (bool, error) {
		keys = append(keys, key(stringAttr(it, attrPK), stringAttr(it, attrSK)))
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("list versions: %w", err)
	}
	if err := p.s.batchDelete(ctx, p.s.tables.Config, keys); err != nil {
		return fmt.Errorf("delete versions: %w", err)
	}
	return nil
}

func (p pipelines) History(ctx context.Context, id model.PipelineID) ([]store.PipelineVersion, error) {
	h, err := p.head(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("history of pipeline %s: %w", id, err)
	}
	if h == nil {
		return nil, fmt.Errorf("history of pipeline %s: %w", id, store.ErrNotFound)
	}
	// The head is the newest version, whether or not its version item was
	// written yet; items past it are leftovers of a deleted namesake.
	history := []store.PipelineVersion{h.PipelineVersion}
	if h.Version == 1 {
		return history, nil
	}
	err = p.s.query(ctx, &dynamodb.QueryInput{
		TableName:                &p.s.tables.Config,
		KeyConditionExpression:   ptr("#pk = :pk AND #sk BETWEEN :first AND :prev"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#sk": attrSK},
		ExpressionAttributeValues: item{
			":pk":    attrS(pipelinePK(id)),
			":first": attrS(pipelineVersionSK(1)),
			":prev":  attrS(pipelineVersionSK(h.Version - 1)),
		},
		ScanIndexForward: ptr(false),
		ConsistentRead:   ptr(true),
	}, func(it item) (bool, error) {
		v, err := decodePipelineVersion(it)
		if err != nil {
			return false, err
		}
		history = append(history, v.PipelineVersion)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("history of pipeline %s: %w", id, err)
	}
	return history, nil
}

func (p pipelines) Version(ctx context.Context, id model.PipelineID, version int) (*store.PipelineVersion, error) {
	if id == "" || version <= 0 {
		return nil, fmt.Errorf("version %d of pipeline %q: %w", version, id, store.ErrNotFound)
	}
	out, err := p.s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &p.s.tables.Config,
		Key:            key(pipelinePK(id), pipelineVersionSK(version)),
		ConsistentRead: ptr(true),
	})
	if err != nil {
		return nil, fmt.Errorf("version %d of pipeline %s: %w", version, id, err)
	}
	if out.Item == nil {
		// The head may hold a version whose item is not written yet.
		h, err := p.head(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("version %d of pipeline %s: %w", version, id, err)
		}
		if h != nil && h.Version == version {
			return &h.PipelineVersion, nil
		}
		return nil, fmt.Errorf("version %d of pipeline %s: %w", version, id, store.ErrNotFound)
	}
	v, err := decodePipelineVersion(out.Item)
	if err != nil {
		return nil, fmt.Errorf("version %d of pipeline %s: %w", version, id, err)
	}
	return &v.PipelineVersion, nil
}

// head reads a pipeline's head, or returns nil if there is none.
func (p pipelines) head(ctx context.Context, id model.PipelineID) (*pipelineHead, error) {
	if id == "" {
		return nil, nil
	}
	out, err := p.s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &p.s.tables.Config,
		Key:            key(pipelinePK(id), pipelineHeadSK),
		ConsistentRead: ptr(true),
	})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, nil
	}
	return decodePipelineVersion(out.Item)
}

// pipelineItem is the item of a head or version; doc is v.Pipeline's JSON.
func pipelineItem(sk string, v *store.PipelineVersion, doc []byte) item {
	it := key(pipelinePK(v.Pipeline.ID), sk)
	it[attrDoc] = attrS(string(doc))
	it[attrVersion] = attrN(int64(v.Version))
	it[attrTimestamp] = attrN(v.Timestamp)
	if v.User != "" {
		it[attrUser] = attrS(v.User)
	}
	return it
}

func decodePipelineVersion(it item) (*pipelineHead, error) {
	h := pipelineHead{doc: stringAttr(it, attrDoc)}
	if err := json.Unmarshal([]byte(h.doc), &h.Pipeline); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", stringAttr(it, attrPK), stringAttr(it, attrSK), err)
	}
	version, err := numberAttr(it, attrVersion)
	if err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", stringAttr(it, attrPK), stringAttr(it, attrSK), err)
	}
	if h.Timestamp, err = numberAttr(it, attrTimestamp); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", stringAttr(it, attrPK), stringAttr(it, attrSK), err)
	}
	h.Version = int(version)
	h.User = stringAttr(it, attrUser)
	return &h, nil
}
