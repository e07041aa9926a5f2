// Package functions is the CDK construct for gennaker's Lambda functions: one
// per directory under functions/, each already built for linux/arm64 (see
// infra/gobuild) and packaged as an asset.
//
// Every function runs on provided.al2023 on arm64 with X-Ray tracing active
// and writes JSON logs to a log group of its own with a retention. Each has
// a role of its own that starts with no permissions but writing its log
// group and sending traces; the stack grants each one exactly what it uses.
//
// The functions read their configuration from the environment
// (FunctionsProps.Environment, AddEnvironment); the stack decides what that
// is.
package functions

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Source is one function to deploy.
type Source struct {
	// Name is the function's directory under functions/.
	Name string
	// AssetDir holds only the function's executable, "bootstrap".
	AssetDir string
}

// Settings size one function.
type Settings struct {
	// MemorySize in MiB. On arm64 Lambda, CPU grows with memory.
	MemorySize float64
	// Timeout of one invocation.
	Timeout awscdk.Duration
}

// FunctionsProps configures Functions.
type FunctionsProps struct {
	// Sources are the functions, at least one.
	Sources []Source
	// Settings by function name; a function not listed gets Defaults.
	Settings map[string]Settings
	// Defaults size every function not in Settings. Default 512 MiB and
	// one minute.
	Defaults Settings
	// Environment is set on every function (AddEnvironment adds more).
	Environment map[string]*string
	// LogRetention of the functions' log groups. Default one month.
	LogRetention awslogs.RetentionDays
}

// Functions is the set of gennaker's Lambda functions.
type Functions struct {
	constructs.Construct
	byName map[string]awslambda.Function
	names  []string
}

// NewFunctions defines one function, role and log group per source.
func NewFunctions(scope constructs.Construct, id string, props *FunctionsProps) *Functions {
	if props == nil || len(props.Sources) == 0 {
		panic("functions: no function sources; functions/<name>/main.go defines one each")
	}
	this := constructs.NewConstruct(scope, jsii.String(id))
	defaults := props.Defaults
	if defaults.MemorySize == 0 {
		defaults.MemorySize = 512
	}
	if defaults.Timeout == nil {
		defaults.Timeout = awscdk.Duration_Minutes(jsii.Number(1))
	}
	retention := props.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_ONE_MONTH
	}
	f := &Functions{Construct: this, byName: map[string]awslambda.Function{}}
	for _, src := range props.Sources {
		if _, dup := f.byName[src.Name]; dup {
			panic(fmt.Sprintf("functions: function %q given twice", src.Name))
		}
		settings, ok := props.Settings[src.Name]
		if !ok {
			settings = defaults
		}
		if settings.MemorySize == 0 {
			settings.MemorySize = defaults.MemorySize
		}
		if settings.Timeout == nil {
			settings.Timeout = defaults.Timeout
		}
		f.byName[src.Name] = newFunction(this, src, settings, props.Environment, retention)
		f.names = append(f.names, src.Name)
	}
	sort.Strings(f.names)
	return f
}

func newFunction(scope constructs.Construct, src Source, settings Settings, env map[string]*string, retention awslogs.RetentionDays) awslambda.Function {
	unit := constructs.NewConstruct(scope, jsii.String(constructID(src.Name)))
	logs := awslogs.NewLogGroup(unit, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention: retention,
	})
	// A role of our own instead of the default one, which would carry the
	// AWS-managed AWSLambdaBasicExecutionRole (logs on every log group):
	// this role may write only its own log group.
	role := awsiam.NewRole(unit, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String(fmt.Sprintf("gennaker function %s", src.Name)),
	})
	logs.GrantWrite(role)
	environment := map[string]*string{}
	for k, v := range env {
		environment[k] = v
	}
	fn := awslambda.NewFunction(unit, jsii.String("Function"), &awslambda.FunctionProps{
		Description:           jsii.String(fmt.Sprintf("gennaker %s (functions/%s)", src.Name, src.Name)),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  awslambda.Code_FromAsset(jsii.String(src.AssetDir), nil),
		MemorySize:            jsii.Number(settings.MemorySize),
		Timeout:               settings.Timeout,
		Tracing:               awslambda.Tracing_ACTIVE,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:      awslambda.SystemLogLevel_INFO,
		LogGroup:              logs,
		Role:                  role,
		Environment:           &environment,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level " +
			"permissions, so active tracing needs Resource '*' for exactly those two actions."),
		AppliesTo: &[]interface{}{"Resource::*"},
	}}, jsii.Bool(true))
	return fn
}

// constructID turns a directory name into a construct id: "slack-notify" →
// "SlackNotify".
func constructID(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// Names returns the functions' names, sorted.
func (f *Functions) Names() []string { return append([]string(nil), f.names...) }

// Get returns the function built from functions/<name>.
func (f *Functions) Get(name string) (awslambda.Function, bool) {
	fn, ok := f.byName[name]
	return fn, ok
}

// All returns every function by name.
func (f *Functions) All() map[string]awslambda.Function {
	out := make(map[string]awslambda.Function, len(f.byName))
	for k, v := range f.byName {
		out[k] = v
	}
	return out
}

// AddEnvironment sets variables on every function.
func (f *Functions) AddEnvironment(env map[string]*string) {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, name := range f.names {
		for _, k := range keys {
			f.byName[name].AddEnvironment(jsii.String(k), env[k], nil)
		}
	}
}

// Grant applies grant to every function's role.
func (f *Functions) Grant(grant func(awsiam.IGrantable)) {
	for _, name := range f.names {
		grant(f.byName[name])
	}
}
