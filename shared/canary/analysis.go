package canary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gennaker/gennaker/shared/canary/judge"
	"github.com/gennaker/gennaker/shared/store"
)

// ScopePair is one scope name's control (baseline) and experiment (canary).
type ScopePair struct {
	Control    Scope
	Experiment Scope
}

// Request asks for one canary judgment: a config, where to measure, and
// the thresholds that classify the score.
type Request struct {
	// ID names the run; empty means one is allocated. A run recorded under
	// the ID already is returned as it was, so a retried task does not
	// judge twice.
	ID          string
	Config      *Config
	Application string
	// ParentPipelineExecutionID is the pipeline run that asked.
	ParentPipelineExecutionID string
	MetricsAccount            string
	// Scopes by scope name ("default" unless metrics name others).
	Scopes     map[string]ScopePair
	Thresholds judge.Thresholds
}

// Analyzer runs canary judgments and records them.
type Analyzer struct {
	Sources    *Sources
	Results    *Results
	Classifier judge.Classifier
	Now        func() time.Time
}

// Run fetches every metric of the config for both sides, judges them and
// records the run. A source that fails is an error, recorded as a run that
// ended TERMINAL with the error, so the report says what went wrong.
func (a *Analyzer) Run(ctx context.Context, req Request) (*Execution, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	if req.ID == "" {
		req.ID = newID()
	} else if prev, err := a.Results.Get(ctx, req.ID); err == nil && prev.Complete {
		return prev, nil
	}
	started := now()
	exec := &Execution{
		Application: req.Application, ParentPipelineExecutionID: req.ParentPipelineExecutionID,
		PipelineID: req.ID, CanaryConfigID: req.Config.ID, Config: req.Config.Doc,
		MetricsAccountName: req.MetricsAccount,
		StageStatus:        map[string]string{},
		Request:            executionRequest(req),
		BuildTimeMillis:    started.UnixMilli(), BuildTimeIso: iso(started),
		StartTimeMillis: started.UnixMilli(), StartTimeIso: iso(started),
	}
	series, account, err := a.fetch(ctx, req)
	if account != "" {
		exec.MetricsAccountName = account
	}
	if err != nil {
		a.finish(exec, now(), "terminal")
		exec.Exception = map[string]any{"message": err.Error()}
		exec.StageStatus["fetch"] = "terminal"
		if perr := a.Results.Put(ctx, exec); perr != nil {
			return nil, perr
		}
		return exec, err
	}
	exec.StageStatus["fetch"] = "succeeded"
	cl := a.Classifier
	if cl == (judge.Classifier{}) {
		cl = judge.Production
	}
	j := cl.Judge(req.Config.JudgeConfig(), series, req.Thresholds)
	exec.StageStatus["judge"] = "succeeded"
	end := now()
	a.finish(exec, end, "succeeded")
	exec.Result = &CanaryResult{
		JudgeResult:    judgeResult(j),
		CanaryDuration: fmt.Sprintf("PT%gS", end.Sub(started).Seconds()),
	}
	if err := a.Results.Put(ctx, exec); err != nil {
		return nil, err
	}
	return exec, nil
}

func (a *Analyzer) finish(e *Execution, t time.Time, status string) {
	e.Complete = true
	e.Status = status
	e.EndTimeMillis = t.UnixMilli()
	e.EndTimeIso = iso(t)
}

// fetchConcurrency bounds the queries in flight for one judgment.
const fetchConcurrency = 8

// fetch reads both sides of every metric, a few queries at a time, and
// pairs them by tags, padding a side that has fewer points than the
// window holds with NaN. A failed query stops the others and is the error.
func (a *Analyzer) fetch(ctx context.Context, req Request) ([]judge.Series, string, error) {
	type job struct {
		m    MetricConfig
		pair ScopePair
		src  Source
	}
	jobs := make([]job, 0, len(req.Config.Metrics))
	account := ""
	for _, m := range req.Config.Metrics {
		scopeName := m.ScopeName
		if scopeName == "" {
			scopeName = "default"
		}
		pair, ok := req.Scopes[scopeName]
		if !ok {
			return nil, account, fmt.Errorf("metric %q is measured in scope %q, which the stage does not give (scopes: %s)", m.Name, scopeName, strings.Join(scopeNames(req.Scopes), ", "))
		}
		src, name, err := a.Sources.Get(req.MetricsAccount, m.Query.Type)
		if err != nil {
			return nil, account, err
		}
		account = name
		if src.Type() != m.Query.Type {
			return nil, account, fmt.Errorf("metric %q has a %s query, but metrics account %q is %s", m.Name, m.Query.Type, name, src.Type())
		}
		jobs = append(jobs, job{m, pair, src})
	}

	type sides struct {
		ctrl, exp []Series
		err       error
	}
	results := make([]sides, len(jobs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, fetchConcurrency)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := &results[i]
			if r.ctrl, r.err = j.src.Fetch(ctx, j.m, req.Config.Templates, j.pair.Control); r.err != nil {
				r.err = fmt.Errorf("metric %q, baseline (control) scope %q: %w", j.m.Name, j.pair.Control.Scope, r.err)
				cancel()
				return
			}
			if r.exp, r.err = j.src.Fetch(ctx, j.m, req.Config.Templates, j.pair.Experiment); r.err != nil {
				r.err = fmt.Errorf("metric %q, canary (experiment) scope %q: %w", j.m.Name, j.pair.Experiment.Scope, r.err)
				cancel()
			}
		}()
	}
	wg.Wait()
	// A query canceled because another failed is not the cause.
	var firstErr error
	for _, r := range results {
		if r.err != nil && (firstErr == nil || errors.Is(firstErr, context.Canceled) && !errors.Is(r.err, context.Canceled)) {
			firstErr = r.err
		}
	}
	if firstErr != nil {
		return nil, account, firstErr
	}
	var out []judge.Series
	for i, j := range jobs {
		out = append(out, mix(j.m.Name, results[i].ctrl, results[i].exp, j.pair.Control.ExpectedPoints(), j.pair.Experiment.ExpectedPoints())...)
	}
	return out, account, nil
}

// mix pairs control and experiment series with the same tags; a side
// missing for a tag set is all NaN, and a short side is padded with NaN.
func mix(name string, ctrl, exp []Series, wantCtrl, wantExp int) []judge.Series {
	key := func(tags map[string]string) string {
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%q,", k, tags[k])
		}
		return b.String()
	}
	// Tags that name the scope itself differ between the sides by design;
	// pair on the rest.
	strip := func(s Series, scope map[string]bool) map[string]string {
		t := map[string]string{}
		for k, v := range s.Tags {
			if !scope[k] {
				t[k] = v
			}
		}
		return t
	}
	// A tag names the scope when it has one value on each side, and the
	// two differ (server_group="web-v001" against "web-v002").
	only := func(list []Series, k string) (string, bool) {
		v, ok := "", false
		for i, s := range list {
			sv, has := s.Tags[k]
			if !has || (i > 0 && sv != v) {
				return "", false
			}
			v, ok = sv, true
		}
		return v, ok
	}
	scopeTags := map[string]bool{}
	if len(ctrl) > 0 {
		for k := range ctrl[0].Tags {
			cv, cok := only(ctrl, k)
			ev, eok := only(exp, k)
			if cok && eok && cv != ev {
				scopeTags[k] = true
			}
		}
	}
	type side struct {
		tags     map[string]string
		ctrl     []float64
		exp      []float64
		haveCtrl bool
		haveExp  bool
	}
	pairs := map[string]*side{}
	var order []string
	get := func(tags map[string]string) *side {
		k := key(tags)
		p, ok := pairs[k]
		if !ok {
			p = &side{tags: tags}
			pairs[k] = p
			order = append(order, k)
		}
		return p
	}
	for _, c := range ctrl {
		p := get(strip(c, scopeTags))
		p.ctrl, p.haveCtrl = c.Values, true
	}
	for _, e := range exp {
		p := get(strip(e, scopeTags))
		p.exp, p.haveExp = e.Values, true
	}
	if len(order) == 0 {
		get(map[string]string{})
	}
	pad := func(v []float64, n int) []float64 {
		out := append([]float64(nil), v...)
		for len(out) < n {
			out = append(out, math.NaN())
		}
		return out
	}
	out := make([]judge.Series, 0, len(order))
	for _, k := range order {
		p := pairs[k]
		out = append(out, judge.Series{Name: name, Tags: p.tags, Control: pad(p.ctrl, wantCtrl), Experiment: pad(p.exp, wantExp)})
	}
	return out
}

func scopeNames(m map[string]ScopePair) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Execution is one canary run as Kayenta's GET /canary/{id} answers
// (CanaryExecutionStatusResponse).
type Execution struct {
	Application               string            `json:"application,omitempty"`
	ParentPipelineExecutionID string            `json:"parentPipelineExecutionId,omitempty"`
	PipelineID                string            `json:"pipelineId"`
	StageStatus               map[string]string `json:"stageStatus"`
	Complete                  bool              `json:"complete"`
	// Status is succeeded, running or terminal.
	Status               string         `json:"status"`
	Exception            map[string]any `json:"exception,omitempty"`
	Result               *CanaryResult  `json:"result,omitempty"`
	Config               map[string]any `json:"config,omitempty"`
	CanaryConfigID       string         `json:"canaryConfigId,omitempty"`
	Request              map[string]any `json:"canaryExecutionRequest,omitempty"`
	BuildTimeMillis      int64          `json:"buildTimeMillis"`
	BuildTimeIso         string         `json:"buildTimeIso"`
	StartTimeMillis      int64          `json:"startTimeMillis"`
	StartTimeIso         string         `json:"startTimeIso"`
	EndTimeMillis        int64          `json:"endTimeMillis,omitempty"`
	EndTimeIso           string         `json:"endTimeIso,omitempty"`
	MetricsAccountName   string         `json:"metricsAccountName,omitempty"`
	StorageAccountName   string         `json:"storageAccountName,omitempty"`
	ConfigurationAccount string         `json:"configurationAccountName,omitempty"`
}

// CanaryResult is a finished run's verdict.
type CanaryResult struct {
	JudgeResult    JudgeResult `json:"judgeResult"`
	CanaryDuration string      `json:"canaryDuration,omitempty"`
}

// JudgeResult is Kayenta's CanaryJudgeResult.
type JudgeResult struct {
	JudgeName   string           `json:"judgeName"`
	Results     []map[string]any `json:"results"`
	GroupScores []map[string]any `json:"groupScores"`
	Score       JudgeScore       `json:"score"`
}

// JudgeScore is the summary.
type JudgeScore struct {
	Score                float64 `json:"score"`
	Classification       string  `json:"classification"`
	ClassificationReason string  `json:"classificationReason"`
}

// Score is the run's summary score, or -1 for a run without one.
func (e *Execution) Score() float64 {
	if e.Result == nil {
		return -1
	}
	return e.Result.JudgeResult.Score.Score
}

// num writes NaN and infinities as null, which JSON has no number for.
func num(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

func stats(s judge.Stats) map[string]any {
	return map[string]any{"stats": map[string]any{"count": s.Count, "mean": num(s.Mean), "min": num(s.Min), "max": num(s.Max), "std": num(s.Std)}}
}

func judgeResult(j judge.Judgment) JudgeResult {
	out := JudgeResult{JudgeName: judge.Name, Results: []map[string]any{}, GroupScores: []map[string]any{}}
	for i, r := range j.Results {
		meta := map[string]any{"ratio": num(r.Ratio), "why": r.Why}
		if r.Tested {
			meta["lowerConfidence"] = num(r.LowerCI)
			meta["upperConfidence"] = num(r.UpperCI)
			meta["estimate"] = num(r.Estimate)
			meta["effectSize"] = num(r.EffectSize)
		}
		res := map[string]any{
			"name": r.Name, "id": fmt.Sprintf("%d", i), "tags": r.Tags,
			"classification": string(r.Classification), "groups": r.Groups,
			"experimentMetadata": stats(r.Experiment), "controlMetadata": stats(r.Control),
			"resultMetadata": meta, "critical": r.Critical, "muted": r.Muted,
		}
		if r.Reason != "" {
			res["classificationReason"] = r.Reason
		}
		out.Results = append(out.Results, res)
	}
	for _, g := range j.GroupScores {
		out.GroupScores = append(out.GroupScores, map[string]any{"name": g.Name, "score": g.Score, "noData": g.NoData, "classification": "", "classificationReason": ""})
	}
	out.Score = JudgeScore{Score: j.Score, Classification: string(j.Classification), ClassificationReason: j.Reason}
	return out
}

func executionRequest(req Request) map[string]any {
	scopes := map[string]any{}
	for name, p := range req.Scopes {
		side := func(s Scope) map[string]any {
			ext := s.Extended
			if ext == nil {
				ext = map[string]string{}
			}
			return map[string]any{"scope": s.Scope, "location": s.Location, "start": iso(s.Start), "end": iso(s.End),
				"step": s.Step.Seconds(), "extendedScopeParams": ext}
		}
		scopes[name] = map[string]any{"controlScope": side(p.Control), "experimentScope": side(p.Experiment)}
	}
	return map[string]any{"scopes": scopes, "thresholds": map[string]any{"pass": req.Thresholds.Pass, "marginal": req.Thresholds.Marginal}}
}

// Results keeps canary runs by id, in the store's records.
type Results struct{ records store.Records }

// NewResults returns the canary runs kept in s.
func NewResults(s store.Store) *Results { return &Results{records: s.Records()} }

// Put records a run.
func (r *Results) Put(ctx context.Context, e *Execution) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return r.records.Put(ctx, resultPrefix+e.PipelineID, b)
}

// Get returns a run, or an error wrapping store.ErrNotFound.
func (r *Results) Get(ctx context.Context, id string) (*Execution, error) {
	if !validID(id) {
		return nil, fmt.Errorf("canary run %q: %w", id, store.ErrNotFound)
	}
	b, ok, err := r.records.Get(ctx, resultPrefix+id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("canary run %s: %w", id, store.ErrNotFound)
	}
	var e Execution
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("canary run %s: %w", id, err)
	}
	return &e, nil
}
