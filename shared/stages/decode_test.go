package stages

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gennaker/gennaker/shared/model"
)

type capacityCfg struct {
	Min     int  `json:"min"`
	Max     int  `json:"max"`
	Desired *int `json:"desired"`
}

type clusterCfg struct {
	Application string            `json:"application"`
	Capacity    *capacityCfg      `json:"capacity"`
	Regions     []string          `json:"regions"`
	Tags        map[string]string `json:"tags"`
	ScaleDown   bool              `json:"scaleDown"`
	Delay       float64           `json:"delay"`
	Extra       any               `json:"extra"`
}

type deployCfg struct {
	Clusters []clusterCfg `json:"clusters"`
	Wait     int64        `json:"waitTime"`
}

func ctxOf(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDecodeReadsAsSpinnakerDoes(t *testing.T) {
	var cfg deployCfg
	ps := Decode(ctxOf(t, `{
		"waitTime": "30",
		"clusters": [{"application": "shop", "capacity": {"min": 1, "max": "3", "desired": 2},
			"regions": ["eu-west-1"], "tags": {"team": "a"}, "scaleDown": "TRUE", "delay": "1.5",
			"extra": {"kept": [1]}, "unknownField": 7}],
		"somethingElse": "ignored"}`), &cfg)
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	two := 2
	want := deployCfg{Wait: 30, Clusters: []clusterCfg{{
		Application: "shop", Capacity: &capacityCfg{Min: 1, Max: 3, Desired: &two},
		Regions: []string{"eu-west-1"}, Tags: map[string]string{"team": "a"}, ScaleDown: true, Delay: 1.5,
		Extra: map[string]any{"kept": []any{float64(1)}},
	}}}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
}

func TestDecodeBlankMeansUnset(t *testing.T) {
	var cfg clusterCfg
	if ps := Decode(ctxOf(t, `{"application": "  ", "capacity": null, "delay": ""}`), &cfg); len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	if cfg.Application != "" || cfg.Capacity != nil || cfg.Delay != 0 {
		t.Fatalf("blank values were set: %+v", cfg)
	}
}

func TestDecodeNamesEveryBadFieldByPath(t *testing.T) {
	var cfg deployCfg
	ps := Decode(ctxOf(t, `{"waitTime": 1.5, "clusters": [{}, {"application": 7, "capacity": {"min": "lots", "desired": []},
		"regions": "eu", "tags": {"team": false}, "scaleDown": "yes"}]}`), &cfg)
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	want := []string{
		"waitTime: 1.5 is not a whole number",
		`clusters[1].application: must be a string, not the number 7`,
		`clusters[1].capacity.min: must be a number, not "lots"`,
		"clusters[1].capacity.desired: must be a number, not a list",
		`clusters[1].regions: must be a list, not the string "eu"`,
		"clusters[1].tags.team: must be a string, not the boolean false",
		`clusters[1].scaleDown: must be true or false, not "yes"`,
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, w)
		}
		if !found {
			t.Errorf("problems %q lack %q", got, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d: %q", len(got), len(want), got)
	}
}

func TestDecodeConfigSetsExpressionsAside(t *testing.T) {
	var s model.Stage
	if err := json.Unmarshal([]byte(`{"type": "deploy", "refId": "1", "name": "d",
		"waitTime": "${parameters.wait}",
		"clusters": [{"application": "${trigger.app}", "capacity": {"min": "${n}", "max": 2}}]}`), &s); err != nil {
		t.Fatal(err)
	}
	var cfg deployCfg
	exprs, ps := DecodeConfig(&s, &cfg)
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	if cfg.Wait != 0 || cfg.Clusters[0].Capacity.Min != 0 || cfg.Clusters[0].Capacity.Max != 2 {
		t.Fatalf("expressions decoded as values: %+v", cfg)
	}
	if cfg.Clusters[0].Application != "${trigger.app}" {
		t.Fatalf("a string field keeps its expression, got %q", cfg.Clusters[0].Application)
	}
	for _, p := range []string{"waitTime", "clusters[0].capacity.min", "clusters[0].capacity", "clusters", "clusters[0].application"} {
		if !exprs.Has(p) {
			t.Errorf("Has(%q) = false", p)
		}
	}
	if exprs.Has("clusters[0].capacity.max") {
		t.Error("a literal value reported as an expression")
	}
}

func TestPath(t *testing.T) {
	if got := Path("clusters", 0, "capacity", "", "min"); got != "clusters[0].capacity.min" {
		t.Fatal(got)
	}
	if got := Path("", "waitTime"); got != "waitTime" {
		t.Fatal(got)
	}
}

// A field of type any is the value as it came: a blank string is a value
// there (an evaluated variable, a webhook payload), and only null is unset.
func TestDecodeAnyKeepsBlankStrings(t *testing.T) {
	var cfg struct {
		Value   any `json:"value"`
		Missing any `json:"missing"`
	}
	if ps := Decode(ctxOf(t, `{"value": "", "missing": null}`), &cfg); len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	if cfg.Value != "" || cfg.Missing != nil {
		t.Fatalf("got value %#v, missing %#v; want \"\" and nil", cfg.Value, cfg.Missing)
	}
}
