// Command infra is gennaker's CDK app: `cdk deploy` (through cdk.json) or
// `CDK_OUTDIR=cdk.out go run ./infra` builds every function under
// functions/ for linux/arm64, composes the stack from infra/stack, runs the
// cdk-nag AwsSolutions checks, and writes the cloud assembly. It needs the go
// command and node, and no network, Docker or AWS account.
//
// Settings come from CDK context (cdk.json, or -c key=value):
//
//	gennaker:stackName           stack name; the state machines are <stackName>-pipeline and -stage (default Gennaker)
//	gennaker:authorizer          "iam" (default) or "jwt"
//	gennaker:jwtIssuer           the OIDC issuer URL, for "jwt"
//	gennaker:jwtAudience         accepted audiences, comma-separated or a JSON list, for "jwt"
//	gennaker:throttleRateLimit   API requests per second (default 50)
//	gennaker:throttleBurstLimit  API burst (default 100)
//	gennaker:logRetentionDays    days every log group keeps (default 30)
//	gennaker:authFile            the identity configuration (YAML, docs/auth.md): admins, service accounts, JWT claims, IAM principals' roles
//	gennaker:accountsFile        an accounts file (YAML) of Kubernetes accounts on EKS clusters the functions deploy to,
//	                             and the notifications section of `gennaker up`'s configuration file
//	gennaker:sesIdentity         an email address or domain to create as an SES identity and send email notifications from
//	gennaker:notificationTopics  SNS topic ARNs sns notifications may publish to, comma-separated or a JSON list
//
// The synth fails, naming the cause, when a function does not build or a
// cdk-nag check reports an unsuppressed error.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/gennaker/gennaker/infra/constructs/functions"
	"github.com/gennaker/gennaker/infra/gobuild"
	"github.com/gennaker/gennaker/infra/stack"
	"github.com/gennaker/gennaker/statemachines"
)

func main() {
	err := synth(context.Background())
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gennaker infra:", err)
		os.Exit(1)
	}
}

func synth(ctx context.Context) (err error) {
	// Constructs panic on configuration they cannot build from, and jsii
	// turns errors raised in the CDK into panics: report both as errors.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	app := awscdk.NewApp(nil)
	cfg, err := readConfig(app)
	if err != nil {
		return err
	}
	sources, cleanup, err := buildFunctions(ctx, root)
	if err != nil {
		return err
	}
	defer cleanup()

	props := &stack.GennakerStackProps{
		StackProps:   awscdk.StackProps{Env: environment()},
		Functions:    sources,
		Definitions:  statemachines.Definitions(),
		Authorizer:   cfg.authorizer,
		Throttle:     cfg.throttle,
		LogRetention: cfg.logRetention,
		Accounts:     cfg.accounts,
		Auth:         cfg.auth,

		SESIdentity:        cfg.sesIdentity,
		NotificationTopics: cfg.topics,
	}
	if err := props.Validate(); err != nil {
		return err
	}
	stack.NewGennakerStack(app, cfg.stackName, props)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return errorsIn(app.Synth(nil))
}

// buildFunctions builds every function into a temporary directory. The CDK
// copies each into the cloud assembly as it defines the function, so the
// directory can go once the app is synthesized.
func buildFunctions(ctx context.Context, root string) ([]functions.Source, func(), error) {
	names, err := gobuild.Discover(root)
	if err != nil {
		return nil, nil, err
	}
	work, err := os.MkdirTemp("", "gennaker-functions-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(work) }
	built, err := gobuild.Build(ctx, root, work, names)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	sources := make([]functions.Source, len(built))
	for i, b := range built {
		sources[i] = functions.Source{Name: b.Name, AssetDir: b.AssetDir}
	}
	return sources, cleanup, nil
}

// errorsIn returns the error annotations of the assembly's stacks (cdk-nag
// reports failed checks as errors), one per line.
func errorsIn(asm cxapi.CloudAssembly) error {
	var msgs []string
	for _, st := range *asm.Stacks() {
		for _, m := range *st.Messages() {
			if m.Level == cxapi.SynthesisMessageLevel_ERROR {
				msgs = append(msgs, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
			}
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%d error(s) in the synthesized stacks:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
	return nil
}

// environment pins the stack to the account and region the CDK CLI found,
// if it found them; without them the stack is environment-agnostic, which
// is what an offline synth produces.
func environment() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" && region == "" {
		return nil
	}
	env := &awscdk.Environment{}
	if account != "" {
		env.Account = jsii.String(account)
	}
	if region != "" {
		env.Region = jsii.String(region)
	}
	return env
}

// repoRoot is the nearest directory at or above the working directory
// whose go.mod declares this module: `cdk` runs the app from the directory
// of cdk.json, `go test` from infra/.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/gennaker/gennaker\n") {
			return dir, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the gennaker repository: no go.mod of module github.com/gennaker/gennaker at or above the working directory")
		}
		dir = parent
	}
}
