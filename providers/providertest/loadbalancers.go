package providertest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gennaker/gennaker/providers"
)

// LoadBalancersEnv is what the LoadBalancers suite needs from a provider's
// test.
type LoadBalancersEnv struct {
	LoadBalancers providers.LoadBalancers
	// Region is a region of the account.
	Region string
	// ServerGroups, when its ServerGroups is set, lets the suite check
	// that a load balancer lists the server groups that name it, and that
	// deleting it leaves them running.
	ServerGroups ServerGroupsEnv
}

// LoadBalancers checks what providers.LoadBalancers promises: Upsert
// creates, is idempotent and updates; Get of a missing one is ErrNotFound;
// List orders by name; Delete forgets and deleting a missing one does
// nothing, while server groups behind it keep running. Every load balancer
// it creates belongs to application "conf".
func LoadBalancers(t *testing.T, env LoadBalancersEnv) {
	ctx := context.Background()
	lbs := env.LoadBalancers
	if _, err := lbs.Get(ctx, env.Region, "conf-missing"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Get of a missing load balancer: %v, want ErrNotFound", err)
	}
	spec := providers.LoadBalancerSpec{Name: "conf-lb", Region: env.Region, Application: "conf"}
	lb, err := lbs.Upsert(ctx, spec)
	if err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	t.Cleanup(func() { _ = lbs.Delete(context.Background(), env.Region, spec.Name) })
	if lb.Name != spec.Name || lb.Region != env.Region || lb.Application != "conf" {
		t.Fatalf("Upsert = %+v, want load balancer %s of conf in %s", lb, spec.Name, env.Region)
	}
	again, err := lbs.Upsert(ctx, spec)
	if err != nil || again.Name != lb.Name || again.ListenPort != lb.ListenPort || again.URL != lb.URL {
		t.Fatalf("Upsert again = %+v, %v; want %+v", again, err, lb)
	}
	if got, err := lbs.Get(ctx, env.Region, spec.Name); err != nil || got.Name != spec.Name || got.URL != lb.URL {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, lb)
	}

	// Upsert updates the load balancer to match its spec.
	moved := spec
	moved.Application = "confother"
	if got, err := lbs.Upsert(ctx, moved); err != nil || got.Application != "confother" {
		t.Fatalf("Upsert with another application = %+v, %v", got, err)
	}
	if got, err := lbs.Get(ctx, env.Region, spec.Name); err != nil || got.Application != "confother" {
		t.Fatalf("Get after the update = %+v, %v; want application confother", got, err)
	}

	other := providers.LoadBalancerSpec{Name: "conf-a-lb", Region: env.Region, Application: "conf"}
	if _, err := lbs.Upsert(ctx, other); err != nil {
		t.Fatalf("Upsert %s: %v", other.Name, err)
	}
	t.Cleanup(func() { _ = lbs.Delete(context.Background(), env.Region, other.Name) })
	if names := lbNames(t, lbs); !slices.Equal(names, []string{"conf-a-lb", "conf-lb"}) {
		t.Fatalf("List = %v, want ordered by name: [conf-a-lb conf-lb]", names)
	}

	sgs := env.ServerGroups
	if sgs.ServerGroups != nil {
		s := sgs.spec("conf-behind-v000", providers.Capacity{Min: 1, Max: 1, Desired: 1})
		s.LoadBalancers = []string{spec.Name}
		if err := sgs.Create(ctx, s); err != nil {
			t.Fatalf("create %s behind %s: %v", s.Name, spec.Name, err)
		}
		t.Cleanup(func() { _ = sgs.ServerGroups.Destroy(context.Background(), env.Region, s.Name) })
		sgs.waitFor(t, s.Name, "up", func(g *providers.ServerGroup) bool { return g.Up() })
		got, err := lbs.Get(ctx, env.Region, spec.Name)
		if err != nil || len(got.ServerGroups) != 1 || got.ServerGroups[0].Name != s.Name || got.ServerGroups[0].IsDisabled {
			t.Fatalf("load balancer with %s behind it = %+v, %v", s.Name, got, err)
		}
		defer func() {
			g := sgs.waitFor(t, s.Name, "up", func(g *providers.ServerGroup) bool { return g.Up() })
			if g.Counts.Total != 1 {
				t.Fatalf("server group %s after its load balancer was deleted = %+v, want its instance running", s.Name, g)
			}
		}()
	}

	if err := lbs.Delete(ctx, env.Region, spec.Name); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := lbs.Get(ctx, env.Region, spec.Name); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if names := lbNames(t, lbs); !slices.Equal(names, []string{"conf-a-lb"}) {
		t.Fatalf("List after Delete = %v, want [conf-a-lb]", names)
	}
	if err := lbs.Delete(ctx, env.Region, spec.Name); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
}

func lbNames(t *testing.T, lbs providers.LoadBalancers) []string {
	t.Helper()
	list, err := lbs.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	out := []string{}
	for _, lb := range list {
		out = append(out, lb.Name)
	}
	return out
}
