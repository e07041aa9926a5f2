package platform_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/runtime/env"
	lambdaruntime "github.com/gennaker/gennaker/shared/runtime/lambda"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/runtime/platform"
)

// badAccounts are accounts documents neither runtime can start with: some
// are not accounts files at all, some name accounts no provider takes.
// Where the message lists the providers a runtime has, it lists that
// runtime's (the local provider exists only in `gennaker up`); the rest of
// it is the same.
var badAccounts = []struct {
	name, doc string
	// providersListed: the message ends with the runtime's providers.
	providersListed bool
}{
	{"not YAML", "accounts: [{name: x", false},
	{"not a list", "accounts: {not: a list}\n", false},
	{"unknown top-level key", "acounts: []\n", false},
	{"account without a name", "accounts: [{provider: kubernetes}]", false},
	{"account without a provider", "accounts: [{name: prod}]", false},
	{"unknown provider", "accounts: [{name: prod, provider: nosuch}]", true},
	{"aws account", "accounts: [{name: prod, provider: aws}]", true},
	{"account twice", "accounts: [{name: prod, provider: kubernetes, eksCluster: shop, region: eu-west-1}, {name: prod, provider: kubernetes, eksCluster: shop, region: eu-west-1}]", false},
	{"EKS cluster without its region", "accounts: [{name: prod, provider: kubernetes, eksCluster: shop}]", false},
	{"local account of another provider", "accounts: [{name: local, provider: kubernetes, eksCluster: shop, region: eu-west-1}]", false},
}

// A document `gennaker up --accounts` refuses, the Lambda functions refuse
// at cold start from GENNAKER_ACCOUNTS, saying the same thing: neither
// runtime starts without deployment accounts it was given.
func TestBadAccountsStopBothRuntimesWithOneMessage(t *testing.T) {
	for _, tc := range badAccounts {
		t.Run(tc.name, func(t *testing.T) {
			localErr := openLocal(t, tc.doc)
			lambdaErr := openLambda(tc.doc)
			for runtime, err := range map[string]error{"local": localErr, "lambda": lambdaErr} {
				var bad *platform.AccountsError
				if !errors.As(err, &bad) {
					t.Fatalf("%s runtime: err = %v, want an *AccountsError", runtime, err)
				}
			}
			localText, lambdaText := localErr.Error(), lambdaErr.Error()
			if tc.providersListed {
				localText, _, _ = strings.Cut(localText, " (available: ")
				lambdaText, _, _ = strings.Cut(lambdaText, " (available: ")
			}
			if localText != lambdaText {
				t.Fatalf("the runtimes disagree:\nlocal:  %v\nlambda: %v", localErr, lambdaErr)
			}
			// The message says where the document comes from in either runtime.
			for _, want := range []string{"--accounts", env.Accounts} {
				if !strings.Contains(localErr.Error(), want) {
					t.Errorf("the message does not name %s: %v", want, localErr)
				}
			}
		})
	}
}

// An EKS account is registered in Lambda without reaching the cluster, and
// the local account is left out there; `gennaker up` always has it.
func TestGoodAccountsStartBothRuntimes(t *testing.T) {
	doc := "accounts: [{name: prod-eks, provider: kubernetes, eksCluster: shop, region: eu-west-1, namespaces: [web]}]"
	path := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	accts, err := local.LoadAccounts(path)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := local.Open(context.Background(), local.Options{DataDir: t.TempDir(), Accounts: accts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	for _, name := range []string{"prod-eks", "local"} {
		if _, err := rt.Providers.Account(name); err != nil {
			t.Errorf("gennaker up has no account %s: %v", name, err)
		}
	}

	cfg, err := lambdaruntime.ConfigFromEnv(lambdaEnv(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, err := lambdaruntime.New(cfg, lambdaruntime.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Providers.Account("prod-eks"); err != nil {
		t.Errorf("the Lambda functions have no account prod-eks: %v", err)
	}
	if _, err := p.Providers.Account("local"); err == nil {
		t.Errorf("the Lambda functions have the local account")
	}
}

// openLocal starts the local runtime as `gennaker up --accounts FILE` does,
// with the file's accounts and stage types.
func openLocal(t *testing.T, doc string) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := local.LoadConfig(path)
	if err != nil {
		return err
	}
	rt, err := local.Open(context.Background(), local.Options{DataDir: t.TempDir(), Accounts: cfg.Accounts, StageTypes: cfg.StageTypes})
	if err != nil {
		return err
	}
	_ = rt.Close()
	return nil
}

// openLambda builds the platform as a function does at cold start, with
// accounts in GENNAKER_ACCOUNTS.
func openLambda(doc string) error {
	cfg, err := lambdaruntime.ConfigFromEnv(lambdaEnv(doc))
	if err != nil {
		return err
	}
	_, err = lambdaruntime.New(cfg, lambdaruntime.Deps{})
	return err
}

func lambdaEnv(accounts string) func(string) string {
	vars := map[string]string{
		env.ConfigTable: "c", env.ExecutionsTable: "e", env.RuntimeTable: "r",
		env.PipelineMachineArn: "arn:p", env.StageMachineArn: "arn:s",
		env.Accounts: accounts,
	}
	return func(k string) string { return vars[k] }
}
