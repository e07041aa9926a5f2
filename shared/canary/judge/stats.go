package judge

import (
	"math"
	"sort"
)

// Stats summarizes a series after NaN handling and outlier removal, for the
// report: Kayenta's experimentMetadata.stats and controlMetadata.stats. An
// empty series has every field 0.
type Stats struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	// Std is the sample standard deviation (n − 1); 0 for one point.
	Std float64 `json:"std"`
}

func summarize(v []float64) Stats {
	if len(v) == 0 {
		return Stats{}
	}
	s := Stats{Count: len(v), Min: v[0], Max: v[0]}
	sum := 0.0
	for _, x := range v {
		sum += x
		s.Min = math.Min(s.Min, x)
		s.Max = math.Max(s.Max, x)
	}
	s.Mean = sum / float64(len(v))
	if len(v) > 1 {
		ss := 0.0
		for _, x := range v {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.Std = math.Sqrt(ss / float64(len(v)-1))
	}
	return s
}

// handleNaNs drops NaN values, or replaces them with 0. Infinities stay.
func handleNaNs(v []float64, strategy NaNStrategy) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if math.IsNaN(x) {
			if strategy == NaNReplace {
				out = append(out, 0)
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// removeOutliers drops the points beyond both the Tukey fence
// (Q1 − k·IQR, Q3 + k·IQR) and the 1st/99th percentile, so a point is an
// outlier only when it is extreme by both measures.
func removeOutliers(v []float64, factor float64) []float64 {
	if len(v) == 0 {
		return v
	}
	lower, upper := outlierFences(v, factor)
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if x > upper || x < lower {
			continue
		}
		out = append(out, x)
	}
	return out
}

// outlierFences are the bounds removeOutliers keeps points within.
func outlierFences(v []float64, factor float64) (lower, upper float64) {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	q1, q3 := percentile(s, 0.25), percentile(s, 0.75)
	iqr := q3 - q1
	lower = math.Min(percentile(s, 0.01), q1-factor*iqr)
	upper = math.Max(percentile(s, 0.99), q3+factor*iqr)
	return lower, upper
}

// percentile interpolates linearly between the order statistics of a sorted
// series (R's type 7, numpy's default), p in [0, 1].
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	h := float64(len(sorted)-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (h-lo)*(sorted[i+1]-sorted[i])
}

func mean(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

// meanRatio is mean(experiment) / mean(control), NaN when either mean is 0.
func meanRatio(control, experiment []float64) float64 {
	mc, me := mean(control), mean(experiment)
	if mc == 0 || me == 0 {
		return math.NaN()
	}
	return me / mc
}

// cles is the common-language effect size: the probability that a random
// experiment point exceeds a random control point, ties counting half.
func cles(control, experiment []float64) float64 {
	w := newRankSum(experiment, control)
	n, m := float64(len(control)), float64(len(experiment))
	// The rank sum of the experiment in the combined sample is what z(0)
	// ranks; recompute it directly rather than through the statistic.
	rankX := 0.0
	pos := 1.0
	i, j := 0, 0
	for i < len(w.x) || j < len(w.y) {
		var v float64
		if j >= len(w.y) || (i < len(w.x) && w.x[i] <= w.y[j]) {
			v = w.x[i]
		} else {
			v = w.y[j]
		}
		cx, cy := 0, 0
		for i < len(w.x) && w.x[i] == v {
			i++
			cx++
		}
		for j < len(w.y) && w.y[j] == v {
			j++
			cy++
		}
		if cx+cy == 0 {
			break // NaN never reaches the judge's statistics
		}
		t := float64(cx + cy)
		rankX += float64(cx) * (pos + (t-1)/2)
		pos += t
	}
	return (2*rankX - m*(m+1)) / (2 * n * m)
}

// distinctSorted counts the distinct values of a sorted series.
func distinctSorted(v []float64) int {
	n := 0
	for i := range v {
		if i == 0 || v[i] != v[i-1] {
			n++
		}
	}
	return n
}

// distinctBoth counts the distinct values of two sorted series together.
func distinctBoth(a, b []float64) int {
	n, i, j := 0, 0, 0
	var last float64
	for i < len(a) || j < len(b) {
		var v float64
		if j >= len(b) || (i < len(a) && a[i] <= b[j]) {
			v, i = a[i], i+1
		} else {
			v, j = b[j], j+1
		}
		if n == 0 || v != last {
			n++
			last = v
		}
	}
	return n
}

// equalSorted reports whether two sorted series hold the same values.
func equalSorted(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sorted(v []float64) []float64 {
	out := append([]float64(nil), v...)
	sort.Float64s(out)
	return out
}
