// Package prometheus is the canary metric source for Prometheus: Kayenta's
// query shape (avg(metric{filters}) by (…), scope filters by resource type,
// templates with ${scope}, ${location} and the extended scope parameters,
// or PromQL: queries sent as written), fetched with /api/v1/query_range.
package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/canary"
)

// Type is the query type this source answers.
const Type = "prometheus"

// Source queries one Prometheus server.
type Source struct {
	base   *url.URL
	client *http.Client
	// scopeLabel is the label gce_instance scopes match (default instance).
	scopeLabel  string
	user, pass  string
	bearerToken string
}

// Options are a Prometheus metrics account's settings.
type Options struct {
	// BaseURL is the server, such as http://127.0.0.1:9090.
	BaseURL     string
	ScopeLabel  string
	Username    string
	Password    string
	BearerToken string
	Client      *http.Client
}

// New returns the source for a Prometheus server.
func New(o Options) (*Source, error) {
	u, err := url.Parse(o.BaseURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("endpoint.baseUrl %q is not an http(s) URL", o.BaseURL)
	}
	s := &Source{base: u, client: o.Client, scopeLabel: o.ScopeLabel, user: o.Username, pass: o.Password, bearerToken: o.BearerToken}
	if s.client == nil {
		s.client = &http.Client{Timeout: 30 * time.Second}
	}
	if s.scopeLabel == "" {
		s.scopeLabel = "instance"
	}
	return s, nil
}

// Type implements canary.Source.
func (s *Source) Type() string { return Type }

var templateVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// expand replaces ${name} with the scope's variables; an undefined one is
// an error that names it.
func expand(tmpl string, vars map[string]string) (string, error) {
	var missing []string
	out := templateVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		k := m[2 : len(m)-1]
		v, ok := vars[k]
		if !ok {
			missing = append(missing, k)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("template %q uses ${%s}, which is not a scope variable (scope, location, project, resourceType, or an extendedScopeParams key)", tmpl, missing[0])
	}
	return out, nil
}

// Query builds the PromQL Kayenta sends for metric m and a scope.
func (s *Source) Query(m canary.MetricConfig, templates map[string]string, sc canary.Scope) (string, error) {
	q := m.Query
	vars := map[string]string{"scope": sc.Scope, "location": sc.Location, "resourceType": q.ResourceType}
	for k, v := range sc.Extended {
		vars[k] = v
	}
	if _, ok := vars["project"]; !ok {
		vars["project"] = ""
	}
	tmpl := q.CustomInlineTemplate
	if tmpl == "" && q.CustomFilterTemplate != "" {
		t, ok := templates[q.CustomFilterTemplate]
		if !ok {
			return "", fmt.Errorf("customFilterTemplate %q is not among the config's templates", q.CustomFilterTemplate)
		}
		tmpl = t
	}
	expanded := ""
	if tmpl != "" {
		e, err := expand(tmpl, vars)
		if err != nil {
			return "", err
		}
		expanded = e
		if strings.HasPrefix(strings.TrimSpace(e), "PromQL:") {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(e), "PromQL:")), nil
		}
	}
	var filters []string
	if expanded != "" {
		for _, f := range strings.Split(expanded, ",") {
			if f = strings.TrimSpace(f); f != "" {
				filters = append(filters, f)
			}
		}
	}
	filters = append(filters, q.LabelBindings...)
	if expanded == "" {
		switch q.ResourceType {
		case "gce_instance":
			filters = append(filters, fmt.Sprintf(`%s=~"%s-.{4}"`, s.scopeLabel, sc.Scope))
			zone := ".+/"
			if p := vars["project"]; p != "" {
				zone += "projects/" + p + "/"
			}
			filters = append(filters, fmt.Sprintf(`zone=~"%szones/%s-.{1}"`, zone, sc.Location))
		case "aws_ec2_instance":
			filters = append(filters, fmt.Sprintf(`asg_groupName="%s"`, sc.Scope))
			filters = append(filters, fmt.Sprintf(`zone=~"%s.{1}"`, sc.Location))
		default:
			return "", fmt.Errorf("metric %q: resourceType %q has no scope filter; set resourceType to gce_instance or aws_ec2_instance, or give a customFilterTemplate or customInlineTemplate that uses ${scope}", m.Name, q.ResourceType)
		}
	}
	out := fmt.Sprintf("avg(%s{%s})", q.MetricName, strings.Join(filters, ","))
	if len(q.GroupByFields) > 0 {
		out += " by (" + strings.Join(q.GroupByFields, ",") + ")"
	}
	return out, nil
}

// Fetch implements canary.Source.
func (s *Source) Fetch(ctx context.Context, m canary.MetricConfig, templates map[string]string, sc canary.Scope) ([]canary.Series, error) {
	promql, err := s.Query(m, templates, sc)
	if err != nil {
		return nil, err
	}
	return s.QueryRange(ctx, promql, sc.Start, sc.End, sc.Step)
}

// QueryRange runs a range query and returns a series per label set.
func (s *Source) QueryRange(ctx context.Context, promql string, start, end time.Time, step time.Duration) ([]canary.Series, error) {
	if step <= 0 {
		step = time.Minute
	}
	v := url.Values{}
	v.Set("query", promql)
	v.Set("start", start.UTC().Format(time.RFC3339Nano))
	v.Set("end", end.UTC().Format(time.RFC3339Nano))
	v.Set("step", strconv.FormatFloat(step.Seconds(), 'f', -1, 64))
	u := s.base.JoinPath("api/v1/query_range")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s.bearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.bearerToken)
	} else if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prometheus query %q: %w", promql, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("prometheus query %q: %w", promql, err)
	}
	var r struct {
		Status    string `json:"status"`
		Error     string `json:"error"`
		ErrorType string `json:"errorType"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("prometheus query %q: answer %d is not Prometheus JSON: %.200s", promql, resp.StatusCode, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("prometheus query %q: %s: %s", promql, r.ErrorType, r.Error)
	}
	out := make([]canary.Series, 0, len(r.Data.Result))
	for _, res := range r.Data.Result {
		tags := map[string]string{}
		for k, v := range res.Metric {
			if k != "__name__" {
				tags[k] = v
			}
		}
		vals := make([]float64, 0, len(res.Values))
		for _, p := range res.Values {
			str, _ := p[1].(string)
			f, err := parseSample(str)
			if err != nil {
				return nil, fmt.Errorf("prometheus query %q: sample %q: %w", promql, str, err)
			}
			vals = append(vals, f)
		}
		out = append(out, canary.Series{Tags: tags, Values: vals})
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i].Tags) < fmt.Sprint(out[j].Tags) })
	return out, nil
}

func parseSample(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "+Inf", "Inf":
		return math.Inf(1), nil
	case "-Inf":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, 64)
}
