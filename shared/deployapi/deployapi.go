// Package deployapi answers Gate's read endpoints for what is deployed:
// server groups, clusters and load balancers of an application, and the
// deployment accounts. It is a plain http.Handler; the main API mounts it.
//
//	GET /applications/{app}/serverGroups
//	GET /applications/{app}/serverGroups/{account}/{region}/{name}
//	GET /applications/{app}/clusters
//	GET /applications/{app}/clusters/{account}/{cluster}
//	GET /applications/{app}/loadBalancers
//	GET /applications/{app}/serverGroupManagers
//	GET /serverGroups/{account}/{region}/{name}
//	GET /credentials
//	GET /credentials/{account}
package deployapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/api/gateerr"
	"github.com/gennaker/gennaker/shared/naming"
)

// Patterns lists the routes the handler serves, for a mux that mounts it.
var Patterns = []string{
	"GET /applications/{app}/serverGroups",
	"GET /applications/{app}/serverGroups/{account}/{region}/{name}",
	"GET /applications/{app}/clusters",
	"GET /applications/{app}/clusters/{account}/{cluster}",
	"GET /applications/{app}/loadBalancers",
	"GET /serverGroups/{account}/{region}/{name}",
	"GET /credentials",
	"GET /credentials/{account}",
	"GET /applications/{app}/serverGroupManagers",
}

// Handler serves the read endpoints.
type Handler struct {
	providers *providers.Registry
	log       *slog.Logger
	mux       *http.ServeMux
	// Authorized reports whether the caller of ctx may deploy to the
	// account, which /credentials reports as "authorized"; nil means
	// everyone may.
	Authorized func(ctx context.Context, account string) bool
	// Readable reports whether the caller of ctx may READ the account:
	// listings leave out what the others hold. nil means everyone may.
	Readable func(ctx context.Context, account string) bool
}

// readableAccounts are the accounts whose contents the caller of ctx may
// see.
func (h *Handler) readableAccounts(ctx context.Context) []providers.Account {
	var out []providers.Account
	for _, a := range h.providers.Accounts() {
		if h.Readable == nil || h.Readable(ctx, a.Name) {
			out = append(out, a)
		}
	}
	return out
}

// New returns the handler for the accounts in reg.
func New(reg *providers.Registry, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{providers: reg, log: log, mux: http.NewServeMux()}
	routes := []func(w http.ResponseWriter, r *http.Request) error{
		h.serverGroups, h.serverGroup, h.clusters, h.cluster, h.loadBalancers, h.serverGroup, h.credentials, h.account,
		h.serverGroupManagers,
	}
	for i, p := range Patterns {
		fn := routes[i]
		h.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r); err != nil {
				h.fail(w, r, err)
			}
		})
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// httpError is an error with the status it answers.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var he *httpError
	switch {
	case errors.As(err, &he):
		status = he.status
	case errors.Is(err, providers.ErrUnknownAccount), errors.Is(err, providers.ErrNotFound):
		status = http.StatusNotFound
	default:
		h.log.ErrorContext(r.Context(), "deployment read failed", "path", r.URL.Path, "error", err)
	}
	_ = gateerr.Write(w, status, err.Error(), time.Now())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ServerGroup is Gate's view of a server group.
type ServerGroup struct {
	Name           string                   `json:"name"`
	Application    string                   `json:"application"`
	Cluster        string                   `json:"cluster"`
	Account        string                   `json:"account"`
	Region         string                   `json:"region"`
	CloudProvider  string                   `json:"cloudProvider"`
	Type           string                   `json:"type"`
	IsDisabled     bool                     `json:"isDisabled"`
	Capacity       providers.Capacity       `json:"capacity"`
	InstanceCounts providers.InstanceCounts `json:"instanceCounts"`
	Instances      []Instance               `json:"instances"`
	CreatedTime    int64                    `json:"createdTime"`
	LoadBalancers  []string                 `json:"loadBalancers"`
	BuildInfo      map[string]any           `json:"buildInfo,omitempty"`
	Moniker        Moniker                  `json:"moniker"`
	Provenance     providers.Provenance     `json:"provenance"`
	// ServerGroupManagers names what manages the server group, such as
	// the Deployment of a ReplicaSet; empty for most.
	ServerGroupManagers []ManagerSummary `json:"serverGroupManagers"`
	// AWSFields are an AWS server group's own, when it is one.
	*AWSFields
}

// ManagerSummary names a server group manager, as Spinnaker's
// ServerGroupManagerSummary does.
type ManagerSummary struct {
	Account  string `json:"account"`
	Location string `json:"location"`
	Name     string `json:"name"`
}

// Instance is Gate's view of an instance.
type Instance struct {
	Name        string           `json:"name"`
	ID          string           `json:"id"`
	HealthState providers.Health `json:"healthState"`
	LaunchTime  int64            `json:"launchTime"`
	Address     string           `json:"address,omitempty"`
	Health      []map[string]any `json:"health"`
}

// Moniker is Spinnaker's parsed name.
type Moniker struct {
	App      string `json:"app"`
	Cluster  string `json:"cluster"`
	Stack    string `json:"stack,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Sequence *int   `json:"sequence,omitempty"`
}

func toGate(g providers.ServerGroup) ServerGroup {
	out := ServerGroup{
		Name: g.Name, Application: g.Application, Cluster: g.Cluster, Account: g.Account, Region: g.Region,
		CloudProvider: g.CloudProvider, Type: g.CloudProvider, IsDisabled: g.Disabled, Capacity: g.Capacity,
		InstanceCounts: g.Counts, Instances: []Instance{}, CreatedTime: g.CreatedTime,
		LoadBalancers: append([]string{}, g.LoadBalancers...), Provenance: g.Provenance,
		Moniker: Moniker{App: g.Application, Cluster: g.Cluster}, ServerGroupManagers: []ManagerSummary{},
		AWSFields: awsFields(g),
	}
	if g.Artifact != nil {
		out.BuildInfo = map[string]any{"artifact": g.Artifact}
		if env, ok := g.Artifact["env"].(map[string]any); ok && env["VERSION"] != nil {
			out.BuildInfo["version"] = env["VERSION"]
		}
	}
	if n, err := naming.ParseServerGroup(g.Name); err == nil {
		out.Moniker.Stack, out.Moniker.Detail = n.Stack, n.Detail
		if n.Sequence >= 0 {
			seq := n.Sequence
			out.Moniker.Sequence = &seq
		}
	}
	for _, in := range g.Instances {
		state := "Up"
		if in.Health != providers.HealthUp {
			state = string(in.Health)
		}
		out.Instances = append(out.Instances, Instance{
			Name: in.ID, ID: in.ID, HealthState: in.Health, LaunchTime: in.LaunchTime, Address: in.Address,
			Health: []map[string]any{{"type": "HealthCheck", "state": state}},
		})
	}
	return out
}

func (h *Handler) serverGroups(w http.ResponseWriter, r *http.Request) error {
	out, err := h.appViews(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) serverGroup(w http.ResponseWriter, r *http.Request) error {
	c, err := h.providers.Cloud(r.PathValue("account"), "")
	if err != nil {
		return err
	}
	if c.ServerGroups == nil {
		return notFound("account %s has no server groups", r.PathValue("account"))
	}
	g, err := c.ServerGroups.Get(r.Context(), r.PathValue("region"), r.PathValue("name"))
	if err != nil {
		return err
	}
	if app := r.PathValue("app"); app != "" && g.Application != app {
		return notFound("application %s has no server group %s in %s/%s", app, g.Name, g.Account, g.Region)
	}
	out := []ServerGroup{toGate(*g)}
	if c.Managers != nil {
		managers, err := c.Managers.Managers(r.Context(), g.Application)
		if err != nil {
			return fmt.Errorf("list server group managers of %s in %s: %w", g.Application, g.Account, err)
		}
		applyManagers(out, g.Account, managers)
	}
	writeJSON(w, http.StatusOK, out[0])
	return nil
}

func (h *Handler) clusters(w http.ResponseWriter, r *http.Request) error {
	gs, err := h.appViews(r.Context(), r.PathValue("app"))
	if err != nil {
		return err
	}
	out := map[string][]string{}
	for acct, cs := range clustersByAccount(gs) {
		for _, c := range cs {
			out[acct] = append(out[acct], c.Name)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// ClusterSummary names a cluster as Gate lists it under an application.
type ClusterSummary struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
}

// Clusters is ApplicationClusters in the shape api.Options.Clusters takes.
func (h *Handler) Clusters(ctx context.Context, app string) (any, error) {
	return h.ApplicationClusters(ctx, app)
}

// ApplicationClusters returns an application's clusters by account, the
// "clusters" of Gate's GET /applications/{app}.
func (h *Handler) ApplicationClusters(ctx context.Context, app string) (map[string][]ClusterSummary, error) {
	gs, err := h.appViews(ctx, app)
	if err != nil {
		return nil, err
	}
	return clustersByAccount(gs), nil
}

func clustersByAccount(gs []ServerGroup) map[string][]ClusterSummary {
	seen := map[string]map[string]string{}
	for _, g := range gs {
		if seen[g.Account] == nil {
			seen[g.Account] = map[string]string{}
		}
		seen[g.Account][g.Cluster] = g.CloudProvider
	}
	out := map[string][]ClusterSummary{}
	for acct, names := range seen {
		for n, p := range names {
			out[acct] = append(out[acct], ClusterSummary{Name: n, Provider: p})
		}
		sort.Slice(out[acct], func(i, j int) bool { return out[acct][i].Name < out[acct][j].Name })
	}
	return out
}

// Cluster is Gate's view of a cluster in one account.
type Cluster struct {
	Name          string        `json:"name"`
	AccountName   string        `json:"accountName"`
	Type          string        `json:"type"`
	Moniker       Moniker       `json:"moniker"`
	ServerGroups  []ServerGroup `json:"serverGroups"`
	LoadBalancers []string      `json:"loadBalancers"`
}

func (h *Handler) cluster(w http.ResponseWriter, r *http.Request) error {
	app, acct, name := r.PathValue("app"), r.PathValue("account"), r.PathValue("cluster")
	a, err := h.providers.Account(acct)
	if err != nil {
		return err
	}
	gs, _, err := h.accountViews(r.Context(), acct, app)
	if err != nil {
		return err
	}
	out := Cluster{Name: name, AccountName: acct, Type: a.Provider, Moniker: Moniker{App: app, Cluster: name}, ServerGroups: []ServerGroup{}, LoadBalancers: []string{}}
	lbs := map[string]bool{}
	for _, g := range gs {
		if g.Cluster != name {
			continue
		}
		out.ServerGroups = append(out.ServerGroups, g)
		for _, lb := range g.LoadBalancers {
			lbs[lb] = true
		}
	}
	if len(out.ServerGroups) == 0 {
		return notFound("application %s has no cluster %s in account %s", app, name, acct)
	}
	for lb := range lbs {
		out.LoadBalancers = append(out.LoadBalancers, lb)
	}
	sort.Strings(out.LoadBalancers)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// LoadBalancer is Gate's view of a load balancer.
type LoadBalancer struct {
	Name          string                              `json:"name"`
	Account       string                              `json:"account"`
	Region        string                              `json:"region"`
	CloudProvider string                              `json:"cloudProvider"`
	Type          string                              `json:"type"`
	ListenPort    int                                 `json:"listenPort,omitempty"`
	URL           string                              `json:"url,omitempty"`
	Moniker       Moniker                             `json:"moniker"`
	ServerGroups  []providers.LoadBalancerServerGroup `json:"serverGroups"`
}

func (h *Handler) loadBalancers(w http.ResponseWriter, r *http.Request) error {
	app := r.PathValue("app")
	out := []LoadBalancer{}
	for _, a := range h.readableAccounts(r.Context()) {
		c, err := h.providers.Cloud(a.Name, "")
		if err != nil {
			return err
		}
		if c.LoadBalancers == nil {
			continue // the provider has no load balancers
		}
		lbs, err := c.LoadBalancers.List(r.Context())
		if err != nil {
			return fmt.Errorf("list load balancers in %s: %w", a.Name, err)
		}
		for _, lb := range lbs {
			owner := lb.Application
			if owner == "" {
				if n, err := naming.ParseCluster(lb.Name); err == nil {
					owner = n.App
				}
			}
			if owner != app {
				continue
			}
			out = append(out, LoadBalancer{
				Name: lb.Name, Account: lb.Account, Region: lb.Region, CloudProvider: lb.CloudProvider, Type: lb.CloudProvider,
				ListenPort: lb.ListenPort, URL: lb.URL, Moniker: Moniker{App: app, Cluster: lb.Name}, ServerGroups: lb.ServerGroups,
			})
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Account is Gate's view of a deployment account.
type Account struct {
	Name          string           `json:"name"`
	Type          string           `json:"type"`
	CloudProvider string           `json:"cloudProvider"`
	AccountType   string           `json:"accountType"`
	Environment   string           `json:"environment"`
	Regions       []map[string]any `json:"regions"`
	Authorized    bool             `json:"authorized"`
}

func (h *Handler) toAccount(ctx context.Context, a providers.Account) Account {
	authorized := h.Authorized == nil || h.Authorized(ctx, a.Name)
	out := Account{Name: a.Name, Type: a.Provider, CloudProvider: a.Provider, AccountType: a.Name, Environment: a.Environment, Regions: []map[string]any{}, Authorized: authorized}
	if out.Environment == "" {
		out.Environment = a.Name
	}
	for _, r := range a.Regions {
		out.Regions = append(out.Regions, map[string]any{"name": r})
	}
	return out
}

func (h *Handler) credentials(w http.ResponseWriter, r *http.Request) error {
	out := []Account{}
	for _, a := range h.providers.Accounts() {
		out = append(out, h.toAccount(r.Context(), a))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) account(w http.ResponseWriter, r *http.Request) error {
	a, err := h.providers.Account(r.PathValue("account"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.toAccount(r.Context(), a))
	return nil
}
