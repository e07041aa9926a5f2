package judge

import (
	"math"
	"math/big"
	"math/rand"
	"sort"
	"strconv"
)

// SummaryClass is the whole canary's verdict.
type SummaryClass string

const (
	SummaryPass     SummaryClass = "Pass"
	SummaryMarginal SummaryClass = "Marginal"
	SummaryFail     SummaryClass = "Fail"
)

// Thresholds classify a summary score: at least Pass is Pass, at least
// Marginal is Marginal, below is Fail.
type Thresholds struct {
	Pass     float64 `json:"pass"`
	Marginal float64 `json:"marginal"`
}

// nodataThreshold: when at least this percentage of the scored metrics have
// no data, the canary scores 0.
const nodataThreshold = 50.0

// GroupScore is one group's share of passing metrics, 0–100. NoData: none
// of its metrics could be judged; it then counts as 100 in the summary.
type GroupScore struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	NoData bool    `json:"noData"`
}

// Judgment is one canary run's verdict.
type Judgment struct {
	Results     []Result     `json:"results"`
	GroupScores []GroupScore `json:"groupScores"`
	// Score is 0–100, rounded half up to two decimals.
	Score          float64      `json:"score"`
	Classification SummaryClass `json:"classification"`
	Reason         string       `json:"classificationReason"`
}

// Config is what a judgment needs of a canary config.
type Config struct {
	// Metrics by name; a series whose name is not here is an error of the
	// caller, which fetched it.
	Metrics map[string]Metric
	// GroupWeights weigh groups' scores in the summary; groups without a
	// weight share what is left of 100.
	GroupWeights map[string]float64
}

// Judge classifies every series pair and scores the canary.
func (c Classifier) Judge(cfg Config, series []Series, th Thresholds) Judgment {
	rng := rand.New(rand.NewSource(1))
	results := make([]Result, 0, len(series))
	for _, s := range series {
		m, ok := cfg.Metrics[s.Name]
		if !ok {
			m = MetricDefaults(s.Name)
		}
		results = append(results, c.Classify(m, s, rng))
	}
	j := Score(results, cfg.GroupWeights)
	j.Classification = ClassifyScore(j.Score, th)
	return j
}

// ClassifyScore places a summary score against the thresholds.
func ClassifyScore(score float64, th Thresholds) SummaryClass {
	switch {
	case score >= th.Pass:
		return SummaryPass
	case score >= th.Marginal:
		return SummaryMarginal
	}
	return SummaryFail
}

// Score turns metric results into group scores and the summary score.
// Muted results are kept in the judgment but not scored.
func Score(results []Result, weights map[string]float64) Judgment {
	j := Judgment{Results: results, GroupScores: []GroupScore{}}
	var scored []Result
	for _, r := range results {
		if !r.Muted {
			scored = append(scored, r)
		}
	}

	type tally struct{ pass, total int }
	tallies := map[string]*tally{}
	var order []string
	for _, r := range scored {
		for _, g := range r.Groups {
			t := tallies[g]
			if t == nil {
				t = &tally{}
				tallies[g] = t
				order = append(order, g)
			}
			switch r.Classification {
			case Pass:
				t.pass++
				t.total++
			case High, Low, NodataFailMetric:
				t.total++
			}
		}
	}
	sort.Strings(order)
	for _, g := range order {
		t := tallies[g]
		gs := GroupScore{Name: g}
		if t.total == 0 {
			gs.NoData = true
		} else {
			gs.Score = 100 * float64(t.pass) / float64(t.total)
		}
		j.GroupScores = append(j.GroupScores, gs)
	}

	for _, r := range scored {
		if r.Critical && r.Classification != Pass {
			j.Reason = "Canary Failed: " + r.Reason
			return j
		}
	}
	nodata := 0
	for _, r := range scored {
		if r.Classification == Nodata {
			nodata++
		}
	}
	if len(scored) > 0 && 100*float64(nodata)/float64(len(scored)) >= nodataThreshold {
		j.Reason = "Canary Failed: " + strconv.Itoa(nodata) + " of " + strconv.Itoa(len(scored)) + " metrics have no data"
		return j
	}

	given := 0.0
	unweighted := 0
	for _, g := range j.GroupScores {
		if w, ok := weights[g.Name]; ok {
			given += w
		} else {
			unweighted++
		}
	}
	sum := 0.0
	for _, g := range j.GroupScores {
		w, ok := weights[g.Name]
		if !ok {
			w = (100 - given) / float64(unweighted)
		}
		s := g.Score
		if g.NoData {
			s = 100
		}
		sum += s * w / 100
	}
	j.Score = roundHalfUp2(sum)
	return j
}

// roundHalfUp2 rounds to two decimals, halves away from zero, on the
// shortest decimal that reads back as x (as Java's BigDecimal of
// Double.toString does), so 0.125 becomes 0.13 although its binary value
// is a hair below.
func roundHalfUp2(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'g', -1, 64))
	if !ok {
		return x
	}
	neg := r.Sign() < 0
	r.Abs(r)
	r.Mul(r, big.NewRat(100, 1))
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom())
	out, _ := new(big.Rat).SetFrac(q, big.NewInt(100)).Float64()
	if neg {
		out = -out
	}
	return out
}
