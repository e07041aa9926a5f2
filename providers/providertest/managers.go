package providertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gennaker/gennaker/providers"
)

// ManagersEnv is what the Managers suite needs from a provider's test.
type ManagersEnv struct {
	Managers providers.Managers
	// ServerGroups, when set, are the same account's server groups: each
	// managed server group must be one of them.
	ServerGroups providers.ServerGroups
	// Region is a region of the account.
	Region string
	// Deploy creates or updates the server group manager named name, of
	// application app in Region, to run version: a new version makes the
	// manager start a new server group, as rolling out a Kubernetes
	// Deployment does.
	Deploy func(ctx context.Context, app, name string, version int) error
	// Timeout bounds waiting for a manager to start its server group.
	Timeout time.Duration
}

// Managers checks what providers.Managers promises: an application's
// managers ordered by region and name, each naming the application and its
// server groups oldest first, and an empty list for an application with
// none. It deploys managers of application "conf".
func Managers(t *testing.T, env ManagersEnv) {
	ctx := context.Background()
	if got, err := env.Managers.Managers(ctx, "conf"); err != nil || len(got) != 0 {
		t.Fatalf("Managers(conf) before any was deployed = %+v, %v; want an empty list", got, err)
	}
	// Deployed in reverse name order: the list is ordered by name.
	for _, name := range []string{"conf-web", "conf-api"} {
		if err := env.Deploy(ctx, "conf", name, 1); err != nil {
			t.Fatalf("deploy %s: %v", name, err)
		}
	}
	if err := env.Deploy(ctx, "confother", "confother-web", 1); err != nil {
		t.Fatalf("deploy confother-web: %v", err)
	}
	list := waitManagers(t, env, "each with one server group", func(ms []providers.Manager) bool {
		return len(ms) == 2 && len(ms[0].ServerGroups) == 1 && len(ms[1].ServerGroups) == 1
	})
	for i, want := range []string{"conf-api", "conf-web"} {
		if m := list[i]; m.Name != want || m.Region != env.Region || m.Application != "conf" || m.Kind == "" {
			t.Fatalf("Managers(conf)[%d] = %+v, want %s of conf in %s", i, m, want, env.Region)
		}
	}

	before := list[0].ServerGroups[0].Name
	if err := env.Deploy(ctx, "conf", "conf-api", 2); err != nil {
		t.Fatalf("deploy conf-api version 2: %v", err)
	}
	list = waitManagers(t, env, "with conf-api's second server group", func(ms []providers.Manager) bool {
		return len(ms) == 2 && len(ms[0].ServerGroups) == 2
	})
	if sgs := list[0].ServerGroups; sgs[0].Name != before || sgs[1].Name == before || sgs[0].Sequence >= sgs[1].Sequence {
		t.Fatalf("conf-api's server groups = %+v, want oldest first: %s, then the one version 2 started", sgs, before)
	}
	if env.ServerGroups != nil {
		for _, m := range list {
			for _, sg := range m.ServerGroups {
				if _, err := env.ServerGroups.Get(ctx, m.Region, sg.Name); err != nil {
					t.Fatalf("server group %s of manager %s: %v", sg.Name, m.Name, err)
				}
			}
		}
	}
	if got, err := env.Managers.Managers(ctx, "confnone"); err != nil || len(got) != 0 {
		t.Fatalf("Managers of an application with none = %+v, %v; want an empty list", got, err)
	}
}

func waitManagers(t *testing.T, env ManagersEnv, what string, cond func([]providers.Manager) bool) []providers.Manager {
	t.Helper()
	return eventually(t, env.Timeout, fmt.Sprintf("the managers of conf %s", what), func() ([]providers.Manager, bool, error) {
		ms, err := env.Managers.Managers(context.Background(), "conf")
		return ms, err == nil && cond(ms), err
	})
}
