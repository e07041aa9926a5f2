package deployapi

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"github.com/gennaker/gennaker/providers"
)

// ServerGroupManager is Gate's view of a server group manager.
type ServerGroupManager struct {
	Name          string               `json:"name"`
	DisplayName   string               `json:"displayName"`
	Kind          string               `json:"kind"`
	Account       string               `json:"account"`
	Region        string               `json:"region"`
	Namespace     string               `json:"namespace"`
	CloudProvider string               `json:"cloudProvider"`
	Moniker       Moniker              `json:"moniker"`
	CreatedTime   int64                `json:"createdTime"`
	ServerGroups  []ServerGroupSummary `json:"serverGroups"`
}

// ServerGroupSummary names a server group of a manager.
type ServerGroupSummary struct {
	Name      string  `json:"name"`
	Account   string  `json:"account"`
	Namespace string  `json:"namespace"`
	Moniker   Moniker `json:"moniker"`
}

func monikerOf(m providers.Manager, sequence *int) Moniker {
	return Moniker{App: m.Application, Cluster: m.Cluster, Stack: m.Stack, Detail: m.Detail, Sequence: sequence}
}

// accountViews lists the application's server groups in one account in
// Gate's shape, each managed one naming its manager and taking its moniker.
func (h *Handler) accountViews(ctx context.Context, account, app string) ([]ServerGroup, []providers.Manager, error) {
	c, err := h.providers.Cloud(account, "")
	if err != nil {
		return nil, nil, err
	}
	if c.ServerGroups == nil {
		return []ServerGroup{}, nil, nil // the provider has no server groups
	}
	gs, err := c.ServerGroups.List(ctx, app)
	if err != nil {
		return nil, nil, fmt.Errorf("list server groups of %s in %s: %w", app, account, err)
	}
	out := make([]ServerGroup, 0, len(gs))
	for _, g := range gs {
		out = append(out, toGate(g))
	}
	if c.Managers == nil {
		return out, nil, nil
	}
	managers, err := c.Managers.Managers(ctx, app)
	if err != nil {
		return nil, nil, fmt.Errorf("list server group managers of %s in %s: %w", app, account, err)
	}
	applyManagers(out, account, managers)
	return out, managers, nil
}

// applyManagers names each managed server group's manager.
func applyManagers(groups []ServerGroup, account string, managers []providers.Manager) {
	type key struct{ region, name string }
	of := map[key]struct {
		m   *providers.Manager
		seq int
	}{}
	for i := range managers {
		m := &managers[i]
		for _, sg := range m.ServerGroups {
			of[key{m.Region, sg.Name}] = struct {
				m   *providers.Manager
				seq int
			}{m, sg.Sequence}
		}
	}
	for i := range groups {
		g := &groups[i]
		found, ok := of[key{g.Region, g.Name}]
		if !ok {
			continue
		}
		m := found.m
		var seq *int
		if found.seq >= 0 {
			seq = &found.seq
		}
		g.Moniker = monikerOf(*m, seq)
		g.Cluster = m.Cluster
		g.ServerGroupManagers = []ManagerSummary{{Account: account, Location: m.Region, Name: m.Name}}
	}
}

// appViews lists the application's server groups in every account. An
// account that cannot be read (an unreachable cluster) is logged and left
// out, so that one account down does not hide every other.
func (h *Handler) appViews(ctx context.Context, app string) ([]ServerGroup, error) {
	var out []ServerGroup
	for _, a := range h.readableAccounts(ctx) {
		gs, _, err := h.accountViews(ctx, a.Name, app)
		if err != nil {
			h.log.WarnContext(ctx, "account left out of the server groups", "application", app, "account", a.Name, "error", err)
			continue
		}
		out = append(out, gs...)
	}
	return out, nil
}

func (h *Handler) serverGroupManagers(w http.ResponseWriter, r *http.Request) error {
	app := r.PathValue("app")
	out := []ServerGroupManager{}
	for _, a := range h.readableAccounts(r.Context()) {
		groups, managers, err := h.accountViews(r.Context(), a.Name, app)
		if err != nil {
			h.log.WarnContext(r.Context(), "account left out of the server group managers", "application", app, "account", a.Name, "error", err)
			continue
		}
		monikers := map[[2]string]Moniker{}
		for _, g := range groups {
			monikers[[2]string{g.Region, g.Name}] = g.Moniker
		}
		for _, m := range managers {
			v := ServerGroupManager{
				Name: m.Kind + " " + m.Name, DisplayName: m.Name, Kind: m.Kind, Account: a.Name,
				Region: m.Region, Namespace: m.Region, CloudProvider: a.Provider,
				Moniker: monikerOf(m, nil), CreatedTime: m.CreatedTime, ServerGroups: []ServerGroupSummary{},
			}
			for _, sg := range m.ServerGroups {
				mon, ok := monikers[[2]string{m.Region, sg.Name}]
				if !ok {
					seq := sg.Sequence
					mon = monikerOf(m, &seq)
				}
				v.ServerGroups = append(v.ServerGroups, ServerGroupSummary{Name: sg.Name, Account: a.Name, Namespace: m.Region, Moniker: mon})
			}
			out = append(out, v)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Account != out[j].Account {
			return out[i].Account < out[j].Account
		}
		return out[i].Region+"/"+out[i].Name < out[j].Region+"/"+out[j].Name
	})
	writeJSON(w, http.StatusOK, out)
	return nil
}
