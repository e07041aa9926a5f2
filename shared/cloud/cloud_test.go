package cloud

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
