package embedded

import (
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// applications stores each application as one JSON record under its name.
type applications struct{ s *Store }

var _ store.Applications = applications{}

// Get returns the application, or store.ErrNotFound.
func (a applications) Get(ctx context.Context, name model.ApplicationName) (*model.Application, error) {
	if err := alive(ctx, "get application %s", name); err != nil {
		return nil, err
	}
	var app model.Application
	err := a.s.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketApplications).Get([]byte(name))
		if v == nil {
			return store.ErrNotFound
		}
		readUnits(ctx, len(v))
		return decode(v, &app)
	})
	if err != nil {
		return nil, fmt.Errorf("application %s: %w", name, err)
	}
	return &app, nil
}

// List returns every application, ordered by name (the bucket's key order).
func (a applications) List(ctx context.Context) ([]model.Application, error) {
	if err := alive(ctx, "list applications"); err != nil {
		return nil, err
	}
	var apps []model.Application
	err := a.s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketApplications).ForEach(func(k, v []byte) error {
			var app model.Application
			if err := decode(v, &app); err != nil {
				return fmt.Errorf("application %s: %w", k, err)
			}
			apps = append(apps, app)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	return apps, nil
}

// Put creates or replaces the application.
func (a applications) Put(ctx context.Context, app *model.Application) error {
	if err := alive(ctx, "put application %s", app.Name); err != nil {
		return err
	}
	if err := checkName("application name", string(app.Name)); err != nil {
		return fmt.Errorf("put application: %w", err)
	}
	body, err := json.Marshal(app)
	if err == nil {
		err = checkSize(body)
	}
	if err != nil {
		return fmt.Errorf("put application %s: %w", app.Name, err)
	}
	err = a.s.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketApplications).Put([]byte(app.Name), body)
	})
	if err != nil {
		return fmt.Errorf("put application %s: %w", app.Name, err)
	}
	return nil
}

// Delete removes the application; a missing one is not an error. Its
// pipelines and runs are left alone: the caller decides what to do with
// them.
func (a applications) Delete(ctx context.Context, name model.ApplicationName) error {
	if err := alive(ctx, "delete application %s", name); err != nil {
		return err
	}
	err := a.s.update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketApplications).Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("delete application %s: %w", name, err)
	}
	return nil
}
