package lambdahttp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gennaker/gennaker/shared/api"
	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/store/embedded"
)

// Behind the stack's JWT authorizer the API takes the user from the token's
// claims as API Gateway passes them, and ignores the X-SPINNAKER-USER the
// caller sent.
func TestJWTAuthorizerNamesTheUser(t *testing.T) {
	raw, err := os.ReadFile("testdata/jwt-authorizer.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg := &auth.Config{}
	h := Handler(api.New(api.Options{Store: st, Policy: cfg.Policy(nil), Authenticator: auth.NewAuthenticator(cfg)}))

	resp, err := h(context.Background(), ev)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create application: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	app, err := st.Applications().Get(context.Background(), "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if app.User != "jane@example.com" {
		t.Errorf("the application records %q as its author, want the token's email jane@example.com", app.User)
	}

	who := ev
	who.RawPath, who.Body = "/auth/user", ""
	who.RequestContext.HTTP.Method, who.RequestContext.HTTP.Path = "GET", "/auth/user"
	resp, err = h(context.Background(), who)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /auth/user: %d %s %v", resp.StatusCode, resp.Body, err)
	}
	var user struct {
		Username string   `json:"username"`
		Roles    []string `json:"roles"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &user); err != nil {
		t.Fatal(err)
	}
	if user.Username != "jane@example.com" || len(user.Roles) != 2 || user.Roles[0] != "release" || user.Roles[1] != "dev" {
		t.Errorf("GET /auth/user = %+v, want jane@example.com with the cognito:groups release and dev", user)
	}

	// The same request without the authorizer's context, as no API Gateway
	// would send it, is not trusted whatever its headers say.
	bare := who
	bare.RequestContext.Authorizer = nil
	resp, err = h(context.Background(), bare)
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("without an authorizer: %d %s %v, want 401", resp.StatusCode, resp.Body, err)
	}
}
