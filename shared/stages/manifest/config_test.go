package manifest

import (
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestAccountConfig(t *testing.T) {
	for _, tc := range []struct {
		name, ctx, account, err string
	}{
		{"account", `{"account": "k8s", "cloudProvider": "kubernetes"}`, "k8s", ""},
		{"credentials, as older pipelines write it", `{"credentials": "k8s"}`, "k8s", ""},
		{"account over credentials", `{"account": "a", "credentials": "b"}`, "a", ""},
		{"blank, as Deck saves a cleared input", `{"account": " "}`, "", "account: is required"},
		{"another cloud", `{"account": "k8s", "cloudProvider": "aws"}`, "", `cloudProvider: manifest stages deploy to kubernetes, not "aws"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := decode(&model.StageExecution{Context: stagestest.ContextFromJSON(t, tc.ctx)}, &targetConfig{})
			if err != nil {
				t.Fatal(err)
			}
			account, err := cfg.(*targetConfig).account()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("account() = %q, %v; want an error with %q", account, err, tc.err)
				}
				return
			}
			if err != nil || account != tc.account {
				t.Fatalf("account() = %q, %v; want %q", account, err, tc.account)
			}
		})
	}
}

func TestValidateReportsAFieldOnce(t *testing.T) {
	// replicas does not decode; it is not reported again as missing.
	validateStage(t, `{"type": "scaleManifest", "account": "k8s", "manifestName": "deployment web", "replicas": true}`,
		"replicas: must be a number, not the boolean true")
}

func TestConfigOfAnotherStageTypeIsAnError(t *testing.T) {
	reg := registryWith(newFakeCluster())
	run := stageRun(t, "scaleManifest", `{"account": "k8s", "manifestName": "deployment web", "replicas": 1}`)
	def, _ := reg.Definition("deployManifest")
	run.Config, _ = def.(stages.Configurer).Config(run.Stage)
	task, _ := reg.Task("ScaleManifest")
	r, _ := task.Execute(t.Context(), run)
	stagestest.CheckFailure(t, r, model.StatusTerminal, "has configuration *manifest.deployManifestConfig, not *manifest.scaleManifestConfig")
}
