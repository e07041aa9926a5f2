package cluster

import (
	"strings"
	"testing"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/model"
)

func TestTrafficGuardDecisions(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	serving := func(name string) providers.ServerGroup {
		return providers.ServerGroup{Name: name, Capacity: providers.Capacity{Desired: 2}, Counts: providers.InstanceCounts{Up: 2}}
	}
	disabled := func(name string) providers.ServerGroup {
		g := serving(name)
		g.Disabled = true
		return g
	}
	prod := model.TrafficGuard{Account: "local", Location: "local", Stack: "prod", Enabled: &yes}
	loc := Location{CloudProvider: "local", Account: "local", Region: "local"}
	cases := []struct {
		name    string
		guards  []model.TrafficGuard
		cluster string
		before  []providers.ServerGroup
		change  func([]providers.ServerGroup) []providers.ServerGroup
		blocked bool
	}{
		{"no guard", nil, "hello-prod", []providers.ServerGroup{serving("hello-prod-v000")}, Disabling("hello-prod-v000"), false},
		{"disable the last", []model.TrafficGuard{prod}, "hello-prod", []providers.ServerGroup{serving("hello-prod-v000")}, Disabling("hello-prod-v000"), true},
		{"destroy the last", []model.TrafficGuard{prod}, "hello-prod", []providers.ServerGroup{serving("hello-prod-v000")}, Destroying("hello-prod-v000"), true},
		{"resize the last to zero", []model.TrafficGuard{prod}, "hello-prod", []providers.ServerGroup{serving("hello-prod-v000")}, Resizing("hello-prod-v000", 0), true},
		{"resize the last to one", []model.TrafficGuard{prod}, "hello-prod", []providers.ServerGroup{serving("hello-prod-v000")}, Resizing("hello-prod-v000", 1), false},
		{"another still serves", []model.TrafficGuard{prod}, "hello-prod", []providers.ServerGroup{serving("hello-prod-v000"), serving("hello-prod-v001")}, Disabling("hello-prod-v000"), false},
		{"disable both", []model.TrafficGuard{prod}, "hello-prod", []providers.ServerGroup{serving("hello-prod-v000"), serving("hello-prod-v001")}, Disabling("hello-prod-v000", "hello-prod-v001"), true},
		{"destroy a disabled one", []model.TrafficGuard{prod}, "hello-prod", []providers.ServerGroup{disabled("hello-prod-v000"), serving("hello-prod-v001")}, Destroying("hello-prod-v000"), false},
		{"nothing served before", []model.TrafficGuard{prod}, "hello-prod", []providers.ServerGroup{disabled("hello-prod-v000")}, Destroying("hello-prod-v000"), false},
		{"other stack", []model.TrafficGuard{prod}, "hello-test", []providers.ServerGroup{serving("hello-test-v000")}, Disabling("hello-test-v000"), false},
		{"guard disabled", []model.TrafficGuard{{Account: "local", Location: "local", Stack: "prod", Enabled: &no}}, "hello-prod", []providers.ServerGroup{serving("hello-prod-v000")}, Disabling("hello-prod-v000"), false},
		{"wildcards", []model.TrafficGuard{{Account: "*", Location: "*", Stack: "*", Detail: "*"}}, "hello-prod-canary", []providers.ServerGroup{serving("hello-prod-canary-v000")}, Disabling("hello-prod-canary-v000"), true},
		{"empty detail matches only empty", []model.TrafficGuard{prod}, "hello-prod-canary", []providers.ServerGroup{serving("hello-prod-canary-v000")}, Disabling("hello-prod-canary-v000"), false},
		{"other account", []model.TrafficGuard{{Account: "prod", Location: "local", Stack: "prod"}}, "hello-prod", []providers.ServerGroup{serving("hello-prod-v000")}, Disabling("hello-prod-v000"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			after := tc.change(CloneGroups(tc.before))
			err := guardDecision(tc.guards, "hello", loc, tc.cluster, "act", tc.before, after)
			if blocked := err != nil; blocked != tc.blocked {
				t.Fatalf("blocked = %v (%v), want %v", blocked, err, tc.blocked)
			}
			if err != nil && !strings.Contains(err.Error(), "traffic guard {account:") {
				t.Fatalf("the refusal does not name the guard: %v", err)
			}
		})
	}
}
