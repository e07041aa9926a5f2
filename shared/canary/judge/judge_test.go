package judge

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// base is the control series of ../shared/kayenta.md §4.2.
var base = []float64{10.0, 10.2, 9.8, 10.1, 9.9, 10.3, 9.7, 10.0, 10.2, 9.8}

func add(v []float64, d float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x + d
	}
	return out
}

func scale(v []float64, k float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * k
	}
	return out
}

func seq(from, to float64) []float64 {
	var out []float64
	for x := from; x <= to; x++ {
		out = append(out, x)
	}
	return out
}

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

// TestProductionExamples reproduces ../shared/kayenta.md §4.2: production tolerance
// 0.25 and confidence 0.98, intervals to the five decimals stated, the
// estimate to the root finder's 1e-4.
func TestProductionExamples(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		id                   string
		control, experiment  []float64
		tune                 func(*Metric)
		lower, upper, est    float64 // NaN: not stated
		ratio                float64
		want                 Classification
		critical             bool
		summaryZeroBecauseOf bool
		digits               int // decimals the interval is stated to (default 5)
	}{
		{id: "E1", control: base, experiment: add(base, 2), lower: 1.70002, upper: 2.29998, est: 2.0, ratio: 1.2, want: High},
		{id: "E2", control: base, experiment: add(base, 2), tune: func(m *Metric) { m.AllowedIncrease = 1.25 }, lower: 1.70002, upper: 2.29998, est: 2.0, ratio: 1.2, want: Pass},
		{id: "E3", control: base, experiment: add(base, 2), tune: func(m *Metric) { m.Direction = Decrease }, lower: 1.70002, upper: 2.29998, est: 2.0, ratio: 1.2, want: Pass},
		{id: "E4", control: base, experiment: add(base, 0.1), lower: -0.19998, upper: 0.39998, est: 0.1, ratio: 1.01, want: Pass},
		{id: "E5", control: base, experiment: scale(base, 0.5), tune: func(m *Metric) { m.Critical, m.CriticalDecrease = true, 0.6 }, lower: -5.20004, upper: -4.79996, est: -5, ratio: 0.5, want: Low, critical: true, summaryZeroBecauseOf: true},
		{id: "E6", control: base, experiment: scale(base, 0.5), tune: func(m *Metric) { m.Critical, m.CriticalDecrease = true, 0.4 }, lower: -5.20004, upper: -4.79996, est: -5, ratio: 0.5, want: Low},
		{id: "E7", control: []float64{1, 2.2, 1.1, 2.5, 3}, experiment: []float64{20, 22, 21, 25, 30}, lower: 17.0001, upper: 28.9999, digits: 4, est: 20, ratio: 12.04, want: High},
		{id: "E8", control: seq(1, 20), experiment: add(seq(1, 20), 4), lower: -0.99997, upper: 8.99997, est: 4, ratio: 1.38, want: Pass},
		{id: "E9", control: seq(1, 20), experiment: add(seq(1, 20), 6), lower: 1.00003, upper: 10.99997, est: 6, ratio: 1.57, want: Pass},
		{id: "E10", control: seq(1, 20), experiment: add(seq(1, 20), 8), lower: 3.00003, upper: 12.99997, est: 8, ratio: 1.76, want: High},
		{id: "E11", control: []float64{0, 0, 0, 0, 0}, experiment: []float64{54.9, 54.5, 55.1, 55.6, 57.4}, lower: 54.5, upper: 57.4, est: 55.1, ratio: nan, want: High},
		{id: "E12", control: []float64{10, 10.1, 10.2}, experiment: []float64{20, 20.1, 20.2}, lower: 9.8, upper: 10.2, est: 10, ratio: 1.99, want: High},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			m := MetricDefaults("m")
			m.Groups = []string{"g"}
			if tc.tune != nil {
				tc.tune(&m)
			}
			r := Production.Classify(m, Series{Name: "m", Control: tc.control, Experiment: tc.experiment}, nil)
			if r.Classification != tc.want || r.Critical != tc.critical {
				t.Fatalf("%s: got %s critical=%v (%s), want %s critical=%v", tc.id, r.Classification, r.Critical, r.Why, tc.want, tc.critical)
			}
			digits := tc.digits
			if digits == 0 {
				digits = 5
			}
			tol := 0.5 * math.Pow(10, -float64(digits))
			if !near(r.LowerCI, tc.lower, tol) || !near(r.UpperCI, tc.upper, tol) {
				t.Errorf("%s: interval [%.6f, %.6f], want [%.5f, %.5f]", tc.id, r.LowerCI, r.UpperCI, tc.lower, tc.upper)
			}
			if !near(r.Estimate, tc.est, 1e-4) {
				t.Errorf("%s: estimate %.6f, want %g", tc.id, r.Estimate, tc.est)
			}
			if !near(r.Ratio, tc.ratio, 0.005) {
				t.Errorf("%s: mean ratio %.4f, want %g", tc.id, r.Ratio, tc.ratio)
			}
			j := Score([]Result{r}, nil)
			wantScore := 100.0
			if tc.want != Pass {
				wantScore = 0
			}
			if j.Score != wantScore {
				t.Errorf("%s: summary %v, want %v", tc.id, j.Score, wantScore)
			}
			if tc.summaryZeroBecauseOf && j.Reason == "" {
				t.Errorf("%s: a critical Low should explain the zero summary", tc.id)
			}
		})
	}
}

type suiteCase struct {
	Test       string    `json:"test"`
	Experiment []float64 `json:"experiment"`
	Control    []float64 `json:"control"`
}

func loadSuite(t testing.TB, file string) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestKayentaClassifierSuite reproduces ../shared/kayenta.md §4.3 on the data of
// Kayenta's ClassifierSuite (testdata/classifier_suite.json, keyed by the
// test's line), with each test's own tolerance and confidence.
func TestKayentaClassifierSuite(t *testing.T) {
	suite := loadSuite(t, "testdata/classifier_suite.json")
	nan := math.NaN()
	test := Classifier{Tolerance: 0.10, ConfLevel: 0.95}
	cles := Classifier{Tolerance: 0.20, ConfLevel: 0.98}
	effect := func(lo, hi float64) func(*Metric) {
		return func(m *Metric) { m.AllowedDecrease, m.AllowedIncrease = lo, hi }
	}
	criticalAt := func(lo, hi float64) func(*Metric) {
		return func(m *Metric) { m.Critical, m.CriticalDecrease, m.CriticalIncrease = true, lo, hi }
	}
	chain := func(fs ...func(*Metric)) func(*Metric) {
		return func(m *Metric) {
			for _, f := range fs {
				f(m)
			}
		}
	}
	withDir := func(d Direction) func(*Metric) { return func(m *Metric) { m.Direction = d } }
	withCLES := func(lo, hi float64) func(*Metric) {
		return func(m *Metric) {
			m.EffectMeasure = CLES
			m.AllowedDecrease, m.AllowedIncrease, m.CriticalDecrease, m.CriticalIncrease = lo, hi, 0.5, 0.5
		}
	}
	cases := []struct {
		line              string
		c                 Classifier
		tune              func(*Metric)
		lower, upper, est float64 // NaN: not stated
		estTol            float64
		ciTol             float64 // 0: four decimals stated
		effect            float64 // NaN: not stated
		want              Classification
		critical          bool
	}{
		{line: "26", c: test, lower: -1.0592, upper: 1.0926, est: 0.0587, estTol: 5e-5, effect: nan, want: Pass}, // estimate as §1.7 states it
		{line: "58", c: test, lower: 9.3371, upper: 11.6192, est: 10.62, estTol: 0.01, effect: nan, want: High},
		{line: "90", c: test, lower: -11.1150, upper: -8.7997, est: -9.90, estTol: 0.01, effect: nan, want: Low},
		{line: "122", c: test, tune: withDir(Increase), lower: nan, est: nan, effect: nan, want: Pass},
		{line: "154", c: test, tune: withDir(Decrease), lower: nan, est: nan, effect: nan, want: Pass},
		{line: "186", c: test, tune: withDir(Increase), lower: nan, est: nan, effect: nan, want: High},
		{line: "219", c: test, tune: withDir(Decrease), lower: nan, est: nan, effect: nan, want: Low},
		{line: "314", c: test, tune: effect(0.8, 1.2), lower: 17.8000, upper: 27.7999, est: 20, estTol: 1e-4, effect: 12.04, want: High},
		{line: "358", c: test, tune: effect(0.5, 1.0), lower: -17.8000, upper: 0.99995, est: -10.78, estTol: 0.01, effect: nan, want: Pass},
		{line: "520", c: cles, tune: withCLES(0.2, 0.8), lower: -4.7463, upper: -2.0113, est: -3.39, estTol: 0.01, effect: 0.12, want: Low},
		{line: "432", c: cles, tune: withCLES(0.5, 0.8), lower: 1.9e-5, upper: 4e-6, ciTol: 5e-7, est: -8e-6, estTol: 5e-7, effect: 0.58, want: Pass},
		{line: "549", c: test, tune: criticalAt(1.0, 1.2), lower: nan, est: nan, effect: nan, want: High, critical: true},
		{line: "613", c: test, tune: criticalAt(1.0, 1.0), lower: nan, est: nan, effect: nan, want: High, critical: true},
		{line: "577", c: test, tune: chain(effect(1, 5), criticalAt(1, 13)), lower: nan, est: nan, effect: nan, want: High},
		{line: "595", c: test, tune: chain(effect(1, 13), criticalAt(1, 15)), lower: nan, est: nan, effect: nan, want: Pass},
		{line: "758", c: test, tune: effect(0.8, 1.2), lower: 54.5, upper: 57.4, est: 55.1, estTol: 1e-4, effect: nan, want: High},
		{line: "653", c: test, tune: withDir(Decrease), lower: -0.99994, upper: 0.0, est: 0, estTol: 1e-4, effect: nan, want: Pass},
		{line: "719", c: test, lower: 0.0, upper: 8.99993, est: 0, estTol: 1e-4, effect: nan, want: Pass},
		{line: "251", c: test, lower: 3.521755377702165e-5, upper: 2.02456461662334e-5, ciTol: 1e-6, est: 2.6279243045155653e-5, estTol: 1e-6, effect: nan, want: High},
		// The cases ../shared/kayenta.md §4.3 leaves without figures, with Kayenta's expectations.
		{line: "327", c: test, tune: chain(effect(0.8, 1.2), withDir(Decrease)), lower: nan, est: nan, effect: nan, want: Low},
		{line: "371", c: test, tune: effect(1.0, 5.0), lower: nan, est: nan, effect: nan, want: Pass},
		{line: "479", c: cles, tune: withCLES(0.2, 0.8), lower: nan, est: nan, effect: nan, want: High},
		{line: "563", c: test, tune: criticalAt(1.2, 1.0), lower: nan, est: nan, effect: nan, want: Low, critical: true},
		{line: "627", c: test, tune: withDir(Decrease), lower: nan, est: nan, effect: nan, want: Pass},
		{line: "640", c: test, tune: withDir(Decrease), lower: nan, est: nan, effect: nan, want: Pass},
		{line: "732", c: test, lower: nan, est: nan, effect: nan, want: High},
		{line: "745", c: test, lower: nan, est: nan, effect: nan, want: High},
		{line: "772", c: test, tune: effect(0.8, 1.2), lower: nan, est: nan, effect: nan, want: Low},
		{line: "786", c: test, tune: func(m *Metric) { criticalAt(0.8, 1.2)(m); m.NaNStrategy = NaNReplace }, lower: nan, est: nan, effect: nan, want: High, critical: true},
		{line: "805", c: test, tune: effect(0.8, 1.2), lower: nan, est: nan, effect: nan, want: Pass},
	}
	for _, tc := range cases {
		var sc suiteCase
		if err := json.Unmarshal(suite[tc.line], &sc); err != nil {
			t.Fatalf("line %s: %v", tc.line, err)
		}
		t.Run(tc.line+" "+sc.Test, func(t *testing.T) {
			m := MetricDefaults("m")
			if tc.tune != nil {
				tc.tune(&m)
			}
			r := tc.c.Classify(m, Series{Name: "m", Control: sc.Control, Experiment: sc.Experiment}, nil)
			if r.Classification != tc.want || r.Critical != tc.critical {
				t.Fatalf("got %s critical=%v (%s), want %s critical=%v", r.Classification, r.Critical, r.Why, tc.want, tc.critical)
			}
			if !math.IsNaN(tc.lower) {
				tol := 5e-5 // four decimals stated
				if tc.ciTol > 0 {
					tol = tc.ciTol
				}
				if !near(r.LowerCI, tc.lower, tol) || !near(r.UpperCI, tc.upper, tol) {
					t.Errorf("interval [%.7g, %.7g], want [%.7g, %.7g]", r.LowerCI, r.UpperCI, tc.lower, tc.upper)
				}
			}
			if !math.IsNaN(tc.est) && !near(r.Estimate, tc.est, tc.estTol) {
				t.Errorf("estimate %.7g, want %g", r.Estimate, tc.est)
			}
			if !math.IsNaN(tc.effect) && !near(r.EffectSize, tc.effect, 0.005) {
				t.Errorf("effect size %.4f, want %g", r.EffectSize, tc.effect)
			}
			if tc.line == "758" && !math.IsNaN(r.Ratio) {
				t.Errorf("a zero control mean has no ratio; got %v", r.Ratio)
			}
			if tc.line == "805" && r.Ratio != 1 {
				t.Errorf("identical zeros have ratio 1; got %v", r.Ratio)
			}
		})
	}
}

// TestMissingData covers the empty-series exits of ../shared/kayenta.md §1.5 and
// ClassifierSuite lines 666, 679, 693 and 706.
func TestMissingData(t *testing.T) {
	ctrl := []float64{1, 2, 3, 4, 5}
	cases := []struct {
		name       string
		tune       func(*Metric)
		experiment []float64
		want       Classification
		critical   bool
		reason     string
	}{
		{name: "remove", experiment: nil, want: Nodata, reason: "Missing data for m"},
		{name: "all NaN removed", experiment: []float64{math.NaN(), math.NaN()}, want: Nodata, reason: "Missing data for m"},
		{name: "critical", tune: func(m *Metric) { m.Critical = true }, want: Nodata, critical: true, reason: "Missing data for m"},
		{name: "replace", tune: func(m *Metric) { m.NaNStrategy = NaNReplace }, want: Pass},
		{name: "must have data", tune: func(m *Metric) { m.MustHaveData = true }, want: NodataFailMetric, reason: "Missing data for m"},
		{name: "must have data, critical", tune: func(m *Metric) { m.MustHaveData, m.Critical = true, true }, want: Nodata, critical: true, reason: "Missing data for m"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := MetricDefaults("m")
			m.Direction = Decrease
			if tc.tune != nil {
				tc.tune(&m)
			}
			r := Classifier{Tolerance: 0.1, ConfLevel: 0.95}.Classify(m, Series{Name: "m", Control: ctrl, Experiment: tc.experiment}, nil)
			if r.Classification != tc.want || r.Critical != tc.critical || r.Reason != tc.reason {
				t.Fatalf("got %s critical=%v reason %q, want %s critical=%v reason %q", r.Classification, r.Critical, r.Reason, tc.want, tc.critical, tc.reason)
			}
			if r.Ratio != 1 {
				t.Errorf("deviation %v, want 1", r.Ratio)
			}
		})
	}
}

// TestReplaceZeroFills: replaced NaNs become zeros that are compared with
// the other side's real data.
func TestReplaceZeroFills(t *testing.T) {
	m := MetricDefaults("errors")
	m.NaNStrategy = NaNReplace
	nan := math.NaN()
	r := Production.Classify(m, Series{Name: "errors",
		Control:    []float64{nan, nan, nan, nan, nan, nan},
		Experiment: []float64{5, 6, 7, 5, 6, 7}}, nil)
	if r.Classification != High {
		t.Fatalf("zeros against 5–7 should be High, got %s (%s)", r.Classification, r.Why)
	}
}

// TestSinglePointEachIsAnError: one point against one point has every
// observation tied at the bracket's end, which Kayenta reports as Error,
// never critical and never scored.
func TestSinglePointEachIsAnError(t *testing.T) {
	m := MetricDefaults("m")
	m.Critical = true
	m.Groups = []string{"g"}
	r := Production.Classify(m, Series{Name: "m", Control: []float64{1}, Experiment: []float64{2}}, nil)
	if r.Classification != Error || r.Critical {
		t.Fatalf("got %s critical=%v, want Error not critical", r.Classification, r.Critical)
	}
	pass := Production.Classify(MetricDefaults("ok"), Series{Name: "ok", Control: base, Experiment: base}, nil)
	pass.Groups = []string{"g"}
	if j := Score([]Result{r, pass}, nil); j.Score != 100 {
		t.Errorf("an Error is left out of its group; summary %v, want 100", j.Score)
	}
}

// TestMannWhitneySuite reproduces the Mann–Whitney core's figures of
// ../shared/kayenta.md §4.3 (Kayenta's MannWhitneySuite, to its 1e-6; estimates
// against R to 1e-4).
func TestMannWhitneySuite(t *testing.T) {
	suite := loadSuite(t, "testdata/mannwhitney_suite.json")
	var core struct {
		X, Y []float64
	}
	if err := json.Unmarshal(suite["29"], &core); err != nil {
		t.Fatal(err)
	}
	w := newRankSum(core.X, core.Y)
	for _, c := range []struct{ d, want float64 }{{0, -1.229416}, {5, -35.80606}} {
		got, err := w.z(c.d)
		if err != nil || !near(got, c.want, 1e-6) {
			t.Errorf("z(%g) = %.7f (%v), want %g", c.d, got, err, c.want)
		}
	}
	if q := normalQuantile(0.01); !near(q, -2.326348, 1e-6) {
		t.Errorf("Φ⁻¹(0.01) = %.7f, want -2.326348", q)
	}

	type pair struct {
		Experiment, Control         []float64
		ExperimentData, ControlData []float64
	}
	cases := []struct {
		line                     string
		conf                     float64
		lower, upper, est, estTo float64
	}{
		{"471", 0.95, 6, 39, 22.5, 1e-6},
		{"923", 0.95, -0.500002521696696, -3.486287505871302e-5, -0.4999393907180323, 1e-4},
		{"951", 0.98, -0.4999173250549087, -6.912685789769486e-6, -3.45044082729315e-5, 1e-4},
		{"483", 0.98, -1.4808028936386108e-5, 1.808255910873413e-5, 1.808255910873413e-5, 1e-6},
	}
	for _, c := range cases {
		var p pair
		if err := json.Unmarshal(suite[c.line], &p); err != nil {
			t.Fatal(err)
		}
		if p.Experiment == nil {
			p.Experiment, p.Control = p.ExperimentData, p.ControlData
		}
		s, err := mannWhitney(p.Experiment, p.Control, c.conf)
		if err != nil {
			t.Fatalf("line %s: %v", c.line, err)
		}
		if !near(s.Lower, c.lower, 1e-6) || !near(s.Upper, c.upper, 1e-6) || !near(s.Estimate, c.est, c.estTo) {
			t.Errorf("line %s: [%.10g, %.10g] est %.10g, want [%.10g, %.10g] est %.10g", c.line, s.Lower, s.Upper, s.Estimate, c.lower, c.upper, c.est)
		}
	}
}

// TestOutlierFences reproduces ../shared/kayenta.md §4.4.
func TestOutlierFences(t *testing.T) {
	data := []float64{21, 23, 24, 25, 50, 29, 23, 21}
	s := append([]float64(nil), data...)
	// Without the percentile widening: Tukey's fences alone.
	sorted := []float64{21, 21, 23, 23, 24, 25, 29, 50}
	q1, q3 := percentile(sorted, 0.25), percentile(sorted, 0.75)
	if lo, hi := q1-1.5*(q3-q1), q3+1.5*(q3-q1); !near(lo, 17.25, 1e-9) || !near(hi, 31.25, 1e-9) {
		t.Errorf("Tukey fences at 1.5: (%g, %g), want (17.25, 31.25)", lo, hi)
	}
	lo, hi := outlierFences(s, 3)
	if !near(lo, 12.0, 1e-9) || !near(hi, 48.53, 1e-9) {
		t.Errorf("production fences (%g, %g), want (12.0, 48.53)", lo, hi)
	}
	if got := removeOutliers(s, 3); len(got) != 7 || summarize(got).Max != 29 {
		t.Errorf("50 should be removed: %v", got)
	}
	hundred := append(seq(1, 100), 400)
	lo, hi = outlierFences(hundred, 3)
	if !near(lo, -124, 1e-9) || !near(hi, 226, 1e-9) {
		t.Errorf("fences (%g, %g), want (-124, 226)", lo, hi)
	}
	if got := removeOutliers(hundred, 3); len(got) != 100 || summarize(got).Max != 100 {
		t.Errorf("400 should be removed, kept %d points", len(got))
	}
	if got := removeOutliers(nil, 3); len(got) != 0 {
		t.Errorf("empty stays empty")
	}

	// Through the classifier: the outlier no longer decides the test.
	m := MetricDefaults("latency")
	m.RemoveOutliers = true
	r := Production.Classify(m, Series{Name: "latency", Control: data[:4], Experiment: data}, nil)
	if r.Experiment.Count != 7 {
		t.Errorf("experiment stats after outlier removal count %d, want 7", r.Experiment.Count)
	}
}

// TestEffectSizes: ../shared/kayenta.md §1.8, the CLES values of Kayenta's
// StatisticSuite (0.5, 0.0) and the mean ratio's zero rule.
func TestEffectSizes(t *testing.T) {
	if got := cles([]float64{1, 2, 3}, []float64{1, 2, 3}); got != 0.5 {
		t.Errorf("CLES of identical samples %v, want 0.5", got)
	}
	if got := cles([]float64{10, 11, 12}, []float64{1, 2, 3}); got != 0 {
		t.Errorf("CLES of a wholly lower experiment %v, want 0", got)
	}
	if got := cles([]float64{1, 2}, []float64{2, 3}); got != 0.875 {
		t.Errorf("CLES with a tie %v, want 0.875", got)
	}
	if !math.IsNaN(meanRatio([]float64{0, 0}, []float64{1})) || !math.IsNaN(meanRatio([]float64{1}, []float64{0})) {
		t.Errorf("a zero mean has no ratio")
	}
}

func group(c Classification, groups ...string) Result {
	return Result{Name: string(c), Classification: c, Groups: groups}
}

// TestScoring reproduces ../shared/kayenta.md §4.5 (Kayenta's ScorerSuite).
func TestScoring(t *testing.T) {
	crit := func(r Result) Result { r.Critical = true; r.Reason = "critical " + r.Name; return r }
	cases := []struct {
		line    string
		weights map[string]float64
		results []Result
		want    float64
	}{
		{"28", nil, []Result{group(Pass, "g")}, 100},
		{"42", nil, []Result{group(High, "g")}, 0},
		{"56", nil, []Result{group(Nodata, "g")}, 0},
		{"75", nil, []Result{group(Pass, "G1"), group(Pass, "G1"), group(Nodata, "G2")}, 100},
		{"127", nil, []Result{group(Pass, "g"), group(High, "g"), group(Low, "g")}, 33.33},
		{"153", map[string]float64{"G1": 75, "G2": 25}, []Result{group(Pass, "G1"), group(Pass, "G1"), group(High, "G2")}, 75},
		{"205", map[string]float64{"G1": 50, "G2": 50}, []Result{group(Pass, "G1"), group(Nodata, "G1"), group(High, "G2")}, 50},
		{"231", nil, []Result{group(Pass, "g"), crit(group(High, "g"))}, 0},
		{"252", nil, []Result{group(Low, "g"), crit(group(Pass, "g"))}, 50},
		{"274", nil, []Result{group(Pass, "g"), crit(group(Nodata, "g"))}, 0},
		{"295", map[string]float64{"G1": 15, "G2": 85}, []Result{group(High, "G1"), group(Low, "G1"), group(Pass, "G1"), group(High, "G2")}, 5.0},
		{"§4.5 extra", map[string]float64{"latency": 60}, []Result{
			group(Pass, "latency"), group(Pass, "latency"), group(Pass, "latency"), group(High, "latency"),
			group(Pass, "errors"), group(Low, "errors"), group(Nodata, "saturation")}, 75},
		{"muted", nil, []Result{group(Pass, "g"), {Name: "muted", Classification: High, Groups: []string{"g"}, Muted: true, Critical: true}}, 100},
		{"NodataFailMetric fails its group", nil, []Result{group(Pass, "g"), group(NodataFailMetric, "g")}, 50},
	}
	for _, tc := range cases {
		t.Run(tc.line, func(t *testing.T) {
			j := Score(tc.results, tc.weights)
			if j.Score != tc.want {
				t.Fatalf("summary %v, want %v (groups %+v)", j.Score, tc.want, j.GroupScores)
			}
			if len(j.Results) != len(tc.results) {
				t.Errorf("every result, muted ones too, is reported")
			}
		})
	}

	j := Score([]Result{group(Pass, "G1"), group(Nodata, "G2")}, nil)
	if len(j.GroupScores) != 2 || !j.GroupScores[1].NoData || j.GroupScores[1].Score != 0 {
		t.Errorf("a group without data reports noData and score 0: %+v", j.GroupScores)
	}
	if j := Score([]Result{group(Pass, "g"), crit(group(High, "g"))}, nil); j.Reason != "Canary Failed: critical High" {
		t.Errorf("reason %q names the first critical failure", j.Reason)
	}
	th := Thresholds{Pass: 95, Marginal: 75}
	for score, want := range map[float64]SummaryClass{75: SummaryMarginal, 95: SummaryPass, 74.99: SummaryFail, 100: SummaryPass} {
		if got := ClassifyScore(score, th); got != want {
			t.Errorf("ClassifyScore(%v) = %s, want %s", score, got, want)
		}
	}
}

func TestRoundHalfUp(t *testing.T) {
	for in, want := range map[float64]float64{33.333333: 33.33, 0.125: 0.13, 66.666666: 66.67, 2.675: 2.68, 100: 100, 0: 0} {
		if got := roundHalfUp2(in); got != want {
			t.Errorf("round(%v) = %v, want %v", in, got, want)
		}
	}
}

// TestJudge runs the whole judgment through Judge: per-metric configs by
// name, series with tags, and the classification against thresholds.
func TestJudge(t *testing.T) {
	errors := MetricDefaults("errors")
	errors.Groups = []string{"errors"}
	errors.Direction = Increase
	latency := MetricDefaults("latency")
	latency.Groups = []string{"latency"}
	latency.Direction = Increase
	cfg := Config{Metrics: map[string]Metric{"errors": errors, "latency": latency}, GroupWeights: map[string]float64{"errors": 50, "latency": 50}}
	j := Production.Judge(cfg, []Series{
		{Name: "errors", Tags: map[string]string{"code": "5xx"}, Control: base, Experiment: add(base, 2)},
		{Name: "latency", Control: base, Experiment: base},
	}, Thresholds{Pass: 75, Marginal: 50})
	if j.Score != 50 || j.Classification != SummaryMarginal {
		t.Fatalf("score %v %s, want 50 Marginal", j.Score, j.Classification)
	}
	if j.Results[0].Classification != High || j.Results[0].Tags["code"] != "5xx" || j.Results[0].Why == "" {
		t.Errorf("errors result %+v", j.Results[0])
	}
}
