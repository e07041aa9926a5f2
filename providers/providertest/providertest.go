// Package providertest is the conformance suite every provider passes:
// what the deployment stages rely on, checked against a real account.
package providertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gennaker/gennaker/providers"
)

// Env is what the suite needs from a provider's test.
type Env struct {
	// Cloud is an account's view of the provider under test.
	Cloud *providers.Cloud
	// Region is a region of the account.
	Region string
	// Artifact returns an artifact of a healthy service reporting version.
	Artifact func(version string) map[string]any
	// HealthCheckPath is the path the artifact answers health checks on.
	HealthCheckPath string
	// UpTimeout bounds waiting for instances to come up.
	UpTimeout time.Duration
}

// Run runs the suite. Every name it creates starts with app "conf".
func Run(t *testing.T, env Env) {
	t.Run("ServerGroups", func(t *testing.T) { testServerGroups(t, env) })
	t.Run("LoadBalancers", func(t *testing.T) { testLoadBalancers(t, env) })
}

func testServerGroups(t *testing.T, env Env) {
	ctx := context.Background()
	sgs := env.Cloud.ServerGroups
	if _, err := sgs.Get(ctx, env.Region, "conf-missing-v000"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Get of a missing server group: %v, want ErrNotFound", err)
	}
	spec := providers.ServerGroupSpec{
		Name: "conf-test-v000", Region: env.Region,
		Capacity:        providers.Capacity{Min: 1, Max: 2, Desired: 1},
		Artifact:        env.Artifact("v1"),
		HealthCheckPath: env.HealthCheckPath,
		Provenance:      providers.Provenance{Application: "conf", ExecutionID: "exec-1", User: "tester"},
	}
	first, err := env.Cloud.ServerGroupCreator.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { _ = sgs.Destroy(context.Background(), env.Region, spec.Name) })
	again, err := env.Cloud.ServerGroupCreator.Create(ctx, spec)
	if err != nil || again.CreatedTime != first.CreatedTime {
		t.Fatalf("Create again = %+v, %v; want the same server group", again, err)
	}
	if first.Cluster != "conf-test" || first.Application != "conf" || first.Provenance.ExecutionID != "exec-1" {
		t.Fatalf("created server group = %+v", first)
	}
	list, err := sgs.List(ctx, "conf")
	if err != nil || len(list) != 1 || list[0].Name != spec.Name {
		t.Fatalf("List(conf) = %+v, %v", list, err)
	}
	if other, err := sgs.List(ctx, "nobody"); err != nil || len(other) != 0 {
		t.Fatalf("List of another application = %+v, %v", other, err)
	}
	waitFor(t, env, "one instance up", func(g *providers.ServerGroup) bool { return g.Counts.Up == 1 })

	if err := sgs.Resize(ctx, env.Region, spec.Name, providers.Capacity{Min: 2, Max: 2, Desired: 2}); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	waitFor(t, env, "two instances up", func(g *providers.ServerGroup) bool { return g.Counts.Up == 2 && g.Up() })

	if err := sgs.SetEnabled(ctx, env.Region, spec.Name, false); err != nil {
		t.Fatalf("disable: %v", err)
	}
	g := waitFor(t, env, "disabled", func(g *providers.ServerGroup) bool { return g.Disabled })
	if g.Serving() {
		t.Fatalf("a disabled server group serves: %+v", g)
	}
	if err := sgs.SetEnabled(ctx, env.Region, spec.Name, false); err != nil {
		t.Fatalf("disable again: %v", err)
	}
	if err := sgs.SetEnabled(ctx, env.Region, spec.Name, true); err != nil {
		t.Fatalf("enable: %v", err)
	}
	waitFor(t, env, "enabled and serving", func(g *providers.ServerGroup) bool { return g.Serving() })
	if err := sgs.SetEnabled(ctx, env.Region, "conf-missing-v000", true); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("enable a missing server group: %v, want ErrNotFound", err)
	}

	if err := sgs.Destroy(ctx, env.Region, spec.Name); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if _, err := sgs.Get(ctx, env.Region, spec.Name); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Get after Destroy: %v, want ErrNotFound", err)
	}
	if err := sgs.Destroy(ctx, env.Region, spec.Name); err != nil {
		t.Fatalf("Destroy again: %v", err)
	}
}

func waitFor(t *testing.T, env Env, what string, cond func(g *providers.ServerGroup) bool) *providers.ServerGroup {
	t.Helper()
	deadline := time.Now().Add(env.UpTimeout)
	for {
		g, err := env.Cloud.ServerGroups.Get(context.Background(), env.Region, "conf-test-v000")
		if err == nil && cond(g) {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("server group not %s within %s: %+v, %v", what, env.UpTimeout, g, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testLoadBalancers(t *testing.T, env Env) {
	ctx := context.Background()
	lbs := env.Cloud.LoadBalancers
	if _, err := lbs.Get(ctx, env.Region, "conf-missing"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Get of a missing load balancer: %v, want ErrNotFound", err)
	}
	spec := providers.LoadBalancerSpec{Name: "conf-lb", Region: env.Region, Application: "conf"}
	lb, err := lbs.Upsert(ctx, spec)
	if err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	again, err := lbs.Upsert(ctx, spec)
	if err != nil || again.Name != lb.Name || again.ListenPort != lb.ListenPort {
		t.Fatalf("Upsert again = %+v, %v; want %+v", again, err, lb)
	}
	list, err := lbs.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "conf-lb" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if err := lbs.Delete(ctx, env.Region, "conf-lb"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := lbs.Get(ctx, env.Region, "conf-lb"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := lbs.Delete(ctx, env.Region, "conf-lb"); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
}
