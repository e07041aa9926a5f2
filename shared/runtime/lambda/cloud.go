// Package lambda wires gennaker for AWS Lambda: the DynamoDB store, the Step
// Functions engine and the orchestrator, from the environment the CDK app
// gives each function. functions/<name>/main.go calls it once at cold start
// and hands the handler to the Lambda runtime.
package lambda

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gennaker/gennaker/shared/stages/builtin"
	"github.com/gennaker/gennaker/shared/stages/cluster"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/providers/kubernetes"
	"github.com/gennaker/gennaker/shared/api"
	"github.com/gennaker/gennaker/shared/deployapi"
	"github.com/gennaker/gennaker/shared/orchestration"
	"github.com/gennaker/gennaker/shared/runtime/env"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/dynamodb"
)

// Config is what a function learns from its environment.
type Config struct {
	Tables   dynamodb.Tables
	Machines orchestration.Machines
	EventBus string
	// Accounts are the deployment accounts; none when unset.
	Accounts []providers.Account
}

// ConfigFromEnv reads the configuration; it names every variable missing.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Tables: dynamodb.Tables{
			Config:     getenv(env.ConfigTable),
			Executions: getenv(env.ExecutionsTable),
			Runtime:    getenv(env.RuntimeTable),
		},
		Machines: orchestration.Machines{
			Pipeline: getenv(env.PipelineMachineArn),
			Stage:    getenv(env.StageMachineArn),
		},
		EventBus: getenv(env.EventBusName),
	}
	var missing []error
	if raw := getenv(env.Accounts); raw != "" {
		accts, err := providers.ParseAccounts([]byte(raw))
		if err != nil {
			missing = append(missing, fmt.Errorf("environment variable %s: %w", env.Accounts, err))
		}
		// The local provider runs processes on one machine; a Lambda has no
		// such machine, so the local account the parser always adds is left out.
		for _, a := range accts {
			if a.Provider != "local" {
				c.Accounts = append(c.Accounts, a)
			}
		}
	}
	for name, v := range map[string]string{
		env.ConfigTable: c.Tables.Config, env.ExecutionsTable: c.Tables.Executions, env.RuntimeTable: c.Tables.Runtime,
		env.PipelineMachineArn: c.Machines.Pipeline, env.StageMachineArn: c.Machines.Stage,
	} {
		if v == "" {
			missing = append(missing, fmt.Errorf("environment variable %s is not set", name))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Platform is what the functions share: the store and the orchestrator.
type Platform struct {
	Store        store.Store
	Orchestrator *orchestration.Orchestrator
	Registry     *stages.Registry
	Providers    *providers.Registry
	Logger       *slog.Logger
}

// Deps are what the platform is built on.
type Deps struct {
	// DB is the DynamoDB client.
	DB dynamodb.API
	// Engine runs the state machines: Step Functions in the cloud, the local
	// runtime in tests. It may be set later with Orchestrator.SetEngine.
	Engine orchestration.Engine
	// HTTP sends webhooks; nil means a client with a 30 s timeout.
	HTTP stages.HTTPDoer
	// Providers are the deployment targets; nil means none.
	Providers *providers.Registry
	Logger    *slog.Logger
}

// New builds the platform.
func New(cfg Config, d Deps) *Platform {
	log := d.Logger
	if log == nil {
		log = slog.Default()
	}
	st := dynamodb.New(d.DB, cfg.Tables)
	reg := builtin.New()
	if d.Providers == nil {
		// Kubernetes is the provider the cloud runtime can reach (EKS
		// clusters through IAM tokens); an account of any other provider is
		// an error that names it.
		reg, err := providers.NewRegistry(cfg.Accounts, kubernetes.New())
		if err != nil {
			log.Error("deployment accounts", "error", err)
			reg, _ = providers.NewRegistry(nil, kubernetes.New())
		}
		d.Providers = reg
	}
	cluster.UseProviders(reg, d.Providers)
	orch := orchestration.New(orchestration.Options{
		Store:     st,
		Engine:    d.Engine,
		Machines:  cfg.Machines,
		Registry:  reg,
		HTTP:      d.HTTP,
		Providers: d.Providers,
		Logger:    log,
	})
	return &Platform{Store: st, Orchestrator: orch, Registry: reg, Providers: d.Providers, Logger: log}
}

// API is the HTTP API the api function serves behind API Gateway — the same
// handler `gennaker up` serves.
func (p *Platform) API() http.Handler {
	deploy := deployapi.New(p.Providers, p.Logger)
	return api.New(api.Options{
		Store:        p.Store,
		Orchestrator: p.Orchestrator,
		Registry:     p.Registry,
		Logger:       p.Logger,
		Clusters:     deploy.Clusters,
		Mounts:       []api.Mount{{Patterns: deployapi.Patterns, Handler: deploy}},
	})
}
