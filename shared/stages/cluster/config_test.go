package cluster

import (
	"strings"
	"testing"

	"github.com/gennaker/gennaker/providers"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/stages/stagestest"
)

func TestLocationFields(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		ctx     string
		want    Location
		wantErr string
	}{
		{"credentials", `{"cloudProvider": "aws", "credentials": "prod", "region": "eu-west-1"}`, Location{"aws", "prod", "eu-west-1"}, ""},
		{"account and provider", `{"provider": "aws", "account": "prod", "regions": ["us-east-1"]}`, Location{"aws", "prod", "us-east-1"}, ""},
		{"credentials win over account", `{"credentials": "a", "account": "b", "region": "r"}`, Location{"", "a", "r"}, ""},
		{"the local account needs no region", `{"account": "local"}`, Location{"", "local", "local"}, ""},
		{"the local provider needs no region", `{"cloudProvider": "local", "account": "mine"}`, Location{"local", "mine", "local"}, ""},
		{"no account", `{"region": "r"}`, Location{}, "credentials: the account is required"},
		{"no region", `{"cloudProvider": "aws", "account": "prod"}`, Location{}, "region: the region is required"},
		{"two regions", `{"account": "prod", "regions": ["a", "b"]}`, Location{}, "regions: gennaker acts in one region per stage, got 2 (a, b); add a stage per region"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f locationFields
			if p := stages.Decode(stagestest.ContextFromJSON(t, tc.ctx), &f); len(p) > 0 {
				t.Fatal(p.Err())
			}
			got, err := f.location()
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("location = %v, %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("location = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestCheckCapacity(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		in      providers.Capacity
		want    providers.Capacity
		wantErr string
	}{
		{"complete", providers.Capacity{Min: 1, Max: 3, Desired: 2}, providers.Capacity{Min: 1, Max: 3, Desired: 2}, ""},
		{"no max is the larger of the others", providers.Capacity{Min: 1, Desired: 2}, providers.Capacity{Min: 1, Max: 2, Desired: 2}, ""},
		{"none at all", providers.Capacity{}, providers.Capacity{}, ""},
		{"min above desired", providers.Capacity{Min: 3, Desired: 1}, providers.Capacity{}, "must satisfy 0 ≤ min ≤ desired ≤ max, got min 3, desired 1, max 3"},
		{"desired above max", providers.Capacity{Max: 1, Desired: 2}, providers.Capacity{}, "got min 0, desired 2, max 1"},
		{"negative", providers.Capacity{Min: -1, Max: 1}, providers.Capacity{}, "must satisfy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := checkCapacity(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("checkCapacity = %+v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("checkCapacity = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestClusterRef(t *testing.T) {
	t.Parallel()
	for ctx, want := range map[string]string{
		`{"cluster": "hello-prod"}`: "hello-prod",
		`{"moniker": {"app": "hello", "cluster": "hello-test", "sequence": 3}}`: "hello-test",
		`{"cluster": "a", "moniker": {"cluster": "b"}}`:                         "a",
		`{}`: "",
	} {
		var r clusterRef
		if p := stages.Decode(stagestest.ContextFromJSON(t, ctx), &r); len(p) > 0 {
			t.Fatal(p.Err())
		}
		if got := r.clusterName(); got != want {
			t.Errorf("clusterName of %s = %q, want %q", ctx, got, want)
		}
	}
}

// What a task records, a later task's configuration reads back.
func TestRecordRoundTrips(t *testing.T) {
	t.Parallel()
	in := allocation{Credentials: "local", Region: "local", ServerGroupName: "hello-v002",
		SourceServerGroups: []string{"hello-v001"},
		SourceCapacities:   map[string]providers.Capacity{"hello-v001": {Min: 1, Max: 2, Desired: 2}},
		Deployed:           map[string][]string{"local": {"hello-v002"}}}
	var d deployConfig
	if p := stages.Decode(stages.Record(in), &d); len(p) > 0 {
		t.Fatal(p.Err())
	}
	if d.ServerGroupName != in.ServerGroupName || d.SourceCapacities["hello-v001"] != in.SourceCapacities["hello-v001"] ||
		d.Deployed["local"][0] != "hello-v002" || d.Credentials != "local" {
		t.Fatalf("read back %+v", d.deployState)
	}
}

func TestProblemHelpers(t *testing.T) {
	t.Parallel()
	p := stages.Problems{{Path: "clusters[0].capacity.min", Message: "x"}, {Path: "source", Message: "must be an object, not a list"}}
	for path, want := range map[string]bool{"clusters[0].capacity": true, "clusters[0]": true, "clusters[0].cap": false, "source": true, "sources": false} {
		if got := hasProblem(p, path); got != want {
			t.Errorf("hasProblem(%s) = %v, want %v", path, got, want)
		}
	}
	nameKind(p, "source", "must be {account, region, serverGroupName}")
	if p[1].Message != "must be {account, region, serverGroupName}, not a list" {
		t.Errorf("nameKind made %q", p[1].Message)
	}
}
