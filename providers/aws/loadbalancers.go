package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/gennaker/gennaker/providers"
)

// loadBalancers are an account's application and network load balancers,
// with their listeners and target groups, as Spinnaker's upsertLoadBalancer
// describes them:
//
//	{name, loadBalancerType: application|network, isInternal, subnetType,
//	 availabilityZones: {region: [zones]}, securityGroups: [names or ids],
//	 targetGroups: [{name, protocol, port, targetType, healthCheckProtocol,
//	   healthCheckPort, healthCheckPath, healthCheckInterval,
//	   healthCheckTimeout, healthyThreshold, unhealthyThreshold}],
//	 listeners: [{protocol, port,
//	   defaultActions: [{type: forward, targetGroupName}]}]}
type loadBalancers struct{ c *cloud }

var _ providers.LoadBalancers = loadBalancers{}

// lbSettings are an upsertLoadBalancer's AWS fields.
type lbSettings struct {
	Type         string
	Internal     bool
	settings     // subnetType, availabilityZones, securityGroups
	TargetGroups []targetGroupSpec
	Listeners    []listenerSpec
}

type targetGroupSpec struct {
	Name, Protocol, TargetType, HealthCheckProtocol, HealthCheckPort, HealthCheckPath string
	Port                                                                              int32
	Interval, Timeout, Healthy, Unhealthy                                             *int32
}

type listenerSpec struct {
	Protocol    string
	Port        int32
	TargetGroup string
}

func readLBSettings(m map[string]any) (lbSettings, error) {
	var out lbSettings
	var err error
	r := fieldReader{m: m, err: &err}
	out.Type = r.str("loadBalancerType")
	if out.Type == "" {
		out.Type = "application"
	}
	if out.Type != "application" && out.Type != "network" && err == nil {
		err = fmt.Errorf("loadBalancerType: %q is not application or network (classic load balancers are not served)", out.Type)
	}
	if b := r.boolean("isInternal"); b != nil {
		out.Internal = *b
	}
	out.Zones = r.zones("availabilityZones")
	out.SubnetType = r.str("subnetType")
	out.SecurityGroups = r.strs("securityGroups")
	if list, ok := m["targetGroups"].([]any); ok {
		for i, x := range list {
			tm, ok := x.(map[string]any)
			if !ok {
				return out, fmt.Errorf("targetGroups[%d]: must be an object", i)
			}
			tr := fieldReader{m: tm, err: &err}
			tg := targetGroupSpec{
				Name: tr.str("name"), Protocol: tr.str("protocol"), TargetType: tr.str("targetType"),
				HealthCheckProtocol: tr.str("healthCheckProtocol"), HealthCheckPort: tr.str("healthCheckPort"), HealthCheckPath: tr.str("healthCheckPath"),
				Interval: tr.int32("healthCheckInterval"), Timeout: tr.int32("healthCheckTimeout"),
				Healthy: tr.int32("healthyThreshold"), Unhealthy: tr.int32("unhealthyThreshold"),
			}
			if p := tr.int32("port"); p != nil {
				tg.Port = *p
			}
			if tg.Name == "" && err == nil {
				err = fmt.Errorf("targetGroups[%d].name: is required", i)
			}
			out.TargetGroups = append(out.TargetGroups, tg)
		}
	}
	if list, ok := m["listeners"].([]any); ok {
		for i, x := range list {
			lm, ok := x.(map[string]any)
			if !ok {
				return out, fmt.Errorf("listeners[%d]: must be an object", i)
			}
			lr := fieldReader{m: lm, err: &err}
			l := listenerSpec{Protocol: lr.str("protocol")}
			if p := lr.int32("port"); p != nil {
				l.Port = *p
			}
			if acts, ok := lm["defaultActions"].([]any); ok && len(acts) > 0 {
				if a, ok := acts[0].(map[string]any); ok {
					l.TargetGroup = fieldReader{m: a, err: &err}.str("targetGroupName")
				}
			}
			if (l.Port == 0 || l.TargetGroup == "") && err == nil {
				err = fmt.Errorf("listeners[%d]: needs a port and a defaultActions forward to a targetGroupName", i)
			}
			out.Listeners = append(out.Listeners, l)
		}
	}
	return out, err
}

// find returns the named load balancer of region, or nil.
func (lb loadBalancers) find(ctx context.Context, cl Client, name string) (*elbtypes.LoadBalancer, error) {
	out, err := call(ctx, lb.c.retry, "DescribeLoadBalancers", func() (*elbv2.DescribeLoadBalancersOutput, error) {
		return cl.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	})
	if err != nil {
		if errorCode(err) == "LoadBalancerNotFound" {
			return nil, nil
		}
		return nil, err
	}
	if len(out.LoadBalancers) == 0 {
		return nil, nil
	}
	return &out.LoadBalancers[0], nil
}

// Upsert implements providers.LoadBalancers: the load balancer, its
// target groups (created or their health checks updated) and its
// listeners (created or pointed at their target group).
func (lb loadBalancers) Upsert(ctx context.Context, spec providers.LoadBalancerSpec) (*providers.LoadBalancer, error) {
	fail := func(err error) (*providers.LoadBalancer, error) {
		return nil, fmt.Errorf("upsert load balancer %s in %s/%s: %w", spec.Name, lb.c.acct.Name, spec.Region, err)
	}
	s, err := readLBSettings(spec.Settings)
	if err != nil {
		return fail(err)
	}
	cl, err := lb.c.client(ctx, spec.Region)
	if err != nil {
		return fail(err)
	}
	var sgs []string
	if len(s.SecurityGroups) > 0 {
		if sgs, err = lb.c.securityGroups(ctx, cl, s.SecurityGroups); err != nil {
			return fail(err)
		}
	}
	cur, err := lb.find(ctx, cl, spec.Name)
	if err != nil {
		return fail(err)
	}
	if cur == nil {
		subnets, _, err := lb.c.placement(ctx, cl, spec.Region, s.settings)
		if err != nil {
			return fail(err)
		}
		if len(subnets) < 2 {
			subnets, err = lb.defaultSubnets(ctx, cl)
			if err != nil {
				return fail(err)
			}
		}
		in := &elbv2.CreateLoadBalancerInput{
			Name: aws.String(spec.Name), Subnets: subnets, Type: elbtypes.LoadBalancerTypeEnum(s.Type),
			Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing,
			Tags:   []elbtypes.Tag{{Key: aws.String(tagApplication), Value: aws.String(spec.Application)}},
		}
		if s.Internal {
			in.Scheme = elbtypes.LoadBalancerSchemeEnumInternal
		}
		if s.Type == "application" && len(sgs) > 0 {
			in.SecurityGroups = sgs
		}
		out, err := call(ctx, lb.c.retry, "CreateLoadBalancer", func() (*elbv2.CreateLoadBalancerOutput, error) { return cl.CreateLoadBalancer(ctx, in) })
		if err != nil {
			return fail(err)
		}
		cur = &out.LoadBalancers[0]
	} else {
		if s.Type == "application" && len(sgs) > 0 {
			if err := do(ctx, lb.c.retry, "SetSecurityGroups", func() error {
				return cl.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: cur.LoadBalancerArn, SecurityGroups: sgs})
			}); err != nil {
				return fail(err)
			}
		}
		if err := do(ctx, lb.c.retry, "AddTags", func() error {
			return cl.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{aws.ToString(cur.LoadBalancerArn)},
				Tags: []elbtypes.Tag{{Key: aws.String(tagApplication), Value: aws.String(spec.Application)}}})
		}); err != nil {
			return fail(err)
		}
	}
	arns := map[string]string{}
	for _, tg := range s.TargetGroups {
		arn, err := lb.upsertTargetGroup(ctx, cl, aws.ToString(cur.VpcId), tg, s.Type)
		if err != nil {
			return fail(fmt.Errorf("target group %s: %w", tg.Name, err))
		}
		arns[tg.Name] = arn
	}
	if len(s.Listeners) > 0 {
		if err := lb.upsertListeners(ctx, cl, cur, s, arns); err != nil {
			return fail(err)
		}
	}
	return lb.Get(ctx, spec.Region, spec.Name)
}

func (lb loadBalancers) defaultSubnets(ctx context.Context, cl Client) ([]string, error) {
	out, err := call(ctx, lb.c.retry, "DescribeSubnets", func() (*ec2.DescribeSubnetsOutput, error) {
		return cl.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, sn := range out.Subnets {
		ids = append(ids, aws.ToString(sn.SubnetId))
	}
	sort.Strings(ids)
	if len(ids) < 2 {
		return nil, errors.New("availabilityZones or subnetType: a load balancer needs subnets in two zones")
	}
	return ids, nil
}

func (lb loadBalancers) upsertTargetGroup(ctx context.Context, cl Client, vpc string, tg targetGroupSpec, lbType string) (string, error) {
	proto := elbtypes.ProtocolEnum(strings.ToUpper(tg.Protocol))
	if proto == "" {
		proto = elbtypes.ProtocolEnumHttp
		if lbType == "network" {
			proto = elbtypes.ProtocolEnumTcp
		}
	}
	port := tg.Port
	if port == 0 {
		port = 80
	}
	var hcPath *string
	if tg.HealthCheckPath != "" {
		hcPath = aws.String(tg.HealthCheckPath)
	}
	var hcPort *string
	if tg.HealthCheckPort != "" {
		hcPort = aws.String(tg.HealthCheckPort)
	}
	hcProto := elbtypes.ProtocolEnum(strings.ToUpper(tg.HealthCheckProtocol))
	existing, err := call(ctx, lb.c.retry, "DescribeTargetGroups", func() (*elbv2.DescribeTargetGroupsOutput, error) {
		return cl.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{tg.Name}})
	})
	if err != nil && errorCode(err) != "TargetGroupNotFound" {
		return "", err
	}
	if err == nil && len(existing.TargetGroups) > 0 {
		arn := existing.TargetGroups[0].TargetGroupArn
		return aws.ToString(arn), do(ctx, lb.c.retry, "ModifyTargetGroup", func() error {
			return cl.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{
				TargetGroupArn: arn, HealthCheckPath: hcPath, HealthCheckPort: hcPort, HealthCheckProtocol: hcProto,
				HealthCheckIntervalSeconds: tg.Interval, HealthCheckTimeoutSeconds: tg.Timeout,
				HealthyThresholdCount: tg.Healthy, UnhealthyThresholdCount: tg.Unhealthy,
			})
		})
	}
	out, err := call(ctx, lb.c.retry, "CreateTargetGroup", func() (*elbv2.CreateTargetGroupOutput, error) {
		return cl.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(tg.Name), Protocol: proto, Port: aws.Int32(port), VpcId: aws.String(vpc),
			TargetType: elbtypes.TargetTypeEnum(tg.TargetType), HealthCheckPath: hcPath, HealthCheckPort: hcPort, HealthCheckProtocol: hcProto,
			HealthCheckIntervalSeconds: tg.Interval, HealthCheckTimeoutSeconds: tg.Timeout,
			HealthyThresholdCount: tg.Healthy, UnhealthyThresholdCount: tg.Unhealthy,
		})
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn), nil
}

func (lb loadBalancers) upsertListeners(ctx context.Context, cl Client, cur *elbtypes.LoadBalancer, s lbSettings, arns map[string]string) error {
	out, err := call(ctx, lb.c.retry, "DescribeListeners", func() (*elbv2.DescribeListenersOutput, error) {
		return cl.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: cur.LoadBalancerArn})
	})
	if err != nil {
		return err
	}
	for _, l := range s.Listeners {
		arn, ok := arns[l.TargetGroup]
		if !ok {
			return fmt.Errorf("listener on port %d forwards to target group %q, which targetGroups does not describe", l.Port, l.TargetGroup)
		}
		actions := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(arn)}}
		proto := elbtypes.ProtocolEnum(strings.ToUpper(l.Protocol))
		if proto == "" {
			proto = elbtypes.ProtocolEnumHttp
		}
		var existing *elbtypes.Listener
		for i := range out.Listeners {
			if aws.ToInt32(out.Listeners[i].Port) == l.Port {
				existing = &out.Listeners[i]
			}
		}
		if existing != nil {
			if err := do(ctx, lb.c.retry, "ModifyListener", func() error {
				return cl.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: existing.ListenerArn, Protocol: proto, DefaultActions: actions})
			}); err != nil {
				return fmt.Errorf("listener on port %d: %w", l.Port, err)
			}
			continue
		}
		if err := do(ctx, lb.c.retry, "CreateListener", func() error {
			return cl.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: cur.LoadBalancerArn, Port: aws.Int32(l.Port), Protocol: proto, DefaultActions: actions})
		}); err != nil {
			return fmt.Errorf("listener on port %d: %w", l.Port, err)
		}
	}
	return nil
}

// view is a load balancer as gennaker sees it, with the server groups in
// its target groups.
func (lb loadBalancers) view(ctx context.Context, cl Client, region string, cur elbtypes.LoadBalancer) (*providers.LoadBalancer, error) {
	out := &providers.LoadBalancer{
		Name: aws.ToString(cur.LoadBalancerName), Account: lb.c.acct.Name, Region: region, CloudProvider: Name,
		Type: string(cur.Type), DNSName: aws.ToString(cur.DNSName), ServerGroups: []providers.LoadBalancerServerGroup{},
	}
	if out.DNSName != "" {
		out.URL = "http://" + out.DNSName
	}
	tags, err := call(ctx, lb.c.retry, "DescribeTags", func() (*elbv2.DescribeTagsOutput, error) {
		return cl.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{aws.ToString(cur.LoadBalancerArn)}})
	})
	if err != nil {
		return nil, err
	}
	for _, d := range tags.TagDescriptions {
		for _, t := range d.Tags {
			if aws.ToString(t.Key) == tagApplication {
				out.Application = aws.ToString(t.Value)
			}
		}
	}
	tgs, err := lb.targetGroups(ctx, cl, &cur)
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{}
	for _, tg := range tgs.TargetGroups {
		out.TargetGroups = append(out.TargetGroups, aws.ToString(tg.TargetGroupName))
		mine[aws.ToString(tg.TargetGroupArn)] = true
	}
	sort.Strings(out.TargetGroups)
	if len(mine) == 0 {
		return out, nil
	}
	groups, err := lb.c.describe(ctx, cl)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		behind := false
		for _, arn := range g.TargetGroupARNs {
			behind = behind || mine[arn]
		}
		if !behind {
			continue
		}
		views, err := lb.c.views(ctx, cl, region, []astypes.AutoScalingGroup{g})
		if err != nil {
			return nil, err
		}
		v := views[0]
		out.ServerGroups = append(out.ServerGroups, providers.LoadBalancerServerGroup{Name: v.Name, IsDisabled: v.Disabled, Instances: v.Instances})
	}
	return out, nil
}

// targetGroups are the load balancer's target groups; AWS answers
// TargetGroupNotFound for a load balancer that has none.
func (lb loadBalancers) targetGroups(ctx context.Context, cl Client, cur *elbtypes.LoadBalancer) (*elbv2.DescribeTargetGroupsOutput, error) {
	out, err := call(ctx, lb.c.retry, "DescribeTargetGroups", func() (*elbv2.DescribeTargetGroupsOutput, error) {
		return cl.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: cur.LoadBalancerArn})
	})
	if errorCode(err) == "TargetGroupNotFound" {
		return &elbv2.DescribeTargetGroupsOutput{}, nil
	}
	return out, err
}

// Get implements providers.LoadBalancers.
func (lb loadBalancers) Get(ctx context.Context, region, name string) (*providers.LoadBalancer, error) {
	cl, err := lb.c.client(ctx, region)
	if err != nil {
		return nil, err
	}
	cur, err := lb.find(ctx, cl, name)
	if err != nil {
		return nil, fmt.Errorf("load balancer %s in %s/%s: %w", name, lb.c.acct.Name, region, err)
	}
	if cur == nil {
		return nil, fmt.Errorf("load balancer %s in %s/%s: %w", name, lb.c.acct.Name, region, providers.ErrNotFound)
	}
	return lb.view(ctx, cl, region, *cur)
}

// List implements providers.LoadBalancers: every region's, by name.
func (lb loadBalancers) List(ctx context.Context) ([]providers.LoadBalancer, error) {
	out := []providers.LoadBalancer{}
	for _, region := range lb.c.acct.Regions {
		cl, err := lb.c.client(ctx, region)
		if err != nil {
			return nil, err
		}
		in := &elbv2.DescribeLoadBalancersInput{}
		for {
			page, err := call(ctx, lb.c.retry, "DescribeLoadBalancers", func() (*elbv2.DescribeLoadBalancersOutput, error) { return cl.DescribeLoadBalancers(ctx, in) })
			if err != nil {
				return nil, fmt.Errorf("load balancers in %s/%s: %w", lb.c.acct.Name, region, err)
			}
			for _, cur := range page.LoadBalancers {
				v, err := lb.view(ctx, cl, region, cur)
				if err != nil {
					return nil, err
				}
				out = append(out, *v)
			}
			if aws.ToString(page.NextMarker) == "" {
				break
			}
			in.Marker = page.NextMarker
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements providers.LoadBalancers: the load balancer with its
// listeners, then its target groups that no server group uses.
func (lb loadBalancers) Delete(ctx context.Context, region, name string) error {
	cl, err := lb.c.client(ctx, region)
	if err != nil {
		return err
	}
	cur, err := lb.find(ctx, cl, name)
	if err != nil || cur == nil {
		return err
	}
	tgs, err := lb.targetGroups(ctx, cl, cur)
	if err != nil {
		return fmt.Errorf("delete load balancer %s in %s/%s: %w", name, lb.c.acct.Name, region, err)
	}
	if err := do(ctx, lb.c.retry, "DeleteLoadBalancer", func() error {
		return cl.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: cur.LoadBalancerArn})
	}); err != nil {
		return fmt.Errorf("delete load balancer %s in %s/%s: %w", name, lb.c.acct.Name, region, err)
	}
	groups, err := lb.c.describe(ctx, cl)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, g := range groups {
		for _, arn := range g.TargetGroupARNs {
			used[arn] = true
		}
	}
	for _, tg := range tgs.TargetGroups {
		if used[aws.ToString(tg.TargetGroupArn)] {
			continue // a server group behind it keeps it
		}
		if err := do(ctx, lb.c.retry, "DeleteTargetGroup", func() error {
			return cl.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn})
		}); err != nil && errorCode(err) != "ResourceInUse" {
			return fmt.Errorf("delete target group %s: %w", aws.ToString(tg.TargetGroupName), err)
		}
	}
	return nil
}
