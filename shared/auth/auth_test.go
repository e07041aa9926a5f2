package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
)

func app(perms string) *model.Application {
	a := &model.Application{Name: "shop"}
	if perms != "" {
		if err := json.Unmarshal([]byte(perms), &a.Permissions); err != nil {
			panic(err)
		}
	}
	return a
}

func TestApplicationPermissions(t *testing.T) {
	p := &Policy{Enabled: true, Admins: []string{"ops"}}
	dev := Identity{Name: "dev", Roles: []string{"dev"}}
	qa := Identity{Name: "qa", Roles: []string{"QA"}}
	admin := Identity{Name: "root", Roles: []string{"ops"}}
	nobody := Identity{Name: "nobody"}
	cases := []struct {
		name  string
		perms string
		who   Identity
		perm  Permission
		allow bool
	}{
		{"open application", ``, nobody, Write, true},
		{"empty lists are open", `{"READ":[],"WRITE":[]}`, nobody, Execute, true},
		{"read granted", `{"READ":["qa"],"WRITE":["dev"]}`, qa, Read, true},
		{"roles ignore case", `{"READ":["qa"],"WRITE":["dev"]}`, qa, Read, true},
		{"write denied to readers", `{"READ":["qa"],"WRITE":["dev"]}`, qa, Write, false},
		{"writers may read", `{"READ":["qa"],"WRITE":["dev"]}`, dev, Read, true},
		{"execute falls back to write", `{"READ":["qa"],"WRITE":["dev"]}`, dev, Execute, true},
		{"execute fallback denies readers", `{"READ":["qa"],"WRITE":["dev"]}`, qa, Execute, false},
		{"explicit execute", `{"READ":["qa","dev"],"WRITE":["dev"],"EXECUTE":["qa"]}`, qa, Execute, true},
		{"explicit execute excludes writers", `{"READ":["qa","dev"],"WRITE":["dev"],"EXECUTE":["qa"]}`, dev, Execute, false},
		{"no roles on a restricted app", `{"READ":["qa"]}`, nobody, Read, false},
		{"admins may do everything", `{"READ":["qa"]}`, admin, Write, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Application(tc.who, app(tc.perms), tc.perm)
			if (err == nil) != tc.allow {
				t.Fatalf("allow = %v, want %v (err %v)", err == nil, tc.allow, err)
			}
			if err != nil && !strings.Contains(err.Error(), string(tc.perm)) {
				t.Errorf("message %q does not name %s", err, tc.perm)
			}
		})
	}
	if err := (&Policy{}).Application(nobody, app(`{"READ":["qa"]}`), Write); err != nil {
		t.Errorf("authentication off must allow everything: %v", err)
	}
}

func TestAccountPermissions(t *testing.T) {
	p := &Policy{Enabled: true, Accounts: map[string]Permissions{"prod": {Read: {"dev"}, Write: {"ops"}}}}
	if err := p.Account(Identity{Name: "d", Roles: []string{"dev"}}, "prod", Write); err == nil {
		t.Fatal("dev may not deploy to prod")
	} else if !strings.Contains(err.Error(), "account prod") || !strings.Contains(err.Error(), "WRITE") {
		t.Errorf("message %q should name the account and the permission", err)
	}
	if err := p.Account(Identity{Name: "o", Roles: []string{"ops"}}, "prod", Write); err != nil {
		t.Fatal(err)
	}
	if err := p.Account(Identity{Name: "d"}, "staging", Write); err != nil {
		t.Fatalf("an account without permissions is open: %v", err)
	}
}

func TestPipelineSave(t *testing.T) {
	p := &Policy{Enabled: true, ServiceAccounts: map[string][]string{"deployer": {"ops", "dev"}}}
	pl := func(doc string) *model.Pipeline {
		var out model.Pipeline
		if err := json.Unmarshal([]byte(doc), &out); err != nil {
			t.Fatal(err)
		}
		return &out
	}
	dev := Identity{Name: "dev", Roles: []string{"dev"}}
	both := Identity{Name: "lead", Roles: []string{"dev", "ops"}}
	cases := []struct {
		name  string
		doc   string
		who   Identity
		allow bool
	}{
		{"no roles", `{"id":"p1","application":"a","name":"n"}`, dev, true},
		{"roles held", `{"id":"p1","application":"a","name":"n","roles":["dev"]}`, dev, true},
		{"roles not held", `{"id":"p1","application":"a","name":"n","roles":["ops"]}`, dev, false},
		{"own managed service account", `{"id":"p1","application":"a","name":"n","roles":["dev"],"triggers":[{"type":"cron","runAsUser":"p1@managed-service-account"}]}`, dev, true},
		{"service account not fully held", `{"id":"p1","application":"a","name":"n","triggers":[{"type":"cron","runAsUser":"deployer"}]}`, dev, false},
		{"service account fully held", `{"id":"p1","application":"a","name":"n","triggers":[{"type":"cron","runAsUser":"deployer"}]}`, both, true},
		{"unknown runAsUser", `{"id":"p1","application":"a","name":"n","triggers":[{"type":"cron","runAsUser":"root"}]}`, both, false},
		{"another pipeline's managed account", `{"id":"p1","application":"a","name":"n","triggers":[{"type":"cron","runAsUser":"p2@managed-service-account"}]}`, both, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := p.CheckPipelineSave(tc.who, pl(tc.doc))
			if (err == nil) != tc.allow {
				t.Fatalf("allow = %v, want %v (%v)", err == nil, tc.allow, err)
			}
		})
	}
	auto := p.AutomatedIdentity(pl(`{"id":"p1","application":"a","name":"n","roles":["dev"]}`), "")
	if auto.Name != "p1@managed-service-account" || !auto.HasRole("dev") {
		t.Errorf("managed service account = %+v", auto)
	}
	if sa := p.AutomatedIdentity(pl(`{"id":"p1","application":"a","name":"n"}`), "deployer"); !sa.HasAllRoles([]string{"ops", "dev"}) {
		t.Errorf("runAsUser identity = %+v", sa)
	}
}

func TestJudge(t *testing.T) {
	p := &Policy{Enabled: true}
	ctx := map[string]any{"selectedStageRoles": []any{"release"}}
	if err := p.Judge(Identity{Name: "d", Roles: []string{"dev"}}, "Approve", ctx); err == nil {
		t.Fatal("dev may not judge")
	}
	if err := p.Judge(Identity{Name: "r", Roles: []string{"release"}}, "Approve", ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Judge(Identity{Name: "d"}, "Approve", map[string]any{}); err != nil {
		t.Fatalf("a judgment without roles is anyone's: %v", err)
	}
}

func TestParseConfig(t *testing.T) {
	sum := sha256.Sum256([]byte("hashed-token"))
	good := `
users:
  - name: alice
    token: alice-token
    roles: [dev]
  - name: bob
    tokenSha256: ` + hex.EncodeToString(sum[:]) + `
    roles: [ops]
admins: [ops]
`
	cfg, err := ParseConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuthenticator(cfg)
	req := func(h string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		r.Header.Set("X-SPINNAKER-USER", "mallory")
		return r
	}
	basic := func(name, token string) string {
		r := httptest.NewRequest("GET", "/", nil)
		r.SetBasicAuth(name, token)
		return r.Header.Get("Authorization")
	}
	cases := []struct {
		name   string
		header string
		user   string
	}{
		{"bearer", "Bearer alice-token", "alice"},
		{"bearer of a hashed token", "bearer hashed-token", "bob"},
		{"basic", basic("alice", "alice-token"), "alice"},
		{"basic with another's token", basic("alice", "hashed-token"), ""},
		{"wrong token", "Bearer alice-token2", ""},
		{"none", "", ""},
		{"other scheme", "Digest x", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.Authenticate(req(tc.header))
			if tc.user == "" {
				if !IsUnauthenticated(err) || !strings.Contains(err.Error(), "Bearer") {
					t.Fatalf("got %+v, %v; want an *Unauthenticated saying how to authenticate", id, err)
				}
				return
			}
			if err != nil || id.Name != tc.user {
				t.Fatalf("got %+v, %v; want %s", id, err, tc.user)
			}
		})
	}

	bad := []struct{ doc, want string }{
		{"users: [{name: a}]", "users[0]: needs a token or a tokenSha256"},
		{"users: [{name: a, token: abcdefgh, tokenSha256: aa}]", "not both"},
		{"users: [{name: a, tokenSha256: xyz}]", "users[0].tokenSha256: must be 64 hex digits"},
		{"users: [{name: a, token: short}]", "users[0].token: must be at least 8"},
		{"users: [{name: 'a:b', token: abcdefghi}]", "may not contain ':'"},
		{"users: [{name: a, token: abcdefghi}, {name: a, token: abcdefghij}]", "users[1].name: \"a\" is listed twice"},
		{"usr: []", "field usr not found"},
		{"iam: {principals: [{arn: role/x}]}", "iam.principals[0].arn"},
	}
	for _, tc := range bad {
		_, err := ParseConfig([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func TestPrincipal(t *testing.T) {
	a := NewAuthenticator(&Config{IAM: IAMConfig{Principals: []IAMPrincipal{
		{ARN: "arn:aws:iam::123456789012:role/Deployer", Roles: []string{"ops"}},
		{ARN: "arn:aws:iam::123456789012:user/*", Roles: []string{"dev"}},
	}}})
	cases := []struct {
		name  string
		p     Principal
		user  string
		roles []string
	}{
		{"email claim", Principal{Claims: map[string]string{"sub": "u1", "email": "jane@example.com", "groups": "[dev ops]"}}, "jane@example.com", []string{"dev", "ops"}},
		{"sub when no email", Principal{Claims: map[string]string{"sub": "u1", "cognito:groups": "[release]"}}, "u1", []string{"release"}},
		{"assumed role session", Principal{ARN: "arn:aws:sts::123456789012:assumed-role/Deployer/ci"}, "arn:aws:sts::123456789012:assumed-role/Deployer/ci", []string{"ops"}},
		{"user prefix", Principal{ARN: "arn:aws:iam::123456789012:user/jane"}, "arn:aws:iam::123456789012:user/jane", []string{"dev"}},
		{"unmapped principal", Principal{ARN: "arn:aws:iam::999999999999:user/x"}, "arn:aws:iam::999999999999:user/x", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r = r.WithContext(WithPrincipal(r.Context(), tc.p))
			r.Header.Set("Authorization", "Bearer nobody-has-this")
			id, err := a.Authenticate(r)
			if err != nil {
				t.Fatal(err)
			}
			if id.Name != tc.user || len(id.Roles) != len(tc.roles) || (len(tc.roles) > 0 && !id.HasAllRoles(tc.roles)) {
				t.Fatalf("got %+v, want %s %v", id, tc.user, tc.roles)
			}
		})
	}
	custom := NewAuthenticator(&Config{JWT: JWTConfig{UserClaim: "preferred_username", RolesClaim: "roles"}})
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(WithPrincipal(r.Context(), Principal{Claims: map[string]string{"email": "x@y", "preferred_username": "xy", "roles": `["a","b"]`}}))
	id, err := custom.Authenticate(r)
	if err != nil || id.Name != "xy" || !id.HasAllRoles([]string{"a", "b"}) {
		t.Fatalf("configured claims: %+v %v", id, err)
	}
}
