package embedded

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// pipelines stores every saved version of a configuration as its own
// record, plus a small head record per pipeline (its current version and
// the name it holds) and a name index per application.
type pipelines struct{ s *Store }

var _ store.Pipelines = pipelines{}

// pipelineHead is a pipeline's record in the pipelines bucket. It keeps the
// application and name the pipeline holds in the name index, so a save
// that renames or moves the pipeline can free the old name.
type pipelineHead struct {
	Version     int                   `json:"version"`
	Application model.ApplicationName `json:"application"`
	Name        string                `json:"name"`
}

// versionRecord is how a store.PipelineVersion is written: the pipeline is
// encoded once, outside the transaction, and spliced in.
type versionRecord struct {
	Version   int             `json:"version"`
	Timestamp int64           `json:"timestamp"`
	User      string          `json:"user,omitempty"`
	Pipeline  json.RawMessage `json:"pipeline"`
}

func versionKey(id model.PipelineID, version int) []byte {
	return withUint(prefix(string(id)), uint64(version))
}

// head reads the pipeline's head record; ok is false if there is none.
func head(tx *bbolt.Tx, id model.PipelineID) (h pipelineHead, ok bool, err error) {
	v := tx.Bucket(bucketPipelines).Get([]byte(id))
	if v == nil {
		return h, false, nil
	}
	return h, true, decode(v, &h)
}

// version reads one saved version; it returns store.ErrNotFound if there
// is none.
func version(tx *bbolt.Tx, id model.PipelineID, n int) (*store.PipelineVersion, error) {
	if n < 1 {
		return nil, store.ErrNotFound
	}
	v := tx.Bucket(bucketPipelineVersions).Get(versionKey(id, n))
	if v == nil {
		return nil, store.ErrNotFound
	}
	var pv store.PipelineVersion
	if err := decode(v, &pv); err != nil {
		return nil, err
	}
	return &pv, nil
}

// current reads the pipeline's current version.
func current(tx *bbolt.Tx, id model.PipelineID) (*model.Pipeline, error) {
	h, ok, err := head(tx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, store.ErrNotFound
	}
	pv, err := version(tx, id, h.Version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("corrupt record: current version %d is missing", h.Version)
	}
	if err != nil {
		return nil, err
	}
	return &pv.Pipeline, nil
}

// Get returns the current version of the pipeline, or store.ErrNotFound.
func (p pipelines) Get(ctx context.Context, id model.PipelineID) (*model.Pipeline, error) {
	if err := alive(ctx, "get pipeline %s", id); err != nil {
		return nil, err
	}
	var pl *model.Pipeline
	err := p.s.view(func(tx *bbolt.Tx) (err error) {
		pl, err = current(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", id, err)
	}
	readUnits(ctx, 0) // the head item; most pipelines are under 4 KB
	return pl, nil
}

// GetByName returns the application's pipeline with that name, or
// store.ErrNotFound.
func (p pipelines) GetByName(ctx context.Context, app model.ApplicationName, name string) (*model.Pipeline, error) {
	if err := alive(ctx, "get pipeline %q of application %s", name, app); err != nil {
		return nil, err
	}
	var pl *model.Pipeline
	err := p.s.view(func(tx *bbolt.Tx) (err error) {
		id := tx.Bucket(bucketPipelineNames).Get(join(string(app), name))
		if id == nil {
			return store.ErrNotFound
		}
		pl, err = current(tx, model.PipelineID(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pipeline %q of application %s: %w", name, app, err)
	}
	readUnits(ctx, 0) // the name claim
	readUnits(ctx, 0) // the head item; most pipelines are under 4 KB
	return pl, nil
}

// List returns the application's pipelines ordered by index, then name;
// pipelines without an index come after those with one. The name index
// gives the application's pipelines without reading anyone else's.
func (p pipelines) List(ctx context.Context, app model.ApplicationName) ([]model.Pipeline, error) {
	if err := alive(ctx, "list pipelines of application %s", app); err != nil {
		return nil, err
	}
	var list []model.Pipeline
	err := p.s.view(func(tx *bbolt.Tx) error {
		pre := prefix(string(app))
		c := tx.Bucket(bucketPipelineNames).Cursor()
		for k, id := c.Seek(pre); k != nil && bytes.HasPrefix(k, pre); k, id = c.Next() {
			pl, err := current(tx, model.PipelineID(id))
			if err != nil {
				return fmt.Errorf("pipeline %s: %w", id, err)
			}
			list = append(list, *pl)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list pipelines of application %s: %w", app, err)
	}
	slices.SortFunc(list, func(a, b model.Pipeline) int {
		switch {
		case a.Index == nil && b.Index != nil:
			return 1
		case a.Index != nil && b.Index == nil:
			return -1
		case a.Index != nil && b.Index != nil && *a.Index != *b.Index:
			return cmp.Compare(*a.Index, *b.Index)
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return list, nil
}

// Save stores pl as a new version and returns its number. The version
// check, the name check and every write are one transaction, so two saves
// racing on one pipeline cannot both win, and a refused save writes nothing.
func (p pipelines) Save(ctx context.Context, pl *model.Pipeline, user string, expectVersion int) (int, error) {
	if err := alive(ctx, "save pipeline %s", pl.ID); err != nil {
		return 0, err
	}
	if err := checkName("pipeline id", string(pl.ID)); err != nil {
		return 0, fmt.Errorf("save pipeline %q of application %s: %w", pl.Name, pl.Application, err)
	}
	if err := checkName("application name", string(pl.Application)); err != nil {
		return 0, fmt.Errorf("save pipeline %s: %w", pl.ID, err)
	}
	if err := checkName("pipeline name", pl.Name); err != nil {
		return 0, fmt.Errorf("save pipeline %s: %w", pl.ID, err)
	}
	body, err := json.Marshal(pl)
	if err == nil {
		err = checkSize(body)
	}
	if err != nil {
		return 0, fmt.Errorf("save pipeline %s: %w", pl.ID, err)
	}
	var saved int
	err = p.s.update(func(tx *bbolt.Tx) error {
		saved = 0
		h, exists, err := head(tx, pl.ID)
		if err != nil {
			return err
		}
		if expectVersion != 0 && h.Version != expectVersion {
			return fmt.Errorf("saved version is %d, not %d: %w", h.Version, expectVersion, store.ErrConflict)
		}
		names := tx.Bucket(bucketPipelineNames)
		nameKey := join(string(pl.Application), pl.Name)
		if owner := names.Get(nameKey); owner != nil && string(owner) != string(pl.ID) {
			return fmt.Errorf("application %s already has a pipeline named %q (%s): %w", pl.Application, pl.Name, owner, store.ErrConflict)
		}

		n := h.Version + 1
		rec, err := json.Marshal(versionRecord{Version: n, Timestamp: time.Now().UnixMilli(), User: user, Pipeline: body})
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketPipelineVersions).Put(versionKey(pl.ID, n), rec); err != nil {
			return err
		}
		if exists && (h.Application != pl.Application || h.Name != pl.Name) {
			if err := names.Delete(join(string(h.Application), h.Name)); err != nil {
				return err
			}
		}
		if err := names.Put(nameKey, []byte(pl.ID)); err != nil {
			return err
		}
		hb, err := json.Marshal(pipelineHead{Version: n, Application: pl.Application, Name: pl.Name})
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketPipelines).Put([]byte(pl.ID), hb); err != nil {
			return err
		}
		saved = n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("save pipeline %s: %w", pl.ID, err)
	}
	return saved, nil
}

// Delete removes the pipeline, its name and every version; a missing one
// is not an error.
func (p pipelines) Delete(ctx context.Context, id model.PipelineID) error {
	if err := alive(ctx, "delete pipeline %s", id); err != nil {
		return err
	}
	err := p.s.update(func(tx *bbolt.Tx) error {
		h, ok, err := head(tx, id)
		if err != nil || !ok {
			return err
		}
		names := tx.Bucket(bucketPipelineNames)
		nameKey := join(string(h.Application), h.Name)
		if owner := names.Get(nameKey); string(owner) == string(id) {
			if err := names.Delete(nameKey); err != nil {
				return err
			}
		}
		versions := tx.Bucket(bucketPipelineVersions)
		if err := deleteAll(versions, scanPrefix(versions, prefix(string(id)))); err != nil {
			return err
		}
		return tx.Bucket(bucketPipelines).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("delete pipeline %s: %w", id, err)
	}
	return nil
}

// History returns every saved version, newest first, or store.ErrNotFound.
func (p pipelines) History(ctx context.Context, id model.PipelineID) ([]store.PipelineVersion, error) {
	if err := alive(ctx, "history of pipeline %s", id); err != nil {
		return nil, err
	}
	var hist []store.PipelineVersion
	err := p.s.view(func(tx *bbolt.Tx) error {
		pre := prefix(string(id))
		c := tx.Bucket(bucketPipelineVersions).Cursor()
		for k, v := c.Seek(pre); k != nil && bytes.HasPrefix(k, pre); k, v = c.Next() {
			var pv store.PipelineVersion
			if err := decode(v, &pv); err != nil {
				return err
			}
			hist = append(hist, pv)
		}
		if len(hist) == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history of pipeline %s: %w", id, err)
	}
	slices.Reverse(hist)
	return hist, nil
}

// Version returns one saved version, or store.ErrNotFound.
func (p pipelines) Version(ctx context.Context, id model.PipelineID, n int) (*store.PipelineVersion, error) {
	if err := alive(ctx, "version %d of pipeline %s", n, id); err != nil {
		return nil, err
	}
	var pv *store.PipelineVersion
	err := p.s.view(func(tx *bbolt.Tx) (err error) {
		pv, err = version(tx, id, n)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("version %d of pipeline %s: %w", n, id, err)
	}
	return pv, nil
}
