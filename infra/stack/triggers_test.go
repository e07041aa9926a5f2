package stack_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/runtime/env"
)

// TestEventRulesRouteToTheTriggersFunction: an image pushed to ECR and a
// branch changed in CodeCommit reach functions/triggers, and nothing else
// from those sources does.
func TestEventRulesRouteToTheTriggersFunction(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		fnID := functionLogicalIDs(t, s.template)["triggers"]
		if fnID == "" {
			t.Fatal("no triggers function")
		}
		want := map[string]map[string][]string{
			"aws.ecr":        {"action-type": {"PUSH"}, "result": {"SUCCESS"}},
			"aws.codecommit": {"event": {"referenceCreated", "referenceUpdated"}, "referenceType": {"branch"}},
			"aws.codebuild":  {"build-status": {"SUCCEEDED", "FAILED", "STOPPED"}},
		}
		detailTypes := map[string]string{"aws.ecr": "ECR Image Action", "aws.codecommit": "CodeCommit Repository State Change",
			"aws.codebuild": "CodeBuild Build State Change"}
		for id, r := range s.template.ofType("AWS::Events::Rule") {
			pattern, _ := r.Properties["EventPattern"].(map[string]any)
			sources := strs(pattern["source"])
			if len(sources) != 1 {
				continue
			}
			detail, ok := want[sources[0]]
			if !ok {
				continue
			}
			if r.Properties["EventBusName"] != nil {
				t.Errorf("%s: the rule is on bus %v; AWS services send their events to the default bus", id, r.Properties["EventBusName"])
			}
			if got := strs(pattern["detail-type"]); !slices.Equal(got, []string{detailTypes[sources[0]]}) {
				t.Errorf("%s: detail-type %v", id, got)
			}
			d, _ := pattern["detail"].(map[string]any)
			for k, vals := range detail {
				if got := strs(d[k]); !slices.Equal(got, vals) {
					t.Errorf("%s: detail.%s = %v, want %v", id, k, got, vals)
				}
			}
			targets, _ := r.Properties["Targets"].([]any)
			arn, _ := json.Marshal(targets)
			if len(targets) != 1 || !strings.Contains(string(arn), fnID) {
				t.Errorf("%s: targets %s, want only the triggers function %s", id, arn, fnID)
			}
			delete(want, sources[0])
		}
		for src := range want {
			t.Errorf("no rule routes %s events to the triggers function", src)
		}
	})
}

// TestCronSchedulesLeastPrivilege: the api function may change only the
// schedules of gennaker's group and pass only the schedules' role; the
// role may only invoke the triggers function, for this account only.
func TestCronSchedulesLeastPrivilege(t *testing.T) {
	eachStack(t, func(t *testing.T, s *stackUnderTest) {
		ids := functionLogicalIDs(t, s.template)
		groups := s.template.ofType("AWS::Scheduler::ScheduleGroup")
		if len(groups) != 1 {
			t.Fatalf("%d schedule groups, want 1", len(groups))
		}
		var groupID string
		for id := range groups {
			groupID = id
		}
		apiEnv := dig(s.template.Resources[ids["api"]].Properties, "Environment", "Variables")
		for _, v := range []string{env.ScheduleGroup, env.ScheduleRoleArn, env.TriggersFunctionArn} {
			if dig(apiEnv, v) == nil {
				t.Errorf("the api function lacks %s", v)
			}
		}

		var roleID string
		for id, r := range s.template.ofType("AWS::IAM::Role") {
			doc, _ := json.Marshal(r.Properties["AssumeRolePolicyDocument"])
			if strings.Contains(string(doc), "scheduler.amazonaws.com") {
				if !strings.Contains(string(doc), "aws:SourceAccount") {
					t.Errorf("%s: the schedules' role may be assumed for any account", id)
				}
				roleID = id
			}
		}
		if roleID == "" {
			t.Fatal("no role for EventBridge Scheduler")
		}
		for id, stmts := range policyStatements(s.template) {
			for _, st := range stmts {
				actions := strs(st["Action"])
				res, _ := json.Marshal(st["Resource"])
				for _, a := range actions {
					switch {
					case strings.HasPrefix(a, "scheduler:"):
						if !strings.Contains(id, "Api") {
							t.Errorf("%s may %s; only the api function saves pipelines", id, a)
						}
						if !strings.Contains(string(res), groupID) || !strings.Contains(string(res), ":schedule/") {
							t.Errorf("%s: %s on %s, want the schedules of group %s only", id, a, res, groupID)
						}
					case a == "iam:PassRole":
						if !strings.Contains(string(res), roleID) || strings.Contains(string(res), `"*"`) {
							t.Errorf("%s: iam:PassRole on %s, want the schedules' role only", id, res)
						}
					case a == "lambda:InvokeFunction" && strings.Contains(id, "ScheduleRole"):
						if !strings.Contains(string(res), ids["triggers"]) || strings.Contains(string(res), ids["api"]) {
							t.Errorf("%s: the schedules' role invokes %s, want the triggers function only", id, res)
						}
					}
				}
			}
		}
	})
}
