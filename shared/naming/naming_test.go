package naming

import (
	"errors"
	"testing"
)

func TestParseServerGroup(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		in      string
		want    ServerGroup
		wantErr bool
	}{
		{"app only", "hello-v000", ServerGroup{Cluster{"hello", "", ""}, 0}, false},
		{"app and stack", "hello-prod-v012", ServerGroup{Cluster{"hello", "prod", ""}, 12}, false},
		{"full", "hello-prod-canary-v999", ServerGroup{Cluster{"hello", "prod", "canary"}, 999}, false},
		{"detail with hyphens", "hello-prod-a-b-c-v001", ServerGroup{Cluster{"hello", "prod", "a-b-c"}, 1}, false},
		{"detail without stack", "hello--canary-v003", ServerGroup{Cluster{"hello", "", "canary"}, 3}, false},
		{"no version", "hello-prod", ServerGroup{Cluster{"hello", "prod", ""}, -1}, false},
		{"two digit version", "hello-prod-v01", ServerGroup{Cluster{"hello", "prod", "v01"}, -1}, false},
		{"four digit version", "hello-prod-v1000", ServerGroup{}, true},
		{"empty", "", ServerGroup{}, true},
		{"bad app", "hel_lo-v001", ServerGroup{}, true},
		{"bad stack", "hello-pr.od-v001", ServerGroup{}, true},
		{"bad detail", "hello-prod-de!tail-v001", ServerGroup{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseServerGroup(tc.in)
			if tc.wantErr {
				if err == nil || !errors.Is(err, ErrInvalid) {
					t.Fatalf("ParseServerGroup(%q) = %+v, %v; want an ErrInvalid", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseServerGroup(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			if tc.want.Sequence >= 0 && got.String() != tc.in {
				t.Fatalf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

func TestFormatAndValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		app, stack  string
		detail      string
		seq         int
		wantCluster string
		wantGroup   string
		wantErr     bool
	}{
		{"app", "hello", "", "", 0, "hello", "hello-v000", false},
		{"stack", "hello", "prod", "", 7, "hello-prod", "hello-prod-v007", false},
		{"detail", "hello", "prod", "blue", 42, "hello-prod-blue", "hello-prod-blue-v042", false},
		{"detail only", "hello", "", "blue", 1, "hello--blue", "hello--blue-v001", false},
		{"empty app", "", "prod", "", 0, "", "", true},
		{"hyphen in stack", "hello", "pr-od", "", 0, "", "", true},
		{"detail like a version", "hello", "prod", "v001", 0, "", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCluster(tc.app, tc.stack, tc.detail)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("NewCluster(%q, %q, %q) accepted %q", tc.app, tc.stack, tc.detail, c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.String() != tc.wantCluster || c.ServerGroup(tc.seq).String() != tc.wantGroup {
				t.Fatalf("got %q / %q, want %q / %q", c, c.ServerGroup(tc.seq), tc.wantCluster, tc.wantGroup)
			}
			back, err := ParseCluster(c.String())
			if err != nil || back != c {
				t.Fatalf("ParseCluster(%q) = %+v, %v", c, back, err)
			}
		})
	}
}

func TestParseClusterRejectsServerGroupNames(t *testing.T) {
	t.Parallel()
	if _, err := ParseCluster("hello-prod-v001"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ParseCluster of a server group name: %v", err)
	}
}

func TestNextSequence(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		newest int
		inUse  []int
		want   int
	}{
		{"empty cluster", -1, nil, 0},
		{"after v000", 0, []int{0}, 1},
		{"after v041", 41, []int{40, 41}, 42},
		{"wraps after v999", 999, []int{998, 999}, 0},
		{"wraps and skips what is in use", 999, []int{999, 0, 1}, 2},
		{"skips forward past a survivor", 4, []int{4, 5}, 6},
		{"unversioned newest", -1, []int{3}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NextSequence(tc.newest, tc.inUse)
			if err != nil || got != tc.want {
				t.Fatalf("NextSequence(%d, %v) = %d, %v; want %d", tc.newest, tc.inUse, got, err, tc.want)
			}
		})
	}
	all := make([]int, MaxSequence+1)
	for i := range all {
		all[i] = i
	}
	if _, err := NextSequence(999, all); err == nil {
		t.Fatal("NextSequence with every version in use did not fail")
	}
}

func TestClusterOf(t *testing.T) {
	t.Parallel()
	if got := ClusterOf("hello-prod-blue-v003"); got != "hello-prod-blue" {
		t.Fatalf("ClusterOf = %q", got)
	}
}
