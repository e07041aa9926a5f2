// Package judge compares a canary's metrics with its baseline's as Kayenta's
// NetflixACAJudge-v1.0 does, with no I/O: series in, classifications and
// scores out.
//
// Each metric is classified on its own: NaNs are dropped (or replaced by 0),
// outliers optionally removed, then a Mann–Whitney confidence interval of
// the shift experiment − control decides High, Low or Pass, gated by an
// effect size (mean ratio or CLES). Groups score the share of their metrics
// that passed; the summary is the groups' weighted sum, forced to 0 by a
// critical metric that did not pass or by too many metrics without data.
package judge

import (
	"fmt"
	"math"
	"math/rand"
)

// Name is the judge Kayenta's canary configs name for this algorithm.
const Name = "NetflixACAJudge-v1.0"

// Classification is one metric's verdict.
type Classification string

const (
	Pass Classification = "Pass"
	High Classification = "High"
	Low  Classification = "Low"
	// Nodata: a side had no data after NaN handling; ignored in scoring
	// unless the metric is critical.
	Nodata Classification = "Nodata"
	// NodataFailMetric: no data for a metric that must have data; it counts
	// as a failed metric of its groups.
	NodataFailMetric Classification = "NodataFailMetric"
	// Error: the test could not be computed; ignored in scoring.
	Error Classification = "Error"
)

// Direction says which change of a metric is a failure.
type Direction string

const (
	Increase Direction = "increase"
	Decrease Direction = "decrease"
	Either   Direction = "either"
)

// NaNStrategy says what becomes of NaN points before the comparison.
type NaNStrategy string

const (
	NaNRemove  NaNStrategy = "remove"
	NaNReplace NaNStrategy = "replace"
)

// Effect-size measures.
const (
	MeanRatio = "meanRatio"
	CLES      = "cles"
)

// Metric is how one metric of a canary config is judged: Kayenta's
// analysisConfigurations.canary, with its defaults filled in by
// MetricDefaults.
type Metric struct {
	Name   string
	Groups []string
	// Direction: which change fails (default Either).
	Direction Direction
	// NaNStrategy: what becomes of NaN points (default NaNRemove).
	NaNStrategy NaNStrategy
	// Critical: a High or Low (or no data) fails the whole canary.
	Critical bool
	// MustHaveData: no data fails the metric instead of leaving it out.
	MustHaveData bool
	// Muted: classified and reported, never scored.
	Muted bool
	// EffectMeasure is MeanRatio or CLES.
	EffectMeasure string
	// A High needs an effect of at least AllowedIncrease, a Low at most
	// AllowedDecrease; a critical metric's High or Low is critical only
	// beyond CriticalIncrease / CriticalDecrease.
	AllowedIncrease, AllowedDecrease   float64
	CriticalIncrease, CriticalDecrease float64
	// RemoveOutliers drops points beyond OutlierFactor interquartile ranges
	// (and the 1st/99th percentile) before the comparison.
	RemoveOutliers bool
	OutlierFactor  float64
}

// MetricDefaults returns a metric judged with Kayenta's defaults: either
// direction, NaNs removed, outliers kept (factor 3 when enabled), the mean
// ratio with thresholds 1.0, which make the effect size only check that the
// means moved the same way as the interval.
func MetricDefaults(name string) Metric {
	return Metric{
		Name: name, Direction: Either, NaNStrategy: NaNRemove,
		EffectMeasure: MeanRatio, OutlierFactor: 3,
		AllowedIncrease: 1, AllowedDecrease: 1, CriticalIncrease: 1, CriticalDecrease: 1,
	}
}

// Classifier holds the test's parameters.
type Classifier struct {
	// Tolerance: the interval must clear Tolerance·|estimate| on the
	// failing side for a High or Low.
	Tolerance float64
	// ConfLevel of the two-sided interval.
	ConfLevel float64
}

// Production is what Kayenta runs in production, whatever its settings say.
var Production = Classifier{Tolerance: 0.25, ConfLevel: 0.98}

// Result is one metric's classification, as Kayenta reports it
// (CanaryAnalysisResult), with the test's figures for a readable report.
type Result struct {
	Name   string            `json:"name"`
	Tags   map[string]string `json:"tags"`
	Groups []string          `json:"groups"`

	Classification Classification `json:"classification"`
	// Reason is Kayenta's classificationReason; empty for a plain Pass.
	Reason   string `json:"classificationReason,omitempty"`
	Critical bool   `json:"critical"`
	Muted    bool   `json:"muted"`

	Control    Stats `json:"controlStats"`
	Experiment Stats `json:"experimentStats"`
	// Ratio is mean(experiment)/mean(control): NaN when a mean is 0, 1 when
	// the test was not run.
	Ratio float64 `json:"ratio"`

	// Tested says the Mann–Whitney test ran; the fields below hold its
	// interval of experiment − control, its estimate and the effect size
	// the gate used.
	Tested     bool    `json:"tested"`
	LowerCI    float64 `json:"lowerCI"`
	UpperCI    float64 `json:"upperCI"`
	Estimate   float64 `json:"estimate"`
	EffectSize float64 `json:"effectSize"`
	// Why explains the classification in a sentence for people.
	Why string `json:"why"`
}

// Series is one metric's control (baseline) and experiment (canary) data
// for one combination of tags. Order does not matter.
type Series struct {
	Name       string
	Tags       map[string]string
	Control    []float64
	Experiment []float64
}

// Classify judges one series pair by m. The jitter Kayenta adds to two
// constant series is drawn from rng (nil: a fixed seed, so a judgment can be
// repeated).
func (c Classifier) Classify(m Metric, s Series, rng *rand.Rand) Result {
	control := handleNaNs(s.Control, m.NaNStrategy)
	experiment := handleNaNs(s.Experiment, m.NaNStrategy)
	if m.RemoveOutliers {
		control = removeOutliers(control, m.OutlierFactor)
		experiment = removeOutliers(experiment, m.OutlierFactor)
	}
	r := Result{
		Name: s.Name, Tags: s.Tags, Groups: m.Groups, Muted: m.Muted,
		Control: summarize(control), Experiment: summarize(experiment), Ratio: 1,
	}
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	if r.Groups == nil {
		r.Groups = []string{}
	}

	sc, se := sorted(control), sorted(experiment)
	switch {
	case len(control) == 0 || len(experiment) == 0:
		side := "the canary (experiment)"
		if len(control) == 0 {
			side = "the baseline (control)"
		}
		if m.NaNStrategy == NaNReplace {
			r.Classification = Pass
			r.Why = "no data from " + side + "; NaNs are replaced, so missing data passes"
			return r
		}
		r.Reason = "Missing data for " + s.Name
		if m.MustHaveData && !m.Critical {
			r.Classification = NodataFailMetric
			r.Why = "no data from " + side + ", and the metric must have data"
			return r
		}
		r.Classification, r.Critical = Nodata, m.Critical
		r.Why = "no data from " + side
		if m.Critical {
			r.Why += "; the metric is critical, so the canary fails"
		}
		return r
	case equalSorted(sc, se):
		r.Classification = Pass
		r.Reason = "The canary and baseline data are identical"
		r.Why = "the canary's and the baseline's data are identical"
		return r
	case distinctBoth(sc, se) == 1:
		r.Classification = Pass
		r.Why = fmt.Sprintf("every point of both series is %g", control[0])
		return r
	}

	if distinctSorted(sc) == 1 && distinctSorted(se) == 1 {
		// Two different constants have no spread to rank; a little noise
		// relative to each value lets the test say which is larger.
		if rng == nil {
			rng = rand.New(rand.NewSource(1))
		}
		control = jitter(control, rng)
		experiment = jitter(experiment, rng)
	}
	sh, err := mannWhitney(experiment, control, c.ConfLevel)
	if err != nil {
		r.Classification = Error
		r.Reason = "Metric Classification Failed"
		r.Why = err.Error()
		r.Ratio = math.NaN()
		return r
	}
	r.Tested, r.LowerCI, r.UpperCI, r.Estimate = true, sh.Lower, sh.Upper, sh.Estimate
	r.Ratio = meanRatio(control, experiment)
	r.EffectSize = r.Ratio
	if m.EffectMeasure == CLES {
		r.EffectSize = cles(control, experiment)
	}
	eff := r.EffectSize
	bound := c.Tolerance * math.Abs(sh.Estimate)

	high := (m.Direction == Increase || m.Direction == Either) &&
		sh.Lower > bound && (math.IsNaN(eff) || eff >= m.AllowedIncrease)
	low := !high && (m.Direction == Decrease || m.Direction == Either) &&
		sh.Upper < -bound && (math.IsNaN(eff) || eff <= m.AllowedDecrease)

	interval := fmt.Sprintf("%g%% interval of canary − baseline [%.4g, %.4g], estimate %.4g",
		100*c.ConfLevel, sh.Lower, sh.Upper, sh.Estimate)
	switch {
	case high:
		r.Classification = High
		r.Reason = s.Name + " was classified as High"
		r.Why = fmt.Sprintf("canary higher than baseline: %s lies above %.4g (%g×|estimate|); %s %.4g ≥ %g",
			interval, bound, c.Tolerance, m.EffectMeasure, eff, m.AllowedIncrease)
		if m.Critical && (math.IsNaN(eff) || eff >= m.CriticalIncrease) {
			r.Critical = true
			r.Reason = "The metric " + s.Name + " was classified as High (Critical)"
			r.Why += "; critical, so the canary fails"
		}
	case low:
		r.Classification = Low
		r.Reason = s.Name + " was classified as Low"
		r.Why = fmt.Sprintf("canary lower than baseline: %s lies below %.4g (−%g×|estimate|); %s %.4g ≤ %g",
			interval, -bound, c.Tolerance, m.EffectMeasure, eff, m.AllowedDecrease)
		if m.Critical && (math.IsNaN(eff) || eff <= m.CriticalDecrease) {
			r.Critical = true
			r.Reason = "The metric " + s.Name + " was classified as Low (Critical)"
			r.Why += "; critical, so the canary fails"
		}
	default:
		r.Classification = Pass
		r.Why = passWhy(m, c, sh, bound, eff, interval)
	}
	return r
}

func passWhy(m Metric, c Classifier, sh shift, bound, eff float64, interval string) string {
	upOK := m.Direction == Increase || m.Direction == Either
	downOK := m.Direction == Decrease || m.Direction == Either
	switch {
	case upOK && sh.Lower > bound:
		return fmt.Sprintf("%s is above %.4g, but %s %.4g < %g, the smallest increase that fails", interval, bound, m.EffectMeasure, eff, m.AllowedIncrease)
	case downOK && sh.Upper < -bound:
		return fmt.Sprintf("%s is below %.4g, but %s %.4g > %g, the smallest decrease that fails", interval, -bound, m.EffectMeasure, eff, m.AllowedDecrease)
	case !downOK && sh.Upper < -bound:
		return fmt.Sprintf("%s shows a decrease, which this metric (direction increase) allows", interval)
	case !upOK && sh.Lower > bound:
		return fmt.Sprintf("%s shows an increase, which this metric (direction decrease) allows", interval)
	}
	return fmt.Sprintf("no significant difference: the %s does not clear ±%.4g (%g×|estimate|)", interval, bound, c.Tolerance)
}

func jitter(v []float64, rng *rand.Rand) []float64 {
	sd := v[0] * 1e-5
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x + rng.NormFloat64()*sd
	}
	return out
}
