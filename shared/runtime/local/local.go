// Package local assembles gennaker's local runtime: the embedded store, the
// Amazon States Language interpreter running the state machines in
// statemachines/, and the orchestrator behind them, in one process. The
// orchestrator, the accounts and the API come from shared/runtime/platform,
// as they do in the Lambda functions; this package adds only what one
// machine has: the store file, the interpreter and the local provider.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/providers/aws"
	"github.com/gennaker/gennaker/providers/kubernetes"
	localprovider "github.com/gennaker/gennaker/providers/local"
	"github.com/gennaker/gennaker/shared/asl"
	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/cost"
	"github.com/gennaker/gennaker/shared/notify"
	"github.com/gennaker/gennaker/shared/orchestration"
	"github.com/gennaker/gennaker/shared/runtime/platform"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/preconfigured"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/embedded"
	"github.com/gennaker/gennaker/statemachines"
)

// Function names the state machines invoke, as the CDK app names the Lambda
// functions.
const (
	OrchestratorFunction = "orchestrator"
	TasksFunction        = "tasks"
)

// Options configure a local runtime.
type Options struct {
	// DataDir holds the store file; created if missing.
	DataDir string
	// Store overrides the embedded store (tests use other backends); the
	// runtime does not close a store it was given.
	Store store.Store
	// Registry overrides the stage types; nil means every built-in type.
	Registry *stages.Registry
	// HTTP sends webhooks; nil means the default client.
	HTTP stages.HTTPDoer
	// Accounts are the deployment accounts (see LoadConfig); the local
	// account is always added.
	Accounts []providers.Account
	// StageTypes are the installation's own stage types (see LoadConfig).
	StageTypes []preconfigured.Type
	// Metrics are the canary analysis's metrics accounts (see LoadConfig).
	Metrics *canary.Sources
	// HealthInterval is how often the local provider health-checks its
	// instances; 0 means one second.
	HealthInterval time.Duration
	// Definitions replaces the state machines of statemachines/ by name;
	// tests use it to run a variant (a lower history threshold, say).
	Definitions map[string][]byte
	// Version is what the API's GET /version reports.
	Version string
	// Auth turns authentication on (the file of `gennaker up --auth`); nil
	// means one user with every right.
	Auth *auth.Config
	// Notifications configures links and the notification channels (the
	// configuration file's notifications section).
	Notifications notify.Config
	// Prices and Region price what each run would cost on AWS (see
	// platform.Options).
	Prices *cost.Table
	Region string
	Logger *slog.Logger
	// AWS changes how the aws provider reaches AWS; tests point it at an
	// AWS-protocol server.
	AWS []aws.Option
}

// Runtime is the whole platform in one process.
type Runtime struct {
	Store        store.Store
	Orchestrator *orchestration.Orchestrator
	ASL          *asl.Runtime
	// Providers are the deployment accounts and their providers.
	Providers *providers.Registry
	platform  *platform.Platform
	local     *localprovider.Provider
	// Events is the in-process event bus: lifecycle events and the
	// notifications they ask for.
	Events   *notify.Bus
	ownStore bool
	stopCron context.CancelFunc
}

// LoadAccounts reads the accounts of the file of `gennaker up --accounts`
// (see LoadConfig).
func LoadAccounts(path string) ([]providers.Account, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return cfg.Accounts, nil
}

// LoadConfig reads the configuration file of `gennaker up --accounts`:
// deployment accounts and stage types. An empty path means none. The local
// account is always among the accounts. A file that cannot be read names
// it; a document that cannot be used is the *platform.AccountsError the
// Lambda functions report for the same document.
func LoadConfig(path string) (platform.Config, error) {
	if path == "" {
		accts, err := providers.WithLocal(nil)
		return platform.Config{Accounts: accts}, err
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		return platform.Config{}, fmt.Errorf("accounts file: %w", err)
	}
	return platform.ParseConfig(doc)
}

// Open builds the runtime and resumes every run that was in progress. An
// account it cannot use is a *platform.AccountsError.
func Open(ctx context.Context, opts Options) (*Runtime, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	accts, err := providers.WithLocal(append([]providers.Account(nil), opts.Accounts...))
	if err != nil {
		return nil, &platform.AccountsError{Err: err}
	}
	r := &Runtime{Store: opts.Store}
	if r.Store == nil {
		if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("data dir %s: %w", opts.DataDir, err)
		}
		s, err := embedded.Open(filepath.Join(opts.DataDir, "gennaker.db"))
		if err != nil {
			return nil, err
		}
		r.Store, r.ownStore = s, true
	}
	if err := r.openLocalProvider(ctx, opts, log); err != nil {
		r.closeStore()
		return nil, err
	}
	r.Events = notify.NewBus(&notify.Notifier{
		Store:   r.Store,
		Config:  opts.Notifications,
		Senders: notify.NewSendersAWS(opts.Notifications, nil, awsConfig(ctx)),
		Log:     log,
	})
	p, err := platform.New(platform.Options{
		Events:        r.Events,
		Notifications: opts.Notifications,
		Store:         r.Store,
		Stages:        opts.Registry,
		HTTP:          opts.HTTP,
		Accounts:      accts,
		StageTypes:    opts.StageTypes,
		Providers:     []providers.Provider{r.local, kubernetes.New(), aws.New(opts.AWS...)},
		Version:       opts.Version,
		Logger:        log,
		Metrics:       opts.Metrics,
		Auth:          opts.Auth,
		Prices:        opts.Prices,
		Region:        opts.Region,
	})
	if err != nil {
		_ = r.local.Close()
		r.closeStore()
		return nil, err
	}
	r.platform, r.Providers = p, p.Providers
	orch := p.Orchestrator
	rt, err := asl.New(asl.Options{
		Journal: r.Store.Records(),
		Functions: map[string]asl.Function{
			OrchestratorFunction: p.Step(OrchestratorFunction, cost.OrchestratorMemoryMB),
			TasksFunction:        p.Step(TasksFunction, cost.TasksMemoryMB),
		},
		Ended:  StatesLedger(r.Store.Records(), log),
		Logger: log,
	})
	if err != nil {
		_ = r.local.Close()
		r.closeStore()
		return nil, err
	}
	r.ASL = rt
	machines := orchestration.Machines{}
	defs := statemachines.Definitions()
	for name, def := range opts.Definitions {
		defs[name] = def
	}
	for name, def := range defs {
		arn, err := rt.RegisterStateMachine(name, Substitute(def))
		if err != nil {
			_ = r.local.Close()
			r.closeStore()
			return nil, fmt.Errorf("state machine %s: %w", name, err)
		}
		switch name {
		case "pipeline":
			machines.Pipeline = arn
		case "stage":
			machines.Stage = arn
		}
	}
	orch.SetMachines(machines)
	orch.SetEngine(Engine{rt})
	r.Orchestrator = orch
	if err := rt.Start(ctx); err != nil {
		_ = r.local.Close()
		r.closeStore()
		return nil, fmt.Errorf("resume state machines: %w", err)
	}
	// A process killed between storing a run and starting its machine left
	// a run nothing runs: start it now.
	if started, err := orch.Reconcile(ctx); err != nil {
		log.Warn("reconcile runs", "error", err)
	} else if len(started) > 0 {
		log.Info("started the state machines of runs that had none", "executions", started)
	}
	// Events recorded with status changes and never sent (the process died
	// first) are sent now, as are notifications stored and not sent.
	if err := r.Events.Start(ctx); err != nil {
		log.Warn("resume notifications", "error", err)
	}
	r.startCron(log)
	return r, nil
}

// awsConfig is the AWS configuration of the environment, for sns and
// SES notifications; without one, those notifications fail with the reason.
func awsConfig(ctx context.Context) sdkaws.Config {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return sdkaws.Config{}
	}
	return cfg
}

// API is the HTTP API `gennaker up` serves: the handler the api function
// serves in the cloud.
func (r *Runtime) API() http.Handler { return r.platform.API() }

// Routes lists the route patterns API serves.
func (r *Runtime) Routes() []string { return r.platform.Routes() }

// StatesLedger adds each state machine run's transitions, as the ASL
// runtime counts them, to the cost ledger of the gennaker run its input
// names: what Step Functions would bill for it.
func StatesLedger(recs cost.Records, log *slog.Logger) func(asl.ExecutionEnd) {
	return func(end asl.ExecutionEnd) {
		var in struct {
			ExecutionID string `json:"executionId"`
		}
		_ = json.Unmarshal(end.Input, &in)
		if err := cost.Record(context.Background(), recs, in.ExecutionID, "states", cost.Usage{Transitions: end.Transitions}); err != nil {
			log.Warn("cost not recorded", "execution", end.Arn, "error", err)
		}
	}
}

// Substitute applies the definition substitutions the CDK app applies in the
// cloud, naming the local functions instead of Lambda ARNs.
// Every provider family's tasks run in the one tasks function here.
func Substitute(def []byte) []byte {
	pairs := []string{
		"${OrchestratorFunctionArn}", "arn:aws:lambda:local:000000000000:function:" + OrchestratorFunction,
		"${TasksFunctionArn}", "arn:aws:lambda:local:000000000000:function:" + TasksFunction,
	}
	for _, f := range statemachines.Families {
		pairs = append(pairs, "${"+statemachines.FunctionSubstitution(statemachines.FamilyFunction(f))+"}", "arn:aws:lambda:local:000000000000:function:"+TasksFunction)
	}
	return []byte(strings.NewReplacer(pairs...).Replace(string(def)))
}

// Close stops the state-machine runtime and the store. Runs in progress stay
// recorded and resume at the next Open.
func (r *Runtime) Close() error {
	if r.stopCron != nil {
		r.stopCron()
	}
	err := r.ASL.Close()
	return errors.Join(err, r.Events.Close(), r.local.Close(), r.closeStore())
}

// openLocalProvider starts the local provider, which brings back the
// recorded server groups and load balancers.
func (r *Runtime) openLocalProvider(ctx context.Context, opts Options, log *slog.Logger) error {
	logDir := ""
	if opts.DataDir != "" {
		logDir = filepath.Join(opts.DataDir, "local", "logs")
	}
	lp, err := localprovider.New(ctx, localprovider.Options{
		Records:        r.Store.Records(),
		LogDir:         logDir,
		HealthInterval: opts.HealthInterval,
		Logger:         log,
	})
	if err != nil {
		return err
	}
	r.local = lp
	return nil
}

func (r *Runtime) closeStore() error {
	if r.ownStore {
		return r.Store.Close()
	}
	return nil
}

// Engine adapts the local ASL runtime to orchestration.Engine.
type Engine struct{ RT *asl.Runtime }

var _ orchestration.Engine = Engine{}

// StartExecution implements orchestration.Engine. As on Step Functions, a
// name already used by a finished run answers ExecutionAlreadyExists; the
// orchestrator names runs deterministically so that a retried start finds
// the first one, so that answer means the run was started.
func (e Engine) StartExecution(ctx context.Context, machine, name string, input json.RawMessage) (string, error) {
	arn, err := e.RT.StartExecution(ctx, machine, name, input)
	var exists *asl.ExecutionAlreadyExists
	if errors.As(err, &exists) {
		return asl.ExecutionArn(machine, name), nil
	}
	return arn, err
}

// SendTaskSuccess implements orchestration.Engine.
func (e Engine) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	return taskErr(e.RT.SendTaskSuccess(ctx, token, output))
}

// SendTaskFailure implements orchestration.Engine.
func (e Engine) SendTaskFailure(ctx context.Context, token, name, cause string) error {
	return taskErr(e.RT.SendTaskFailure(ctx, token, name, cause))
}

// SendTaskHeartbeat implements orchestration.Engine.
func (e Engine) SendTaskHeartbeat(ctx context.Context, token string) error {
	return taskErr(e.RT.SendTaskHeartbeat(ctx, token))
}

func taskErr(err error) error {
	var gone *asl.TaskDoesNotExist
	var timedOut *asl.TaskTimedOut
	if errors.As(err, &gone) || errors.As(err, &timedOut) {
		return fmt.Errorf("%w: %v", orchestration.ErrTaskGone, err)
	}
	return err
}

// StopExecution implements orchestration.Engine.
func (e Engine) StopExecution(ctx context.Context, arn, name, cause string) error {
	return e.RT.StopExecution(ctx, arn, name, cause)
}

// DescribeExecution implements orchestration.Engine.
func (e Engine) DescribeExecution(ctx context.Context, arn string) (orchestration.ExecutionDescription, error) {
	d, err := e.RT.DescribeExecution(ctx, arn)
	var missing *asl.ExecutionDoesNotExist
	if errors.As(err, &missing) {
		return orchestration.ExecutionDescription{}, fmt.Errorf("%w: %v", orchestration.ErrExecutionNotFound, err)
	}
	if err != nil {
		return orchestration.ExecutionDescription{}, err
	}
	return orchestration.ExecutionDescription{
		ExecutionArn: arn,
		Status:       string(d.Status),
		Input:        d.Input,
		Output:       d.Output,
		Error:        d.Error,
		Cause:        d.Cause,
		StartDate:    d.StartDate,
		StopDate:     d.StopDate,
	}, nil
}
