// Package aws_test runs deployments to AWS end to end: real pipelines in a
// real local runtime, through the aws provider, against moto_server (an
// AWS-protocol server the tests start; they fail, never skip, when it
// cannot start). Each test asserts what the AWS APIs report afterwards.
package aws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go/middleware"

	"github.com/gennaker/gennaker/providers"
	gaws "github.com/gennaker/gennaker/providers/aws"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/mototest"
	"github.com/gennaker/gennaker/shared/runtime/local"
	"github.com/gennaker/gennaker/shared/store"
)

// regions are the regions of the test account; each has the application's
// load balancer and target group.
var regions = []string{"us-east-1", "us-west-2"}

// env is a local runtime deploying to one fresh AWS account in moto, with
// application shop behind an application load balancer in each region.
type env struct {
	t     testing.TB
	rt    *local.Runtime
	id    string // the AWS account id
	srv   *mototest.Server
	calls *calls
	n     int
}

// calls counts the AWS API calls the provider makes, by operation.
type calls struct {
	mu  sync.Mutex
	ops map[string]int
	log []string
}

func (c *calls) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops[op]++
	c.log = append(c.log, op)
}

// take returns the counts since the last take and starts afresh.
func (c *calls) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.ops
	c.ops, c.log = map[string]int{}, nil
	return out
}

// counting is an SDK option that counts each call made with the config.
func (c *calls) counting(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("gennakerCount",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.add(awsmiddleware.GetServiceID(ctx) + " " + awsmiddleware.GetOperationName(ctx))
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// newEnv starts the runtime. opts change how the provider reaches AWS
// (a fake client for what moto cannot model).
func newEnv(t testing.TB, guards []model.TrafficGuard, opts ...gaws.Option) *env {
	t.Helper()
	srv := mototest.Shared(t)
	e := &env{t: t, srv: srv, id: srv.NewAccount(), calls: &calls{ops: map[string]int{}}}
	base := func(ctx context.Context, region string) (aws.Config, error) {
		cfg := srv.Config(e.id)
		cfg.Region = region
		cfg.APIOptions = append(cfg.APIOptions, e.calls.counting)
		return cfg, nil
	}
	rt, err := local.Open(context.Background(), local.Options{
		DataDir:  t.(interface{ TempDir() string }).TempDir(),
		Accounts: []providers.Account{{Name: "prod", Provider: "aws", Regions: regions, Fields: map[string]any{"accountId": e.id}}},
		AWS:      append([]gaws.Option{gaws.WithBaseConfig(base), gaws.WithPollInterval(100 * time.Millisecond)}, opts...),
	})
	if err != nil {
		t.Fatalf("open runtime: %v", err)
	}
	e.rt = rt
	t.Cleanup(func() { _ = rt.Close() })
	if err := rt.Store.Applications().Put(context.Background(), &model.Application{Name: "shop", TrafficGuards: guards}); err != nil {
		t.Fatal(err)
	}
	e.createLoadBalancers()
	e.calls.take()
	return e
}

// config is an SDK configuration of the test's account in region.
func (e *env) config(region string) aws.Config {
	cfg := e.srv.Config(e.id)
	cfg.Region = region
	return cfg
}

// createLoadBalancers creates shop's application load balancer in each
// region with an upsertLoadBalancer stage: listening on port 80 and
// forwarding to target group shop-tg, which checks /health on port 8080.
func (e *env) createLoadBalancers() {
	e.t.Helper()
	var lbs []string
	for _, r := range regions {
		lbs = append(lbs, fmt.Sprintf(`{"cloudProvider": "aws", "credentials": "prod", "region": %q, "name": "shop-lb",
		  "loadBalancerType": "application", "isInternal": false,
		  "availabilityZones": {%q: [%q, %q]},
		  "targetGroups": [{"name": "shop-tg", "protocol": "HTTP", "port": 8080, "healthCheckProtocol": "HTTP",
		    "healthCheckPath": "/health", "healthCheckInterval": 10, "healthyThreshold": 2, "unhealthyThreshold": 3}],
		  "listeners": [{"protocol": "HTTP", "port": 80, "defaultActions": [{"type": "forward", "targetGroupName": "shop-tg"}]}]}`,
			r, r, r+"a", r+"b"))
	}
	ex := e.run(`{"refId": "lb", "type": "upsertLoadBalancer", "name": "Load balancers", "loadBalancers": [` + strings.Join(lbs, ",") + `]}`)
	assertStatus(e.t, ex, model.StatusSucceeded)
}

// cluster is a deploy stage's cluster of shop-web in the given regions,
// launched from an AMI; extra adds fields as JSON members.
func cluster(ami, strategy string, desired int, regs []string, extra string) string {
	zones := map[string][]string{}
	for _, r := range regs {
		zones[r] = []string{r + "a", r + "b"}
	}
	z, _ := json.Marshal(zones)
	image := "" // from an earlier stage
	if ami != "" {
		image = fmt.Sprintf(` "imageId": %q,`, ami)
	}
	return fmt.Sprintf(`{"cloudProvider": "aws", "account": "prod", "application": "shop", "stack": "web",
	  "strategy": %q, "capacity": {"min": %d, "max": %d, "desired": %d},
	  "availabilityZones": %s, "instanceType": "t3.micro",%s
	  "targetGroups": ["shop-tg"], "healthCheckType": "ELB", "healthCheckGracePeriod": 60,
	  "tags": {"team": "checkout"}%s}`, strategy, desired, desired, desired, z, image, extra)
}

func deployStage(ami, strategy string, desired int, regs []string, extra string) string {
	return fmt.Sprintf(`{"refId": "deploy", "type": "deploy", "name": "Deploy %s", "clusters": [%s]}`, ami, cluster(ami, strategy, desired, regs, extra))
}

// run saves a pipeline of stages, triggers it and waits for it to end.
func (e *env) run(stages ...string) *model.Execution {
	e.t.Helper()
	return e.wait(e.start(stages...), 2*time.Minute)
}

// start saves a pipeline of stages and triggers it.
func (e *env) start(stages ...string) model.ExecutionID {
	e.t.Helper()
	e.n++
	src := fmt.Sprintf(`{"application": "shop", "name": "p%d", "id": "p%d", "stages": [%s]}`, e.n, e.n, strings.Join(stages, ","))
	var p model.Pipeline
	if err := json.Unmarshal([]byte(src), &p); err != nil {
		e.t.Fatalf("pipeline JSON: %v\n%s", err, src)
	}
	if _, err := e.rt.Store.Pipelines().Save(context.Background(), &p, "tester", 0); err != nil {
		e.t.Fatalf("save pipeline: %v", err)
	}
	id, err := e.rt.Orchestrator.TriggerPipeline(context.Background(), &p, model.ExecutionTrigger{Type: "manual", User: "tester"}, "")
	if err != nil {
		e.t.Fatalf("trigger: %v", err)
	}
	return id
}

// wait waits until the run ends.
func (e *env) wait(id model.ExecutionID, timeout time.Duration) *model.Execution {
	e.t.Helper()
	return e.waitFor(id, timeout, "end", func(ex *model.Execution) bool { return ex.Status.IsComplete() && ex.Orchestration.Finalized })
}

// waitFor waits until the run meets cond.
func (e *env) waitFor(id model.ExecutionID, timeout time.Duration, what string, cond func(*model.Execution) bool) *model.Execution {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ex, err := e.rt.Store.Executions().Get(context.Background(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			e.t.Fatalf("get %s: %v", id, err)
		}
		if ex != nil && cond(ex) {
			return ex
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("run %s did not %s: %s", id, what, describe(ex))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(e *model.Execution) string {
	if e == nil {
		return "<none>"
	}
	out := string(e.Status)
	for _, s := range e.Stages {
		out += " | " + s.Name + "=" + string(s.Status)
		for _, t := range s.Tasks {
			out += fmt.Sprintf(" %s:%s", t.Name, t.Status)
		}
		if ex, ok := s.Context["exception"]; ok {
			b, _ := json.Marshal(ex)
			out += " " + string(b)
		}
	}
	return out
}

func assertStatus(t testing.TB, e *model.Execution, want model.Status) {
	t.Helper()
	if e.Status != want {
		t.Fatalf("run status = %s, want %s; %s", e.Status, want, describe(e))
	}
}

// asg is an Auto Scaling group as AWS reports it.
type asg struct {
	name      string
	desired   int
	instances []string
	suspended []string
	lt        string
}

// groups returns the Auto Scaling groups of region, by name, as AWS
// reports them.
func (e *env) groups(region string) []asg {
	e.t.Helper()
	out, err := autoscaling.NewFromConfig(e.config(region)).DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	var gs []asg
	for _, g := range out.AutoScalingGroups {
		a := asg{name: aws.ToString(g.AutoScalingGroupName), desired: int(aws.ToInt32(g.DesiredCapacity))}
		for _, in := range g.Instances {
			a.instances = append(a.instances, aws.ToString(in.InstanceId))
		}
		for _, p := range g.SuspendedProcesses {
			a.suspended = append(a.suspended, aws.ToString(p.ProcessName))
		}
		if g.LaunchTemplate != nil {
			a.lt = aws.ToString(g.LaunchTemplate.LaunchTemplateName) + ":" + aws.ToString(g.LaunchTemplate.Version)
		}
		sort.Strings(a.instances)
		gs = append(gs, a)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].name < gs[j].name })
	return gs
}

// targets lists the instances registered in region's target group.
func (e *env) targets(region string) []string {
	e.t.Helper()
	ctx := context.Background()
	elb := elbv2.NewFromConfig(e.config(region))
	tgs, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"shop-tg"}})
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tgs.TargetGroups[0].TargetGroupArn})
	if err != nil {
		e.t.Fatal(err)
	}
	ids := []string{}
	for _, d := range out.TargetHealthDescriptions {
		ids = append(ids, aws.ToString(d.Target.Id))
	}
	sort.Strings(ids)
	return ids
}

// state summarises region's groups as AWS reports them:
// "v000:disabled:2 v001:enabled:2", a group being enabled when
// AddToLoadBalancer is not suspended and every instance of it is in the
// target group, disabled when it is suspended and none is.
func (e *env) state(region string) string {
	e.t.Helper()
	targets := e.targets(region)
	var parts []string
	for _, g := range e.groups(region) {
		in := 0
		for _, id := range g.instances {
			if slices.Contains(targets, id) {
				in++
			}
		}
		st := "mixed"
		switch suspended := slices.Contains(g.suspended, "AddToLoadBalancer"); {
		case !suspended && in == len(g.instances):
			st = "enabled"
		case suspended && in == 0:
			st = "disabled"
		}
		parts = append(parts, fmt.Sprintf("%s:%s:%d", g.name[strings.LastIndex(g.name, "-")+1:], st, g.desired))
	}
	return strings.Join(parts, " ")
}

func assertState(t testing.TB, e *env, region, when, want string) {
	t.Helper()
	if got := e.state(region); got != want {
		t.Fatalf("%s in %s, AWS reports %s, want %s", when, region, got, want)
	}
}

// launchTemplates lists region's launch templates by name.
func (e *env) launchTemplates(region string) []string {
	e.t.Helper()
	out, err := ec2.NewFromConfig(e.config(region)).DescribeLaunchTemplates(context.Background(), &ec2.DescribeLaunchTemplatesInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	names := []string{}
	for _, lt := range out.LaunchTemplates {
		names = append(names, aws.ToString(lt.LaunchTemplateName))
	}
	sort.Strings(names)
	return names
}

// launchedFrom returns the AMI of the launch template of group in region.
func (e *env) launchedFrom(region, group string) string {
	e.t.Helper()
	out, err := ec2.NewFromConfig(e.config(region)).DescribeLaunchTemplateVersions(context.Background(), &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String(group)})
	if err != nil || len(out.LaunchTemplateVersions) != 1 {
		e.t.Fatalf("launch template %s in %s: %v", group, region, err)
	}
	return aws.ToString(out.LaunchTemplateVersions[0].LaunchTemplateData.ImageId)
}
