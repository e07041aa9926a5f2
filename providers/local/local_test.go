package local_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gennaker/gennaker/examples/hello/hellobin"
	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/providers/local"
	"github.com/gennaker/gennaker/providers/providertest"
	"github.com/gennaker/gennaker/shared/store"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

var helloBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gennaker-hello-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helloBin, err = hellobin.Build(context.Background(), "", dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func artifact(version string) map[string]any {
	return map[string]any{"type": local.ArtifactType, "command": helloBin, "env": map[string]any{"VERSION": version}}
}

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	s, err := embedded.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newProvider(t *testing.T, s store.Store, dir string) *local.Provider {
	t.Helper()
	p, err := local.New(context.Background(), local.Options{
		Records:        s.Records(),
		LogDir:         filepath.Join(dir, "logs"),
		HealthInterval: 50 * time.Millisecond,
		DrainTimeout:   time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func localCloud(t *testing.T, p *local.Provider) *providers.Cloud {
	t.Helper()
	c, err := p.Cloud(providers.Account{Name: "local", Provider: "local"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// conformanceCloud is a fresh local account for one conformance suite.
func conformanceCloud(t *testing.T) *providers.Cloud {
	t.Helper()
	dir := t.TempDir()
	s := openStore(t, dir)
	p := newProvider(t, s, dir)
	t.Cleanup(func() { p.Close(); s.Close() })
	return localCloud(t, p)
}

func serverGroupsEnv(c *providers.Cloud) providertest.ServerGroupsEnv {
	return providertest.ServerGroupsEnv{
		ServerGroups: c.ServerGroups,
		Create: func(ctx context.Context, spec providers.ServerGroupSpec) error {
			_, err := c.ServerGroupCreator.Create(ctx, spec)
			return err
		},
		Region: "local", Artifact: artifact, HealthCheckPath: "/health", UpTimeout: 10 * time.Second,
	}
}

func TestConformance(t *testing.T) {
	t.Run("Abilities", func(t *testing.T) {
		providertest.Abilities(t, conformanceCloud(t), "ServerGroups", "ServerGroupCreator", "LoadBalancers", "Images")
	})
	t.Run("ServerGroups", func(t *testing.T) {
		providertest.ServerGroups(t, serverGroupsEnv(conformanceCloud(t)))
	})
	t.Run("ServerGroupCreator", func(t *testing.T) {
		c := conformanceCloud(t)
		providertest.ServerGroupCreator(t, c.ServerGroupCreator, serverGroupsEnv(c))
	})
	t.Run("LoadBalancers", func(t *testing.T) {
		c := conformanceCloud(t)
		providertest.LoadBalancers(t, providertest.LoadBalancersEnv{LoadBalancers: c.LoadBalancers, Region: "local", ServerGroups: serverGroupsEnv(c)})
	})
	t.Run("Images", func(t *testing.T) {
		c := conformanceCloud(t)
		n := 0
		providertest.Images(t, providertest.ImagesEnv{
			Images: c.Images,
			// An image is what a server group runs; one of no instances
			// is enough to show it.
			Publish: func(t *testing.T, name string) {
				t.Helper()
				time.Sleep(2 * time.Millisecond) // creation times are in ms
				a := artifact("v1")
				a["name"] = name
				if _, err := c.ServerGroupCreator.Create(context.Background(), providers.ServerGroupSpec{
					Name: fmt.Sprintf("confimg-v%03d", n), Region: "local", Artifact: a,
				}); err != nil {
					t.Fatal(err)
				}
				n++
			},
		})
	})
}

// fixture is a server group of two hello instances behind a load balancer.
type fixture struct {
	p     *local.Provider
	cloud *providers.Cloud
	lb    *providers.LoadBalancer
	store store.Store
	dir   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	s := openStore(t, dir)
	f := &fixture{store: s, dir: dir}
	f.p = newProvider(t, s, dir)
	t.Cleanup(func() { f.p.Close(); s.Close() })
	f.cloud = localCloud(t, f.p)
	lb, err := f.cloud.LoadBalancers.Upsert(context.Background(), providers.LoadBalancerSpec{Name: "hello", Region: "local", Application: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	f.lb = lb
	f.create(t, "hello-prod-v000", "v1", 2)
	return f
}

func (f *fixture) create(t *testing.T, name, version string, n int) {
	t.Helper()
	_, err := f.cloud.ServerGroupCreator.Create(context.Background(), providers.ServerGroupSpec{
		Name: name, Region: "local", Capacity: providers.Capacity{Min: n, Max: n, Desired: n},
		Artifact: artifact(version), LoadBalancers: []string{"hello"}, HealthCheckPath: "/health",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.waitGroup(t, name, "all up", func(g *providers.ServerGroup) bool { return g.Up() })
}

func (f *fixture) waitGroup(t *testing.T, name, what string, cond func(g *providers.ServerGroup) bool) *providers.ServerGroup {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		g, err := f.cloud.ServerGroups.Get(context.Background(), "local", name)
		if err == nil && cond(g) {
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not %s: %+v %v", name, what, g, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Post(url, "text/plain", nil)
	if err == nil {
		resp.Body.Close()
	}
}

func TestLoadBalancerRoutesOnlyToHealthyInstancesOfEnabledGroups(t *testing.T) {
	f := newFixture(t)
	seen := map[string]int{}
	for range 20 {
		code, body := get(t, f.lb.URL)
		if code != 200 {
			t.Fatalf("GET through the load balancer = %d %s", code, body)
		}
		seen[strings.TrimSpace(body)]++
	}
	if len(seen) != 2 {
		t.Fatalf("20 requests reached %v, want both instances round-robin", seen)
	}

	// One instance fails its health check: traffic goes only to the other.
	g, _ := f.cloud.ServerGroups.Get(context.Background(), "local", "hello-prod-v000")
	sick := g.Instances[0]
	post(t, "http://"+sick.Address+"/admin/health?fail=true")
	f.waitGroup(t, g.Name, "one down", func(g *providers.ServerGroup) bool { return g.Counts.Down == 1 })
	for range 10 {
		if _, body := get(t, f.lb.URL); strings.Contains(body, sick.ID+")") {
			t.Fatalf("a request reached the unhealthy instance %s", sick.ID)
		}
	}

	// A disabled server group takes no traffic at all.
	if err := f.cloud.ServerGroups.SetEnabled(context.Background(), "local", g.Name, false); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, f.lb.URL); code != http.StatusServiceUnavailable {
		t.Fatalf("with the only server group disabled the load balancer answered %d, want 503", code)
	}

	_, metrics := get(t, f.lb.URL+"/metrics")
	for _, want := range []string{
		`gennaker_lb_requests_total{load_balancer="hello",server_group="hello-prod-v000",code="200"} 30`,
		`gennaker_lb_request_errors_total{load_balancer="hello",server_group=""} 1`,
		`gennaker_lb_request_duration_seconds_count{load_balancer="hello",server_group="hello-prod-v000"} 30`,
		`gennaker_lb_request_duration_seconds_bucket{load_balancer="hello",server_group="hello-prod-v000",le="+Inf"} 30`,
	} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("metrics lack %q:\n%s", want, metrics)
		}
	}
}

func TestInstancesThatDieAreReplaced(t *testing.T) {
	f := newFixture(t)
	g, _ := f.cloud.ServerGroups.Get(context.Background(), "local", "hello-prod-v000")
	post(t, "http://"+g.Instances[0].Address+"/admin/exit")
	f.waitGroup(t, g.Name, "replaced", func(n *providers.ServerGroup) bool {
		if !n.Up() {
			return false
		}
		for _, in := range n.Instances {
			if in.ID == g.Instances[0].ID {
				return false
			}
		}
		return true
	})
}

func TestRestartReturnsToRecordedState(t *testing.T) {
	f := newFixture(t)
	if err := f.cloud.ServerGroups.SetEnabled(context.Background(), "local", "hello-prod-v000", false); err != nil {
		t.Fatal(err)
	}
	f.create(t, "hello-prod-v001", "v2", 1)
	f.p.Close()
	if _, err := http.Get(f.lb.URL); err == nil {
		t.Fatal("the load balancer still answers after Close")
	}

	f.p = newProvider(t, f.store, f.dir)
	f.cloud = localCloud(t, f.p)
	f.waitGroup(t, "hello-prod-v000", "back with 2 instances, disabled", func(g *providers.ServerGroup) bool {
		return g.Disabled && g.Counts.OutOfService == 2
	})
	f.waitGroup(t, "hello-prod-v001", "back up", func(g *providers.ServerGroup) bool { return g.Up() })
	code, body := get(t, f.lb.URL)
	if code != 200 || !strings.Contains(body, "hello from v2") {
		t.Fatalf("after a restart the load balancer on the same port answered %d %q, want v2", code, body)
	}
}
