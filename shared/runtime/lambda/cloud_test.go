package lambda

import (
	"strings"
	"testing"
)

func TestConfigFromEnvNamesEveryMissingVariable(t *testing.T) {
	_, err := ConfigFromEnv(func(k string) string {
		if k == EnvConfigTable {
			return "cfg"
		}
		return ""
	})
	if err == nil {
		t.Fatal("missing variables accepted")
	}
	for _, name := range []string{EnvExecutionsTable, EnvRuntimeTable, EnvPipelineMachineArn, EnvStageMachineArn} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), EnvConfigTable+" ") {
		t.Errorf("error names a variable that is set: %v", err)
	}
	env := map[string]string{
		EnvConfigTable: "c", EnvExecutionsTable: "e", EnvRuntimeTable: "r",
		EnvPipelineMachineArn: "arn:p", EnvStageMachineArn: "arn:s", EnvEventBusName: "bus",
	}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tables.Executions != "e" || cfg.Machines.Stage != "arn:s" || cfg.EventBus != "bus" {
		t.Fatalf("config %+v", cfg)
	}
}

func TestAccountsFromEnvironment(t *testing.T) {
	base := map[string]string{
		EnvConfigTable: "c", EnvExecutionsTable: "e", EnvRuntimeTable: "r",
		EnvPipelineMachineArn: "arn:p", EnvStageMachineArn: "arn:s",
	}
	env := func(accounts string) func(string) string {
		return func(k string) string {
			if k == EnvAccounts {
				return accounts
			}
			return base[k]
		}
	}
	cfg, err := ConfigFromEnv(env(`accounts: [{name: prod-eks, provider: kubernetes, eksCluster: prod, region: eu-west-1, namespaces: [web]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Accounts) != 1 || cfg.Accounts[0].Name != "prod-eks" || cfg.Accounts[0].Provider != "kubernetes" {
		t.Fatalf("accounts %+v", cfg.Accounts)
	}
	// The platform registers the account without reaching the cluster.
	p := New(cfg, Deps{})
	if _, err := p.Providers.Account("prod-eks"); err != nil {
		t.Fatalf("the EKS account is not registered: %v", err)
	}
	if _, err := p.Providers.Account("local"); err == nil {
		t.Fatalf("the local account is registered in the cloud")
	}
	if _, err := ConfigFromEnv(env(`accounts: [{name: x`)); err == nil || !strings.Contains(err.Error(), EnvAccounts) {
		t.Fatalf("bad accounts YAML: err = %v", err)
	}
}
