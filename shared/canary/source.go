package canary

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Scope is where and when one side of a canary is measured: Kayenta's
// scope (the server group, its location) and the window.
type Scope struct {
	// Scope names what is measured, such as a server group.
	Scope string
	// Location is its region or zone.
	Location string
	Start    time.Time
	End      time.Time
	// Step is the distance between points.
	Step time.Duration
	// Extended are the stage's extendedScopeParams, usable in templates.
	Extended map[string]string
}

// ExpectedPoints is how many points a full window has, (end − start)/step,
// as Kayenta pads a side that returned fewer.
func (s Scope) ExpectedPoints() int {
	if s.Step <= 0 {
		return 0
	}
	return int(s.End.Sub(s.Start) / s.Step)
}

// Series is one time series a query returned: its tags (labels or
// dimensions, without the metric name) and its values in time order.
type Series struct {
	Tags   map[string]string
	Values []float64
}

// Source fetches series from one metrics account.
type Source interface {
	// Fetch runs metric m's query for one scope and returns a series per
	// tag combination; a query that matches nothing returns none, not an
	// error. templates are the canary config's named templates. An error
	// says which query failed and why, for the stage to report.
	Fetch(ctx context.Context, m MetricConfig, templates map[string]string, scope Scope) ([]Series, error)
	// Type is the query type the source answers: "prometheus" or "cloudwatch".
	Type() string
}

// Sources are the metrics accounts an installation has, by name.
type Sources struct {
	byName map[string]Source
	order  []string
}

// NewSources returns the named sources; the first is the default.
func NewSources() *Sources { return &Sources{byName: map[string]Source{}} }

// Add registers a source under an account name.
func (s *Sources) Add(name string, src Source) {
	if _, dup := s.byName[name]; !dup {
		s.order = append(s.order, name)
	}
	s.byName[name] = src
}

// Get returns the named account's source. An empty name means the only
// account, or the only one of the query type the config uses; anything
// else is an error that names the accounts there are.
func (s *Sources) Get(name, queryType string) (Source, string, error) {
	if s == nil || len(s.byName) == 0 {
		return nil, "", fmt.Errorf("no metrics accounts are configured; add one under metricsAccounts in the configuration file")
	}
	if name != "" {
		src, ok := s.byName[name]
		if !ok {
			return nil, "", fmt.Errorf("metrics account %q is not configured (metricsAccounts: %s)", name, strings.Join(s.Names(), ", "))
		}
		return src, name, nil
	}
	var match []string
	for _, n := range s.order {
		if queryType == "" || s.byName[n].Type() == queryType {
			match = append(match, n)
		}
	}
	if len(match) != 1 {
		return nil, "", fmt.Errorf("metricsAccountName is not set and %d metrics accounts answer %s queries (%s); name one", len(match), queryType, strings.Join(s.Names(), ", "))
	}
	return s.byName[match[0]], match[0], nil
}

// Names lists the account names in order.
func (s *Sources) Names() []string {
	out := append([]string(nil), s.order...)
	sort.Strings(out)
	return out
}
