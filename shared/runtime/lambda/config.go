// Package lambda wires gennaker for AWS Lambda: the DynamoDB store and the
// Step Functions engine under the platform both runtimes build
// (shared/runtime/platform), from the environment the CDK app gives each
// function (shared/runtime/env). functions/<name>/main.go calls it once at
// cold start and hands the handler to the Lambda runtime.
package lambda

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/gennaker/gennaker/providers"
	awsaccount "github.com/gennaker/gennaker/providers/aws/account"
	k8saccount "github.com/gennaker/gennaker/providers/kubernetes/account"
	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/cost"
	"github.com/gennaker/gennaker/shared/notify"
	"github.com/gennaker/gennaker/shared/orchestration"
	"github.com/gennaker/gennaker/shared/runtime/env"
	"github.com/gennaker/gennaker/shared/runtime/platform"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/preconfigured"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/dynamodb"
	"github.com/gennaker/gennaker/shared/triggers"
	"github.com/gennaker/gennaker/statemachines"
)

// Config is what a function learns from its environment.
type Config struct {
	Tables   dynamodb.Tables
	Machines orchestration.Machines
	EventBus string
	// Accounts are the deployment accounts; none when unset.
	Accounts []providers.Account
	// StageTypes are the installation's own stage types, from the same
	// document as the accounts; none when unset.
	StageTypes []preconfigured.Type
	// Metrics are the canary analysis's metrics accounts, from the same
	// document.
	Metrics *canary.Sources
	// Auth is the identity configuration; the cloud always authenticates,
	// with an empty configuration when GENNAKER_AUTH is unset.
	Auth *auth.Config
	// Notifications configures links and the notification channels, from
	// the same document, with email through SES when the stack has an SES
	// identity (GENNAKER_EMAIL_FROM).
	Notifications notify.Config
	// Prices price runs, at Region's prices.
	Prices *cost.Table
	Region string
	// Schedules says where the cron triggers' schedules go; zero when the
	// function saves no pipelines.
	Schedules ScheduleConfig
}

// ScheduleConfig names the schedule group, the role EventBridge Scheduler
// assumes and the function it invokes.
type ScheduleConfig struct {
	Group, RoleARN, TargetARN string
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
			Families: map[string]string{},
		},
		EventBus: getenv(env.EventBusName),
		Region:   getenv(env.Region),
		Schedules: ScheduleConfig{
			Group:     getenv(env.ScheduleGroup),
			RoleARN:   getenv(env.ScheduleRoleArn),
			TargetARN: getenv(env.TriggersFunctionArn),
		},
	}
	if sc := c.Schedules; sc.Group != "" && (sc.RoleARN == "" || sc.TargetARN == "") {
		return Config{}, fmt.Errorf("%s is set, so %s and %s must be too", env.ScheduleGroup, env.ScheduleRoleArn, env.TriggersFunctionArn)
	}
	for _, f := range statemachines.Families {
		if arn := getenv(env.StageFamilyMachineArn(f)); arn != "" {
			c.Machines.Families[f] = arn
		}
	}
	var missing []error
	c.Auth = &auth.Config{}
	if raw := getenv(env.Auth); raw != "" {
		a, err := auth.ParseConfig([]byte(raw))
		if err != nil {
			missing = append(missing, fmt.Errorf("%s: %w", env.Auth, err))
		} else {
			c.Auth = a
		}
	}
	prices, err := cost.ParsePrices([]byte(getenv(env.Prices)))
	if err != nil {
		missing = append(missing, fmt.Errorf("environment variable %s: %w", env.Prices, err))
	}
	c.Prices = prices
	if raw := getenv(env.Accounts); raw != "" {
		// The error names the variable and is the one `gennaker up` gives
		// for the same document.
		doc, err := platform.ParseConfig([]byte(raw))
		if err != nil {
			missing = append(missing, err)
		}
		c.StageTypes = doc.StageTypes
		c.Metrics = doc.MetricsAccounts
		c.Notifications = doc.Notifications
		// The local provider runs processes on one machine; a Lambda has no
		// such machine, so the local account the parser always adds is left out.
		for _, a := range doc.Accounts {
			if a.Provider != "local" {
				c.Accounts = append(c.Accounts, a)
			}
		}
	}
	if from := getenv(env.EmailFrom); from != "" {
		c.Notifications.Email.From, c.Notifications.Email.SES = from, true
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

// Deps are what the platform is built on.
type Deps struct {
	// DB is the DynamoDB client.
	DB dynamodb.API
	// Engine runs the state machines: Step Functions in the cloud, the local
	// runtime in tests. It may be set later with Orchestrator.SetEngine.
	Engine orchestration.Engine
	// HTTP sends webhooks; nil means a client with a 30 s timeout.
	HTTP stages.HTTPDoer
	// Providers replace the registry built from the configuration's
	// accounts; tests use it to stand in for a cloud.
	Providers *providers.Registry
	// Scheduler keeps the cron triggers' schedules when the configuration
	// names a schedule group.
	Scheduler triggers.SchedulerAPI
	// Clouds are the providers this function links and serves. Accounts
	// of any other provider are known by name (a pipeline naming them
	// validates) and their tasks run in that provider's own function.
	Clouds []providers.Provider
	Logger *slog.Logger
	// Events takes lifecycle events onward: the stack's EventBridge bus.
	Events notify.Publisher
}

// accountChecks refuse a bad account of a provider a function does not
// link, with the provider's own message.
var accountChecks = map[string]func(providers.Account) error{
	"kubernetes": func(a providers.Account) error { _, err := k8saccount.Parse(a); return err },
	"aws":        func(a providers.Account) error { _, err := awsaccount.Parse(a); return err },
}

// New builds the platform the functions share. Each function links only
// the cloud providers it serves (Deps.Clouds): the tasks of every other
// provider run in a function of their own (statemachines.Families), and
// here its accounts are only known by name. An account of a provider no
// function serves is the *platform.AccountsError `gennaker up` gives for
// it, and the function does not start.
func New(cfg Config, d Deps) (*platform.Platform, error) {
	var st store.Store = dynamodb.New(d.DB, cfg.Tables)
	if sc := cfg.Schedules; sc.Group != "" && d.Scheduler != nil {
		st = triggers.WithSchedules(st, &triggers.Schedules{Client: d.Scheduler, Group: sc.Group, RoleARN: sc.RoleARN, TargetARN: sc.TargetARN})
	}
	linked := map[string]bool{}
	for _, p := range d.Clouds {
		linked[p.Name()] = true
	}
	provs := append([]providers.Provider(nil), d.Clouds...)
	for _, f := range statemachines.Families {
		if !linked[f] {
			provs = append(provs, providers.Elsewhere(f, statemachines.FamilyFunction(f), accountChecks[f]))
		}
	}
	return platform.New(platform.Options{
		Store:      st,
		Engine:     d.Engine,
		Machines:   cfg.Machines,
		HTTP:       d.HTTP,
		Accounts:   cfg.Accounts,
		StageTypes: cfg.StageTypes,
		Providers:  provs,
		Targets:    d.Providers,
		Logger:     d.Logger,
		Prices:     cfg.Prices,
		Region:     cfg.Region,
		Metrics:    cfg.Metrics,
		Auth:       cfg.Auth,

		Events:        d.Events,
		Notifications: cfg.Notifications,
	})
}
