package aws_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/gennaker/gennaker/shared/model"
)

// upsertLoadBalancer made shop's application load balancer in each region
// (newEnv): AWS reports it with its listener and target group, and Gate's
// read of the application's load balancers shows them with the server
// groups behind them.
func TestApplicationLoadBalancer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, r := range regions {
		elb := elbv2.NewFromConfig(e.config(r))
		lbs, err := elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"shop-lb"}})
		if err != nil || len(lbs.LoadBalancers) != 1 || lbs.LoadBalancers[0].Type != "application" {
			t.Fatalf("load balancer in %s: %+v, %v", r, lbs, err)
		}
		ls, err := elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
		if err != nil || len(ls.Listeners) != 1 || aws.ToInt32(ls.Listeners[0].Port) != 80 {
			t.Fatalf("listeners in %s: %+v, %v", r, ls, err)
		}
		tgs, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"shop-tg"}})
		if err != nil || aws.ToString(tgs.TargetGroups[0].HealthCheckPath) != "/health" || aws.ToInt32(tgs.TargetGroups[0].Port) != 8080 ||
			aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn) != aws.ToString(tgs.TargetGroups[0].TargetGroupArn) {
			t.Fatalf("target group in %s: %+v, %v", r, tgs, err)
		}
	}
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 2, regions, "")), model.StatusSucceeded)

	req := httptest.NewRequest("GET", "/applications/shop/loadBalancers", nil)
	rec := httptest.NewRecorder()
	e.rt.API().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /applications/shop/loadBalancers: %d %s", rec.Code, rec.Body)
	}
	var got []struct {
		Name          string `json:"name"`
		Region        string `json:"region"`
		CloudProvider string `json:"cloudProvider"`
		ServerGroups  []struct {
			Name      string `json:"name"`
			Instances []any  `json:"instances"`
		} `json:"serverGroups"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if len(got) != 2 {
		t.Fatalf("load balancers of shop = %s, want shop-lb in each region", rec.Body)
	}
	for _, lb := range got {
		if lb.Name != "shop-lb" || lb.CloudProvider != "aws" || len(lb.ServerGroups) != 1 || lb.ServerGroups[0].Name != "shop-web-v000" || len(lb.ServerGroups[0].Instances) != 2 {
			t.Fatalf("load balancer %+v, want shop-lb with shop-web-v000's two instances behind it", lb)
		}
	}

	// Deleting the load balancer of one region leaves its target group,
	// which a server group still uses, and the group running.
	ex := e.run(`{"refId": "del", "type": "deleteLoadBalancer", "name": "Delete", "cloudProvider": "aws",
	  "credentials": "prod", "regions": ["us-west-2"], "loadBalancerName": "shop-lb"}`)
	assertStatus(t, ex, model.StatusSucceeded)
	west := elbv2.NewFromConfig(e.config("us-west-2"))
	if lbs, err := west.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{}); err != nil || len(lbs.LoadBalancers) != 0 {
		t.Fatalf("load balancers in us-west-2 after the delete: %+v, %v", lbs, err)
	}
	if tgs, err := west.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"shop-tg"}}); err != nil || len(tgs.TargetGroups) != 1 {
		t.Fatalf("target group in use after the delete: %+v, %v", tgs, err)
	}
	assertState(t, e, "us-west-2", "after deleting its load balancer", "v000:enabled:2")
}

// Gate's read of an AWS server group shows its image, launch template,
// Auto Scaling group, zones and target groups.
func TestServerGroupReadInGateShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	assertStatus(t, e.run(deployStage(amiV1, "redblack", 2, []string{"us-east-1"}, "")), model.StatusSucceeded)
	req := httptest.NewRequest("GET", "/applications/shop/serverGroups/prod/us-east-1/shop-web-v000", nil)
	rec := httptest.NewRecorder()
	e.rt.API().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET server group: %d %s", rec.Code, rec.Body)
	}
	var g struct {
		CloudProvider  string         `json:"cloudProvider"`
		Image          map[string]any `json:"image"`
		LaunchTemplate map[string]any `json:"launchTemplate"`
		Asg            map[string]any `json:"asg"`
		Zones          []string       `json:"zones"`
		TargetGroups   []string       `json:"targetGroups"`
		InstanceCounts struct {
			Up int `json:"up"`
		} `json:"instanceCounts"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil {
		t.Fatal(err)
	}
	if g.CloudProvider != "aws" || g.Image["imageId"] != amiV1 || g.LaunchTemplate["instanceType"] != "t3.micro" ||
		g.Asg["healthCheckType"] != "ELB" || g.Asg["desiredCapacity"] != float64(2) || len(g.Zones) != 2 ||
		len(g.TargetGroups) != 1 || g.TargetGroups[0] != "shop-tg" || g.InstanceCounts.Up != 2 {
		t.Fatalf("server group as Gate shows it: %s", rec.Body)
	}
}
