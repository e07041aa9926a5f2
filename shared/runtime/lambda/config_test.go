package lambda

import (
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/runtime/env"
)

func TestConfigFromEnvNamesEveryMissingVariable(t *testing.T) {
	_, err := ConfigFromEnv(func(k string) string {
		if k == env.ConfigTable {
			return "cfg"
		}
		return ""
	})
	if err == nil {
		t.Fatal("missing variables accepted")
	}
	for _, name := range []string{env.ExecutionsTable, env.RuntimeTable, env.PipelineMachineArn, env.StageMachineArn} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), env.ConfigTable+" ") {
		t.Errorf("error names a variable that is set: %v", err)
	}
	vars := map[string]string{
		env.ConfigTable: "c", env.ExecutionsTable: "e", env.RuntimeTable: "r",
		env.PipelineMachineArn: "arn:p", env.StageMachineArn: "arn:s", env.EventBusName: "bus",
	}
	cfg, err := ConfigFromEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tables.Executions != "e" || cfg.Machines.Stage != "arn:s" || cfg.EventBus != "bus" {
		t.Fatalf("config %+v", cfg)
	}
}

func TestAccountsFromEnvironment(t *testing.T) {
	base := map[string]string{
		env.ConfigTable: "c", env.ExecutionsTable: "e", env.RuntimeTable: "r",
		env.PipelineMachineArn: "arn:p", env.StageMachineArn: "arn:s",
	}
	withAccounts := func(accounts string) func(string) string {
		return func(k string) string {
			if k == env.Accounts {
				return accounts
			}
			return base[k]
		}
	}
	cfg, err := ConfigFromEnv(withAccounts(`accounts: [{name: prod-eks, provider: kubernetes, eksCluster: prod, region: eu-west-1, namespaces: [web]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != 1 || cfg.Accounts[0].Name != "prod-eks" || cfg.Accounts[0].Provider != "kubernetes" {
		t.Fatalf("accounts %+v", cfg.Accounts)
	}
	// The platform registers the account without reaching the cluster.
	p, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Providers.Account("prod-eks"); err != nil {
		t.Fatalf("the EKS account is not registered: %v", err)
	}
	if _, err := p.Providers.Account("local"); err == nil {
		t.Fatalf("the local account is registered in the cloud")
	}
	if _, err := ConfigFromEnv(withAccounts(`accounts: [{name: x`)); err == nil || !strings.Contains(err.Error(), env.Accounts) {
		t.Fatalf("bad accounts YAML: err = %v", err)
	}
}
