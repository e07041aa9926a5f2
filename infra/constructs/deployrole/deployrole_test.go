package deployrole_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/gennaker/gennaker/infra/constructs/deployrole"
)

// The deploy role trusts only gennaker's function roles, with the external
// id, grants the aws provider's calls, changes only what they name, and
// never grants every action.
func TestDeployRole(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Target"), &awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String("210987654321"), Region: jsii.String("us-east-1")}})
	deployrole.NewRole(stack, "Deploy", &deployrole.Props{
		TrustedRoles:  []string{"arn:aws:iam::123456789012:role/gennaker-tasks"},
		ExternalID:    "shop",
		RoleName:      "gennaker-deploy",
		InstanceRoles: []string{"arn:aws:iam::210987654321:role/shop-instance"},
	})
	tmpl := assertions.Template_FromStack(stack, nil).ToJSON()
	raw, _ := json.Marshal(tmpl)
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	granted := map[string][]string{} // action → resources
	var trust string
	for _, r := range doc.Resources {
		switch r.Type {
		case "AWS::IAM::Role":
			b, _ := json.Marshal(r.Properties["AssumeRolePolicyDocument"])
			trust = string(b)
			if r.Properties["RoleName"] != "gennaker-deploy" {
				t.Errorf("role name = %v", r.Properties["RoleName"])
			}
		case "AWS::IAM::Policy":
			doc, _ := r.Properties["PolicyDocument"].(map[string]any)
			for _, st := range doc["Statement"].([]any) {
				m := st.(map[string]any)
				for _, a := range list(m["Action"]) {
					for _, res := range list(m["Resource"]) {
						granted[a] = append(granted[a], res)
					}
				}
			}
		}
	}
	if !strings.Contains(trust, "arn:aws:iam::123456789012:role/gennaker-tasks") || !strings.Contains(trust, `"sts:ExternalId":"shop"`) || strings.Contains(trust, `"AWS":"*"`) {
		t.Errorf("trust policy = %s, want only gennaker's role, with the external id", trust)
	}
	if _, every := granted["*"]; every {
		t.Errorf("the role grants every action: %v", granted["*"])
	}
	all := slices.Concat(deployrole.ReadActions, deployrole.ScalingActions, deployrole.LaunchActions, deployrole.TargetActions, deployrole.LoadBalancerActions)
	for _, a := range all {
		if len(granted[a]) == 0 {
			t.Errorf("%s is not granted", a)
		}
	}
	for a, res := range granted {
		if slices.Contains(res, "*") && !slices.Contains(deployrole.ReadActions, a) {
			t.Errorf("%s is granted on every resource; only describe calls may be", a)
		}
	}
	for _, res := range granted["autoscaling:DeleteAutoScalingGroup"] {
		if !strings.Contains(res, "autoScalingGroupName/") {
			t.Errorf("DeleteAutoScalingGroup on %s, want Auto Scaling groups only", res)
		}
	}
	if res := granted["iam:PassRole"]; !slices.Equal(res, []string{"arn:aws:iam::210987654321:role/shop-instance"}) {
		t.Errorf("iam:PassRole on %v, want the instance role only", res)
	}
}

func list(v any) []string {
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
	case nil:
		return nil
	default: // an intrinsic function, such as Fn::Join
		b, _ := json.Marshal(x)
		return []string{string(b)}
	}
}
