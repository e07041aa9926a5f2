package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Unauthenticated is a request that says nothing gennaker can trust about
// who sent it. The API answers it 401 with Message, which says how to
// authenticate.
type Unauthenticated struct{ Message string }

func (e *Unauthenticated) Error() string { return e.Message }

// HowToAuthenticate is what a caller without credentials is told.
const HowToAuthenticate = "authentication required: send Authorization: Bearer <token>, or HTTP Basic with your user name and token " +
	"(the gennaker CLI sends $GENNAKER_TOKEN; spin: auth.basic.username and auth.basic.password in ~/.spin/config)"

// Principal is who API Gateway's authorizer established: the claims of a
// JWT authorizer, or the caller's ARN under the IAM authorizer. The Lambda
// adapter puts it in the request's context, out of the caller's reach.
type Principal struct {
	// Claims are the JWT's claims as API Gateway passes them (arrays as
	// "[a b]").
	Claims map[string]string
	// ARN is the IAM caller's ARN.
	ARN string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying what the authorizer established.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Authenticator finds who sent a request.
type Authenticator struct {
	cfg   Config
	users []tokenUser
}

type tokenUser struct {
	name   string
	sum    [sha256.Size]byte
	roles  []string
	email  string
	hashed bool
}

// NewAuthenticator returns the authenticator of a (checked) configuration.
func NewAuthenticator(cfg *Config) *Authenticator {
	a := &Authenticator{}
	if cfg == nil {
		return a
	}
	a.cfg = *cfg
	for _, u := range cfg.Users {
		tu := tokenUser{name: u.Name, roles: u.Roles, email: u.Email}
		if u.TokenSha256 != "" {
			b, _ := hex.DecodeString(u.TokenSha256)
			copy(tu.sum[:], b)
			tu.hashed = true
		} else {
			tu.sum = sha256.Sum256([]byte(u.Token))
		}
		a.users = append(a.users, tu)
	}
	return a
}

// Authenticate returns who sent r: the principal API Gateway established,
// or the user whose token the Authorization header carries (Bearer, or
// Basic with name:token). Anything else is an *Unauthenticated.
// X-SPINNAKER-USER is never looked at.
func (a *Authenticator) Authenticate(r *http.Request) (Identity, error) {
	if p, ok := PrincipalFrom(r.Context()); ok {
		return a.fromPrincipal(p)
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return Identity{}, &Unauthenticated{Message: HowToAuthenticate}
	}
	if token, ok := cutPrefixFold(h, "Bearer "); ok {
		if u, ok := a.byToken(strings.TrimSpace(token)); ok {
			return u, nil
		}
		return Identity{}, &Unauthenticated{Message: "the bearer token is not one of this gennaker's; " + HowToAuthenticate}
	}
	if name, token, ok := r.BasicAuth(); ok {
		if u, ok := a.byNameAndToken(name, token); ok {
			return u, nil
		}
		return Identity{}, &Unauthenticated{Message: "wrong user name or token; " + HowToAuthenticate}
	}
	return Identity{}, &Unauthenticated{Message: "unsupported Authorization scheme; " + HowToAuthenticate}
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// byToken finds the user holding token. Every user's hash is compared, in
// constant time, so the time taken says nothing about which or how much of
// a token matched.
func (a *Authenticator) byToken(token string) (Identity, bool) {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range a.users {
		if subtle.ConstantTimeCompare(sum[:], a.users[i].sum[:]) == 1 && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return Identity{}, false
	}
	return a.users[found].identity(), true
}

func (a *Authenticator) byNameAndToken(name, token string) (Identity, bool) {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range a.users {
		nameOK := subtle.ConstantTimeCompare([]byte(name), []byte(a.users[i].name))
		tokenOK := subtle.ConstantTimeCompare(sum[:], a.users[i].sum[:])
		if nameOK&tokenOK == 1 && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return Identity{}, false
	}
	return a.users[found].identity(), true
}

func (u tokenUser) identity() Identity {
	return Identity{Name: u.name, Email: u.email, Roles: append([]string{}, u.roles...)}
}

// fromPrincipal maps what API Gateway's authorizer established to an
// identity.
func (a *Authenticator) fromPrincipal(p Principal) (Identity, error) {
	if p.ARN != "" {
		id := Identity{Name: p.ARN, Roles: []string{}}
		for _, m := range a.cfg.IAM.Principals {
			if arnMatches(m.ARN, p.ARN) {
				id.Roles = union(id.Roles, m.Roles)
			}
		}
		return id, nil
	}
	if len(p.Claims) == 0 {
		return Identity{}, &Unauthenticated{Message: "the API Gateway authorizer named no principal; " + HowToAuthenticate}
	}
	id := Identity{Roles: []string{}}
	if c := a.cfg.JWT.UserClaim; c != "" {
		id.Name = p.Claims[c]
	} else {
		id.Name = p.Claims["email"]
		if id.Name == "" {
			id.Name = p.Claims["sub"]
		}
	}
	if id.Name == "" {
		claim := a.cfg.JWT.UserClaim
		if claim == "" {
			claim = "email or sub"
		}
		return Identity{}, &Unauthenticated{Message: "the token has no " + claim + " claim to name its user; set jwt.userClaim in the auth configuration"}
	}
	id.Email = p.Claims["email"]
	if c := a.cfg.JWT.RolesClaim; c != "" {
		id.Roles = claimList(p.Claims[c])
	} else {
		id.Roles = claimList(p.Claims["groups"])
		if len(id.Roles) == 0 {
			id.Roles = claimList(p.Claims["cognito:groups"])
		}
	}
	return id, nil
}

// claimList reads a list claim as API Gateway passes it: "[a b c]", a JSON
// array, or one value.
func claimList(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return []string{}
	}
	var list []string
	if json.Unmarshal([]byte(v), &list) == nil {
		return list
	}
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		return strings.FieldsFunc(v[1:len(v)-1], func(r rune) bool { return r == ' ' || r == ',' })
	}
	return []string{v}
}

// arnMatches reports whether the caller's ARN matches a configured one: the
// same, a prefix ending in *, or a role whose session the caller is
// (arn:aws:sts::A:assumed-role/R/session for arn:aws:iam::A:role/R).
func arnMatches(pattern, arn string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(arn, prefix) || strings.HasPrefix(roleOfSession(arn), prefix)
	}
	return pattern == arn || pattern == roleOfSession(arn)
}

// roleOfSession returns the role ARN of an assumed-role session ARN, or "".
func roleOfSession(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" || !strings.HasPrefix(parts[5], "assumed-role/") {
		return ""
	}
	rest := strings.TrimPrefix(parts[5], "assumed-role/")
	role, _, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return strings.Join([]string{parts[0], parts[1], "iam", "", parts[4], "role/" + role}, ":")
}

var _ error = (*Unauthenticated)(nil)

// IsUnauthenticated reports whether err is an *Unauthenticated.
func IsUnauthenticated(err error) bool {
	var u *Unauthenticated
	return errors.As(err, &u)
}
