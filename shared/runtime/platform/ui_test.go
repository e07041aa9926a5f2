package platform_test

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/runtime/local"
)

// TestAPIServesTheUIWithoutShadowingGate: the API's address serves the web
// UI at "/" and its assets, while every Gate path still answers JSON to an
// API client, and an unknown path is still the API's JSON 404.
func TestAPIServesTheUIWithoutShadowingGate(t *testing.T) {
	rt, err := local.Open(context.Background(), local.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	srv := httptest.NewServer(rt.API())
	defer srv.Close()

	get := func(path, accept string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// A browser asking for the page gets the UI.
	resp, page := get("/", "text/html,application/xhtml+xml")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s, want the UI's page", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	refs := regexp.MustCompile(`(?:src|href)="\./(assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 2 {
		t.Fatalf("the page names no script and stylesheet under assets/:\n%s", page)
	}
	for _, ref := range refs {
		resp, body := get("/"+ref[1], "")
		want := mime.TypeByExtension(ref[1][strings.LastIndex(ref[1], "."):])
		if resp.StatusCode != 200 || len(body) == 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), strings.Split(want, ";")[0]) {
			t.Errorf("GET /%s = %d %q (%d bytes), want %s", ref[1], resp.StatusCode, resp.Header.Get("Content-Type"), len(body), want)
		}
	}

	// Gate's paths answer JSON, whatever the client accepts.
	for _, path := range []string{"/applications", "/pipelineConfigs", "/credentials", "/executions?pipelineConfigIds=x", "/health"} {
		for _, accept := range []string{"", "application/json", "text/html"} {
			resp, body := get(path, accept)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("GET %s (Accept %q) = %d %s: %.80s, want JSON", path, accept, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
	}
	for _, path := range []string{"/tasks/nope", "/pipelines/nope", "/no-such-endpoint", "/assets/no-such.js"} {
		resp, body := get(path, "")
		if resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404: %.120s", path, resp.StatusCode, body)
		}
		if path != "/assets/no-such.js" && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s answered %s, want the API's JSON error", path, resp.Header.Get("Content-Type"))
		}
	}
	// The UI does not take the API's writes.
	resp, _ = get("/index.html", "")
	if resp.StatusCode == 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /index.html served the page; only / should")
	}
}
