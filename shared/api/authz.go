package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gennaker/gennaker/shared/auth"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
	"github.com/gennaker/gennaker/shared/store"
)

// Authorization. Every route the API serves — its own and those mounted on
// it — passes through guard, which authenticates the caller and applies the
// route's entry in access before the handler runs. A route without an entry
// gets the default: authentication, then READ on the application its path
// names ({app}) for GET and HEAD, WRITE on it for anything else, and for a
// write that names no application, admins only. A route declares another
// rule with one line in access below.
//
// What a request body names (the pipeline a save stores, the jobs of a
// task) is authorized where the body is read, by the one function each
// such route goes through: planSave for every pipeline save, checkJob for
// every job. Listings leave out what the caller may not READ.

// rule is what a route needs beyond authentication.
type rule struct {
	// public routes need no authentication.
	public bool
	// check returns nil when id may make the request, a *auth.Denied when
	// not.
	check func(s *server, r *http.Request, id auth.Identity) error
	// why says, for a route whose handler authorizes what its body names or
	// filters what it lists, what it checks there. Documentation only.
	why string
}

var (
	public        = rule{public: true}
	authenticated = rule{check: func(*server, *http.Request, auth.Identity) error { return nil }}
	admins        = rule{check: func(s *server, r *http.Request, id auth.Identity) error { return s.requireAdmin(id, r) }}
)

// inHandler needs authentication here; the handler authorizes what the
// body names, or leaves out of a listing what the caller may not READ, as
// why says.
func inHandler(why string) rule { return rule{check: authenticated.check, why: why} }

// onApp needs perm on the application in the path.
func onApp(perm auth.Permission) rule {
	return rule{check: func(s *server, r *http.Request, id auth.Identity) error {
		return s.allow(r.Context(), id, canonicalApp(r.PathValue("app")), perm)
	}}
}

// onPipelineConfig needs perm on the application of the pipeline whose id
// is in the path (a deleted pipeline's, for its history).
func onPipelineConfig(perm auth.Permission) rule {
	return rule{check: func(s *server, r *http.Request, id auth.Identity) error {
		app, err := s.pipelineApplication(r.Context(), model.PipelineID(r.PathValue("id")))
		if err != nil || app == "" {
			return err // an unknown pipeline is the handler's 404
		}
		return s.allow(r.Context(), id, app, perm)
	}}
}

// onExecution needs perm on the application of the run in the path.
func onExecution(perm auth.Permission) rule {
	return rule{check: func(s *server, r *http.Request, id auth.Identity) error {
		e, err := s.store.Executions().GetHeader(r.Context(), model.ExecutionID(r.PathValue("id")))
		if errors.Is(err, store.ErrNotFound) {
			return nil // the handler's 404
		}
		if err != nil {
			return err
		}
		return s.allow(r.Context(), id, e.Application, perm)
	}}
}

// access is the decision table: what each route needs. Routes not listed
// get the default rule (see above).
var access = map[string]rule{
	"GET /health":    public,
	"GET /version":   public,
	"GET /auth/user": authenticated,

	"GET /applications":                  inHandler("lists only applications the caller may READ"),
	"GET /applications/{app}":            onApp(auth.Read),
	"POST /tasks":                        inHandler("checkJob authorizes each job: WRITE on the application it changes (any user may create one), EXECUTE for a stage run"),
	"POST /applications/{app}/tasks":     inHandler("as POST /tasks"),
	"GET /tasks/{id}":                    {check: onTask},
	"GET /applications/{app}/tasks/{id}": {check: onTask},

	"GET /applications/{app}/pipelineConfigs":              onApp(auth.Read),
	"GET /applications/{app}/pipelineConfigs/{name}":       onApp(auth.Read),
	"GET /pipelineConfigs":                                 inHandler("lists only pipelines of applications the caller may READ"),
	"POST /pipelines":                                      inHandler("planSave: WRITE on the pipeline's application, and its roles and runAsUsers held by the saver"),
	"PUT /pipelines/{id}":                                  onPipelineConfig(auth.Write),
	"DELETE /pipelines/{app}/{name}":                       onApp(auth.Write),
	"POST /pipelines/validate":                             inHandler("changes nothing"),
	"POST /pipelines/import":                               admins,
	"GET /pipelineConfigs/{id}/history":                    onPipelineConfig(auth.Read),
	"GET /pipelineConfigs/{id}/history/{version}":          onPipelineConfig(auth.Read),
	"POST /pipelineConfigs/{id}/history/{version}/restore": onPipelineConfig(auth.Write),
	"GET /pipelineConfigs/{id}/diff":                       onPipelineConfig(auth.Read),

	"POST /pipelines/{app}/{nameOrId}":                    onApp(auth.Execute),
	"POST /applications/{app}/pipelineConfigs/{nameOrId}": onApp(auth.Execute),
	"GET /pipelines/{id}":                                 onExecution(auth.Read),
	"DELETE /pipelines/{id}":                              onExecution(auth.Write),
	"GET /applications/{app}/pipelines":                   onApp(auth.Read),
	"GET /executions":                                     inHandler("lists only runs of applications the caller may READ"),
	"PUT /pipelines/{id}/cancel":                          onExecution(auth.Execute),
	"PUT /applications/{app}/pipelines/{id}/cancel":       onExecution(auth.Execute),
	"PUT /pipelines/{id}/pause":                           onExecution(auth.Execute),
	"PUT /pipelines/{id}/resume":                          onExecution(auth.Execute),
	"PATCH /pipelines/{id}/stages/{stageId}":              {check: onStagePatch},
	"PUT /pipelines/{id}/stages/{stageId}/restart":        onExecution(auth.Execute),
	"GET /applications/{app}/cost":                        onApp(auth.Read),

	// The deployments read API (shared/deployapi); its listings leave out
	// accounts the caller may not READ.
	"GET /serverGroups/{account}/{region}/{name}":                    {check: onServerGroup},
	"GET /applications/{app}/serverGroups/{account}/{region}/{name}": {check: onAppAccount},
	"GET /applications/{app}/clusters/{account}/{cluster}":           {check: onAppAccount},
	"GET /applications/{app}/serverGroups":                           onApp(auth.Read),
	"GET /applications/{app}/clusters":                               onApp(auth.Read),
	"GET /applications/{app}/loadBalancers":                          onApp(auth.Read),
	"GET /applications/{app}/serverGroupManagers":                    onApp(auth.Read),
	"GET /credentials":                                               inHandler("every account, authorized: whether the caller may WRITE (deploy to) it"),
	"GET /credentials/{account}":                                     inHandler("as GET /credentials"),

	// The web UI's page and assets hold no data; every call the page makes
	// is authorized as any other.
	"GET /{$}":           public,
	"GET /assets/{file}": public,

	// Webhooks come from systems that cannot log in (GitHub, CI servers),
	// as echo takes them: the runs they start act as the trigger's
	// runAsUser or the pipeline's managed service account, and a git
	// trigger with a secret checks the sender's signature. Replaying
	// events (POST /events) and explaining them stay with admins.
	"POST /webhooks/{type}/{source}":         public,
	"POST /webhooks/{type}/{source}/explain": admins,
	"POST /events":                           admins,
	"POST /events/explain":                   admins,

	// An application's notifications (shared/notify), as Front50's.
	"GET /notifications/application/{app}":  onApp(auth.Read),
	"POST /notifications/application/{app}": onApp(auth.Write),

	// Canary configs and results (shared/canary/canaryapi): any
	// authenticated user reads them, but a config or run that names
	// applications only one who may READ each of them (listings leave the
	// others out); changing a config, which decides whether releases pass,
	// is for admins.
	"GET /v2/canaryConfig":                inHandler("lists only configs whose applications the caller may all READ"),
	"GET /v2/canaryConfig/{id}":           inHandler("READ on every application the config names"),
	"GET /v2/canaryConfig/{id}/history":   inHandler("READ on every application the config names"),
	"GET /v2/canaries/canary/{id}":        inHandler("READ on the run's application"),
	"GET /v2/canaries/canary/{id}/report": inHandler("READ on the run's application"),
	"GET /v2/canaries/judges":             authenticated,
	"GET /v2/canaries/credentials":        authenticated,
	"POST /v2/canaryConfig":               admins,
	"PUT /v2/canaryConfig/{id}":           admins,
	"DELETE /v2/canaryConfig/{id}":        admins,

	// The audit log (shared/notify): one application's events need READ on
	// it; every application's, admin.
	"GET /audit": {check: func(s *server, r *http.Request, id auth.Identity) error {
		if app := canonicalApp(r.URL.Query().Get("application")); app != "" {
			return s.allow(r.Context(), id, app, auth.Read)
		}
		return s.requireAdmin(id, r)
	}},
	// Slack's judgment buttons carry Slack's signature, not a gennaker
	// identity: with authentication on, a request without credentials is
	// refused (401), and the judge is who authenticated, held to what
	// PATCH /pipelines/{id}/stages/{stageId} needs (the platform's judge).
	"POST /notifications/slack/interactions": inHandler("verifies Slack's signature; with authentication on, the judge is the caller, who needs EXECUTE on the run's application and the judgment's roles"),
}

// Declared reports whether access declares the rule of a route pattern;
// one that does not gets the default.
func Declared(pattern string) bool {
	_, ok := access[pattern]
	return ok
}

// ruleFor returns the rule of a route pattern.
func ruleFor(pattern string) rule {
	if r, ok := access[pattern]; ok {
		return r
	}
	method, _, _ := strings.Cut(pattern, " ")
	return rule{check: func(s *server, r *http.Request, id auth.Identity) error {
		app := canonicalApp(r.PathValue("app"))
		read := method == http.MethodGet || method == http.MethodHead
		switch {
		case app != "" && read:
			return s.allow(r.Context(), id, app, auth.Read)
		case app != "":
			return s.allow(r.Context(), id, app, auth.Write)
		case read:
			return nil
		default:
			return s.requireAdmin(id, r)
		}
	}}
}

// guard authenticates the caller and applies the route's rule, then serves
// the request with the caller's identity in its context.
func (s *server) guard(pattern string, next http.Handler) http.Handler {
	rl := ruleFor(pattern)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := s.identify(r)
		if err == nil && !rl.public {
			err = checkPathNames(r)
			if err == nil && s.policy.Enabled {
				err = rl.check(s, r.WithContext(auth.WithIdentity(r.Context(), id)), id)
			}
		}
		if err != nil && !rl.public {
			if auth.IsUnauthenticated(err) {
				w.Header().Set("WWW-Authenticate", `Basic realm="gennaker", charset="UTF-8"`)
			}
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithIdentity(r.Context(), id)))
	})
}

// identify returns who sent r. With authentication off everyone is one
// user with every right, named by X-SPINNAKER-USER as Spinnaker's services
// behind Gate trust it, or anonymous; with it on, the header is ignored.
func (s *server) identify(r *http.Request) (auth.Identity, error) {
	if !s.policy.Enabled {
		name := strings.TrimSpace(r.Header.Get("X-SPINNAKER-USER"))
		if name == "" {
			name = auth.AnonymousUser
		}
		return auth.Identity{Name: name, Roles: []string{}}, nil
	}
	return s.authn.Authenticate(r)
}

// caller is the identity guard put in ctx.
func caller(ctx context.Context) auth.Identity {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Identity{Name: auth.AnonymousUser}
	}
	return id
}

// allow returns nil when id may perm the application, which need not
// exist (then anyone may).
func (s *server) allow(ctx context.Context, id auth.Identity, app model.ApplicationName, perm auth.Permission) error {
	if s.policy.Admin(id) {
		return nil
	}
	a, err := s.store.Applications().Get(ctx, app)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("application %s: %w", app, err)
	}
	return s.policy.Application(id, a, perm)
}

// canRead reports whether the caller of ctx may READ the application, for
// listings.
func (s *server) canRead(ctx context.Context, app *model.Application) bool {
	return s.policy.Application(caller(ctx), app, auth.Read) == nil
}

// readable filters applications by name for listings, reading each once.
type readable struct {
	s    *server
	ctx  context.Context
	seen map[model.ApplicationName]bool
}

func (s *server) readable(ctx context.Context) *readable {
	return &readable{s: s, ctx: ctx, seen: map[model.ApplicationName]bool{}}
}

func (r *readable) ok(app model.ApplicationName) bool {
	if v, ok := r.seen[app]; ok {
		return v
	}
	v := r.s.allow(r.ctx, caller(r.ctx), app, auth.Read) == nil
	r.seen[app] = v
	return v
}

func (s *server) requireAdmin(id auth.Identity, r *http.Request) error {
	if s.policy.Admin(id) {
		return nil
	}
	return &auth.Denied{User: id.Name, Permission: auth.Write, Kind: "endpoint", Resource: r.Method + " " + r.URL.Path, Granted: s.policy.Admins,
		Reason: "only admins may use it"}
}

// pipelineApplication is the application of a pipeline, or of the last
// version of a deleted one; "" when there is neither.
func (s *server) pipelineApplication(ctx context.Context, id model.PipelineID) (model.ApplicationName, error) {
	if checkPipelineID(id) != "" {
		return "", nil
	}
	p, err := s.store.Pipelines().Get(ctx, id)
	if err == nil {
		return p.Application, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	hist, err := s.store.Pipelines().History(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && len(hist) == 0) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return hist[0].Pipeline.Application, nil
}

// onTask needs READ on the application a task acted for.
func onTask(s *server, r *http.Request, id auth.Identity) error {
	b, found, err := s.store.Records().Get(r.Context(), taskKeyPrefix+r.PathValue("id"))
	if err != nil || !found {
		return err
	}
	var t task
	if json.Unmarshal(b, &t) != nil || t.Application == "" {
		return nil
	}
	return s.allow(r.Context(), id, canonicalApp(t.Application), auth.Read)
}

// onStagePatch needs EXECUTE on the run's application and, for a manual
// judgment, one of its selectedStageRoles.
func onStagePatch(s *server, r *http.Request, id auth.Identity) error {
	if err := onExecution(auth.Execute).check(s, r, id); err != nil {
		return err
	}
	e, err := s.store.Executions().Get(r.Context(), model.ExecutionID(r.PathValue("id")))
	if err != nil {
		return nil // the handler's 404
	}
	st := e.StageByID(model.StageID(r.PathValue("stageId")))
	if st == nil || st.Type != "manualJudgment" {
		return nil
	}
	ctx := st.Context
	if roles := auth.JudgeRoles(ctx); len(roles) == 0 && st.Orchestration.Config != nil {
		ctx = st.Orchestration.Config
	}
	return s.policy.Judge(id, st.Name, ctx)
}

// onServerGroup needs READ on the application the server group's name
// belongs to, and READ on its account.
func onServerGroup(s *server, r *http.Request, id auth.Identity) error {
	if err := s.policy.Account(id, r.PathValue("account"), auth.Read); err != nil {
		return err
	}
	n, err := naming.ParseServerGroup(r.PathValue("name"))
	if err != nil {
		return nil // the handler's 404
	}
	return s.allow(r.Context(), id, canonicalApp(n.App), auth.Read)
}

// onAppAccount needs READ on the application and the account in the path.
func onAppAccount(s *server, r *http.Request, id auth.Identity) error {
	if err := s.policy.Account(id, r.PathValue("account"), auth.Read); err != nil {
		return err
	}
	return s.allow(r.Context(), id, canonicalApp(r.PathValue("app")), auth.Read)
}

// authUser answers GET /auth/user as Gate does: who the caller is, with
// their roles and the accounts they may deploy to.
func (s *server) authUser(w http.ResponseWriter, r *http.Request) error {
	id := caller(r.Context())
	accounts := []string{}
	for _, a := range s.accounts {
		if s.policy.Account(id, a, auth.Write) == nil {
			accounts = append(accounts, a)
		}
	}
	roles := id.Roles
	if roles == nil {
		roles = []string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"username":        id.Name,
		"email":           id.Email,
		"roles":           roles,
		"admin":           s.policy.Admin(id),
		"allowedAccounts": accounts,
		"authenticated":   s.policy.Enabled,
	})
}
