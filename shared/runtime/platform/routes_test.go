package platform_test

import (
	"context"
	"testing"

	"github.com/gennaker/gennaker/shared/api"
	"github.com/gennaker/gennaker/shared/runtime/local"
)

// TestEveryRouteDeclaresItsRule: every route the API serves, its own and
// every mount's, has its line in the authorization table rather than
// falling to the default, so what it needs was decided, not inherited.
func TestEveryRouteDeclaresItsRule(t *testing.T) {
	rt, err := local.Open(context.Background(), local.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	routes := rt.Routes()
	for _, want := range []string{"GET /health", "POST /webhooks/{type}/{source}", "GET /audit", "GET /v2/canaryConfig", "GET /applications/{app}/cost", "GET /{$}"} {
		found := false
		for _, r := range routes {
			found = found || r == want
		}
		if !found {
			t.Errorf("the API's routes leave out %s: %v", want, routes)
		}
	}
	for _, r := range routes {
		if !api.Declared(r) {
			t.Errorf("%s has no rule in access (shared/api/authz.go)", r)
		}
	}
}
