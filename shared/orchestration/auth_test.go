package orchestration_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/runtime/local"
)

// Automated runs act as a service account: the pipeline's managed service
// account holding the pipeline's roles, or a trigger's runAsUser. Before
// each stage starts, the orchestrator checks that identity may deploy to
// the stage's account; a run started with no identity at all acts as an
// anonymous user with no roles.
func TestRunsDeployOnlyWhereTheirIdentityMay(t *testing.T) {
	cfg, err := auth.ParseConfig([]byte("serviceAccounts: [{name: deploy-bot, roles: [deployers]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := local.Open(context.Background(), local.Options{
		DataDir:  t.TempDir(),
		Accounts: []providers.Account{{Name: "prod", Provider: "local", Permissions: map[string][]string{"WRITE": {"deployers"}}}},
		Auth:     cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	policy := cfg.Policy(nil)
	pipeline := func(name, roles string) *model.Pipeline {
		return savePipeline(t, rt, `{"name": "`+name+`", "roles": `+roles+`, "stages": [{"refId": "1", "type": "destroyServerGroup", "name": "Destroy",
			"cloudProvider": "local", "credentials": "prod", "regions": ["local"], "serverGroupName": "demo-main-v000"}]}`)
	}
	withRoles, without := pipeline("with-roles", `["deployers"]`), pipeline("without-roles", `[]`)
	cases := []struct {
		name   string
		ctx    context.Context
		p      *model.Pipeline
		denied bool
	}{
		{"managed service account with the pipeline's roles", auth.WithIdentity(context.Background(), policy.AutomatedIdentity(withRoles, "")), withRoles, false},
		{"managed service account of a pipeline without roles", auth.WithIdentity(context.Background(), policy.AutomatedIdentity(without, "")), without, true},
		{"runAsUser service account", auth.WithIdentity(context.Background(), policy.AutomatedIdentity(without, "deploy-bot")), without, false},
		{"no identity", context.Background(), withRoles, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := rt.Orchestrator.TriggerPipeline(tc.ctx, tc.p, model.ExecutionTrigger{Type: "cron"}, "")
			if err != nil {
				t.Fatal(err)
			}
			e := waitDone(t, rt, id, 30*time.Second)
			st := stageNamed(t, e, "Destroy")
			b, _ := json.Marshal(st.Context)
			denied := strings.Contains(string(b), "access denied")
			if denied != tc.denied {
				t.Fatalf("denied = %v, want %v: %s", denied, tc.denied, b)
			}
			if denied && (len(st.Tasks) != 0 || st.Status != model.StatusTerminal) {
				t.Errorf("a refused stage ran tasks or did not fail: %s %v", st.Status, st.Tasks)
			}
			if denied && !strings.Contains(string(b), "WRITE permission on account prod") {
				t.Errorf("the refusal does not name the permission and account: %s", b)
			}
		})
	}
}
