package prometheus

import (
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/canary"
)

// TestQueryShape: the queries Kayenta's PrometheusMetricsServiceSpec
// expects for each combination of label bindings, templates and resource
// types.
func TestQueryShape(t *testing.T) {
	templates := map[string]string{
		"someTemplate":    "some-label=${scope}",
		"anotherTemplate": "my-server-group=${scope}",
	}
	src, err := New(Options{BaseURL: "http://127.0.0.1:9090"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		bindings       []string
		filterTemplate string
		inline         string
		resourceType   string
		scope          string
		extended       map[string]string
		want           string
	}{
		{[]string{"a=b"}, "", "", "gce_instance", "some-server-group", nil, `avg(some-metric-name{a=b,instance=~"some-server-group-.{4}",zone=~".+/zones/us-central1-.{1}"})`},
		{[]string{"a=b"}, "", "", "aws_ec2_instance", "some-server-group", nil, `avg(some-metric-name{a=b,asg_groupName="some-server-group",zone=~"us-central1.{1}"})`},
		{[]string{"a=b"}, "someTemplate", "", "gce_instance", "some-app-canary", nil, `avg(some-metric-name{some-label=some-app-canary,a=b})`},
		{[]string{"a=b"}, "someTemplate", "customFilter=something,andSomething=else", "gce_instance", "", nil, `avg(some-metric-name{customFilter=something,andSomething=else,a=b})`},
		{[]string{"a=b"}, "", "customFilter=something,andSomething=else", "anything_else", "", nil, `avg(some-metric-name{customFilter=something,andSomething=else,a=b})`},
		{[]string{"a=b"}, "anotherTemplate", "", "", "some-baseline", nil, `avg(some-metric-name{my-server-group=some-baseline,a=b})`},
		{nil, "", `PromQL:histogram_quantile(0.5, prometheus_http_response_size_bytes_bucket{instance="localhost:9090",handler="${scope}"})`, "", "/graph", nil, `histogram_quantile(0.5, prometheus_http_response_size_bytes_bucket{instance="localhost:9090",handler="/graph"})`},
		{nil, "", `PromQL:histogram_quantile(${quantile}, prometheus_http_response_size_bytes_bucket{instance="localhost:9090",handler="${scope}"})`, "", "/graph", map[string]string{"quantile": "0.99"}, `histogram_quantile(0.99, prometheus_http_response_size_bytes_bucket{instance="localhost:9090",handler="/graph"})`},
	}
	for _, c := range cases {
		m := canary.MetricConfig{Name: "m", Query: canary.Query{Type: Type, MetricName: "some-metric-name",
			LabelBindings: c.bindings, CustomFilterTemplate: c.filterTemplate, CustomInlineTemplate: c.inline, ResourceType: c.resourceType}}
		got, err := src.Query(m, templates, canary.Scope{Scope: c.scope, Location: "us-central1", Extended: c.extended})
		if err != nil {
			t.Errorf("%+v: %v", c, err)
			continue
		}
		if got != c.want {
			t.Errorf("query\n got %s\nwant %s", got, c.want)
		}
	}

	m := canary.MetricConfig{Name: "m", Query: canary.Query{Type: Type, MetricName: "x", GroupByFields: []string{"code", "path"}, CustomInlineTemplate: `server_group="${scope}"`}}
	if got, _ := src.Query(m, nil, canary.Scope{Scope: "web-v002"}); got != `avg(x{server_group="web-v002"}) by (code,path)` {
		t.Errorf("group by: %s", got)
	}
	m.Query = canary.Query{Type: Type, MetricName: "x"}
	if _, err := src.Query(m, nil, canary.Scope{Scope: "s"}); err == nil || !strings.Contains(err.Error(), "resourceType") {
		t.Errorf("no resource type and no template is an error that says what to set: %v", err)
	}
	m.Query = canary.Query{Type: Type, CustomInlineTemplate: "PromQL:up{job=\"${nope}\"}"}
	if _, err := src.Query(m, nil, canary.Scope{Scope: "s"}); err == nil || !strings.Contains(err.Error(), "${nope}") {
		t.Errorf("an undefined template variable is an error that names it: %v", err)
	}
}
