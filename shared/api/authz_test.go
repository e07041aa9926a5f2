package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/api"
	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

// A route another package adds (through Mounts, as shared/deployapi does)
// and does not declare in the decision table gets the default rule:
// authentication; READ on the application its path names for reads, WRITE
// for writes; admins only for a write that names no application.
func TestUndeclaredRoutesGetTheDefaultRule(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	for name, perms := range map[string]map[string]any{
		"shop": {"READ": []any{"readers"}, "WRITE": []any{"writers"}},
		"open": nil,
	} {
		if err := st.Applications().Put(ctx, &model.Application{Name: model.ApplicationName(name), Permissions: perms}); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := auth.ParseConfig([]byte(`
users:
  - {name: reader, token: reader-token, roles: [readers]}
  - {name: writer, token: writer-token, roles: [writers]}
  - {name: root, token: root-token, roles: [admins]}
admins: [admins]
`))
	if err != nil {
		t.Fatal(err)
	}
	served := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := api.New(api.Options{
		Store:         st,
		Policy:        cfg.Policy(nil),
		Authenticator: auth.NewAuthenticator(cfg),
		Mounts: []api.Mount{{Patterns: []string{
			"GET /applications/{app}/canaries", "PUT /applications/{app}/canaries", "POST /v2/canaryConfig", "GET /v2/canaryConfig",
		}, Handler: served}},
	})
	cases := []struct {
		user, method, path string
		want               int
	}{
		{"", "GET", "/applications/open/canaries", 401},
		{"reader", "GET", "/applications/shop/canaries", 204},
		{"reader", "PUT", "/applications/shop/canaries", 403},
		{"writer", "PUT", "/applications/shop/canaries", 204},
		{"reader", "PUT", "/applications/open/canaries", 204},
		{"reader", "GET", "/v2/canaryConfig", 204},
		{"writer", "POST", "/v2/canaryConfig", 403},
		{"root", "POST", "/v2/canaryConfig", 204},
		{"", "GET", "/health", 200},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("X-SPINNAKER-USER", "root")
		if tc.user != "" {
			req.Header.Set("Authorization", "Bearer "+tc.user+"-token")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s %s as %q = %d %s, want %d", tc.method, tc.path, tc.user, rec.Code, rec.Body, tc.want)
		}
		if rec.Code == 403 && !strings.Contains(rec.Body.String(), `"error":"Forbidden"`) {
			t.Errorf("%s %s: a 403 not in Gate's shape: %s", tc.method, tc.path, rec.Body)
		}
		if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: a 401 without WWW-Authenticate", tc.method, tc.path)
		}
	}
}

// Permissions that are not lists of roles are refused when the application
// is saved, with their path, and nothing is stored.
func TestApplicationPermissionsAreCheckedOnSave(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	h := api.New(api.Options{Store: st})
	for body, want := range map[string]string{
		`{"job":[{"type":"createApplication","application":{"name":"shop","permissions":{"READ":"dev"}}}]}`:     "job[0].application.permissions.READ: must be a list of role names",
		`{"job":[{"type":"createApplication","application":{"name":"shop","permissions":{"DEPLOY":["dev"]}}}]}`: "job[0].application.permissions.DEPLOY: is not a permission",
	} {
		req := httptest.NewRequest("POST", "/tasks", strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d %s, want 400 with %q", body, rec.Code, rec.Body, want)
		}
	}
	if apps, _ := st.Applications().List(context.Background()); len(apps) != 0 {
		t.Errorf("a refused save stored %v", apps)
	}
}
