// Package canary is automated canary analysis: Kayenta's canary configs,
// the metric sources that fetch a canary's and its baseline's series, and
// one canary run — fetch, judge (package judge), record — whose result is
// served in Kayenta's shape.
package canary

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/gennaker/gennaker/shared/canary/judge"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// Config is a Kayenta canary config: which metrics to fetch and how to
// judge them. The document is kept as it came (Doc); the typed fields are
// what gennaker reads of it.
type Config struct {
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Description      string            `json:"description"`
	ConfigVersion    string            `json:"configVersion"`
	Applications     []string          `json:"applications"`
	Judge            JudgeConfig       `json:"judge"`
	Metrics          []MetricConfig    `json:"metrics"`
	Templates        map[string]string `json:"templates"`
	Classifier       ClassifierConfig  `json:"classifier"`
	UpdatedTimestamp int64             `json:"updatedTimestamp"`

	// Doc is the whole document, unknown fields included.
	Doc map[string]any `json:"-"`
}

// JudgeConfig names the judge.
type JudgeConfig struct {
	Name                string         `json:"name"`
	JudgeConfigurations map[string]any `json:"judgeConfigurations"`
}

// ClassifierConfig weighs the groups.
type ClassifierConfig struct {
	GroupWeights map[string]float64 `json:"groupWeights"`
	// ScoreThresholds only pre-fill a stage's thresholds in a UI.
	ScoreThresholds *judge.Thresholds `json:"scoreThresholds"`
}

// MetricConfig is one metric: its query and how to judge it.
type MetricConfig struct {
	Name                   string         `json:"name"`
	Query                  Query          `json:"query"`
	Groups                 []string       `json:"groups"`
	ScopeName              string         `json:"scopeName"`
	AnalysisConfigurations AnalysisConfig `json:"analysisConfigurations"`
}

// AnalysisConfig holds the judge's settings of a metric.
type AnalysisConfig struct {
	Canary CanaryAnalysis `json:"canary"`
}

// CanaryAnalysis is analysisConfigurations.canary; absent fields take
// Kayenta's defaults (see judge.MetricDefaults).
type CanaryAnalysis struct {
	Direction    string      `json:"direction"`
	NaNStrategy  string      `json:"nanStrategy"`
	Critical     bool        `json:"critical"`
	MustHaveData bool        `json:"mustHaveData"`
	Muted        bool        `json:"muted"`
	EffectSize   *EffectSize `json:"effectSize"`
	Outliers     *Outliers   `json:"outliers"`
}

// EffectSize is the minimum change that fails a metric.
type EffectSize struct {
	Measure          string   `json:"measure"`
	AllowedIncrease  *float64 `json:"allowedIncrease"`
	AllowedDecrease  *float64 `json:"allowedDecrease"`
	CriticalIncrease *float64 `json:"criticalIncrease"`
	CriticalDecrease *float64 `json:"criticalDecrease"`
}

// Outliers says whether outliers are removed before the comparison.
type Outliers struct {
	Strategy      string   `json:"strategy"`
	OutlierFactor *float64 `json:"outlierFactor"`
}

// Query is a metric's query for one source type. Fields of every type are
// here; each source reads its own.
type Query struct {
	// Type is the source: "prometheus" or "cloudwatch".
	Type string `json:"type"`

	// Prometheus (Kayenta's PrometheusCanaryMetricSetQueryConfig).
	MetricName           string   `json:"metricName"`
	ResourceType         string   `json:"resourceType"`
	LabelBindings        []string `json:"labelBindings"`
	GroupByFields        []string `json:"groupByFields"`
	CustomInlineTemplate string   `json:"customInlineTemplate"`
	CustomFilterTemplate string   `json:"customFilterTemplate"`
	CustomFilter         string   `json:"customFilter"`

	// CloudWatch (ours; Kayenta has no CloudWatch source).
	Namespace string `json:"namespace"`
	// Stat is the statistic: Average, Sum, Maximum, p99, …
	Stat string `json:"stat"`
	// Dimensions are fixed dimensions; the scope adds ScopeDimension.
	Dimensions map[string]string `json:"dimensions"`
	// ScopeDimension is the dimension whose value is the scope (the
	// server group); default AutoScalingGroupName.
	ScopeDimension string `json:"scopeDimension"`
	// Unit, when set, asks CloudWatch for values in that unit.
	Unit string `json:"unit"`
}

// Source types a query may name.
var queryTypes = []string{"prometheus", "cloudwatch"}

var (
	directions    = []string{"increase", "decrease", "either"}
	nanStrategies = []string{"remove", "replace"}
	measures      = []string{judge.MeanRatio, judge.CLES}
	outlierModes  = []string{"remove", "keep"}
)

// ParseConfig reads a canary config document and checks it. Every problem
// is reported with its JSON path ("metrics[1].query.metricName: …").
func ParseConfig(body []byte) (*Config, []model.Problem) {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, []model.Problem{{Message: fmt.Sprintf("not a JSON object: %v", err)}}
	}
	if doc == nil {
		return nil, []model.Problem{{Message: "the canary config must be a JSON object"}}
	}
	return configFromDoc(doc)
}

func configFromDoc(doc map[string]any) (*Config, []model.Problem) {
	c := &Config{Doc: doc}
	probs := stages.Decode(doc, c)
	add := func(path, format string, args ...any) {
		probs = append(probs, model.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.Name) == "" {
		add("name", "is required: name the canary config")
	}
	if c.Judge.Name != "" && c.Judge.Name != judge.Name {
		add("judge.name", "is %q; the only judge is %s", c.Judge.Name, judge.Name)
	}
	if len(c.Metrics) == 0 && len(probs) == 0 {
		add("metrics", "is empty: a canary config needs at least one metric")
	}
	names := map[string]int{}
	for i, m := range c.Metrics {
		p := func(f string) string { return stages.Path("metrics", i, f) }
		if strings.TrimSpace(m.Name) == "" {
			add(p("name"), "is required")
		} else if prev, dup := names[m.Name]; dup {
			add(p("name"), "%q is also the name of metrics[%d]; metric names must differ", m.Name, prev)
		} else {
			names[m.Name] = i
		}
		q := m.Query
		switch {
		case q.Type == "":
			add(p("query.type"), "is required: one of %s", strings.Join(queryTypes, ", "))
		case !slices.Contains(queryTypes, q.Type):
			add(p("query.type"), "%q is not a metric source here (%s)", q.Type, strings.Join(queryTypes, ", "))
		case q.Type == "prometheus":
			if q.CustomFilter != "" {
				add(p("query.customFilter"), "is no longer supported; put the filter in templates and name it in customFilterTemplate")
			}
			if q.MetricName == "" && !strings.HasPrefix(strings.TrimSpace(q.CustomInlineTemplate), "PromQL:") {
				add(p("query.metricName"), "is required unless customInlineTemplate is a PromQL: query")
			}
			if q.CustomFilterTemplate != "" {
				if _, ok := c.Templates[q.CustomFilterTemplate]; !ok {
					add(p("query.customFilterTemplate"), "names %q, which is not in templates", q.CustomFilterTemplate)
				}
			}
		case q.Type == "cloudwatch":
			if q.Namespace == "" {
				add(p("query.namespace"), "is required (such as AWS/ApplicationELB)")
			}
			if q.MetricName == "" {
				add(p("query.metricName"), "is required")
			}
		}
		a := m.AnalysisConfigurations.Canary
		ap := func(f string) string { return stages.Path("metrics", i, "analysisConfigurations.canary", f) }
		if a.Direction != "" && !slices.Contains(directions, a.Direction) {
			add(ap("direction"), "%q is not one of %s", a.Direction, strings.Join(directions, ", "))
		}
		if a.NaNStrategy != "" && !slices.Contains(nanStrategies, a.NaNStrategy) {
			add(ap("nanStrategy"), "%q is not one of %s", a.NaNStrategy, strings.Join(nanStrategies, ", "))
		}
		if e := a.EffectSize; e != nil {
			if e.Measure != "" && !slices.Contains(measures, e.Measure) {
				add(ap("effectSize.measure"), "%q is not one of %s", e.Measure, strings.Join(measures, ", "))
			}
			for f, v := range map[string]*float64{"allowedIncrease": e.AllowedIncrease, "allowedDecrease": e.AllowedDecrease, "criticalIncrease": e.CriticalIncrease, "criticalDecrease": e.CriticalDecrease} {
				if v != nil && (*v < 0 || math.IsNaN(*v)) {
					add(ap("effectSize."+f), "must not be negative")
				}
			}
		}
		if o := a.Outliers; o != nil {
			if o.Strategy != "" && !slices.Contains(outlierModes, o.Strategy) {
				add(ap("outliers.strategy"), "%q is not one of %s", o.Strategy, strings.Join(outlierModes, ", "))
			}
			if o.OutlierFactor != nil && *o.OutlierFactor <= 0 {
				add(ap("outliers.outlierFactor"), "must be more than 0")
			}
		}
	}
	total := 0.0
	for g, w := range c.Classifier.GroupWeights {
		if w < 0 {
			add(stages.Path("classifier.groupWeights", g), "must not be negative")
		}
		total += w
	}
	if total > 100 {
		add("classifier.groupWeights", "add up to %g; weights are percentages and may add up to at most 100", total)
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Path < probs[j].Path })
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}

// JudgeConfig is what the judge needs of the config: each metric's
// settings with Kayenta's defaults, and the group weights.
func (c *Config) JudgeConfig() judge.Config {
	out := judge.Config{Metrics: map[string]judge.Metric{}, GroupWeights: c.Classifier.GroupWeights}
	for _, m := range c.Metrics {
		out.Metrics[m.Name] = m.judgeMetric()
	}
	return out
}

func (m MetricConfig) judgeMetric() judge.Metric {
	j := judge.MetricDefaults(m.Name)
	j.Groups = m.Groups
	a := m.AnalysisConfigurations.Canary
	if a.Direction != "" {
		j.Direction = judge.Direction(a.Direction)
	}
	if a.NaNStrategy == "replace" {
		j.NaNStrategy = judge.NaNReplace
	}
	j.Critical, j.MustHaveData, j.Muted = a.Critical, a.MustHaveData, a.Muted
	if e := a.EffectSize; e != nil {
		dflt := 1.0
		if e.Measure == judge.CLES {
			j.EffectMeasure = judge.CLES
			dflt = 0.5
		}
		pick := func(v *float64) float64 {
			if v == nil {
				return dflt
			}
			return *v
		}
		j.AllowedIncrease, j.AllowedDecrease = pick(e.AllowedIncrease), pick(e.AllowedDecrease)
		j.CriticalIncrease, j.CriticalDecrease = pick(e.CriticalIncrease), pick(e.CriticalDecrease)
	}
	if o := a.Outliers; o != nil && o.Strategy == "remove" {
		j.RemoveOutliers = true
		if o.OutlierFactor != nil {
			j.OutlierFactor = *o.OutlierFactor
		}
	}
	return j
}
