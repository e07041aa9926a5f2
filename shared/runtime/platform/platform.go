// Package platform builds what gennaker's two runtimes share: the stage
// types, the deployment accounts and their providers, the orchestrator and
// the HTTP API. shared/runtime/local (`gennaker up`) and
// shared/runtime/lambda (the Lambda functions) each bring a store and an
// engine and call New; neither wires these pieces on its own, so the two
// cannot drift apart.
package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/api"
	"github.com/gennaker/gennaker/shared/cost"
	"github.com/gennaker/gennaker/shared/deployapi"
	"github.com/gennaker/gennaker/shared/orchestration"
	"github.com/gennaker/gennaker/shared/runtime/env"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/builtin"
	"github.com/gennaker/gennaker/shared/stages/cluster"
	"github.com/gennaker/gennaker/shared/stages/preconfigured"
	"github.com/gennaker/gennaker/shared/store"
)

// Options are what a runtime brings.
type Options struct {
	// Store keeps configurations and executions.
	Store store.Store
	// Engine runs the state machines; nil means it is set later with
	// Orchestrator.SetEngine (the local runtime's engine needs the
	// orchestrator's handlers first).
	Engine orchestration.Engine
	// Machines are the state machines' ARNs; they too may be set later.
	Machines orchestration.Machines
	// Stages are the stage types; nil means every built-in type.
	Stages *stages.Registry
	// HTTP sends webhooks; nil means the orchestrator's default client.
	HTTP stages.HTTPDoer
	// Accounts are the deployment accounts (see ParseConfig).
	Accounts []providers.Account
	// StageTypes are the installation's own stage types (see ParseConfig),
	// registered beside the built-in ones; one that clashes with a known
	// type is an *AccountsError.
	StageTypes []preconfigured.Type
	// Providers are the providers the accounts may name. An account of any
	// other provider is an error that names it.
	Providers []providers.Provider
	// Targets, when set, is used instead of the registry built from
	// Accounts and Providers; tests use it to stand in for a cloud.
	Targets *providers.Registry
	// Version is what GET /version reports; empty means the module version.
	Version string
	Logger  *slog.Logger
	// Prices price every run's usage; nil means AWS's list prices. Region
	// is the AWS region whose prices apply; "" means us-east-1.
	Prices *cost.Table
	Region string
}

// Platform is the orchestrator and what it runs with, as both runtimes have
// it.
type Platform struct {
	Store        store.Store
	Orchestrator *orchestration.Orchestrator
	// Registry knows the stage types.
	Registry *stages.Registry
	// Providers are the deployment accounts and their providers.
	Providers *providers.Registry
	Logger    *slog.Logger
	version   string
	prices    *cost.Table
	region    string
}

// AccountsError is a configuration document (deployment accounts and stage
// types, see Config) a runtime cannot start with. Both runtimes refuse to
// start with it, and say the same thing.
type AccountsError struct{ Err error }

func (e *AccountsError) Error() string {
	return fmt.Sprintf("configuration (the file of gennaker up --accounts, or %s of the Lambda functions): %v", env.Accounts, e.Err)
}

func (e *AccountsError) Unwrap() error { return e.Err }

// ParseAccounts reads the accounts of a configuration document (see
// ParseConfig), the YAML (or JSON) `accounts: [{name, provider, …}]`. The
// local account is among the result (see providers.ParseAccounts); an
// unreadable document is an *AccountsError.
func ParseAccounts(doc []byte) ([]providers.Account, error) {
	cfg, err := ParseConfig(doc)
	if err != nil {
		return nil, err
	}
	return cfg.Accounts, nil
}

// New builds the platform. An account that names a provider not among
// opts.Providers, or that its provider refuses, is an *AccountsError: a
// runtime does not start without the accounts it was given.
func New(opts Options) (*Platform, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.Store == nil {
		return nil, errors.New("platform: no store")
	}
	targets := opts.Targets
	if targets == nil {
		reg, err := providers.NewRegistry(opts.Accounts, opts.Providers...)
		if err != nil {
			return nil, &AccountsError{Err: err}
		}
		targets = reg
	}
	reg := opts.Stages
	if reg == nil {
		reg = builtin.New()
	}
	if err := preconfigured.Register(reg, opts.StageTypes); err != nil {
		return nil, &AccountsError{Err: err}
	}
	cluster.UseProviders(reg, targets)
	orch := orchestration.New(orchestration.Options{
		Store:     opts.Store,
		Engine:    opts.Engine,
		Machines:  opts.Machines,
		Registry:  reg,
		HTTP:      opts.HTTP,
		Providers: targets,
		Logger:    log,
	})
	return &Platform{
		Store:        opts.Store,
		Orchestrator: orch,
		Registry:     reg,
		Providers:    targets,
		Logger:       log,
		version:      opts.Version,
		prices:       opts.Prices,
		region:       opts.Region,
	}, nil
}

// API is gennaker's HTTP API — Gate's paths and the deployments read API —
// as `gennaker up` serves it and the api function serves it behind API
// Gateway.
func (p *Platform) API() http.Handler {
	deploy := deployapi.New(p.Providers, p.Logger)
	return cost.HTTP(p.Store.Records(), cost.APIMemoryMB, p.Logger, api.New(api.Options{
		Store:        p.Store,
		Orchestrator: p.Orchestrator,
		Registry:     p.Registry,
		Version:      p.version,
		Logger:       p.Logger,
		Clusters:     deploy.Clusters,
		Mounts:       []api.Mount{{Patterns: deployapi.Patterns, Handler: deploy}},
		Prices:       p.prices,
		Region:       p.region,
	}))
}

// Step is the orchestrator as the function named function serves it, with
// memoryMB of memory: each invocation counted on its run's cost ledger.
func (p *Platform) Step(function string, memoryMB int) func(context.Context, json.RawMessage) (json.RawMessage, error) {
	return cost.Step(p.Store.Records(), function, memoryMB, p.Logger, p.Orchestrator.HandleJSON)
}
