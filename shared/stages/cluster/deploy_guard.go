package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/gennaker/gennaker/shared/stages"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/naming"
	"github.com/gennaker/gennaker/shared/store"
)

// Traffic guards protect clusters from losing their last enabled server
// group with instances up. Every disable, destroy, shrink or resize to zero
// asks guardCheck first, with the cluster as it would be after the change.

// matchingGuard returns the first enabled guard of the application that
// covers the cluster in l, or nil. Account and location match exactly or by
// "*"; stack and detail match exactly (empty matches empty) or by "*".
func matchingGuard(guards []model.TrafficGuard, l Location, cluster naming.Cluster) *model.TrafficGuard {
	for i := range guards {
		g := &guards[i]
		if g.Enabled != nil && !*g.Enabled {
			continue
		}
		if matchesGuardField(string(g.Account), l.Account, true) &&
			matchesGuardField(g.Location, l.Region, true) &&
			matchesGuardField(g.Stack, cluster.Stack, false) &&
			matchesGuardField(g.Detail, cluster.Detail, false) {
			return g
		}
	}
	return nil
}

func matchesGuardField(rule, value string, emptyIsAny bool) bool {
	return rule == "*" || rule == value || (emptyIsAny && rule == "")
}

// guardDecision decides whether an action may change a cluster from before
// to after. It refuses when a guard covers the cluster, the action takes
// traffic from a server group that served, and no server group would serve
// afterwards.
func guardDecision(guards []model.TrafficGuard, app string, l Location, cluster string, action string, before, after []providers.ServerGroup) error {
	c, err := naming.ParseCluster(cluster)
	if err != nil {
		return nil // not a Spinnaker-named cluster: no guard can name it
	}
	return MonikerGuardDecision(guards, app, l, cluster, c, action, before, after)
}

// MonikerGuardDecision is guardDecision for a cluster whose stack and
// detail are given rather than read from its name, as a Kubernetes
// cluster's moniker annotations give them.
func MonikerGuardDecision(guards []model.TrafficGuard, app string, l Location, cluster string, moniker naming.Cluster, action string, before, after []providers.ServerGroup) error {
	g := matchingGuard(guards, l, moniker)
	if g == nil {
		return nil
	}
	servedBefore := 0
	for i := range before {
		if before[i].Serving() {
			servedBefore++
		}
	}
	for i := range after {
		if after[i].Serving() {
			return nil
		}
	}
	if servedBefore == 0 {
		return nil // nothing served before: the action takes no traffic away
	}
	return &TrafficGuardError{Application: app, Cluster: cluster, Location: l, Guard: *g, Action: action}
}

// TrafficGuardError says which guard refused an action.
type TrafficGuardError struct {
	Application string
	Cluster     string
	Location    Location
	Guard       model.TrafficGuard
	Action      string
}

func (e *TrafficGuardError) Error() string {
	return fmt.Sprintf("traffic guard {account: %q, location: %q, stack: %q, detail: %q} of application %s refuses to %s: cluster %s in %s would have no enabled server group with instances up",
		e.Guard.Account, e.Guard.Location, e.Guard.Stack, e.Guard.Detail, e.Application, e.Action, e.Cluster, e.Location)
}

// guardCheck applies the application's traffic guards to a change of the
// cluster, which change describes on a copy of its server groups.
func guardCheck(ctx context.Context, run *stages.Run, c *providers.Cloud, l Location, cluster, action string, change func(groups []providers.ServerGroup) []providers.ServerGroup) error {
	app := ""
	if run.Execution != nil {
		app = string(run.Execution.Application)
	}
	if n, err := naming.ParseCluster(cluster); err == nil {
		app = n.App
	}
	guards, err := ApplicationGuards(ctx, run, app)
	if err != nil || len(guards) == 0 {
		return err
	}
	before, err := clusterGroups(ctx, c, l.Region, cluster)
	if err != nil {
		return err
	}
	after := change(CloneGroups(before))
	return guardDecision(guards, app, l, cluster, action, before, after)
}

// ApplicationGuards reads the application's traffic guards; an
// application that is not stored has none.
func ApplicationGuards(ctx context.Context, run *stages.Run, app string) ([]model.TrafficGuard, error) {
	if run.Services == nil || run.Services.Store == nil || app == "" {
		return nil, nil
	}
	a, err := run.Services.Store.Applications().Get(ctx, model.ApplicationName(app))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the traffic guards of %s: %w", app, err)
	}
	return a.TrafficGuards, nil
}

// CloneGroups copies server groups, so that a simulated change leaves the
// cluster as it is.
func CloneGroups(in []providers.ServerGroup) []providers.ServerGroup {
	out := make([]providers.ServerGroup, len(in))
	copy(out, in)
	return out
}

// Simulated changes for guardCheck.

// Disabling simulates taking the named server groups out of rotation.
func Disabling(names ...string) func([]providers.ServerGroup) []providers.ServerGroup {
	return func(gs []providers.ServerGroup) []providers.ServerGroup {
		for i := range gs {
			for _, n := range names {
				if gs[i].Name == n {
					gs[i].Disabled = true
				}
			}
		}
		return gs
	}
}

// Destroying simulates destroying the named server groups.
func Destroying(names ...string) func([]providers.ServerGroup) []providers.ServerGroup {
	return func(gs []providers.ServerGroup) []providers.ServerGroup {
		out := gs[:0]
		for _, g := range gs {
			keep := true
			for _, n := range names {
				keep = keep && g.Name != n
			}
			if keep {
				out = append(out, g)
			}
		}
		return out
	}
}

// Resizing simulates resizing a server group to desired instances, all of
// them up at most as many as were.
func Resizing(name string, desired int) func([]providers.ServerGroup) []providers.ServerGroup {
	return func(gs []providers.ServerGroup) []providers.ServerGroup {
		for i := range gs {
			if gs[i].Name == name {
				gs[i].Capacity.Desired = desired
				gs[i].Counts.Up = min(gs[i].Counts.Up, desired)
			}
		}
		return gs
	}
}
