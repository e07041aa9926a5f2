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
	"strings"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/api"
	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/canary/canaryapi"
	"github.com/gennaker/gennaker/shared/cost"
	"github.com/gennaker/gennaker/shared/deployapi"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/notify"
	"github.com/gennaker/gennaker/shared/orchestration"
	"github.com/gennaker/gennaker/shared/runtime/env"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/awslambda"
	"github.com/gennaker/gennaker/shared/stages/builtin"
	"github.com/gennaker/gennaker/shared/stages/cluster"
	"github.com/gennaker/gennaker/shared/stages/kayenta"
	"github.com/gennaker/gennaker/shared/stages/preconfigured"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/triggers"
	"github.com/gennaker/gennaker/web"
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
	// Metrics are the canary analysis's metrics accounts (see ParseConfig);
	// nil means none.
	Metrics *canary.Sources
	// Version is what GET /version reports; empty means the module version.
	Version string
	Logger  *slog.Logger
	// Auth turns authentication and authorization on with this identity
	// configuration (users, admins, service accounts, how to read API
	// Gateway's principal); nil leaves them off: one user with every right.
	Auth *auth.Config
	// Events takes the lifecycle and configuration events onward: the
	// in-process bus locally, EventBridge in the cloud; nil records them in
	// runs' outboxes only.
	Events notify.Publisher
	// Notifications configures links and the notification channels.
	Notifications notify.Config
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
	// Triggers start pipelines from events, webhooks and other runs' ends.
	Triggers *triggers.Handler
	Logger   *slog.Logger
	// Policy decides what identities may do; disabled when the platform
	// was built without Auth.
	Policy    *auth.Policy
	authn     *auth.Authenticator
	version   string
	metrics   *canary.Sources
	events    notify.Publisher
	notifyCfg notify.Config
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
	awslambda.UseProviders(reg, targets)
	kayenta.UseMetrics(reg, opts.Metrics)
	policy := &auth.Policy{}
	if opts.Auth != nil {
		perms := map[string]auth.Permissions{}
		for _, a := range targets.Accounts() {
			p := auth.Permissions{}
			for k, roles := range a.Permissions {
				p[auth.Permission(k)] = roles
			}
			perms[a.Name] = p
		}
		policy = opts.Auth.Policy(perms)
	}
	orch := orchestration.New(orchestration.Options{
		Guard:     stageGuard(opts.Store, policy),
		Store:     opts.Store,
		Engine:    opts.Engine,
		Machines:  opts.Machines,
		Registry:  reg,
		HTTP:      opts.HTTP,
		Providers: targets,
		Logger:    log,
		StatusHook: &notify.Outbox{
			Store: opts.Store, Publisher: opts.Events, LinkBase: opts.Notifications.LinkBase(), Log: log,
		},
	})
	trig := &triggers.Handler{Store: opts.Store, Starter: orch, Policy: policy, Logger: log}
	orch.OnRunEnd(trig.RunEnded)
	return &Platform{
		Store:        opts.Store,
		Orchestrator: orch,
		Registry:     reg,
		Providers:    targets,
		Triggers:     trig,
		Logger:       log,
		Policy:       policy,
		authn:        auth.NewAuthenticator(opts.Auth),
		version:      opts.Version,
		metrics:      opts.Metrics,
		events:       opts.Events,
		notifyCfg:    opts.Notifications,
		prices:       opts.Prices,
		region:       opts.Region,
	}, nil
}

// stageGuard is the orchestrator's check before each stage starts: the
// identity the stage acts as needs EXECUTE on the run's application and
// WRITE on every account the stage names.
func stageGuard(st store.Store, policy *auth.Policy) func(ctx context.Context, e *model.Execution, s *model.StageExecution) error {
	if !policy.Enabled {
		return nil
	}
	return func(ctx context.Context, e *model.Execution, s *model.StageExecution) error {
		app, err := st.Applications().Get(ctx, e.Application)
		if errors.Is(err, store.ErrNotFound) {
			app = nil
		} else if err != nil {
			return fmt.Errorf("application %s: %w", e.Application, err)
		}
		return policy.Stage(orchestration.RunIdentity(e, s), app, s)
	}
}

// judge records a manual judgment made outside the API (a Slack button).
func (p *Platform) judge(ctx context.Context, id model.ExecutionID, stage model.StageID, user, judgment string) error {
	if p.Policy != nil && p.Policy.Enabled {
		// With authentication on, the judge is who authenticated, held to
		// what PATCH /pipelines/{id}/stages/{stageId} needs: EXECUTE on the
		// run's application and one of the judgment's roles.
		who, ok := auth.FromContext(ctx)
		if !ok {
			return &auth.Denied{User: user, Permission: auth.Execute, Kind: "stage", Resource: string(stage), Reason: "the judge is not authenticated"}
		}
		if err := p.mayJudge(ctx, who, id, stage); err != nil {
			return err
		}
		user = who.Name
	}
	_, err := p.Orchestrator.PatchStage(ctx, id, stage, user, map[string]any{"judgmentStatus": judgment})
	return err
}

// mayJudge returns nil when who may judge the stage of the run: EXECUTE on
// its application and, for a manual judgment, one of its
// selectedStageRoles.
func (p *Platform) mayJudge(ctx context.Context, who auth.Identity, id model.ExecutionID, stage model.StageID) error {
	e, err := p.Store.Executions().Get(ctx, id)
	if err != nil {
		return err
	}
	a, err := p.Store.Applications().Get(ctx, e.Application)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil {
		if err := p.Policy.Application(who, a, auth.Execute); err != nil {
			return err
		}
	}
	st := e.StageByID(stage)
	if st == nil || st.Type != "manualJudgment" {
		return nil
	}
	sctx := st.Context
	if roles := auth.JudgeRoles(sctx); len(roles) == 0 && st.Orchestration.Config != nil {
		sctx = st.Orchestration.Config
	}
	return p.Policy.Judge(who, st.Name, sctx)
}

// API is gennaker's HTTP API — Gate's paths and the deployments read API —
// as `gennaker up` serves it and the api function serves it behind API
// Gateway.
func (p *Platform) API() http.Handler {
	h := api.New(p.apiOptions())
	return cost.HTTP(p.Store.Records(), cost.APIMemoryMB, p.Logger, notify.UserContext(h))
}

// Routes lists every route pattern API serves: the API's own and those
// mounted on it.
func (p *Platform) Routes() []string { return api.Routes(p.apiOptions()) }

// apiOptions are the API's options, with every handler mounted on it.
func (p *Platform) apiOptions() api.Options {
	deploy := deployapi.New(p.Providers, p.Logger)
	deploy.Authorized = func(ctx context.Context, account string) bool {
		id, _ := auth.FromContext(ctx)
		return p.Policy.Account(id, account, auth.Write) == nil
	}
	deploy.Readable = func(ctx context.Context, account string) bool {
		id, _ := auth.FromContext(ctx)
		return p.Policy.Account(id, account, auth.Read) == nil
	}
	canaries := canaryapi.New(p.Store, p.metrics, p.Logger)
	canaries.Readable = p.readApplication
	var accounts []string
	for _, a := range p.Providers.Accounts() {
		accounts = append(accounts, a.Name)
	}
	events := notify.Handler{Store: p.Store, Types: notify.NewSenders(p.notifyCfg, nil, nil, nil).Types(), Log: p.Logger}
	return api.Options{
		Policy:        p.Policy,
		Authenticator: p.authn,
		Accounts:      accounts,
		Store:         notify.ConfigEvents{Store: p.Store, Publisher: p.events},
		Orchestrator:  p.Orchestrator,
		Registry:      p.Registry,
		Version:       p.version,
		Logger:        p.Logger,
		Clusters:      deploy.Clusters,
		Prices:        p.prices,
		Region:        p.region,
		Mounts: []api.Mount{
			{Patterns: deployapi.Patterns, Handler: deploy},
			{Patterns: triggers.Patterns, Handler: p.Triggers.HTTP()},
			{Patterns: canaryapi.Patterns, Handler: canaries},
			{Patterns: notify.Patterns, Handler: events},
			{Patterns: []string{notify.SlackInteractionsPattern}, Handler: notify.SlackInteractions{
				SigningSecret: p.notifyCfg.Slack.SigningSecret, Judge: p.judge,
			}},
			{Patterns: web.Patterns, Handler: web.Handler()}, // the UI at "/"
		},
	}
}

// readApplication returns nil when the caller of ctx may READ the
// application (one that does not exist, anyone may), a *auth.Denied when
// not.
func (p *Platform) readApplication(ctx context.Context, app string) error {
	id, _ := auth.FromContext(ctx)
	if p.Policy.Admin(id) {
		return nil
	}
	a, err := p.Store.Applications().Get(ctx, model.ApplicationName(strings.ToLower(strings.TrimSpace(app))))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return p.Policy.Application(id, a, auth.Read)
}

// Step is the orchestrator as the function named function serves it, with
// memoryMB of memory: each invocation counted on its run's cost ledger.
func (p *Platform) Step(function string, memoryMB int) func(context.Context, json.RawMessage) (json.RawMessage, error) {
	return cost.Step(p.Store.Records(), function, memoryMB, p.Logger, p.Orchestrator.HandleJSON)
}
