package deployapi

import (
	"context"
	"fmt"
	"net/http"
	"sort"
)

// Managed is implemented by the server groups of a provider in which other
// objects manage server groups, as a Kubernetes Deployment manages its
// ReplicaSets. Spinnaker calls them server group managers: the read API
// lists them, and names each managed server group's manager.
type Managed interface {
	// Managers returns the application's server group managers in every
	// region the account may use, ordered by region and name. An
	// application with none returns an empty list.
	Managers(ctx context.Context, app string) ([]Manager, error)
}

// Manager is one server group manager as its provider sees it.
type Manager struct {
	// Kind is Spinnaker's kind, such as "deployment".
	Kind string
	// Name is the manager's own name, such as "web".
	Name        string
	Region      string
	Application string
	// Cluster is the cluster of the manager and of its server groups,
	// such as "deployment web".
	Cluster     string
	Stack       string
	Detail      string
	CreatedTime int64
	// ServerGroups are the server groups it manages, oldest first.
	ServerGroups []ManagedServerGroup
}

// ManagedServerGroup is a server group of a manager, with the sequence
// Spinnaker shows for it (a Deployment's ReplicaSet: its revision).
type ManagedServerGroup struct {
	Name     string
	Sequence int
}

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

func (m Manager) moniker(sequence *int) Moniker {
	return Moniker{App: m.Application, Cluster: m.Cluster, Stack: m.Stack, Detail: m.Detail, Sequence: sequence}
}

// accountViews lists the application's server groups in one account in
// Gate's shape, each managed one naming its manager and taking its moniker.
func (h *Handler) accountViews(ctx context.Context, account, app string) ([]ServerGroup, []Manager, error) {
	c, err := h.providers.Cloud(account, "")
	if err != nil {
		return nil, nil, err
	}
	sgs := c.ServerGroups()
	gs, err := sgs.List(ctx, app)
	if err != nil {
		return nil, nil, fmt.Errorf("list server groups of %s in %s: %w", app, account, err)
	}
	out := make([]ServerGroup, 0, len(gs))
	for _, g := range gs {
		out = append(out, toGate(g))
	}
	mgd, ok := sgs.(Managed)
	if !ok {
		return out, nil, nil
	}
	managers, err := mgd.Managers(ctx, app)
	if err != nil {
		return nil, nil, fmt.Errorf("list server group managers of %s in %s: %w", app, account, err)
	}
	applyManagers(out, account, managers)
	return out, managers, nil
}

// applyManagers names each managed server group's manager.
func applyManagers(groups []ServerGroup, account string, managers []Manager) {
	type key struct{ region, name string }
	of := map[key]struct {
		m   *Manager
		seq int
	}{}
	for i := range managers {
		m := &managers[i]
		for _, sg := range m.ServerGroups {
			of[key{m.Region, sg.Name}] = struct {
				m   *Manager
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
		g.Moniker = m.moniker(seq)
		g.Cluster = m.Cluster
		g.ServerGroupManagers = []ManagerSummary{{Account: account, Location: m.Region, Name: m.Name}}
	}
}

// appViews lists the application's server groups in every account. An
// account that cannot be read (an unreachable cluster) is logged and left
// out, so that one account down does not hide every other.
func (h *Handler) appViews(ctx context.Context, app string) ([]ServerGroup, error) {
	var out []ServerGroup
	for _, a := range h.providers.Accounts() {
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
	for _, a := range h.providers.Accounts() {
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
				Moniker: m.moniker(nil), CreatedTime: m.CreatedTime, ServerGroups: []ServerGroupSummary{},
			}
			for _, sg := range m.ServerGroups {
				mon, ok := monikers[[2]string{m.Region, sg.Name}]
				if !ok {
					seq := sg.Sequence
					mon = m.moniker(&seq)
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
