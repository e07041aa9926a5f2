// Package stack composes gennaker's AWS deployment from the constructs in
// infra/constructs: storage, events, functions, orchestration and the API.
// It decides nothing a construct could: it passes each what it needs from
// the others, grants every function what the platform code calls, and names
// the outputs.
//
// # The functions' environment
//
// Every function gets the same variables, named by shared/runtime/env;
// shared/runtime/lambda reads them at cold start (lambda.ConfigFromEnv):
//
//	GENNAKER_CONFIG_TABLE                 Config table (applications, pipeline configs)
//	GENNAKER_EXECUTIONS_TABLE             Executions table (headers and stages)
//	GENNAKER_RUNTIME_TABLE                Runtime table (leases, records; TTL "ttl")
//	GENNAKER_PIPELINE_STATE_MACHINE_ARN   the pipeline state machine
//	GENNAKER_STAGE_STATE_MACHINE_ARN      the stage state machine
//	GENNAKER_EVENT_BUS_NAME               gennaker's EventBridge bus
//
// and GENNAKER_ACCOUNTS when the stack is given deployment accounts. The
// api function, which saves pipelines and so keeps their cron triggers'
// EventBridge Scheduler schedules, also gets GENNAKER_SCHEDULE_GROUP,
// GENNAKER_SCHEDULE_ROLE_ARN and GENNAKER_TRIGGERS_FUNCTION_ARN. The
// names come from the shared/runtime/env constants, so the two cannot drift;
// the CDK app imports nothing else of the runtime.
package stack

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"gopkg.in/yaml.v3"

	"github.com/gennaker/gennaker/infra/constructs/api"
	"github.com/gennaker/gennaker/infra/constructs/events"
	"github.com/gennaker/gennaker/infra/constructs/functions"
	"github.com/gennaker/gennaker/infra/constructs/notifications"
	"github.com/gennaker/gennaker/infra/constructs/orchestration"
	"github.com/gennaker/gennaker/infra/constructs/storage"
	"github.com/gennaker/gennaker/infra/constructs/triggers"
	"github.com/gennaker/gennaker/shared/runtime/env"
)

// GennakerStackProps configures the deployment.
type GennakerStackProps struct {
	awscdk.StackProps
	// Functions are the Lambda functions, built (infra/gobuild).
	Functions []functions.Source
	// Definitions are the state machines by name, as
	// statemachines.Definitions returns them.
	Definitions map[string][]byte
	// Authorizer of the HTTP API: IAM or JWT.
	Authorizer api.AuthorizerProps
	// Throttle of the HTTP API. Zero values take the construct's defaults.
	Throttle api.ThrottleProps
	// LogRetention of every log group. Default one month.
	LogRetention awslogs.RetentionDays
	// Accounts is an accounts file (YAML, as `gennaker up --accounts`
	// reads) naming the deployment accounts the functions may use. In the
	// cloud these are Kubernetes accounts on EKS clusters
	// ({name, provider: kubernetes, eksCluster, region, assumeRole?,
	// namespaces}) and AWS accounts ({name, provider: aws, accountId,
	// regions, assumeRole, externalId?}, the role being a deployrole in the
	// target account); the functions may describe those clusters and
	// assume those roles, nothing more.
	Accounts string
	// Auth is the identity configuration (YAML, as GENNAKER_AUTH reads it:
	// admins, service accounts, which JWT claims name the user and roles,
	// the roles of IAM principals); empty means none, and the API still
	// authenticates every caller through the authorizer.
	Auth string
	// SESIdentity is an email address or domain the stack creates as an
	// SES identity, for email notifications sent through SES from it
	// (the address, or gennaker@ the domain). Empty: no SES.
	SESIdentity string
	// NotificationTopics are the SNS topic ARNs sns notifications may
	// publish to; the notifier may publish to no other.
	NotificationTopics []string
}

// maxAccountsBytes keeps the accounts within Lambda's 4 KB of environment.
const maxAccountsBytes = 3000

// eksAccount is a deployment account as the stack sees it: what its
// functions must be granted.
type eksAccount struct {
	name, cluster, region, assumeRole string
}

// eksAccounts reads the accounts the functions are given, refusing what a
// Lambda function cannot reach. The functions read the same document at
// cold start with the providers' own rules; this reads only what the
// grants need, so that the CDK app does not depend on the runtime.
func eksAccounts(raw string) ([]eksAccount, error) {
	if raw == "" {
		return nil, nil
	}
	if len(raw) > maxAccountsBytes {
		return nil, fmt.Errorf("accounts: %d bytes is more than the %d that fit in the functions' environment", len(raw), maxAccountsBytes)
	}
	var doc struct {
		Accounts []map[string]any `yaml:"accounts"`
		// The functions read these sections of the same document.
		StageTypes    any `yaml:"stageTypes"`
		Notifications any `yaml:"notifications"`
	}
	dec := yaml.NewDecoder(strings.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("accounts: not the YAML `accounts: [{name, provider, …}]`: %w", err)
	}
	var out []eksAccount
	for i, a := range doc.Accounts {
		name, _ := a["name"].(string)
		provider, _ := a["provider"].(string)
		switch {
		case name == "":
			return nil, fmt.Errorf("accounts: accounts[%d] has no name", i)
		case provider == "local":
			continue // the local provider needs a machine; a Lambda has none
		case provider == "aws":
			role, err := awsRole(name, a)
			if err != nil {
				return nil, err
			}
			out = append(out, eksAccount{name: name, assumeRole: role})
			continue
		case provider != "kubernetes":
			return nil, fmt.Errorf("accounts: account %q: provider %q cannot be used from the cloud; use kubernetes accounts on EKS clusters or aws accounts", name, provider)
		}
		e := eksAccount{name: name}
		e.cluster, _ = a["eksCluster"].(string)
		e.region, _ = a["region"].(string)
		e.assumeRole, _ = a["assumeRole"].(string)
		if e.cluster == "" || e.region == "" {
			return nil, fmt.Errorf("accounts: account %q: in the cloud a kubernetes account needs eksCluster and region (a kubeconfig file does not reach a Lambda function)", name)
		}
		out = append(out, e)
	}
	return out, nil
}

// awsRole is the ARN of the role an aws account's functions assume: its
// assumeRole as an ARN, or as a role name in its accountId (Spinnaker's
// "role/name" form). In the cloud every aws account needs one, so that
// the functions hold no deployment rights of their own.
func awsRole(name string, a map[string]any) (string, error) {
	role, _ := a["assumeRole"].(string)
	id, _ := a["accountId"].(string)
	switch {
	case role == "":
		return "", fmt.Errorf("accounts: account %q: in the cloud an aws account needs assumeRole, the role deployed into it (docs/aws-accounts.md)", name)
	case strings.HasPrefix(role, "arn:"):
		return role, nil
	case len(id) != 12:
		return "", fmt.Errorf("accounts: account %q: assumeRole %q is not an ARN, so accountId must be the account's 12 digits (quoted)", name, role)
	}
	if !strings.HasPrefix(role, "role/") {
		role = "role/" + role
	}
	return "arn:aws:iam::" + id + ":" + role, nil
}

// Validate reports configuration the stack cannot be built from.
func (p *GennakerStackProps) Validate() error {
	if _, err := eksAccounts(p.Accounts); err != nil {
		return err
	}
	if n := len(p.Accounts) + len(p.Auth); n > maxAccountsBytes {
		return fmt.Errorf("accounts and auth: %d bytes together is more than the %d that fit in the functions' environment", n, maxAccountsBytes)
	}
	if err := p.Authorizer.Validate(); err != nil {
		return err
	}
	have := map[string]bool{}
	for _, f := range p.Functions {
		have[f.Name] = true
	}
	if !have[apiFunction] {
		return fmt.Errorf("no function %s (functions/%s/main.go): the HTTP API sends every request to it", apiFunction, apiFunction)
	}
	for name := range machineEnvironment {
		if _, ok := p.Definitions[name]; !ok {
			return fmt.Errorf("no state machine %s (statemachines/%s.asl.json): the functions are told its ARN", name, name)
		}
	}
	return nil
}

// machineEnvironment names the variables under which the functions find the
// state machines' ARNs.
var machineEnvironment = map[string]string{
	"pipeline": env.PipelineMachineArn,
	"stage":    env.StageMachineArn,
}

// apiFunction serves the HTTP API.
const (
	apiFunction          = "api"
	orchestratorFunction = "orchestrator"
	triggersFunction     = "triggers"
	// notifierFunction delivers notifications from the event bus.
	notifierFunction = "notifier"
)

// functionSettings size the functions gennaker knows; others get the
// Functions construct's defaults.
var functionSettings = map[string]functions.Settings{
	// API Gateway gives up on an HTTP API integration after 30 seconds.
	apiFunction:    {MemorySize: 512, Timeout: awscdk.Duration_Seconds(jsii.Number(29))},
	"orchestrator": {MemorySize: 512, Timeout: awscdk.Duration_Minutes(jsii.Number(1))},
	// A task does one thing, but that thing may be a slow cloud call (a
	// Kubernetes apply, an Auto Scaling group update).
	"tasks": {MemorySize: 1024, Timeout: awscdk.Duration_Minutes(jsii.Number(3))},
	// Matching an event is a few reads; starting its runs a few writes.
	triggersFunction: {MemorySize: 512, Timeout: awscdk.Duration_Minutes(jsii.Number(1))},
	// A notification is retried with growing pauses on 5xx answers and
	// timeouts; the rule retries the invocation too.
	notifierFunction: {MemorySize: 256, Timeout: awscdk.Duration_Minutes(jsii.Number(5))},
	// The tasks of stages acting on Kubernetes clusters: the one function
	// that links client-go.
	"tasks-kubernetes": {MemorySize: 1024, Timeout: awscdk.Duration_Minutes(jsii.Number(3))},
	// The tasks of stages acting on AWS accounts: the one function that
	// links the EC2, Auto Scaling, ELB and Lambda clients.
	"tasks-aws": {MemorySize: 1024, Timeout: awscdk.Duration_Minutes(jsii.Number(3))},
}

// GennakerStack is the deployment.
type GennakerStack struct {
	awscdk.Stack
	Storage       *storage.Storage
	Events        *events.Events
	Functions     *functions.Functions
	Orchestration *orchestration.Orchestration
	API           *api.API
	// Triggers are the event rules and the cron schedules' group, when
	// there is a triggers function.
	Triggers *triggers.Triggers
	// Notifications routes the bus to the notifier function.
	Notifications *notifications.Notifications
}

// NewGennakerStack composes the deployment. It panics on props that do not
// Validate.
func NewGennakerStack(scope constructs.Construct, id string, props *GennakerStackProps) *GennakerStack {
	if err := props.Validate(); err != nil {
		panic("gennaker stack: " + err.Error())
	}
	sp := props.StackProps
	if sp.Description == nil {
		sp.Description = jsii.String("gennaker: serverless continuous delivery (Step Functions, Lambda, DynamoDB, API Gateway, EventBridge)")
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &sp)
	s := &GennakerStack{Stack: stack}

	s.Storage = storage.NewStorage(stack, "Storage", nil)
	s.Events = events.NewEvents(stack, "Events", nil)

	vars := map[string]*string{
		env.ConfigTable:     s.Storage.Config.TableName(),
		env.ExecutionsTable: s.Storage.Executions.TableName(),
		env.RuntimeTable:    s.Storage.Runtime.TableName(),
		env.EventBusName:    s.Events.Bus.EventBusName(),
	}
	s.Functions = functions.NewFunctions(stack, "Functions", &functions.FunctionsProps{
		Sources:      props.Functions,
		Settings:     functionSettings,
		Environment:  vars,
		LogRetention: props.LogRetention,
	})

	machines := map[string]orchestration.MachineProps{}
	for name, def := range props.Definitions {
		machines[name] = orchestration.MachineProps{
			// Fixed names, unique per stack: see the orchestration package
			// documentation for why the machines cannot have generated ones.
			Name:       fmt.Sprintf("%s-%s", *stack.StackName(), name),
			Definition: def,
		}
	}
	fns := map[string]awslambda.IFunction{}
	for name, fn := range s.Functions.All() {
		fns[name] = fn
	}
	s.Orchestration = orchestration.NewOrchestration(stack, "Orchestration", &orchestration.OrchestrationProps{
		Machines:     machines,
		Functions:    fns,
		LogRetention: props.LogRetention,
	})

	// Every function runs the shared platform code, which may read and
	// write the store, start and drive pipeline runs, and publish events:
	// the api triggers pipelines and answers manual judgments, the
	// orchestrator and tasks run them, a trigger function starts them.
	machineEnv := map[string]*string{}
	for name, v := range machineEnvironment {
		machineEnv[v] = s.Orchestration.Arn(name)
	}
	// A provider family's stage machine ("stage-kubernetes") runs the
	// stages whose tasks run in that family's function.
	for name := range props.Definitions {
		if family, ok := strings.CutPrefix(name, "stage-"); ok {
			machineEnv[env.StageFamilyMachineArn(family)] = s.Orchestration.Arn(name)
		}
	}
	accounts, err := eksAccounts(props.Accounts)
	if err != nil {
		panic(err) // Validate reports it first
	}
	if props.Accounts != "" {
		machineEnv[env.Accounts] = jsii.String(props.Accounts)
	}
	if props.Auth != "" {
		// Every function that builds the platform applies it: the api to
		// requests, the orchestrator and tasks before each stage starts.
		machineEnv[env.Auth] = jsii.String(props.Auth)
	}
	s.Functions.AddEnvironment(machineEnv)
	for _, name := range s.Functions.Names() {
		fn, _ := s.Functions.Get(name)
		s.Storage.GrantData(fn)
		if name == notifierFunction {
			// It reads runs, records notifications and sends them: it
			// neither drives runs nor deploys.
			continue
		}
		s.Events.GrantPut(fn)
		s.Orchestration.GrantControl(fn.Role())
		grantAccounts(stack, fn, accounts)
	}

	// A run stored without a state machine (its trigger died between the
	// two writes) is found and started by a sweep; machine names are
	// deterministic, so the sweep never starts a run twice.
	if orch, ok := s.Functions.Get(orchestratorFunction); ok {
		s.Events.Schedule("Reconcile", awscdk.Duration_Minutes(jsii.Number(5)), orch, map[string]any{"action": "reconcile"})
	}

	// ECR pushes and CodeCommit commits reach the triggers function by
	// rules; cron triggers by schedules the api function keeps as it saves
	// pipelines.
	if fn, ok := s.Functions.Get(triggersFunction); ok {
		s.Triggers = triggers.NewTriggers(stack, "Triggers", &triggers.TriggersProps{Function: fn})
		apiFn, _ := s.Functions.Get(apiFunction)
		s.Triggers.GrantSchedules(apiFn, env.ScheduleGroup, env.ScheduleRoleArn, env.TriggersFunctionArn)
	}
	// Every lifecycle event reaches the notifier through a rule on the bus.
	if notifier, ok := s.Functions.Get(notifierFunction); ok {
		s.Notifications = notifications.NewNotifications(stack, "Notifications", &notifications.NotificationsProps{
			Bus: s.Events.Bus, Notifier: notifier, SESIdentity: props.SESIdentity, Topics: props.NotificationTopics,
		})
		if from := notifications.EmailFrom(props.SESIdentity); from != "" {
			notifier.AddEnvironment(jsii.String(env.EmailFrom), jsii.String(from), nil)
		}
	}

	handler, _ := s.Functions.Get(apiFunction)
	s.API = api.NewAPI(stack, "Api", &api.APIProps{
		Handler:      handler,
		Authorizer:   props.Authorizer,
		Throttle:     props.Throttle,
		LogRetention: props.LogRetention,
	})

	output := func(id string, value *string, desc string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(desc)})
	}
	output("ApiUrl", s.API.URL(), "Base URL of the Gate-compatible API: point the gennaker CLI and spin here")
	output("EventBusName", s.Events.Bus.EventBusName(), "EventBridge bus gennaker publishes its own events on")
	output("ConfigTableName", s.Storage.Config.TableName(), "DynamoDB table of applications and pipeline configurations")
	output("ExecutionsTableName", s.Storage.Executions.TableName(), "DynamoDB table of executions")
	output("RuntimeTableName", s.Storage.Runtime.TableName(), "DynamoDB table of leases and records")
	names := s.Orchestration.Names()
	sort.Strings(names)
	for _, name := range names {
		sm, _ := s.Orchestration.StateMachine(name)
		output(pascal(name)+"StateMachineArn", sm.StateMachineArn(),
			fmt.Sprintf("Step Functions state machine of statemachines/%s.asl.json", name))
	}
	return s
}

func pascal(name string) string {
	out := []rune{}
	upper := true
	for _, r := range name {
		if r == '-' || r == '_' {
			upper = true
			continue
		}
		if upper && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		upper = false
		out = append(out, r)
	}
	return string(out)
}

// grantAccounts lets fn find each account's EKS cluster and assume the
// account's role, if it names one.
func grantAccounts(stack awscdk.Stack, fn awslambda.Function, accounts []eksAccount) {
	for _, a := range accounts {
		cluster, region := a.cluster, a.region
		if cluster == "" { // an aws account: its role only
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("sts:AssumeRole"),
				Resources: jsii.Strings(a.assumeRole),
			}))
			continue
		}
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("eks:DescribeCluster"),
			Resources: jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("eks"), Region: jsii.String(region), Resource: jsii.String("cluster"), ResourceName: jsii.String(cluster),
			})),
		}))
		if role := a.assumeRole; role != "" {
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions:   jsii.Strings("sts:AssumeRole"),
				Resources: jsii.Strings(role),
			}))
		}
	}
}
