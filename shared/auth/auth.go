// Package auth is gennaker's identity and authorization: who is calling,
// and what they may read, change, run, deploy to and judge. The permission
// model is Spinnaker fiat's:
//
//   - an application's permissions are {READ, WRITE, EXECUTE: [roles]};
//     an application without any is open to every authenticated user;
//     EXECUTE, where absent, falls back to WRITE; a role that may WRITE may
//     also READ;
//   - an account's permissions are {READ, WRITE: [roles]}; deploying to it
//     needs WRITE; an account without any is open;
//   - roles listed as admins may do everything;
//   - automated runs act as a service account: the trigger's runAsUser, or
//     the pipeline's managed service account
//     (<pipelineId>@managed-service-account) holding the pipeline's roles.
//
// The API asks Policy before it serves a request (shared/api), and the
// orchestrator asks it again before each stage of a run starts, with the
// identity the run was started as (shared/orchestration).
package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
)

// Permission is what may be done to a resource.
type Permission string

// Fiat's permissions.
const (
	Read    Permission = "READ"
	Write   Permission = "WRITE"
	Execute Permission = "EXECUTE"
)

// AnonymousUser is who every caller is when authentication is off.
const AnonymousUser = "anonymous"

// managedServiceAccountSuffix ends the name of a pipeline's managed service
// account, as fiat names it.
const managedServiceAccountSuffix = "@managed-service-account"

// ManagedServiceAccount is the name of a pipeline's managed service account:
// the identity its automated runs act as when its triggers name no
// runAsUser.
func ManagedServiceAccount(id model.PipelineID) string {
	return string(id) + managedServiceAccountSuffix
}

// Identity is who makes a request or runs a pipeline.
type Identity struct {
	// Name is the user name recorded on everything the identity does.
	Name  string   `json:"username"`
	Email string   `json:"email,omitempty"`
	Roles []string `json:"roles"`
}

// HasRole reports whether the identity holds any of roles. Role names
// compare ignoring case, as fiat's do.
func (id Identity) HasRole(roles ...string) bool {
	for _, want := range roles {
		for _, have := range id.Roles {
			if strings.EqualFold(want, have) {
				return true
			}
		}
	}
	return false
}

// HasAllRoles reports whether the identity holds every one of roles.
func (id Identity) HasAllRoles(roles []string) bool {
	for _, want := range roles {
		if !id.HasRole(want) {
			return false
		}
	}
	return true
}

type identityKey struct{}

// WithIdentity returns ctx carrying id: the API puts the caller there, and
// the orchestrator records it on the runs the caller starts.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity ctx carries.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// Permissions are a resource's permissions: the roles granted each one.
type Permissions map[Permission][]string

// ParsePermissions reads Spinnaker's `permissions: {READ: [roles], …}` as
// applications and accounts carry it. Keys are upper-cased; anything that
// is not a list of role names is an error that names the key.
func ParsePermissions(raw map[string]any) (Permissions, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	out := Permissions{}
	for k, v := range raw {
		perm := Permission(strings.ToUpper(k))
		switch perm {
		case Read, Write, Execute:
		case "CREATE":
			continue // fiat's, for creating applications under a prefix; gennaker lets anyone create one
		default:
			return nil, fmt.Errorf("permissions.%s: is not a permission; use READ, WRITE or EXECUTE", k)
		}
		var list []any
		switch x := v.(type) {
		case nil:
		case []any:
			list = x
		case []string:
			for _, s := range x {
				list = append(list, s)
			}
		default:
			return nil, fmt.Errorf("permissions.%s: must be a list of role names", k)
		}
		roles := []string{}
		for i, r := range list {
			s, ok := r.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return nil, fmt.Errorf("permissions.%s[%d]: must be a role name", k, i)
			}
			roles = append(roles, strings.TrimSpace(s))
		}
		out[perm] = roles
	}
	return out, nil
}

// Restricted reports whether any permission names a role: a resource
// whose permissions name none is open to everyone.
func (p Permissions) Restricted() bool {
	for _, roles := range p {
		if len(roles) > 0 {
			return true
		}
	}
	return false
}

// Granted returns the roles that hold perm, with fiat's fallbacks: WRITE
// holders may READ, and EXECUTE falls back to WRITE when absent.
func (p Permissions) Granted(perm Permission) []string {
	switch perm {
	case Read:
		return union(p[Read], p[Write])
	case Execute:
		if roles, ok := p[Execute]; ok {
			return roles
		}
		return p[Write]
	}
	return p[perm]
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, r := range b {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// Policy decides what an identity may do. The zero Policy is
// authentication off: everyone may do everything.
type Policy struct {
	// Enabled turns authorization on.
	Enabled bool
	// Admins are roles that may do everything.
	Admins []string
	// Accounts are the deployment accounts' permissions, by account name.
	// An account not listed is open.
	Accounts map[string]Permissions
	// ServiceAccounts are the roles of the identities automated triggers
	// may run as (runAsUser), by name.
	ServiceAccounts map[string][]string
}

// Admin reports whether id may do everything.
func (p *Policy) Admin(id Identity) bool {
	return p == nil || !p.Enabled || id.HasRole(p.Admins...)
}

// Denied is a refusal: who may not do what to which resource. The API
// answers it 403; the orchestrator fails the stage with its message.
type Denied struct {
	User       string
	Permission Permission
	// Kind is "application", "account", "pipeline" or "stage".
	Kind     string
	Resource string
	// Granted are the roles that would have been allowed.
	Granted []string
	// Reason replaces the standard explanation when set.
	Reason string
}

func (d *Denied) Error() string {
	if d.Reason != "" {
		return fmt.Sprintf("access denied: %s may not %s %s %s: %s", d.User, d.Permission, d.Kind, d.Resource, d.Reason)
	}
	granted := "only admins"
	if len(d.Granted) > 0 {
		granted = "roles " + strings.Join(d.Granted, ", ")
	}
	return fmt.Sprintf("access denied: %s lacks %s permission on %s %s (granted to %s)", d.User, d.Permission, d.Kind, d.Resource, granted)
}

// ApplicationPermissions reads an application's permissions. A nil
// application (one that does not exist yet) has none.
func ApplicationPermissions(app *model.Application) (Permissions, error) {
	if app == nil {
		return nil, nil
	}
	perms, err := ParsePermissions(app.Permissions)
	if err != nil {
		return nil, fmt.Errorf("application %s: %w", app.Name, err)
	}
	return perms, nil
}

// Application returns nil when id may perm the application, or a *Denied.
// A nil application is one that does not exist, open to everyone.
func (p *Policy) Application(id Identity, app *model.Application, perm Permission) error {
	if p.Admin(id) || app == nil {
		return nil
	}
	perms, err := ApplicationPermissions(app)
	if err != nil {
		// Permissions nobody can read grant nothing but to admins.
		return &Denied{User: id.Name, Permission: perm, Kind: "application", Resource: string(app.Name), Reason: err.Error()}
	}
	return check(id, perms, perm, "application", string(app.Name))
}

// Account returns nil when id may perm the deployment account, or a
// *Denied.
func (p *Policy) Account(id Identity, account string, perm Permission) error {
	if p.Admin(id) {
		return nil
	}
	return check(id, p.Accounts[account], perm, "account", account)
}

func check(id Identity, perms Permissions, perm Permission, kind, name string) error {
	if !perms.Restricted() {
		return nil
	}
	granted := perms.Granted(perm)
	if id.HasRole(granted...) {
		return nil
	}
	return &Denied{User: id.Name, Permission: perm, Kind: kind, Resource: name, Granted: granted}
}

// PipelineRoles returns the roles a pipeline's automated runs hold
// (Spinnaker's pipeline "roles").
func PipelineRoles(p *model.Pipeline) []string {
	raw, ok := p.Extra["roles"]
	if !ok {
		return nil
	}
	var roles []string
	if err := json.Unmarshal(raw, &roles); err != nil {
		return nil
	}
	return roles
}

// RunAsUsers returns the runAsUser of each of a pipeline's triggers that
// names one, sorted and without repeats.
func RunAsUsers(p *model.Pipeline) []string {
	var out []string
	for _, t := range p.Triggers {
		raw, ok := t.Extra["runAsUser"]
		if !ok {
			continue
		}
		var name string
		if json.Unmarshal(raw, &name) == nil && name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// CheckPipelineSave returns nil when id may save p as far as identities go:
// the pipeline's roles must all be held by the saver, and every trigger's
// runAsUser must be the pipeline's own managed service account or a service
// account whose roles the saver all holds. Otherwise a *Denied.
func (p *Policy) CheckPipelineSave(id Identity, pl *model.Pipeline) error {
	if p.Admin(id) {
		return nil
	}
	for _, role := range PipelineRoles(pl) {
		if !id.HasRole(role) {
			return &Denied{User: id.Name, Permission: Write, Kind: "pipeline", Resource: fmt.Sprintf("%q of %s", pl.Name, pl.Application),
				Reason: fmt.Sprintf("its roles name %q, which %s does not hold; a pipeline may only be given roles its saver holds", role, id.Name)}
		}
	}
	for _, user := range RunAsUsers(pl) {
		if pl.ID != "" && user == ManagedServiceAccount(pl.ID) {
			continue // holds the pipeline's roles, checked above
		}
		roles, known := p.ServiceAccounts[user]
		switch {
		case user == id.Name:
		case !known:
			return &Denied{User: id.Name, Permission: Write, Kind: "pipeline", Resource: fmt.Sprintf("%q of %s", pl.Name, pl.Application),
				Reason: fmt.Sprintf("a trigger runs as %q, which is no service account %s may use", user, id.Name)}
		case !id.HasAllRoles(roles):
			return &Denied{User: id.Name, Permission: Write, Kind: "pipeline", Resource: fmt.Sprintf("%q of %s", pl.Name, pl.Application),
				Reason: fmt.Sprintf("a trigger runs as %q, whose roles (%s) %s does not all hold", user, strings.Join(roles, ", "), id.Name)}
		}
	}
	return nil
}

// AutomatedIdentity is who an automated run of p (a cron, webhook, event or
// pipeline trigger) acts as: the trigger's runAsUser with that service
// account's roles, or else the pipeline's managed service account with the
// pipeline's roles.
func (p *Policy) AutomatedIdentity(pl *model.Pipeline, runAsUser string) Identity {
	if runAsUser != "" && (pl.ID == "" || runAsUser != ManagedServiceAccount(pl.ID)) {
		var roles []string
		if p != nil {
			roles = p.ServiceAccounts[runAsUser]
		}
		return Identity{Name: runAsUser, Roles: append([]string{}, roles...)}
	}
	return Identity{Name: ManagedServiceAccount(pl.ID), Roles: append([]string{}, PipelineRoles(pl)...)}
}

// JudgeRoles returns a manual judgment stage's selectedStageRoles.
func JudgeRoles(ctx map[string]any) []string {
	list, _ := ctx["selectedStageRoles"].([]any)
	var out []string
	for _, r := range list {
		if s, ok := r.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Judge returns nil when id may judge a stage whose context is ctx: anyone
// when it names no selectedStageRoles, else only holders of one of them.
func (p *Policy) Judge(id Identity, stageName string, ctx map[string]any) error {
	if p.Admin(id) {
		return nil
	}
	roles := JudgeRoles(ctx)
	if len(roles) == 0 || id.HasRole(roles...) {
		return nil
	}
	return &Denied{User: id.Name, Permission: Execute, Kind: "stage", Resource: fmt.Sprintf("%q", stageName), Granted: roles,
		Reason: fmt.Sprintf("only roles %s may judge it", strings.Join(roles, ", "))}
}
