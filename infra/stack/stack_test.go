package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/gennaker/gennaker/infra/constructs/api"
	"github.com/gennaker/gennaker/infra/constructs/functions"
	"github.com/gennaker/gennaker/infra/gobuild"
	"github.com/gennaker/gennaker/infra/internal/definition"
	"github.com/gennaker/gennaker/infra/stack"
	"github.com/gennaker/gennaker/shared/runtime/env"
	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
	"github.com/gennaker/gennaker/shared/store/dynamodb"
	"github.com/gennaker/gennaker/statemachines"
)

// Synthesizing starts a node process and loads the whole CDK into it, so
// every test shares one app holding the stack twice: once with each kind of
// authorizer.
var (
	once     sync.Once
	synth    *synthesized
	synErr   error
	reported sync.Once
)

type synthesized struct {
	root      string
	functions []string
	stacks    map[string]*stackUnderTest // by authorizer kind
}

type stackUnderTest struct {
	name      string
	template  template
	nagErrors []string
}

// template is a synthesized CloudFormation template.
type template struct {
	Resources map[string]resource `json:"Resources"`
	Outputs   map[string]any      `json:"Outputs"`
}

type resource struct {
	Type                string         `json:"Type"`
	Properties          map[string]any `json:"Properties"`
	DependsOn           any            `json:"DependsOn"`
	DeletionPolicy      string         `json:"DeletionPolicy"`
	UpdateReplacePolicy string         `json:"UpdateReplacePolicy"`
}

func (t template) ofType(typ string) map[string]resource {
	out := map[string]resource{}
	for id, r := range t.Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

func synthesize(t *testing.T) *synthesized {
	t.Helper()
	once.Do(func() { synth, synErr = doSynthesize() })
	if synErr != nil {
		full := false
		reported.Do(func() { full = true })
		if full {
			t.Fatalf("synthesize: %v", synErr)
		}
		t.Fatal("synthesize failed; the first failing test says why")
	}
	return synth
}

func doSynthesize() (s *synthesized, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	names, err := gobuild.Discover(root)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "gennaker-stack-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	// Real builds, as the synth does them: a function that does not build
	// fails every test here, naming it.
	built, err := gobuild.Build(context.Background(), root, work, names)
	if err != nil {
		return nil, err
	}
	var sources []functions.Source
	for _, b := range built {
		sources = append(sources, functions.Source{Name: b.Name, AssetDir: b.AssetDir})
	}
	outdir, err := os.MkdirTemp("", "gennaker-stack-test-out-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(outdir)
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	authorizers := map[string]api.AuthorizerProps{
		"iam": {Kind: api.IAM},
		"jwt": {Kind: api.JWT, JwtIssuer: "https://issuer.example.com", JwtAudience: []string{"gennaker"}},
	}
	stacks := map[string]*stack.GennakerStack{}
	for kind, auth := range authorizers {
		name := "Gennaker"
		if kind == "jwt" {
			name = "GennakerJwt"
		}
		props := &stack.GennakerStackProps{
			Functions:   sources,
			Definitions: statemachines.Definitions(),
			Authorizer:  auth,
		}
		if kind == "jwt" {
			props.Accounts = eksAccountsYAML
			props.Auth = "admins: [platform]\njwt: {userClaim: email, rolesClaim: 'cognito:groups'}\n"
			props.SESIdentity = "deploys@example.com"
			props.NotificationTopics = []string{"arn:aws:sns:us-east-1:123456789012:deploys"}
		}
		stacks[kind] = stack.NewGennakerStack(app, name, props)
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Reports: jsii.Bool(false)}), nil)

	s = &synthesized{root: root, functions: names, stacks: map[string]*stackUnderTest{}}
	for kind, st := range stacks {
		// TestNoDependencyCycles reports a cycle by itself, in fewer words.
		tpl := assertions.Template_FromStack(st.Stack, &assertions.TemplateParsingOptions{SkipCyclicalDependenciesCheck: jsii.Bool(true)})
		raw, err := json.Marshal(tpl.ToJSON())
		if err != nil {
			return nil, err
		}
		sut := &stackUnderTest{name: *st.StackName()}
		if err := json.Unmarshal(raw, &sut.template); err != nil {
			return nil, err
		}
		found := assertions.Annotations_FromStack(st.Stack).FindError(jsii.String("*"),
			assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
		for _, m := range *found {
			sut.nagErrors = append(sut.nagErrors, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
		}
		s.stacks[kind] = sut
	}
	return s, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// eachStack runs f on every synthesized stack as a subtest.
func eachStack(t *testing.T, f func(t *testing.T, s *stackUnderTest)) {
	t.Helper()
	syn := synthesize(t)
	kinds := make([]string, 0, len(syn.stacks))
	for k := range syn.stacks {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Run(syn.stacks[k].name, func(t *testing.T) { f(t, syn.stacks[k]) })
	}
}

// functionLogicalIDs maps each function's directory name to its logical id,
// found by the description the functions construct gives it.
func functionLogicalIDs(t *testing.T, tpl template) map[string]string {
	t.Helper()
	desc := regexp.MustCompile(`^gennaker (\S+) \(functions/(\S+)\)$`)
	out := map[string]string{}
	for id, r := range tpl.ofType("AWS::Lambda::Function") {
		d, _ := r.Properties["Description"].(string)
		m := desc.FindStringSubmatch(d)
		if m == nil {
			t.Fatalf("function %s has description %q, not one the functions construct gives", id, d)
		}
		out[m[2]] = id
	}
	return out
}

func TestOneFunctionPerDirectory(t *testing.T) {
	syn := synthesize(t)
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		ids := functionLogicalIDs(t, s.template)
		var got []string
		for name := range ids {
			got = append(got, name)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, syn.functions) {
			t.Fatalf("Lambda functions in the template = %v, want one per functions/*/main.go: %v", got, syn.functions)
		}
	})
}

func TestEveryFunctionIsArm64OnProvidedAL2023WithActiveTracing(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		fns := s.template.ofType("AWS::Lambda::Function")
		if len(fns) == 0 {
			t.Fatal("no Lambda functions in the template")
		}
		for id, r := range fns {
			p := r.Properties
			if got := p["Architectures"]; !reflect.DeepEqual(got, []any{"arm64"}) {
				t.Errorf("%s: Architectures = %v, want [arm64]", id, got)
			}
			if got := p["Runtime"]; got != "provided.al2023" {
				t.Errorf("%s: Runtime = %v, want provided.al2023", id, got)
			}
			if got := p["Handler"]; got != "bootstrap" {
				t.Errorf("%s: Handler = %v, want bootstrap", id, got)
			}
			if got := dig(p, "TracingConfig", "Mode"); got != "Active" {
				t.Errorf("%s: TracingConfig.Mode = %v, want Active", id, got)
			}
			if got := dig(p, "LoggingConfig", "LogFormat"); got != "JSON" {
				t.Errorf("%s: LoggingConfig.LogFormat = %v, want JSON", id, got)
			}
			group := refOf(dig(p, "LoggingConfig", "LogGroup"))
			if lg, ok := s.template.Resources[group]; !ok || lg.Type != "AWS::Logs::LogGroup" || lg.Properties["RetentionInDays"] == nil {
				t.Errorf("%s: logs to %q, want a log group of the stack with a retention", id, group)
			}
			if m, _ := p["MemorySize"].(float64); m < 128 {
				t.Errorf("%s: MemorySize = %v", id, p["MemorySize"])
			}
			if to, _ := p["Timeout"].(float64); to < 1 || to > 900 {
				t.Errorf("%s: Timeout = %v", id, p["Timeout"])
			}
		}
	})
}

// TestFunctionEnvironment checks every function gets what shared/runtime/lambda
// reads at cold start, and that each variable names the right resource.
func TestFunctionEnvironment(t *testing.T) {
	base := []string{env.ConfigTable, env.EventBusName, env.ExecutionsTable,
		env.PipelineMachineArn, env.RuntimeTable, env.StageMachineArn}
	for _, f := range statemachines.Families {
		base = append(base, env.StageFamilyMachineArn(f))
	}
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		want := append([]string(nil), base...)
		if s.name == "GennakerJwt" { // the stack given deployment accounts and an identity configuration
			want = append(want, env.Accounts, env.Auth)
		}
		sort.Strings(want)
		machines := machineNames(t, s.template)
		// The api function saves pipelines, and with them their cron
		// triggers' schedules.
		apiWant := append(append([]string(nil), want...), env.ScheduleGroup, env.ScheduleRoleArn, env.TriggersFunctionArn)
		sort.Strings(apiWant)
		apiID := functionLogicalIDs(t, s.template)["api"]
		notifier := functionLogicalIDs(t, s.template)["notifier"]
		for id, r := range s.template.ofType("AWS::Lambda::Function") {
			vars, _ := dig(r.Properties, "Environment", "Variables").(map[string]any)
			var got []string
			for k := range vars {
				// The notifier sends email from the stack's SES identity.
				if k == env.EmailFrom && id == notifier && s.name == "GennakerJwt" {
					continue
				}
				got = append(got, k)
			}
			sort.Strings(got)
			if id == apiID && !reflect.DeepEqual(got, apiWant) {
				t.Errorf("%s: environment %v, want %v", id, got, apiWant)
			} else if id != apiID && !reflect.DeepEqual(got, want) {
				t.Errorf("%s: environment %v, want %v", id, got, want)
			}
			cfg, err := lambdaruntime.ConfigFromEnv(func(k string) string { return flatten(vars[k]) })
			if err != nil {
				t.Errorf("%s: shared/runtime/lambda cannot start from this environment: %v", id, err)
				continue
			}
			tables := map[string]string{"config": cfg.Tables.Config, "executions": cfg.Tables.Executions, "runtime": cfg.Tables.Runtime}
			for table, got := range tables {
				if want := "${" + pinnedTables[table] + "}"; got != want {
					t.Errorf("%s: the %s table is %s, want Ref %s", id, table, got, want)
				}
			}
			if bus := strings.Trim(cfg.EventBus, "${}"); s.template.Resources[bus].Type != "AWS::Events::EventBus" {
				t.Errorf("%s: %s = %s, want the bus's name", id, env.EventBusName, cfg.EventBus)
			}
			arn := "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:"
			if got, want := cfg.Machines.Pipeline, arn+machines["pipeline"]; got != want {
				t.Errorf("%s: pipeline machine ARN = %s, want %s (built from the machine's own name)", id, got, want)
			}
			if got, want := cfg.Machines.Stage, arn+machines["stage"]; got != want {
				t.Errorf("%s: stage machine ARN = %s, want %s (built from the machine's own name)", id, got, want)
			}
			for _, f := range statemachines.Families {
				if got, want := cfg.Machines.Families[f], arn+machines[statemachines.FamilyMachine(f)]; got != want {
					t.Errorf("%s: %s stage machine ARN = %s, want %s", id, f, got, want)
				}
			}
		}
	})
}

// machineNames maps each state machine's short name ("pipeline") to its
// StateMachineName in the template.
func machineNames(t *testing.T, tpl template) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, r := range tpl.ofType("AWS::StepFunctions::StateMachine") {
		physical, _ := r.Properties["StateMachineName"].(string)
		_, short, ok := strings.Cut(physical, "-")
		if !ok {
			t.Fatalf("%s: StateMachineName %q is not <stack>-<machine>", id, physical)
		}
		if _, ok := statemachines.Definitions()[short]; !ok {
			t.Fatalf("%s: StateMachineName %q names no file in statemachines/", id, physical)
		}
		out[short] = physical
	}
	return out
}

// TestStateMachinesCarryTheASL compares each machine's definition, with
// the substitutions made, to its file in statemachines/ with the same
// substitutions made, and checks each substitution is the function its
// name says.
func TestStateMachinesCarryTheASL(t *testing.T) {
	defs := statemachines.Definitions()
	placeholder := regexp.MustCompile(`\$\{([A-Za-z0-9]+)\}`)
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		fnIDs := functionLogicalIDs(t, s.template)
		seen := map[string]bool{}
		for id, r := range s.template.ofType("AWS::StepFunctions::StateMachine") {
			p := r.Properties
			physical, _ := p["StateMachineName"].(string)
			short := strings.TrimPrefix(physical, s.name+"-")
			file, ok := defs[short]
			if !ok {
				t.Fatalf("%s: StateMachineName %q is not %s-<a file in statemachines/>", id, physical, s.name)
			}
			seen[short] = true
			deployed, ok := p["DefinitionString"].(string)
			if !ok {
				t.Fatalf("%s: DefinitionString is %T, want the ASL as a plain string", id, p["DefinitionString"])
			}
			subs, _ := p["DefinitionSubstitutions"].(map[string]any)
			resolved := map[string]string{}
			for name, v := range subs {
				target := getAttOf(v, "Arn")
				fn, isFn := definition.FunctionName(name)
				want := fnIDs[fn]
				if !isFn || target == "" || target != want {
					t.Errorf("%s: substitution %s = %v, want the Arn of functions/%s (%s)", id, name, v, fn, want)
				}
				resolved[name] = "resolved:" + target
			}
			substitute := func(asl string) map[string]any {
				t.Helper()
				out := placeholder.ReplaceAllStringFunc(asl, func(m string) string {
					name := placeholder.FindStringSubmatch(m)[1]
					v, ok := resolved[name]
					if !ok {
						t.Errorf("%s: ${%s} has no substitution", id, name)
					}
					return v
				})
				var doc map[string]any
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatalf("%s: definition does not parse after substitution: %v", id, err)
				}
				return doc
			}
			got, want := substitute(deployed), substitute(string(file))
			if !reflect.DeepEqual(got["States"], want["States"]) || got["StartAt"] != want["StartAt"] {
				t.Errorf("%s: deployed states differ from statemachines/%s.asl.json", id, short)
			}
			if got := p["StateMachineType"]; got != "STANDARD" {
				t.Errorf("%s: StateMachineType = %v, want STANDARD", id, got)
			}
			if got := dig(p, "TracingConfiguration", "Enabled"); got != true {
				t.Errorf("%s: TracingConfiguration.Enabled = %v, want true", id, got)
			}
			if dig(p, "LoggingConfiguration", "Level") != "ALL" || dig(p, "LoggingConfiguration", "IncludeExecutionData") != true {
				t.Errorf("%s: LoggingConfiguration = %v, want level ALL with execution data", id, p["LoggingConfiguration"])
			}
		}
		for name := range defs {
			if !seen[name] {
				t.Errorf("statemachines/%s.asl.json has no state machine", name)
			}
		}
	})
}

// pinnedTables are the tables' logical ids. CloudFormation replaces a
// resource whose logical id changes, and for a table that means a new empty
// table (the old one is retained, orphaned). If a refactor changes one of
// these, keep the old id with OverrideLogicalId instead of editing this list.
var pinnedTables = map[string]string{
	"config":     "StorageConfigC044A3DD",
	"executions": "StorageExecutions50E2CF2D",
	"runtime":    "StorageRuntime9D0CF844",
}

func TestTableLogicalIDsArePinned(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		var got, want []string
		for id := range s.template.ofType("AWS::DynamoDB::Table") {
			got = append(got, id)
		}
		for _, id := range pinnedTables {
			want = append(want, id)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("table logical ids = %v, want %v: a changed logical id would replace the table on deploy", got, want)
		}
	})
}

func TestTablesAreRecoverableProtectedAndEncrypted(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		for id, r := range s.template.ofType("AWS::DynamoDB::Table") {
			p := r.Properties
			if got := dig(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"); got != true {
				t.Errorf("%s: point-in-time recovery = %v, want true", id, got)
			}
			if got := p["DeletionProtectionEnabled"]; got != true {
				t.Errorf("%s: DeletionProtectionEnabled = %v, want true", id, got)
			}
			if got := dig(p, "SSESpecification", "SSEEnabled"); got != true {
				t.Errorf("%s: SSESpecification.SSEEnabled = %v, want true (KMS)", id, got)
			}
			if r.DeletionPolicy != "Retain" || r.UpdateReplacePolicy != "Retain" {
				t.Errorf("%s: DeletionPolicy %q, UpdateReplacePolicy %q, want Retain", id, r.DeletionPolicy, r.UpdateReplacePolicy)
			}
		}
	})
}

// TestTablesMatchTheStore compares the tables with the ones the DynamoDB
// store creates for itself (dynamodb.TableInputs): keys, attributes,
// indexes, billing and time to live.
func TestTablesMatchTheStore(t *testing.T) {
	inputs := dynamodb.TableInputs(dynamodb.TablesWithPrefix(""))
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		for _, in := range inputs {
			name := *in.TableName
			r, ok := s.template.Resources[pinnedTables[name]]
			if !ok {
				t.Errorf("no table %s (logical id %s)", name, pinnedTables[name])
				continue
			}
			p := r.Properties
			if got := p["BillingMode"]; got != string(in.BillingMode) {
				t.Errorf("%s: BillingMode = %v, want %s", name, got, in.BillingMode)
			}
			var wantAttrs, wantKeys []string
			for _, a := range in.AttributeDefinitions {
				wantAttrs = append(wantAttrs, *a.AttributeName+":"+string(a.AttributeType))
			}
			for _, k := range in.KeySchema {
				wantKeys = append(wantKeys, *k.AttributeName+":"+string(k.KeyType))
			}
			sameSet(t, name+" attributes", pairs(p["AttributeDefinitions"], "AttributeName", "AttributeType"), wantAttrs)
			sameList(t, name+" key schema", pairs(p["KeySchema"], "AttributeName", "KeyType"), wantKeys)
			var wantIndexes, gotIndexes []string
			for _, g := range in.GlobalSecondaryIndexes {
				var keys []string
				for _, k := range g.KeySchema {
					keys = append(keys, *k.AttributeName+":"+string(k.KeyType))
				}
				wantIndexes = append(wantIndexes, fmt.Sprintf("%s %v %s", *g.IndexName, keys, g.Projection.ProjectionType))
			}
			gsis, _ := p["GlobalSecondaryIndexes"].([]any)
			for _, g := range gsis {
				g := g.(map[string]any)
				gotIndexes = append(gotIndexes, fmt.Sprintf("%s %v %s", g["IndexName"], pairs(g["KeySchema"], "AttributeName", "KeyType"), dig(g, "Projection", "ProjectionType")))
			}
			sameSet(t, name+" indexes", gotIndexes, wantIndexes)
			ttl := dig(p, "TimeToLiveSpecification", "AttributeName")
			if name == "runtime" {
				if ttl != dynamodb.TimeToLiveAttribute || dig(p, "TimeToLiveSpecification", "Enabled") != true {
					t.Errorf("%s: time to live = %v, want enabled on %q", name, p["TimeToLiveSpecification"], dynamodb.TimeToLiveAttribute)
				}
			} else if ttl != nil {
				t.Errorf("%s: time to live on %v; the store expires only runtime items", name, ttl)
			}
		}
	})
}

// resourceStarActions are the only actions that may be granted on
// Resource "*": each supports no resource-level permissions.
var resourceStarActions = map[string]bool{
	"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true,
	"xray:GetSamplingRules": true, "xray:GetSamplingTargets": true,
	"logs:CreateLogDelivery": true, "logs:GetLogDelivery": true, "logs:UpdateLogDelivery": true,
	"logs:DeleteLogDelivery": true, "logs:ListLogDeliveries": true, "logs:PutResourcePolicy": true,
	"logs:DescribeResourcePolicies": true, "logs:DescribeLogGroups": true,
	"states:SendTaskSuccess": true, "states:SendTaskFailure": true, "states:SendTaskHeartbeat": true,
}

func TestNoStatementGrantsEverythingOnEverything(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		statements := 0
		for id, st := range policyStatements(s.template) {
			for i, stmt := range st {
				statements++
				if stmt["Effect"] != "Allow" {
					continue
				}
				if stmt["NotAction"] != nil || stmt["NotResource"] != nil {
					t.Errorf("%s statement %d: NotAction/NotResource grant almost everything", id, i)
				}
				actions := strs(stmt["Action"])
				resources := stmt["Resource"]
				starResource := slices.Contains(strs(resources), "*")
				for _, a := range actions {
					if strings.Contains(a, "*") {
						t.Errorf("%s statement %d: wildcard action %q", id, i, a)
					}
					if starResource && !resourceStarActions[a] {
						t.Errorf("%s statement %d: %s on Resource \"*\"; it supports resource-level permissions, so name the resources", id, i, a)
					}
				}
			}
		}
		if statements == 0 {
			t.Fatal("found no IAM statements")
		}
	})
}

// policyStatements returns the statements of every identity policy in the
// template, by the logical id holding them.
func policyStatements(tpl template) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	add := func(id string, doc any) {
		for _, s := range asList(dig(doc, "Statement")) {
			out[id] = append(out[id], s.(map[string]any))
		}
	}
	for id, r := range tpl.Resources {
		switch r.Type {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			add(id, r.Properties["PolicyDocument"])
		case "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group":
			for _, p := range asList(r.Properties["Policies"]) {
				add(id, dig(p, "PolicyDocument"))
			}
			if m := r.Properties["ManagedPolicyArns"]; m != nil {
				out[id] = append(out[id], map[string]any{"Effect": "Allow", "Action": "managed-policy", "Resource": "managed"})
			}
		}
	}
	return out
}

func TestStateMachineRolesInvokeOnlyTheirFunctions(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		fnIDs := functionLogicalIDs(t, s.template)
		policies := policyStatements(s.template)
		for id, r := range s.template.ofType("AWS::StepFunctions::StateMachine") {
			role := getAttOf(r.Properties["RoleArn"], "Arn")
			physical := r.Properties["StateMachineName"].(string)
			var invokes, starts []string
			for pid, res := range s.template.ofType("AWS::IAM::Policy") {
				if !slices.Contains(refs(res.Properties["Roles"]), role) {
					continue
				}
				for _, stmt := range policies[pid] {
					for _, a := range strs(stmt["Action"]) {
						for _, r := range asList(stmt["Resource"]) {
							switch a {
							case "lambda:InvokeFunction":
								invokes = append(invokes, getAttOf(r, "Arn"))
							case "states:StartExecution":
								starts = append(starts, flatten(r))
							}
						}
					}
				}
			}
			var want []string
			for sub := range r.Properties["DefinitionSubstitutions"].(map[string]any) {
				fn, _ := definition.FunctionName(sub)
				want = append(want, fnIDs[fn])
			}
			sameSet(t, physical+" invokes", invokes, want)
			// A machine may start runs of itself (the stage machine continues
			// long waits in a fresh history) and of nothing else.
			var wantStarts []string
			short := strings.TrimPrefix(physical, s.name+"-")
			needs, err := definition.Analyze(statemachines.Definitions()[short])
			if err != nil {
				t.Fatal(err)
			}
			if needs.StartsItself {
				wantStarts = []string{"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + physical}
			}
			if short == "stage" && !needs.StartsItself {
				t.Errorf("the stage machine no longer starts runs of itself; ARCHITECTURE.md §4 says long waits continue in a fresh run")
			}
			sameSet(t, id+" ("+physical+") starts", starts, wantStarts)
		}
	})
}

func TestNagAwsSolutionsPasses(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		if len(s.nagErrors) > 0 {
			t.Fatalf("cdk-nag AwsSolutions errors:\n%s", strings.Join(s.nagErrors, "\n"))
		}
	})
}

func TestNoDependencyCycles(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		deps := map[string][]string{}
		for id, r := range s.template.Resources {
			for _, d := range strs(r.DependsOn) {
				deps[id] = append(deps[id], d)
			}
			collectRefs(r.Properties, func(target string) {
				if _, ok := s.template.Resources[target]; ok {
					deps[id] = append(deps[id], target)
				}
			})
		}
		const (
			unseen = iota
			visiting
			done
		)
		state := map[string]int{}
		var visit func(id string, path []string)
		visit = func(id string, path []string) {
			switch state[id] {
			case visiting:
				t.Fatalf("dependency cycle: %s → %s", strings.Join(path, " → "), id)
			case done:
				return
			}
			state[id] = visiting
			for _, d := range deps[id] {
				visit(d, append(path, id))
			}
			state[id] = done
		}
		for id := range s.template.Resources {
			visit(id, nil)
		}
	})
}

func TestApi(t *testing.T) {
	syn := synthesize(t)
	for kind, wantAuth := range map[string]string{"iam": "AWS_IAM", "jwt": "JWT"} {
		s := syn.stacks[kind]
		t.Run(s.name, func(t *testing.T) {
			apiFn := functionLogicalIDs(t, s.template)["api"]
			routes := s.template.ofType("AWS::ApiGatewayV2::Route")
			if len(routes) == 0 {
				t.Fatal("no routes")
			}
			keys := map[string]bool{}
			for id, r := range routes {
				key, _ := r.Properties["RouteKey"].(string)
				keys[key] = true
				want := wantAuth
				if slices.Contains(api.UIRouteKeys, key) || slices.Contains(api.WebhookRouteKeys, key) {
					want = "NONE" // the web UI's static page and assets; webhook deliveries, verified by the API
				}
				if got := r.Properties["AuthorizationType"]; got != want {
					t.Errorf("route %s (%s): AuthorizationType = %v, want %s", id, key, got, want)
				}
			}
			for _, key := range append(append([]string{"$default"}, api.UIRouteKeys...), api.WebhookRouteKeys...) {
				if !keys[key] {
					t.Errorf("no route %q; routes: %v", key, keys)
				}
			}
			for id, r := range s.template.ofType("AWS::ApiGatewayV2::Integration") {
				if got := getAttOf(r.Properties["IntegrationUri"], "Arn"); got != apiFn {
					t.Errorf("integration %s goes to %q, want the api function %s", id, got, apiFn)
				}
				if got := r.Properties["PayloadFormatVersion"]; got != "2.0" {
					t.Errorf("integration %s: PayloadFormatVersion = %v, want 2.0", id, got)
				}
			}
			authorizers := s.template.ofType("AWS::ApiGatewayV2::Authorizer")
			if kind == "jwt" {
				if len(authorizers) != 1 {
					t.Fatalf("%d authorizers, want one JWT authorizer", len(authorizers))
				}
				for _, a := range authorizers {
					if dig(a.Properties, "JwtConfiguration", "Issuer") != "https://issuer.example.com" {
						t.Errorf("JWT authorizer configuration = %v", a.Properties["JwtConfiguration"])
					}
				}
			} else if len(authorizers) != 0 {
				t.Errorf("IAM authorization needs no authorizer resource, found %d", len(authorizers))
			}
			stages := s.template.ofType("AWS::ApiGatewayV2::Stage")
			if len(stages) != 1 {
				t.Fatalf("%d stages, want 1", len(stages))
			}
			for id, st := range stages {
				if dig(st.Properties, "DefaultRouteSettings", "ThrottlingRateLimit") == nil || dig(st.Properties, "DefaultRouteSettings", "ThrottlingBurstLimit") == nil {
					t.Errorf("stage %s is not throttled: %v", id, st.Properties["DefaultRouteSettings"])
				}
				dest := getAttOf(dig(st.Properties, "AccessLogSettings", "DestinationArn"), "Arn")
				if s.template.Resources[dest].Type != "AWS::Logs::LogGroup" || dig(st.Properties, "AccessLogSettings", "Format") == nil {
					t.Errorf("stage %s access logs = %v, want a format and a log group", id, st.Properties["AccessLogSettings"])
				}
			}
			if _, ok := s.template.Outputs["ApiUrl"]; !ok {
				t.Error("no ApiUrl output")
			}
		})
	}
}

func TestPropsValidate(t *testing.T) {
	ok := []functions.Source{{Name: "api"}}
	defs := statemachines.Definitions()
	tests := []struct {
		name  string
		props stack.GennakerStackProps
		want  string
	}{
		{"jwt without issuer", stack.GennakerStackProps{Functions: ok, Definitions: defs, Authorizer: api.AuthorizerProps{Kind: api.JWT, JwtAudience: []string{"a"}}}, "needs a JWT issuer"},
		{"unknown authorizer", stack.GennakerStackProps{Functions: ok, Definitions: defs, Authorizer: api.AuthorizerProps{Kind: "cognito"}}, `unknown authorizer "cognito"`},
		{"no api function", stack.GennakerStackProps{Functions: []functions.Source{{Name: "tasks"}}, Definitions: defs, Authorizer: api.AuthorizerProps{Kind: api.IAM}}, "no function api"},
		{"valid", stack.GennakerStackProps{Functions: ok, Definitions: defs, Authorizer: api.AuthorizerProps{Kind: api.IAM}}, ""},
		{"valid with EKS accounts", stack.GennakerStackProps{Functions: ok, Definitions: defs, Authorizer: api.AuthorizerProps{Kind: api.IAM}, Accounts: eksAccountsYAML}, ""},
		{"kubeconfig account", stack.GennakerStackProps{Functions: ok, Definitions: defs, Authorizer: api.AuthorizerProps{Kind: api.IAM},
			Accounts: "accounts: [{name: dev, provider: kubernetes, kubeconfig: ~/.kube/config}]"}, `account "dev": in the cloud a kubernetes account needs eksCluster and region`},
		{"aws account", stack.GennakerStackProps{Functions: ok, Definitions: defs, Authorizer: api.AuthorizerProps{Kind: api.IAM},
			Accounts: "accounts: [{name: prod, provider: aws, regions: [us-east-1]}]"}, `account "prod": in the cloud an aws account needs assumeRole`},
		{"aws role name without its account", stack.GennakerStackProps{Functions: ok, Definitions: defs, Authorizer: api.AuthorizerProps{Kind: api.IAM},
			Accounts: "accounts: [{name: prod, provider: aws, regions: [us-east-1], assumeRole: role/deploy}]"}, `accountId must be the account's 12 digits`},
		{"gce account", stack.GennakerStackProps{Functions: ok, Definitions: defs, Authorizer: api.AuthorizerProps{Kind: api.IAM},
			Accounts: "accounts: [{name: prod, provider: gce}]"}, `provider "gce" cannot be used from the cloud`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.props.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

// ---- template helpers ----

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func strs(v any) []string {
	var out []string
	for _, x := range asList(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func refOf(v any) string {
	s, _ := dig(v, "Ref").(string)
	return s
}

func refs(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, refOf(x))
	}
	return out
}

func getAttOf(v any, attr string) string {
	l, _ := dig(v, "Fn::GetAtt").([]any)
	if len(l) == 2 && l[1] == attr {
		s, _ := l[0].(string)
		return s
	}
	return ""
}

// flatten renders a string, Ref or Fn::Join as one string with ${Ref}s.
func flatten(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if r, ok := v["Ref"].(string); ok {
			return "${" + r + "}"
		}
		if j, ok := v["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range asList(j[1]) {
				parts = append(parts, flatten(p))
			}
			return strings.Join(parts, j[0].(string))
		}
		if id := getAttOf(v, "Arn"); id != "" {
			return "${" + id + ".Arn}"
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func collectRefs(v any, f func(string)) {
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["Ref"].(string); ok {
			f(r)
		}
		if l, ok := v["Fn::GetAtt"].([]any); ok && len(l) > 0 {
			if s, ok := l[0].(string); ok {
				f(s)
			}
		}
		if s, ok := v["Fn::Sub"].(string); ok {
			for _, m := range regexp.MustCompile(`\$\{([^}.!]+)`).FindAllStringSubmatch(s, -1) {
				f(m[1])
			}
		}
		for _, x := range v {
			collectRefs(x, f)
		}
	case []any:
		for _, x := range v {
			collectRefs(x, f)
		}
	}
}

func pairs(v any, k1, k2 string) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, fmt.Sprintf("%v:%v", dig(x, k1), dig(x, k2)))
	}
	return out
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// eksAccountsYAML is an accounts file the JWT stack is given.
const eksAccountsYAML = `accounts:
- name: prod-eks
  provider: kubernetes
  eksCluster: shop-prod
  region: eu-west-1
  assumeRole: arn:aws:iam::123456789012:role/gennaker-deployer
  namespaces: [shop]
- name: shop-prod
  provider: aws
  accountId: "210987654321"
  regions: [us-east-1, eu-west-1]
  assumeRole: role/gennaker-deploy
- name: shop-test
  provider: aws
  accountId: "111122223333"
  regions: [us-east-1]
  assumeRole: arn:aws:iam::111122223333:role/ci/gennaker-deploy
  externalId: shop
`

// TestAccountsReachTheFunctions checks that a stack given EKS accounts
// hands them to every function and lets each describe that cluster and
// assume that role — and no other.
func TestAccountsReachTheFunctions(t *testing.T) {
	s := synthesize(t).stacks["jwt"]
	for id, r := range s.template.ofType("AWS::Lambda::Function") {
		vars, _ := dig(r.Properties, "Environment", "Variables").(map[string]any)
		cfg, err := lambdaruntime.ConfigFromEnv(func(k string) string { return flatten(vars[k]) })
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if len(cfg.Accounts) != 3 || cfg.Accounts[0].Name != "prod-eks" || cfg.Accounts[1].Name != "shop-prod" || cfg.Accounts[2].Name != "shop-test" {
			t.Errorf("%s: accounts %+v, want prod-eks, shop-prod, shop-test", id, cfg.Accounts)
		}
	}
	raw, _ := json.Marshal(s.template.ofType("AWS::IAM::Policy"))
	policies := string(raw)
	for _, want := range []string{`"eks:DescribeCluster"`, `:cluster/shop-prod`, `"sts:AssumeRole"`, `arn:aws:iam::123456789012:role/gennaker-deployer`} {
		if !strings.Contains(policies, want) {
			t.Errorf("the function policies do not grant %s", want)
		}
	}
	// sts:AssumeRole is granted on exactly the listed roles, and no
	// statement grants every action on every resource.
	want := []string{"arn:aws:iam::123456789012:role/gennaker-deployer", "arn:aws:iam::210987654321:role/gennaker-deploy",
		"arn:aws:iam::111122223333:role/ci/gennaker-deploy"}
	for id, p := range s.template.ofType("AWS::IAM::Policy") {
		stmts, _ := dig(p.Properties, "PolicyDocument", "Statement").([]any)
		assumed := []string{}
		for _, st := range stmts {
			m := st.(map[string]any)
			actions := asStrings(m["Action"])
			resources := asStrings(m["Resource"])
			if slices.Contains(actions, "*") && slices.Contains(resources, "*") {
				t.Errorf("%s grants * on *: %v", id, m)
			}
			if slices.Contains(actions, "sts:AssumeRole") {
				if len(actions) != 1 {
					t.Errorf("%s: sts:AssumeRole granted with %v", id, actions)
				}
				assumed = append(assumed, resources...)
			}
		}
		if len(assumed) > 0 {
			slices.Sort(assumed)
			w := slices.Clone(want)
			slices.Sort(w)
			if !slices.Equal(assumed, w) {
				t.Errorf("%s: sts:AssumeRole on %v, want exactly the listed roles %v", id, assumed, w)
			}
		}
	}
	iamRaw, _ := json.Marshal(synthesize(t).stacks["iam"].template.ofType("AWS::IAM::Policy"))
	if strings.Contains(string(iamRaw), "eks:DescribeCluster") {
		t.Errorf("a stack without accounts grants eks:DescribeCluster")
	}
}

// TestReconcileRunsOnASchedule checks that the orchestrator function is
// invoked every five minutes to start the machines of runs that have none.
func TestReconcileRunsOnASchedule(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		rules := s.template.ofType("AWS::Events::Rule")
		found := false
		for id, r := range rules {
			if r.Properties["ScheduleExpression"] != "rate(5 minutes)" {
				continue
			}
			targets, _ := r.Properties["Targets"].([]any)
			if len(targets) != 1 {
				t.Fatalf("%s: targets %v", id, targets)
			}
			tgt := targets[0].(map[string]any)
			if input, _ := tgt["Input"].(string); !strings.Contains(input, `"action":"reconcile"`) {
				t.Errorf("%s: input %v", id, tgt["Input"])
			}
			arn, _ := json.Marshal(tgt["Arn"])
			if !strings.Contains(string(arn), "Orchestrator") {
				t.Errorf("%s: the schedule targets %s, want the orchestrator function", id, arn)
			}
			found = true
		}
		if !found {
			t.Fatal("no rule runs the reconcile sweep every five minutes")
		}
	})
}

// asStrings reads a policy statement's Action or Resource: one string or a
// list.
func asStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := []string{}
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			} else {
				b, _ := json.Marshal(e)
				out = append(out, string(b))
			}
		}
		return out
	}
	return nil
}

// TestNotifierIsFedByTheBus checks that a rule on gennaker's bus sends every
// gennaker event to the notifier function, that the notifier may send email
// only from the stack's SES identity and publish only to the topics it was
// given, and that it cannot drive runs or put events.
func TestNotifierIsFedByTheBus(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		ids := functionLogicalIDs(t, s.template)
		notifier := ids["notifier"]
		if notifier == "" {
			t.Fatal("no notifier function")
		}
		found := false
		for id, r := range s.template.ofType("AWS::Events::Rule") {
			pattern, _ := json.Marshal(r.Properties["EventPattern"])
			if string(pattern) != `{"source":["gennaker"]}` {
				continue
			}
			bus, _ := json.Marshal(r.Properties["EventBusName"])
			if !strings.Contains(string(bus), "EventsBus") {
				t.Errorf("%s: the rule is on %s, want gennaker's bus", id, bus)
			}
			targets, _ := r.Properties["Targets"].([]any)
			if len(targets) != 1 {
				t.Fatalf("%s: targets %v", id, targets)
			}
			tgt := targets[0].(map[string]any)
			arn, _ := json.Marshal(tgt["Arn"])
			if !strings.Contains(string(arn), notifier) {
				t.Errorf("%s: the rule targets %s, want the notifier %s", id, arn, notifier)
			}
			if tgt["DeadLetterConfig"] == nil || tgt["RetryPolicy"] == nil {
				t.Errorf("%s: the target has no retry policy or dead-letter queue: %v", id, tgt)
			}
			found = true
		}
		if !found {
			t.Fatal("no rule sends gennaker's events to the notifier")
		}

		// The notifier's grants: its role's statements.
		var actions []string
		for _, p := range s.template.ofType("AWS::IAM::Policy") {
			roles, _ := json.Marshal(p.Properties["Roles"])
			if !strings.Contains(string(roles), "Notifier") {
				continue
			}
			doc, _ := p.Properties["PolicyDocument"].(map[string]any)
			for _, st := range doc["Statement"].([]any) {
				stmt := st.(map[string]any)
				acts := []string{}
				switch a := stmt["Action"].(type) {
				case string:
					acts = append(acts, a)
				case []any:
					for _, x := range a {
						acts = append(acts, x.(string))
					}
				}
				res, _ := json.Marshal(stmt["Resource"])
				for _, a := range acts {
					actions = append(actions, a)
					switch {
					case a == "ses:SendEmail" && !strings.Contains(string(res), "identity"):
						t.Errorf("ses:SendEmail on %s, want the stack's identity only", res)
					case a == "sns:Publish" && string(res) != `"arn:aws:sns:us-east-1:123456789012:deploys"`:
						t.Errorf("sns:Publish on %s, want the given topic only", res)
					case strings.HasPrefix(a, "states:") || a == "events:PutEvents" || a == "eks:DescribeCluster" || a == "sts:AssumeRole":
						t.Errorf("the notifier may %s", a)
					}
				}
			}
		}
		withSES := s.name == "GennakerJwt"
		if slices.Contains(actions, "ses:SendEmail") != withSES || slices.Contains(actions, "sns:Publish") != withSES {
			t.Errorf("notifier actions %v (SES identity and topics given: %v)", actions, withSES)
		}
		if withSES && len(s.template.ofType("AWS::SES::EmailIdentity")) != 1 {
			t.Error("no SES identity")
		}
	})
}
