// Package kayenta is the kayentaCanary stage: automated canary analysis as
// Spinnaker's orca runs it. Over the canary's lifetime the stage judges the
// canary (experiment) against its baseline (control) once per interval
// with Kayenta's judge (shared/canary/judge), fails as soon as an
// interval's score is not above the marginal threshold, and at the end
// compares the last interval's score with the pass threshold.
//
// With `deployments`, the stage first deploys a baseline server group
// (the version production runs) and a canary server group (the new
// version) beside the production cluster, behind its load balancers,
// points the scopes at them, and destroys both when the analysis ends,
// whatever its outcome, after `delayBeforeCleanup`. It acts through the
// providers' abilities only, so it works on every provider that creates
// server groups.
//
// Durations take fractional minutes (canaryAnalysisIntervalMins: 0.25 is
// 15 s) and ISO-8601 durations with seconds (lifetimeDuration: PT45S), so
// short canaries can run in tests and demos.
package kayenta

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/canary/judge"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
)

// StageType is Spinnaker's stage type.
const StageType = "kayentaCanary"

// Task names, in the order the stage plans them.
const (
	taskDeploy    = "DeployCanaryServerGroups"
	taskIntervals = "RunCanaryIntervals"
	taskWait      = "WaitBeforeCanaryCleanup"
	taskCleanup   = "CleanupCanaryClusters"
	taskAggregate = "AggregateCanaryResults"
)

// Analysis types.
const (
	realTime          = "realTime"
	realTimeAutomatic = "realTimeAutomatic"
	retrospective     = "retrospective"
)

// env is what the stage's tasks share: the metrics accounts, set once the
// configuration file is read.
type env struct {
	sources atomic.Pointer[canary.Sources]
}

// Stage is the kayentaCanary stage type.
type Stage struct{ env *env }

// Register adds the stage type and its tasks.
func Register(r *stages.Registry) {
	e := &env{}
	e.sources.Store(canary.NewSources())
	r.Register(&Stage{env: e},
		deployTask{env: e}, intervalsTask{env: e}, waitTask{}, cleanupTask{}, aggregateTask{})
}

// UseMetrics hands the stage the installation's metrics accounts.
func UseMetrics(r *stages.Registry, s *canary.Sources) {
	if s == nil {
		return
	}
	if def, err := r.Definition(StageType); err == nil {
		if st, ok := def.(*Stage); ok {
			st.env.sources.Store(s)
		}
	}
}

// Type implements stages.Definition.
func (*Stage) Type() string { return StageType }

// config is the stage's configuration and what its tasks record.
type config struct {
	AnalysisType string         `json:"analysisType"`
	CanaryConfig canaryContext  `json:"canaryConfig"`
	Deployments  *deployments   `json:"deployments"`
	State        intervalsState `json:"canaryState"`
	Deployed     []deployedPair `json:"canaryDeployments"`
}

// canaryContext is orca's KayentaCanaryContext (the stage's canaryConfig).
type canaryContext struct {
	MetricsAccountName       string         `json:"metricsAccountName"`
	StorageAccountName       string         `json:"storageAccountName"`
	ConfigurationAccountName string         `json:"configurationAccountName"`
	CanaryConfigID           string         `json:"canaryConfigId"`
	CanaryConfigName         string         `json:"canaryConfigName"`
	Scopes                   []scopeConfig  `json:"scopes"`
	ScoreThresholds          *thresholds    `json:"scoreThresholds"`
	LifetimeHours            *float64       `json:"lifetimeHours"`
	LifetimeDuration         string         `json:"lifetimeDuration"`
	BeginAfterMins           *float64       `json:"beginCanaryAnalysisAfterMins"`
	BaselineOffsetMins       *float64       `json:"baselineAnalysisOffsetInMins"`
	LookbackMins             *float64       `json:"lookbackMins"`
	IntervalMins             *float64       `json:"canaryAnalysisIntervalMins"`
	SiteLocal                map[string]any `json:"siteLocal"`
}

// thresholds are orca's; absent ones are pass 75, marginal 50, but a
// scoreThresholds object with neither set means no thresholds.
type thresholds struct {
	Pass     *float64 `json:"pass"`
	Marginal *float64 `json:"marginal"`
}

// scopeConfig is orca's CanaryConfigScope.
type scopeConfig struct {
	ScopeName          string         `json:"scopeName"`
	ControlScope       string         `json:"controlScope"`
	ControlLocation    string         `json:"controlLocation"`
	ExperimentScope    string         `json:"experimentScope"`
	ExperimentLocation string         `json:"experimentLocation"`
	StartTimeIso       string         `json:"startTimeIso"`
	EndTimeIso         string         `json:"endTimeIso"`
	Step               *float64       `json:"step"`
	Extended           map[string]any `json:"extendedScopeParams"`
}

// Config implements stages.Configurer.
func (*Stage) Config(s *model.StageExecution) (any, error) {
	var c config
	if err := stages.Decode(s.Context, &c).Err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate implements stages.Definition.
func (*Stage) Validate(s *model.Stage) []model.Problem {
	var c config
	exprs, p := stages.DecodeConfig(s, &c)
	cc := c.CanaryConfig
	if raw, _ := s.Config(); raw["canaryConfig"] == nil && !exprs.Has("canaryConfig") {
		p.Add("canaryConfig", "is required: {canaryConfigId, scopes, lifetimeDuration, scoreThresholds, …}")
		return p
	}
	if c.AnalysisType != "" && !slices.Contains([]string{realTime, realTimeAutomatic, retrospective}, c.AnalysisType) && !exprs.Has("analysisType") {
		p.Add("analysisType", "%q is not one of realTime, realTimeAutomatic, retrospective", c.AnalysisType)
	}
	if cc.CanaryConfigID == "" && cc.CanaryConfigName == "" && !exprs.Has("canaryConfig.canaryConfigId") && !exprs.Has("canaryConfig.canaryConfigName") {
		p.Add("canaryConfig.canaryConfigId", "is required: the id of a canary config (GET /v2/canaryConfig lists them)")
	}
	if len(cc.Scopes) == 0 && !exprs.Has("canaryConfig.scopes") && c.Deployments == nil {
		p.Add("canaryConfig.scopes", "is required: the control and experiment scopes to compare")
	}
	retro := c.AnalysisType == retrospective
	for i, sc := range cc.Scopes {
		for f, v := range map[string]string{"startTimeIso": sc.StartTimeIso, "endTimeIso": sc.EndTimeIso} {
			if v != "" && !exprs.Has(stages.Path("canaryConfig.scopes", i, f)) {
				if _, err := time.Parse(time.RFC3339, v); err != nil {
					p.Add(stages.Path("canaryConfig.scopes", i, f), "%q is not an ISO-8601 instant such as 2024-01-02T15:04:05Z", v)
				}
			}
		}
		if sc.Step != nil && *sc.Step <= 0 {
			p.Add(stages.Path("canaryConfig.scopes", i, "step"), "must be more than 0 seconds")
		}
		if sc.EndTimeIso != "" {
			retro = true
		}
	}
	if cc.LifetimeDuration != "" && !exprs.Has("canaryConfig.lifetimeDuration") {
		if _, err := parseISODuration(cc.LifetimeDuration); err != nil {
			p.Add("canaryConfig.lifetimeDuration", "%v", err)
		}
	}
	if cc.LifetimeDuration == "" && cc.LifetimeHours == nil && !retro && !exprs.Has("canaryConfig.lifetimeDuration") && !exprs.Has("canaryConfig.lifetimeHours") {
		p.Add("canaryConfig.lifetimeDuration", "is required for a real-time canary: how long it runs, such as PT1H")
	}
	for f, v := range map[string]*float64{"beginCanaryAnalysisAfterMins": cc.BeginAfterMins, "baselineAnalysisOffsetInMins": cc.BaselineOffsetMins,
		"lookbackMins": cc.LookbackMins, "canaryAnalysisIntervalMins": cc.IntervalMins, "lifetimeHours": cc.LifetimeHours} {
		if v != nil && (*v < 0 || math.IsNaN(*v)) {
			p.Add("canaryConfig."+f, "must not be negative")
		}
	}
	if t := cc.ScoreThresholds; t != nil && t.Pass != nil && t.Marginal != nil && *t.Marginal > *t.Pass {
		p.Add("canaryConfig.scoreThresholds", "marginal %g is above pass %g; marginal must be at most pass", *t.Marginal, *t.Pass)
	}
	if c.Deployments != nil {
		c.Deployments.validate(&p)
	}
	return p
}

// Plan implements stages.Definition.
func (*Stage) Plan(s *model.StageExecution) ([]string, error) {
	var c config
	if err := stages.Decode(s.Context, &c).Err(); err != nil {
		return nil, err
	}
	if c.Deployments != nil {
		return []string{taskDeploy, taskIntervals, taskWait, taskCleanup, taskAggregate}, nil
	}
	return []string{taskIntervals, taskAggregate}, nil
}

// timing is the canary's schedule, resolved from the stage's fields.
type timing struct {
	lifetime, interval, warmup, lookback, offset time.Duration
	step                                         time.Duration
	retrospective                                bool
	// start is where a retrospective analysis begins.
	start time.Time
	count int
}

func minutes(v *float64) time.Duration {
	if v == nil {
		return 0
	}
	return time.Duration(*v * float64(time.Minute))
}

// schedule resolves the lifetime and intervals as orca's
// RunCanaryIntervalsStage does: a retrospective canary spans its scope's
// start to end; a real-time one its lifetime; the interval defaults to the
// lifetime, and the number of intervals is lifetime / interval, rounded
// down.
func (c *config) schedule(now time.Time) (timing, error) {
	cc := c.CanaryConfig
	t := timing{warmup: minutes(cc.BeginAfterMins), lookback: minutes(cc.LookbackMins), offset: minutes(cc.BaselineOffsetMins), step: time.Minute}
	if len(cc.Scopes) > 0 {
		sc := cc.Scopes[0]
		if sc.Step != nil && *sc.Step > 0 {
			t.step = time.Duration(*sc.Step * float64(time.Second))
		}
		if sc.EndTimeIso != "" {
			end, err := time.Parse(time.RFC3339, sc.EndTimeIso)
			if err != nil {
				return t, fmt.Errorf("canaryConfig.scopes[0].endTimeIso: %v", err)
			}
			t.start = now
			if sc.StartTimeIso != "" {
				if t.start, err = time.Parse(time.RFC3339, sc.StartTimeIso); err != nil {
					return t, fmt.Errorf("canaryConfig.scopes[0].startTimeIso: %v", err)
				}
			}
			t.retrospective = true
			t.lifetime = end.Sub(t.start)
		}
	}
	if !t.retrospective {
		switch {
		case cc.LifetimeDuration != "":
			d, err := parseISODuration(cc.LifetimeDuration)
			if err != nil {
				return t, fmt.Errorf("canaryConfig.lifetimeDuration: %v", err)
			}
			t.lifetime = d
		case cc.LifetimeHours != nil:
			t.lifetime = time.Duration(*cc.LifetimeHours * float64(time.Hour))
		default:
			return t, fmt.Errorf("canaryConfig.lifetimeDuration is required for a real-time canary")
		}
	}
	if t.lifetime <= 0 {
		return t, fmt.Errorf("the canary's lifetime is %s; it must be more than 0", t.lifetime)
	}
	t.interval = minutes(cc.IntervalMins)
	if t.interval <= 0 || t.interval > t.lifetime {
		t.interval = t.lifetime
	}
	t.count = int(t.lifetime / t.interval)
	return t, nil
}

// window is one interval's analysis window.
type window struct {
	ControlStart, ControlEnd       time.Time
	ExperimentStart, ExperimentEnd time.Time
	// Ready is when the interval can be judged: a real-time interval once
	// its window has passed.
	Ready time.Time
}

// window returns interval i (1-based) of a canary whose real-time
// analysis began at t0: growing from the start after the warmup, or
// sliding when lookback is set; the control window shifted back by the
// baseline offset.
func (t timing) window(i int, t0 time.Time) window {
	var start, end time.Time
	if t.retrospective {
		start = t.start
		end = t.start.Add(time.Duration(i) * t.interval)
	} else {
		start = t0.Add(t.warmup)
		end = start.Add(time.Duration(i) * t.interval)
	}
	if t.lookback > 0 {
		start = end.Add(-t.lookback)
	}
	w := window{ExperimentStart: start, ExperimentEnd: end, ControlStart: start.Add(-t.offset), ControlEnd: end.Add(-t.offset), Ready: end}
	if t.retrospective {
		w.Ready = t0.Add(t.warmup)
	}
	return w
}

// thresholds resolves the score thresholds: orca's pass 75 / marginal 50
// when the stage gives none.
func (c *config) thresholds() (pass, marginal *float64) {
	t := c.CanaryConfig.ScoreThresholds
	if t == nil {
		p, m := 75.0, 50.0
		return &p, &m
	}
	return t.Pass, t.Marginal
}

func (c *config) judgeThresholds() judge.Thresholds {
	p, m := c.thresholds()
	out := judge.Thresholds{}
	if p != nil {
		out.Pass = *p
	}
	if m != nil {
		out.Marginal = *m
	}
	return out
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseISODuration reads an ISO-8601 duration of days, hours, minutes and
// seconds (PT1H30M, PT0H5M, PT45S, P1D), as Java's Duration.parse does.
func parseISODuration(s string) (time.Duration, error) {
	m := isoDuration.FindStringSubmatch(strings.ToUpper(strings.TrimSpace(s)))
	if m == nil || s == "P" || strings.HasSuffix(strings.ToUpper(s), "T") {
		return 0, fmt.Errorf("%q is not an ISO-8601 duration such as PT1H, PT30M or PT45S", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second} {
		if m[i+1] == "" {
			continue
		}
		f, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			return 0, err
		}
		d += time.Duration(f * float64(unit))
	}
	return d, nil
}
