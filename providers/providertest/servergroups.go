package providertest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gennaker/gennaker/providers"
)

// ServerGroupsEnv is what the ServerGroups and ServerGroupCreator suites
// need from a provider's test.
type ServerGroupsEnv struct {
	// ServerGroups are an account's server groups.
	ServerGroups providers.ServerGroups
	// Create starts a server group as spec says, as the account's users
	// would: a provider that serves ServerGroupCreator passes its Create; a
	// Kubernetes account applies a ReplicaSet. The group's instances must
	// become healthy, and it must be behind a load balancer, so that
	// disabling it takes it out of rotation.
	Create func(ctx context.Context, spec providers.ServerGroupSpec) error
	// Region is a region of the account.
	Region string
	// Artifact returns an artifact of a healthy service reporting version.
	Artifact func(version string) map[string]any
	// HealthCheckPath is the path the artifact answers health checks on.
	HealthCheckPath string
	// UpTimeout bounds waiting for instances to start or stop.
	UpTimeout time.Duration
}

func (env ServerGroupsEnv) spec(name string, c providers.Capacity) providers.ServerGroupSpec {
	return providers.ServerGroupSpec{
		Name: name, Region: env.Region, Capacity: c,
		Artifact: env.Artifact("v1"), HealthCheckPath: env.HealthCheckPath,
		Provenance: providers.Provenance{Application: "conf", ExecutionID: "exec-1", User: "tester"},
	}
}

// waitFor waits until the named server group meets cond and returns it.
func (env ServerGroupsEnv) waitFor(t *testing.T, name, what string, cond func(g *providers.ServerGroup) bool) *providers.ServerGroup {
	t.Helper()
	return eventually(t, env.UpTimeout, name+" "+what, func() (*providers.ServerGroup, bool, error) {
		g, err := env.ServerGroups.Get(context.Background(), env.Region, name)
		return g, err == nil && cond(g), err
	})
}

// names lists the names of the application's server groups, as List
// orders them.
func (env ServerGroupsEnv) names(t *testing.T, app string) []string {
	t.Helper()
	list, err := env.ServerGroups.List(context.Background(), app)
	if err != nil {
		t.Fatalf("List(%s): %v", app, err)
	}
	out := []string{}
	for _, g := range list {
		out = append(out, g.Name)
	}
	return out
}

// ServerGroups checks what providers.ServerGroups promises: a missing
// server group is ErrNotFound to Get and SetEnabled and nothing to Destroy;
// List returns an application's groups oldest first; a disabled group keeps
// its instances but takes no traffic; Resize starts and stops instances;
// and changing a group to what it already is changes nothing. It creates
// the server groups of application "conf" through env.Create.
func ServerGroups(t *testing.T, env ServerGroupsEnv) {
	ctx := context.Background()
	sgs := env.ServerGroups
	if _, err := sgs.Get(ctx, env.Region, "conf-missing-v000"); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Get of a missing server group: %v, want ErrNotFound", err)
	}
	if names := env.names(t, "conf"); len(names) != 0 {
		t.Fatalf("List(conf) before any was created = %v, want an empty list", names)
	}

	const name = "conf-test-v000"
	if err := env.Create(ctx, env.spec(name, providers.Capacity{Min: 1, Max: 2, Desired: 1})); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() { _ = sgs.Destroy(context.Background(), env.Region, name) })
	if names := env.names(t, "conf"); !slices.Equal(names, []string{name}) {
		t.Fatalf("List(conf) = %v, want [%s]", names, name)
	}
	if names := env.names(t, "nobody"); len(names) != 0 {
		t.Fatalf("List of another application = %v, want an empty list", names)
	}
	env.waitFor(t, name, "with one instance up", func(g *providers.ServerGroup) bool { return g.Counts.Up == 1 })

	two := providers.Capacity{Min: 2, Max: 2, Desired: 2}
	if err := sgs.Resize(ctx, env.Region, name, two); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	if err := sgs.Resize(ctx, env.Region, name, two); err != nil {
		t.Fatalf("Resize again to the same capacity: %v", err)
	}
	env.waitFor(t, name, "with two instances up", func(g *providers.ServerGroup) bool {
		return g.Counts.Up == 2 && g.Up() && g.Capacity.Desired == 2
	})

	if err := sgs.SetEnabled(ctx, env.Region, name, false); err != nil {
		t.Fatalf("disable: %v", err)
	}
	// Instances keep running out of rotation.
	g := env.waitFor(t, name, "disabled with both instances out of service", func(g *providers.ServerGroup) bool {
		return g.Disabled && g.Counts.OutOfService == 2
	})
	if g.Serving() {
		t.Fatalf("a disabled server group serves: %+v", g)
	}
	if err := sgs.SetEnabled(ctx, env.Region, name, false); err != nil {
		t.Fatalf("disable again: %v", err)
	}
	if g, err := sgs.Get(ctx, env.Region, name); err != nil || !g.Disabled || g.Counts.OutOfService != 2 {
		t.Fatalf("after disabling twice: %+v, %v; want disabled with 2 instances out of service", g, err)
	}
	if err := sgs.SetEnabled(ctx, env.Region, name, true); err != nil {
		t.Fatalf("enable: %v", err)
	}
	env.waitFor(t, name, "enabled and serving", func(g *providers.ServerGroup) bool { return g.Serving() && g.Counts.Up == 2 })
	if err := sgs.SetEnabled(ctx, env.Region, name, true); err != nil {
		t.Fatalf("enable again: %v", err)
	}
	if g, err := sgs.Get(ctx, env.Region, name); err != nil || !g.Serving() || g.Counts.Up != 2 {
		t.Fatalf("after enabling twice: %+v, %v; want serving with 2 instances up", g, err)
	}
	for _, enabled := range []bool{true, false} {
		if err := sgs.SetEnabled(ctx, env.Region, "conf-missing-v000", enabled); !errors.Is(err, providers.ErrNotFound) {
			t.Fatalf("SetEnabled(%t) of a missing server group: %v, want ErrNotFound", enabled, err)
		}
	}

	// A newer group whose name sorts first: List orders by age, not name.
	// Some providers record creation to the second.
	time.Sleep(1100 * time.Millisecond)
	const newer = "conf-a-v000"
	if err := env.Create(ctx, env.spec(newer, providers.Capacity{})); err != nil {
		t.Fatalf("create %s: %v", newer, err)
	}
	t.Cleanup(func() { _ = sgs.Destroy(context.Background(), env.Region, newer) })
	if names := env.names(t, "conf"); !slices.Equal(names, []string{name, newer}) {
		t.Fatalf("List(conf) = %v, want oldest first: [%s %s]", names, name, newer)
	}

	one := providers.Capacity{Min: 1, Max: 1, Desired: 1}
	if err := sgs.Resize(ctx, env.Region, name, one); err != nil {
		t.Fatalf("Resize down: %v", err)
	}
	env.waitFor(t, name, "down to one instance", func(g *providers.ServerGroup) bool {
		return g.Counts.Total == 1 && g.Counts.Up == 1 && g.Capacity.Desired == 1
	})

	if err := sgs.Destroy(ctx, env.Region, name); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if _, err := sgs.Get(ctx, env.Region, name); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Get after Destroy: %v, want ErrNotFound", err)
	}
	if names := env.names(t, "conf"); !slices.Equal(names, []string{newer}) {
		t.Fatalf("List(conf) after Destroy = %v, want [%s]", names, newer)
	}
	if err := sgs.Destroy(ctx, env.Region, name); err != nil {
		t.Fatalf("Destroy again: %v", err)
	}
	if err := sgs.Destroy(ctx, env.Region, "conf-missing-v000"); err != nil {
		t.Fatalf("Destroy of a server group that never was: %v", err)
	}
}

// ServerGroupCreator checks what providers.ServerGroupCreator promises: a
// created server group carries its spec's identity and provenance and runs
// its instances, a disabled one starts out of rotation, and creating a
// name that exists returns the existing group unchanged. It creates the
// server groups of application "confnew" with c and reads them through
// env.ServerGroups.
func ServerGroupCreator(t *testing.T, c providers.ServerGroupCreator, env ServerGroupsEnv) {
	ctx := context.Background()
	spec := env.spec("confnew-web-v000", providers.Capacity{Min: 1, Max: 2, Desired: 1})
	spec.Provenance.Application = "confnew"
	first, err := c.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { _ = env.ServerGroups.Destroy(context.Background(), env.Region, spec.Name) })
	if first.Name != spec.Name || first.Region != env.Region || first.Cluster != "confnew-web" || first.Application != "confnew" ||
		first.Provenance.ExecutionID != "exec-1" || first.Provenance.User != "tester" || first.Capacity != spec.Capacity {
		t.Fatalf("created server group = %+v", first)
	}

	again, err := c.Create(ctx, spec)
	if err != nil || again.CreatedTime != first.CreatedTime {
		t.Fatalf("Create again = %+v, %v; want the same server group", again, err)
	}
	// A retried deploy with another spec finds the group as it was.
	changed := spec
	changed.Capacity = providers.Capacity{Min: 3, Max: 3, Desired: 3}
	changed.Artifact = env.Artifact("v2")
	again, err = c.Create(ctx, changed)
	if err != nil || again.CreatedTime != first.CreatedTime || again.Capacity != spec.Capacity {
		t.Fatalf("Create again with another capacity = %+v, %v; want the server group unchanged", again, err)
	}
	g := env.waitFor(t, spec.Name, "with its instance up", func(g *providers.ServerGroup) bool { return g.Up() && g.Serving() })
	if g.Capacity != spec.Capacity || g.Counts.Total != 1 {
		t.Fatalf("after creating it again with capacity %+v: %+v, want capacity %+v and one instance", changed.Capacity, g, spec.Capacity)
	}

	dark := env.spec("confnew-dark-v000", providers.Capacity{Min: 1, Max: 1, Desired: 1})
	dark.Provenance.Application = "confnew"
	dark.Disabled = true
	if _, err := c.Create(ctx, dark); err != nil {
		t.Fatalf("Create disabled: %v", err)
	}
	t.Cleanup(func() { _ = env.ServerGroups.Destroy(context.Background(), env.Region, dark.Name) })
	g = env.waitFor(t, dark.Name, "running out of rotation", func(g *providers.ServerGroup) bool {
		return g.Disabled && g.Counts.OutOfService == 1
	})
	if g.Serving() {
		t.Fatalf("a server group created disabled serves: %+v", g)
	}
}
