package kayenta

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/canary"
	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/stages"
	"github.com/gennaker/gennaker/shared/store"
)

// intervalsState is what RunCanaryIntervals records as it goes.
type intervalsState struct {
	// StartedAt is when the real-time analysis began (ms): intervals are
	// counted from it.
	StartedAt int64            `json:"startedAt"`
	Intervals []intervalResult `json:"intervals"`
	// Failed says why the canary stopped early; the aggregate fails the
	// stage with it once the clean-up has run.
	Failed string `json:"failed"`
}

// intervalResult is one interval's judgment, with the fields orca's
// runCanary stages carry.
type intervalResult struct {
	Name                      string   `json:"name"`
	CanaryPipelineExecutionID string   `json:"canaryPipelineExecutionId"`
	CanaryPipelineStatus      string   `json:"canaryPipelineStatus"`
	CanaryScore               float64  `json:"canaryScore"`
	Classification            string   `json:"classification"`
	LastUpdated               int64    `json:"lastUpdated"`
	LastUpdatedIso            string   `json:"lastUpdatedIso"`
	DurationString            string   `json:"durationString"`
	ExperimentStartIso        string   `json:"startTimeIso"`
	ExperimentEndIso          string   `json:"endTimeIso"`
	ControlStartIso           string   `json:"controlStartTimeIso"`
	ControlEndIso             string   `json:"controlEndTimeIso"`
	JudgedAfterMs             int64    `json:"judgedAfterIntervalEndMs"`
	FailedMetrics             []string `json:"failedMetrics"`
	Warnings                  []string `json:"warnings"`
	ReportURL                 string   `json:"reportUrl"`
	ResultURL                 string   `json:"resultUrl"`
}

// intervalsTask judges the canary once per interval over its lifetime.
type intervalsTask struct{ env *env }

func (intervalsTask) Name() string { return taskIntervals }

// Timeout implements stages.TimeoutTask: the lifetime, its warmup, and an
// hour for the judgments themselves.
func (intervalsTask) Timeout(s *model.StageExecution) time.Duration {
	var c config
	if err := stages.Decode(s.Context, &c).Err(); err != nil {
		return 0
	}
	t, err := c.schedule(time.Now())
	if err != nil || t.retrospective {
		return 0
	}
	return t.warmup + t.lifetime + time.Hour
}

// Cancel implements stages.Canceler.
func (intervalsTask) Cancel(ctx context.Context, run *stages.Run) (map[string]any, error) {
	return cancelDeployed(ctx, run)
}

func (t intervalsTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c, err := stages.ConfigOf[*config](run)
	if err != nil {
		return stages.Result{}, err
	}
	st := c.State
	if st.Failed != "" {
		return stages.Succeeded(), nil
	}
	out := func(status model.Status, backoff time.Duration) stages.Result {
		fields := map[string]any{"canaryState": st}
		var scores []float64
		for _, iv := range st.Intervals {
			scores = append(scores, iv.CanaryScore)
		}
		if n := len(st.Intervals); n > 0 {
			last := st.Intervals[n-1]
			fields["canaryScores"] = scores
			fields["canaryScore"] = last.CanaryScore
			fields["lastUpdated"] = last.LastUpdated
			fields["lastUpdatedIso"] = last.LastUpdatedIso
			fields["canaryPipelineExecutionId"] = last.CanaryPipelineExecutionID
			fields["intervalStageId"] = run.Stage.ID
		}
		return stages.Result{Status: status, Backoff: backoff, Wake: stages.Sleep, Context: stages.Record(fields)}
	}
	stop := func(format string, args ...any) (stages.Result, error) {
		st.Failed = fmt.Sprintf(format, args...)
		return out(model.StatusSucceeded, 0), nil
	}

	tm, err := c.schedule(run.Now)
	if err != nil {
		return stop("%v", err)
	}
	if st.StartedAt == 0 {
		st.StartedAt = run.Now.UnixMilli()
	}
	t0 := time.UnixMilli(st.StartedAt)
	i := len(st.Intervals) + 1
	if i > tm.count {
		return out(model.StatusSucceeded, 0), nil
	}
	w := tm.window(i, t0)
	if wait := w.Ready.Sub(run.Now); wait > 0 {
		return out(model.StatusRunning, wait), nil
	}

	if run.Services == nil || run.Services.Store == nil {
		return stop("the canary needs the store for its configs and results")
	}
	cfg, err := loadConfig(ctx, run.Services.Store, c.CanaryConfig)
	if err != nil {
		return stop("%v", err)
	}
	scopes, err := c.scopes(tm, w)
	if err != nil {
		return stop("%v", err)
	}
	a := canary.Analyzer{Sources: t.env.sources.Load(), Results: canary.NewResults(run.Services.Store), Now: time.Now}
	id := fmt.Sprintf("%s-%s-%d", run.Execution.ID, run.Stage.ID, i)
	exec, err := a.Run(ctx, canary.Request{
		ID: id, Config: cfg, Application: string(run.Execution.Application),
		ParentPipelineExecutionID: string(run.Execution.ID), MetricsAccount: c.CanaryConfig.MetricsAccountName,
		Scopes: scopes, Thresholds: c.judgeThresholds(),
	})
	if err != nil {
		return stop("canary interval %d of %d could not be judged: %v (report: /v2/canaries/canary/%s/report)", i, tm.count, err, id)
	}
	judged := time.UnixMilli(exec.EndTimeMillis)
	res := intervalResult{
		Name: fmt.Sprintf("Run Canary #%d", i), CanaryPipelineExecutionID: id, CanaryPipelineStatus: string(model.StatusSucceeded),
		// Orca reads Kayenta's score as an integer, truncating it.
		CanaryScore:        math.Trunc(exec.Score()),
		Classification:     exec.Result.JudgeResult.Score.Classification,
		LastUpdated:        exec.EndTimeMillis,
		LastUpdatedIso:     exec.EndTimeIso,
		DurationString:     exec.Result.CanaryDuration,
		ExperimentStartIso: iso(w.ExperimentStart), ExperimentEndIso: iso(w.ExperimentEnd),
		ControlStartIso: iso(w.ControlStart), ControlEndIso: iso(w.ControlEnd),
		JudgedAfterMs: judged.Sub(w.ExperimentEnd).Milliseconds(),
		FailedMetrics: failedMetrics(exec),
		Warnings:      warnings(exec),
		ReportURL:     "/v2/canaries/canary/" + id + "/report",
		ResultURL:     "/v2/canaries/canary/" + id,
	}
	st.Intervals = append(st.Intervals, res)

	_, marginal := c.thresholds()
	if marginal != nil && res.CanaryScore <= *marginal {
		why := ""
		if len(res.FailedMetrics) > 0 {
			why = "; failing metrics: " + strings.Join(res.FailedMetrics, ", ")
		}
		if reason := exec.Result.JudgeResult.Score.ClassificationReason; reason != "" {
			why += " (" + reason + ")"
		}
		return stop("Canary score %g of interval %d of %d is not above the marginal score threshold %g%s; report: %s",
			res.CanaryScore, i, tm.count, *marginal, why, res.ReportURL)
	}
	if i == tm.count {
		return out(model.StatusSucceeded, 0), nil
	}
	next := tm.window(i+1, t0).Ready.Sub(time.Now())
	return out(model.StatusRunning, max(next, time.Millisecond)), nil
}

// scopes are the scopes of one interval: the stage's, pointed at the
// server groups it deployed when it deployed them.
func (c *config) scopes(tm timing, w window) (map[string]canary.ScopePair, error) {
	cfgs := c.CanaryConfig.Scopes
	if len(cfgs) == 0 && len(c.Deployed) > 0 {
		cfgs = []scopeConfig{{ScopeName: "default"}}
	}
	out := map[string]canary.ScopePair{}
	for i, sc := range cfgs {
		name := sc.ScopeName
		if name == "" {
			name = "default"
		}
		ctrl, ctrlLoc, exp, expLoc := sc.ControlScope, sc.ControlLocation, sc.ExperimentScope, sc.ExperimentLocation
		if i < len(c.Deployed) {
			d := c.Deployed[i]
			ctrl, ctrlLoc, exp, expLoc = d.Control.ServerGroup, d.Control.Region, d.Experiment.ServerGroup, d.Experiment.Region
		}
		if ctrl == "" || exp == "" {
			return nil, fmt.Errorf("canaryConfig.scopes[%d]: controlScope and experimentScope are required", i)
		}
		ext := map[string]string{}
		for k, v := range sc.Extended {
			ext[k] = fmt.Sprint(v)
		}
		out[name] = canary.ScopePair{
			Control:    canary.Scope{Scope: ctrl, Location: ctrlLoc, Start: w.ControlStart, End: w.ControlEnd, Step: tm.step, Extended: ext},
			Experiment: canary.Scope{Scope: exp, Location: expLoc, Start: w.ExperimentStart, End: w.ExperimentEnd, Step: tm.step, Extended: ext},
		}
	}
	return out, nil
}

func loadConfig(ctx context.Context, s store.Store, cc canaryContext) (*canary.Config, error) {
	configs := canary.NewConfigs(s)
	var cfg *canary.Config
	var err error
	switch {
	case cc.CanaryConfigID != "":
		cfg, err = configs.Get(ctx, cc.CanaryConfigID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("canaryConfig.canaryConfigId: no canary config %q; save one with POST /v2/canaryConfig", cc.CanaryConfigID)
		}
	case cc.CanaryConfigName != "":
		cfg, err = configs.GetByName(ctx, cc.CanaryConfigName)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("canaryConfig.canaryConfigName: no canary config named %q", cc.CanaryConfigName)
		}
	default:
		return nil, fmt.Errorf("canaryConfig.canaryConfigId is required")
	}
	return cfg, err
}

// check finds the canary config and a metrics account for each of its
// metrics, so a canary that cannot be judged fails before anything is
// deployed.
func (e *env) check(ctx context.Context, run *stages.Run, c *config) error {
	if run.Services == nil || run.Services.Store == nil {
		return fmt.Errorf("the canary needs the store for its configs and results")
	}
	cfg, err := loadConfig(ctx, run.Services.Store, c.CanaryConfig)
	if err != nil {
		return err
	}
	for _, m := range cfg.Metrics {
		src, name, err := e.sources.Load().Get(c.CanaryConfig.MetricsAccountName, m.Query.Type)
		if err != nil {
			return fmt.Errorf("metric %q: %v", m.Name, err)
		}
		if src.Type() != m.Query.Type {
			return fmt.Errorf("metric %q has a %s query, but metrics account %q is %s", m.Name, m.Query.Type, name, src.Type())
		}
	}
	return nil
}

// failedMetrics names the metrics that did not pass, with how.
func failedMetrics(e *canary.Execution) []string {
	out := []string{}
	if e.Result == nil {
		return out
	}
	for _, r := range e.Result.JudgeResult.Results {
		class, _ := r["classification"].(string)
		critical, _ := r["critical"].(bool)
		muted, _ := r["muted"].(bool)
		if muted || class == "Pass" || class == "Error" || (class == "Nodata" && !critical) {
			continue
		}
		s := fmt.Sprintf("%v (%s", r["name"], class)
		if critical {
			s += ", critical"
		}
		out = append(out, s+")")
	}
	sort.Strings(out)
	return out
}

// warnings are orca's: a metric with fewer than 50 baseline points.
func warnings(e *canary.Execution) []string {
	out := []string{}
	if e.Result == nil {
		return out
	}
	for _, r := range e.Result.JudgeResult.Results {
		m, _ := r["controlMetadata"].(map[string]any)
		st, _ := m["stats"].(map[string]any)
		if n, ok := number(st["count"]); ok && n < 50 {
			return append(out, "One of the metrics returned fewer than 50 data points, which can reduce confidence in the final canary score.")
		}
	}
	return out
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// aggregateTask decides the stage: an interval that stopped the canary
// fails it; otherwise the last interval's score against the thresholds.
type aggregateTask struct{}

func (aggregateTask) Name() string { return taskAggregate }

func (aggregateTask) Execute(ctx context.Context, run *stages.Run) (stages.Result, error) {
	c, err := stages.ConfigOf[*config](run)
	if err != nil {
		return stages.Result{}, err
	}
	st := c.State
	var scores []float64
	for _, iv := range st.Intervals {
		scores = append(scores, iv.CanaryScore)
	}
	if scores == nil {
		scores = []float64{}
	}
	if st.Failed != "" {
		r := stages.FailedWith(map[string]any{"canaryScores": scores, "canaryScoreMessage": st.Failed}, "%s", st.Failed)
		return r, nil
	}
	pass, marginal := c.thresholds()
	status, msg := decide(scores, pass, marginal)
	ctxOut := map[string]any{"canaryScores": scores, "canaryScoreMessage": msg}
	if status != model.StatusSucceeded {
		return stages.FailedWith(ctxOut, "%s", msg), nil
	}
	return stages.Result{Status: status, Context: ctxOut, Outputs: map[string]any{"canaryScores": scores}}, nil
}

// intervalFails is orca's per-interval check: a score at or below the
// marginal threshold stops the canary.
func intervalFails(score float64, marginal *float64) bool {
	return marginal != nil && score <= *marginal
}

// decide is orca's final decision on the interval scores: only the last
// one counts.
func decide(scores []float64, pass, marginal *float64) (model.Status, string) {
	if len(scores) == 0 {
		return model.StatusTerminal, "No canary interval was judged."
	}
	final := scores[len(scores)-1]
	switch {
	case pass == nil && marginal == nil:
		return model.StatusSucceeded, "No score thresholds were specified."
	case marginal != nil && final <= *marginal:
		return model.StatusTerminal, fmt.Sprintf("Final canary score %g is not above the marginal score threshold.", final)
	case pass == nil:
		return model.StatusSucceeded, "No pass score threshold was specified."
	case final < *pass:
		return model.StatusTerminal, fmt.Sprintf("Final canary score %g is below the pass score threshold.", final)
	}
	return model.StatusSucceeded, fmt.Sprintf("Final canary score %g met or exceeded the pass score threshold.", final)
}
