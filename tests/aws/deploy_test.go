package aws_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	gaws "github.com/gennaker/gennaker/providers/aws"
	"github.com/gennaker/gennaker/shared/model"
)

const (
	amiV1 = "ami-0000000000000a001"
	amiV2 = "ami-0000000000000a002"
	amiV3 = "ami-0000000000000a003"
)

// A red/black deploy into two regions: each region gets the next Auto
// Scaling group, the old one leaves the target group only after the new one
// is in service, and a rollback brings the old one back.
func TestRedBlackInTwoRegions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 2, regions, "")), model.StatusSucceeded)
	for _, r := range regions {
		assertState(t, e, r, "after the first deploy", "v000:enabled:2")
		if g := e.groups(r)[0]; g.lt != "shop-web-v000:1" {
			t.Fatalf("launch template of %s in %s = %s, want its own, version 1", g.name, r, g.lt)
		}
	}

	ex := e.run(deployStage(amiV2, "redblack", 2, regions, ""))
	assertStatus(t, ex, model.StatusSucceeded)
	for _, r := range regions {
		assertState(t, e, r, "after red/black", "v000:disabled:2 v001:enabled:2")
		if got, want := e.targets(r), e.groups(r)[1].instances; !slices.Equal(got, want) {
			t.Fatalf("target group of %s = %v, want only v001's instances %v", r, got, want)
		}
	}
	// In each region the new group was up before the old one was disabled.
	parts := 0
	for _, s := range ex.Stages {
		if s.Type != "createServerGroup" {
			continue
		}
		parts++
		up, disabled := taskEnd(s, "WaitForUpInstances"), taskStart(s, "DisableOldServerGroups")
		if up == 0 || disabled == 0 || disabled < up {
			t.Fatalf("%s: waited for up until %d, started disabling at %d; want the wait first (%s)", s.Name, up, disabled, describe(ex))
		}
	}
	if parts != 2 {
		t.Fatalf("deploy ran as %d parts, want one per region: %s", parts, describe(ex))
	}

	ex = e.run(`{"refId": "rb", "type": "rollbackCluster", "name": "Rollback", "cloudProvider": "aws",
	  "credentials": "prod", "regions": ["us-east-1"], "cluster": "shop-web"}`)
	assertStatus(t, ex, model.StatusSucceeded)
	assertState(t, e, "us-east-1", "after the rollback", "v000:enabled:2 v001:disabled:2")
	assertState(t, e, "us-west-2", "after the rollback of the other region", "v000:disabled:2 v001:enabled:2")
}

func taskEnd(s model.StageExecution, name string) int64 {
	for _, t := range s.Tasks {
		if t.Name == name {
			return t.EndTime
		}
	}
	return 0
}

func taskStart(s model.StageExecution, name string) int64 {
	for _, t := range s.Tasks {
		if t.Name == name {
			return t.StartTime
		}
	}
	return 0
}

// Highlander destroys every older group, with its launch template.
func TestHighlander(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	one := []string{"us-east-1"}
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 1, one, "")), model.StatusSucceeded)
	assertStatus(t, e.run(deployStage(amiV2, "redblack", 1, one, "")), model.StatusSucceeded)
	assertState(t, e, "us-east-1", "before highlander", "v000:disabled:1 v001:enabled:1")
	assertStatus(t, e.run(deployStage(amiV3, "highlander", 1, one, "")), model.StatusSucceeded)
	assertState(t, e, "us-east-1", "after highlander", "v002:enabled:1")
	if got := e.targets("us-east-1"); !slices.Equal(got, e.groups("us-east-1")[0].instances) {
		t.Fatalf("target group = %v, want only v002's instances", got)
	}
	if lts := e.launchTemplates("us-east-1"); !slices.Equal(lts, []string{"shop-web-v002"}) {
		t.Fatalf("launch templates = %v, want only v002's", lts)
	}
}

// Rolling red/black grows the new group by percentages, and disables the
// old one at the end.
func TestRollingRedBlack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	one := []string{"us-east-1"}
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 4, one, "")), model.StatusSucceeded)
	ex := e.run(deployStage(amiV2, "rollingredblack", 4, one, `, "targetPercentages": [25, 50, 100]`))
	assertStatus(t, ex, model.StatusSucceeded)
	assertState(t, e, "us-east-1", "after rolling red/black", "v000:disabled:4 v001:enabled:4")
	steps := 0
	for _, s := range ex.Stages {
		for _, task := range s.Tasks {
			if task.Name == "ScaleTargetServerGroup" {
				steps++
			}
		}
	}
	if steps != 3 {
		t.Fatalf("rolling red/black scaled the new group %d times, want once per percentage: %s", steps, describe(ex))
	}
}

// A traffic guard refuses to disable the last enabled group of a cluster.
func TestTrafficGuardKeepsTheLastGroup(t *testing.T) {
	t.Parallel()
	yes := true
	e := newEnv(t, []model.TrafficGuard{{Account: "prod", Location: "us-east-1", Stack: "web", Enabled: &yes}})
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 1, []string{"us-east-1"}, "")), model.StatusSucceeded)
	ex := e.run(`{"refId": "d", "type": "disableServerGroup", "name": "Disable", "cloudProvider": "aws",
	  "credentials": "prod", "regions": ["us-east-1"], "cluster": "shop-web", "target": "current_asg_dynamic"}`)
	assertStatus(t, ex, model.StatusTerminal)
	if msg := describe(ex); !strings.Contains(msg, "traffic guard") {
		t.Fatalf("the failure does not name the guard: %s", msg)
	}
	assertState(t, e, "us-east-1", "after the refused disable", "v000:enabled:1")
}

// rollbackServerGroup puts the previous group back in service and takes
// the new one out.
func TestRollbackServerGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	one := []string{"us-east-1"}
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 1, one, "")), model.StatusSucceeded)
	assertStatus(t, e.run(deployStage(amiV2, "redblack", 1, one, "")), model.StatusSucceeded)
	ex := e.run(`{"refId": "rb", "type": "rollbackServerGroup", "name": "Rollback", "cloudProvider": "aws",
	  "credentials": "prod", "regions": ["us-east-1"], "rollbackType": "EXPLICIT",
	  "rollbackContext": {"rollbackServerGroupName": "shop-web-v001", "restoreServerGroupName": "shop-web-v000"}}`)
	assertStatus(t, ex, model.StatusSucceeded)
	assertState(t, e, "us-east-1", "after the rollback", "v000:enabled:1 v001:disabled:1")
	if got := e.targets("us-east-1"); !slices.Equal(got, e.groups("us-east-1")[0].instances) {
		t.Fatalf("target group = %v, want only v000's instances", got)
	}
}

// fakeNeverHealthy is a fake: the targets of the instances of the Auto
// Scaling group named group stay in their first health checks for ever, as
// instances whose service never starts do; moto reports every registered
// target healthy.
type fakeNeverHealthy struct {
	gaws.Client
	group string
}

func (f fakeNeverHealthy) DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
	out, err := f.Client.DescribeTargetHealth(ctx, in)
	if err != nil {
		return out, err
	}
	groups, err := f.Client.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{f.group}})
	if err != nil {
		return nil, err
	}
	broken := map[string]bool{}
	for _, g := range groups.AutoScalingGroups {
		for _, i := range g.Instances {
			broken[aws.ToString(i.InstanceId)] = true
		}
	}
	for i, d := range out.TargetHealthDescriptions {
		if broken[aws.ToString(d.Target.Id)] {
			out.TargetHealthDescriptions[i].TargetHealth = &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumInitial}
		}
	}
	return out, nil
}

// A new group whose targets never turn healthy fails the deploy at its
// stageTimeoutMs, and the deploy rolls back: the new group is destroyed and
// the old one never left the target group.
func TestNeverHealthyRollsBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, gaws.WithClient(func(cfg aws.Config) gaws.Client {
		return fakeNeverHealthy{Client: gaws.NewClient(cfg), group: "shop-web-v001"}
	}))
	one := []string{"us-east-1"}
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 2, one, "")), model.StatusSucceeded)
	before := e.targets("us-east-1")

	start := time.Now()
	ex := e.run(`{"refId": "deploy", "type": "deploy", "name": "Deploy broken", "stageTimeoutMs": 3000,
	  "clusters": [` + cluster(amiV2, "redblack", 2, one, `, "rollback": {"onFailure": true}`) + `]}`)
	assertStatus(t, ex, model.StatusTerminal)
	if msg := describe(ex); !strings.Contains(msg, "stageTimeoutMs 3000") {
		t.Fatalf("the deploy did not fail at its stageTimeoutMs: %s", msg)
	}
	if elapsed := time.Since(start); elapsed < 3*time.Second {
		t.Fatalf("the deploy failed after %s, before its stageTimeoutMs", elapsed)
	}
	assertState(t, e, "us-east-1", "after the failed deploy", "v000:enabled:2")
	if got := e.targets("us-east-1"); !slices.Equal(got, before) {
		t.Fatalf("target group = %v, want v000's instances as before the deploy: %v", got, before)
	}
}

// cloneServerGroup, in Deck's form (a cluster and a dynamic target),
// copies the source group's launch settings, target groups, tags and
// capacity into the next group.
func TestCloneServerGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 2, []string{"us-east-1"}, "")), model.StatusSucceeded)
	ex := e.run(`{"refId": "clone", "type": "cloneServerGroup", "name": "Clone", "cloudProvider": "aws",
	  "credentials": "prod", "region": "us-east-1", "application": "shop", "stack": "web",
	  "targetCluster": "shop-web", "target": "current_asg_dynamic", "useSourceCapacity": true, "strategy": ""}`)
	assertStatus(t, ex, model.StatusSucceeded)
	assertState(t, e, "us-east-1", "after the clone", "v000:enabled:2 v001:enabled:2")
	if got := e.launchedFrom("us-east-1", "shop-web-v001"); got != amiV1 {
		t.Fatalf("the clone launches %s, want the source's %s", got, amiV1)
	}
	out, err := autoscaling.NewFromConfig(e.config("us-east-1")).DescribeAutoScalingGroups(context.Background(),
		&autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"shop-web-v001"}})
	if err != nil || len(out.AutoScalingGroups) != 1 {
		t.Fatalf("clone: %v", err)
	}
	g := out.AutoScalingGroups[0]
	team := ""
	for _, tg := range g.Tags {
		if aws.ToString(tg.Key) == "team" {
			team = aws.ToString(tg.Value)
		}
	}
	if len(g.TargetGroupARNs) != 1 || team != "checkout" || aws.ToString(g.HealthCheckType) != "ELB" || aws.ToInt32(g.HealthCheckGracePeriod) != 60 {
		t.Fatalf("the clone = %+v, want the source's target group, tags and health check", g)
	}
}
