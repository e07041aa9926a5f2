// Package store defines where gennaker keeps its state: applications,
// pipeline configurations with every saved version, executions with one
// record per stage, leases, and raw records for the local state-machine
// runtime.
//
// Two implementations pass one contract suite (package storetest): embedded,
// a single bbolt file in the data directory, and dynamodb. Both follow the
// same rules so neither hides a problem of the other: every write touches one
// record, writes that must not race are conditional on a revision, and
// listings never scan everything.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/gennaker/gennaker/shared/model"
)

// Errors every implementation returns, wrapped with what was asked for.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a conditional write lost — the record changed since it was
	// read, or a record that must be new already exists.
	ErrConflict = errors.New("conflict")
	// ErrTooLarge: the record is larger than the backend can hold.
	ErrTooLarge = errors.New("record too large")
)

// Store is the whole of gennaker's state.
type Store interface {
	Applications() Applications
	Pipelines() Pipelines
	Executions() Executions
	Leases() Leases
	Records() Records
	Triggers() Triggers
	// Close releases the backend.
	Close() error
}

// Applications stores applications by name.
type Applications interface {
	// Get returns the application, or ErrNotFound.
	Get(ctx context.Context, name model.ApplicationName) (*model.Application, error)
	// List returns every application, ordered by name.
	List(ctx context.Context) ([]model.Application, error)
	// Put creates or replaces the application.
	Put(ctx context.Context, app *model.Application) error
	// Delete removes the application; deleting a missing one is not an error.
	Delete(ctx context.Context, name model.ApplicationName) error
}

// PipelineVersion is one saved version of a pipeline configuration.
type PipelineVersion struct {
	Version   int            `json:"version"`
	Timestamp int64          `json:"timestamp"`
	User      string         `json:"user,omitempty"`
	Pipeline  model.Pipeline `json:"pipeline"`
}

// Pipelines stores pipeline configurations and every version ever saved.
type Pipelines interface {
	// Get returns the current version of the pipeline, or ErrNotFound.
	Get(ctx context.Context, id model.PipelineID) (*model.Pipeline, error)
	// GetByName returns the application's pipeline with that name, or ErrNotFound.
	GetByName(ctx context.Context, app model.ApplicationName, name string) (*model.Pipeline, error)
	// List returns the application's pipelines ordered by index, then name.
	List(ctx context.Context, app model.ApplicationName) ([]model.Pipeline, error)
	// Save stores p (whose ID must be set) as a new version and returns its
	// number. If expectVersion is not 0 and the current version differs, it
	// returns ErrConflict and stores nothing. Saving a pipeline under a name
	// another pipeline of the application holds returns ErrConflict.
	Save(ctx context.Context, p *model.Pipeline, user string, expectVersion int) (int, error)
	// Delete removes the pipeline and its history; a missing one is not an error.
	Delete(ctx context.Context, id model.PipelineID) error
	// History returns every saved version, newest first, or ErrNotFound.
	History(ctx context.Context, id model.PipelineID) ([]PipelineVersion, error)
	// Version returns one saved version, or ErrNotFound.
	Version(ctx context.Context, id model.PipelineID, version int) (*PipelineVersion, error)
}

// TriggerEntry is one trigger of a pipeline's current version, as the
// trigger index holds it.
type TriggerEntry struct {
	PipelineID  model.PipelineID      `json:"pipelineId"`
	Application model.ApplicationName `json:"application"`
	// PipelineName is the pipeline's name.
	PipelineName string `json:"pipelineName"`
	// PipelineDisabled is the pipeline's disabled flag: a disabled
	// pipeline's triggers stay indexed, so an explanation can say why they
	// did not fire, but never fire.
	PipelineDisabled bool `json:"pipelineDisabled,omitempty"`
	// Index is the trigger's position in the pipeline's triggers.
	Index   int           `json:"index"`
	Trigger model.Trigger `json:"trigger"`
}

// Triggers is the trigger index: every trigger of every pipeline's current
// version under its model.Trigger.IndexKey. Pipelines.Save and Delete keep
// it: a save replaces the pipeline's entries with those of the version it
// stores, a delete removes them, and a refused save changes nothing.
type Triggers interface {
	// Lookup returns the entries under key, ordered by pipeline id, then
	// index; a key nothing listens to returns none and no error.
	Lookup(ctx context.Context, key string) ([]TriggerEntry, error)
}

// TriggerEntries lists the entries the index holds for p's triggers.
func TriggerEntries(p *model.Pipeline) []TriggerEntry {
	out := make([]TriggerEntry, 0, len(p.Triggers))
	for i, t := range p.Triggers {
		out = append(out, TriggerEntry{
			PipelineID: p.ID, Application: p.Application, PipelineName: p.Name,
			PipelineDisabled: p.Disabled, Index: i, Trigger: t,
		})
	}
	return out
}

// ListOptions narrows an execution listing.
type ListOptions struct {
	// Limit is the most executions returned; 0 means no limit.
	Limit int
	// Statuses keeps only executions with one of these statuses; empty keeps all.
	Statuses []model.Status
}

// Executions stores runs: a header record each, and a record per stage.
type Executions interface {
	// Create stores a new execution header and its stages. The header is
	// written last, so a run is visible only once all its stages are stored;
	// creating an execution that exists returns ErrConflict.
	Create(ctx context.Context, e *model.Execution) error
	// Get returns the header and all stages, or ErrNotFound.
	Get(ctx context.Context, id model.ExecutionID) (*model.Execution, error)
	// GetHeader returns the header without stages, or ErrNotFound.
	GetHeader(ctx context.Context, id model.ExecutionID) (*model.Execution, error)
	// UpdateHeader writes the header if its stored revision still equals
	// e.Revision, and sets e.Revision to the new one; else ErrConflict.
	UpdateHeader(ctx context.Context, e *model.Execution) error
	// GetStage returns one stage, or ErrNotFound.
	GetStage(ctx context.Context, id model.ExecutionID, stageID model.StageID) (*model.StageExecution, error)
	// PutStage writes a stage if its stored revision still equals s.Revision
	// (0 for a new stage), and sets s.Revision to the new one; else ErrConflict.
	PutStage(ctx context.Context, id model.ExecutionID, s *model.StageExecution) error
	// ListByApplication returns the application's runs, newest first.
	ListByApplication(ctx context.Context, app model.ApplicationName, opts ListOptions) ([]model.Execution, error)
	// ListByPipeline returns the pipeline's runs, newest first.
	ListByPipeline(ctx context.Context, id model.PipelineID, opts ListOptions) ([]model.Execution, error)
	// Delete removes a run and its stages; a missing one is not an error.
	Delete(ctx context.Context, id model.ExecutionID) error
}

// Leases are named locks that expire, so a crashed holder cannot keep one.
type Leases interface {
	// Acquire takes the lease for owner until ttl from now. It succeeds if the
	// lease is free, expired, or already held by owner (then it is extended);
	// otherwise it returns ErrConflict.
	Acquire(ctx context.Context, name, owner string, ttl time.Duration) error
	// Release frees the lease if owner holds it; otherwise it does nothing.
	Release(ctx context.Context, name, owner string) error
}

// Records is a plain durable key-value space for the local state-machine
// runtime's journal.
type Records interface {
	// Put stores value under key; the write is durable when Put returns.
	Put(ctx context.Context, key string, value []byte) error
	// Get returns the value under key; found is false when there is none.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Scan calls fn for every key with the prefix, in key order.
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error
}
