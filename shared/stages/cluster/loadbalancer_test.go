package cluster

import (
	"testing"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestLoadBalancerValidation(t *testing.T) {
	t.Parallel()
	checkValidation(t, []validationCase{
		{"upsert", `{"type": "upsertLoadBalancer", "loadBalancers": [{"cloudProvider": "local", "account": "local", "name": "lb", "listenPort": "8080"}]}`, nil},
		{"upsert one at the top level", `{"type": "upsertLoadBalancer", "account": "local", "name": "lb"}`, nil},
		{"upsert none", `{"type": "upsertLoadBalancer"}`, []string{"loadBalancers: is required: [{cloudProvider, account, region, name, listenPort}]"}},
		{"upsert from an expression", `{"type": "upsertLoadBalancer", "loadBalancers": "${parameters.lbs}"}`, nil},
		{"upsert unknown account and port", `{"type": "upsertLoadBalancer", "loadBalancers": [{"cloudProvider": "local", "account": "nope", "name": "lb", "listenPort": 99999}]}`,
			[]string{
				`loadBalancers[0].account: unknown account "nope" (known accounts: local)`,
				"loadBalancers[0].listenPort: must be a port from 1 to 65535 (or 0 for any free one)",
			}},
		{"upsert port that is no number", `{"type": "upsertLoadBalancer", "loadBalancers": [{"account": "local", "name": "lb", "listenPort": "http"}]}`,
			[]string{"loadBalancers[0].listenPort: must be a port from 1 to 65535 (or 0 for any free one)"}},
		{"upsert port from an expression", `{"type": "upsertLoadBalancer", "loadBalancers": [{"account": "local", "name": "lb", "listenPort": "${parameters.port}"}]}`, nil},
		{"upsert without a name", `{"type": "upsertLoadBalancer", "loadBalancers": [{"account": "local"}, "lb"]}`, []string{
			"loadBalancers[0].name: is required",
			`loadBalancers[1]: must be an object, not the string "lb"`,
		}},
		{"delete", `{"type": "deleteLoadBalancer", "credentials": "local", "regions": ["local"], "loadBalancerName": "lb"}`, nil},
		{"delete without a name", `{"type": "deleteLoadBalancer", "credentials": "local"}`, []string{"loadBalancerName: is required"}},
	})
}

func TestUpsertAndDeleteLoadBalancer(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	run, res := e.execute(t, "upsertLoadBalancer", `{"loadBalancers": [{"cloudProvider": "local", "account": "local", "name": "hello-lb", "listenPort": 8500}]}`)
	if res.Status != model.StatusSucceeded {
		t.Fatalf("upsert = %s: %v", res.Status, stagestest.ErrorsOf(res))
	}
	var out struct {
		LoadBalancers []upserted `json:"loadBalancers"`
	}
	if p := decodeInto(run.Stage.Outputs, &out); len(p) > 0 || len(out.LoadBalancers) != 1 {
		t.Fatalf("outputs = %v (%v)", run.Stage.Outputs, p)
	}
	if lb := out.LoadBalancers[0]; lb.Name != "hello-lb" || lb.ListenPort != 8500 || lb.URL != "http://127.0.0.1:8500" {
		t.Fatalf("upserted %+v", lb)
	}
	if lb, err := e.cloud.lbs.Get(t.Context(), "local", "hello-lb"); err != nil || lb.Application != "hello" {
		t.Fatalf("the load balancer is %+v, %v; want it of the pipeline's application", lb, err)
	}
	if _, res = e.execute(t, "deleteLoadBalancer", `{"credentials": "local", "loadBalancerName": "hello-lb"}`); res.Status != model.StatusSucceeded {
		t.Fatalf("delete = %s: %v", res.Status, stagestest.ErrorsOf(res))
	}
	if _, err := e.cloud.lbs.Get(t.Context(), "local", "hello-lb"); err == nil {
		t.Fatal("the load balancer is still there")
	}
}
