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

// A child pipeline edited after its parent was triggered still runs as the
// parent's user, and its stages are checked when they start: the edit
// cannot take the run to an account that user may not deploy to.
func TestChildPipelineEditedAfterTriggerCannotReachAForbiddenAccount(t *testing.T) {
	cfg := &auth.Config{}
	rt, err := local.Open(context.Background(), local.Options{
		DataDir: t.TempDir(),
		Accounts: []providers.Account{
			{Name: "prod", Provider: "local", Permissions: map[string][]string{"WRITE": {"deployers"}}},
			{Name: "staging", Provider: "local"},
		},
		Auth: cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	child := func(account string) string {
		return `{"id": "child-id", "name": "child", "stages": [{"refId": "1", "type": "destroyServerGroup", "name": "Destroy",
			"cloudProvider": "local", "credentials": "` + account + `", "regions": ["local"], "serverGroupName": "demo-main-v000"}]}`
	}
	savePipeline(t, rt, child("staging"))
	parent := savePipeline(t, rt, `{"name": "parent", "stages": [
		{"refId": "1", "type": "manualJudgment", "name": "Approve"},
		{"refId": "2", "requisiteStageRefIds": ["1"], "type": "pipeline", "name": "Run child", "application": "demo", "pipeline": "child-id"}]}`)
	dev := auth.WithIdentity(context.Background(), auth.Identity{Name: "dev", Roles: []string{"dev"}})
	id, err := rt.Orchestrator.TriggerPipeline(dev, parent, model.ExecutionTrigger{Type: "manual", User: "dev"}, "")
	if err != nil {
		t.Fatal(err)
	}
	e := waitFor(t, rt, id, 30*time.Second, "the judgment", func(e *model.Execution) bool { return stageStatus(e, "Approve") == model.StatusRunning })
	savePipeline(t, rt, child("prod")) // edited while the parent waits
	if _, err := rt.Orchestrator.PatchStage(dev, id, stageNamed(t, e, "Approve").ID, "dev", map[string]any{"judgmentStatus": "continue"}); err != nil {
		t.Fatal(err)
	}
	e = waitDone(t, rt, id, 30*time.Second)
	childID, _ := stageNamed(t, e, "Run child").Context["executionId"].(string)
	if childID == "" {
		t.Fatalf("the parent started no child: %s", describe(e))
	}
	c := waitDone(t, rt, model.ExecutionID(childID), 30*time.Second)
	b, _ := json.Marshal(stageNamed(t, c, "Destroy").Context)
	if !strings.Contains(string(b), "access denied: dev lacks WRITE permission on account prod") {
		t.Fatalf("the edited child's deploy to prod was not refused as dev's: %s", b)
	}
	if e.Status == model.StatusSucceeded {
		t.Errorf("the parent succeeded although its child was refused: %s", describe(e))
	}
}
