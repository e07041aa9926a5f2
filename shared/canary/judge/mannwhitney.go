package judge

import (
	"errors"
	"math"
	"sort"
)

// errAllTied is the rank-sum test's refusal when every observation is tied,
// so the statistic has no spread (a single point against a single point).
var errAllTied = errors.New("cannot compute the confidence interval when all observations are tied")

// shift is the Mann–Whitney (Wilcoxon rank-sum) estimate of the location
// shift experiment − control: a two-sided confidence interval found by
// inverting the test with the normal approximation, the continuity
// correction and the tie-corrected variance at every sample size, and the
// point where the statistic crosses zero. Roots are found by Brent's method
// with an absolute tolerance of 1e-4, so on tie-heavy data the interval
// carries the root finder's artefacts exactly as Kayenta's does.
type shift struct {
	Lower, Upper, Estimate float64
}

// rankSum holds both samples sorted once; each evaluation of the statistic
// at a shift d merges them in linear time instead of ranking afresh.
type rankSum struct {
	x, y []float64 // x is the experiment, y the control, both sorted
}

func newRankSum(experiment, control []float64) *rankSum {
	x := append([]float64(nil), experiment...)
	y := append([]float64(nil), control...)
	sort.Float64s(x)
	sort.Float64s(y)
	return &rankSum{x: x, y: y}
}

// z is the standardized, continuity-corrected rank-sum statistic of
// (x − d) against y. It does not increase as d grows.
func (w *rankSum) z(d float64) (float64, error) {
	nx, ny := len(w.x), len(w.y)
	var rankX, tieTerm float64
	pos := 1.0
	i, j := 0, 0
	for i < nx || j < ny {
		fromX := j >= ny || (i < nx && !(w.x[i]-d > w.y[j]))
		var v float64
		if fromX {
			v = w.x[i] - d
		} else {
			v = w.y[j]
		}
		cx, cy := 0, 0
		for i < nx && w.x[i]-d == v {
			i++
			cx++
		}
		for j < ny && w.y[j] == v {
			j++
			cy++
		}
		if cx+cy == 0 { // NaN equals nothing, not even itself: rank it alone
			if fromX {
				i, cx = i+1, 1
			} else {
				j, cy = j+1, 1
			}
		}
		t := float64(cx + cy)
		avg := pos + (t-1)/2
		rankX += float64(cx) * avg
		tieTerm += t*t*t - t
		pos += t
	}
	fx, fy := float64(nx), float64(ny)
	dz := rankX - fx*(fx+1)/2 - fx*fy/2
	corr := 0.0
	if dz > 0 {
		corr = 0.5
	} else if dz < 0 {
		corr = -0.5
	}
	sigma := math.Sqrt(fx * fy / 12 * ((fx + fy + 1) - tieTerm/((fx+fy)*(fx+fy-1))))
	if sigma == 0 || math.IsNaN(sigma) {
		return 0, errAllTied
	}
	return (dz - corr) / sigma, nil
}

// mannWhitney estimates the shift experiment − control at the confidence
// level conf (0.98 in production).
func mannWhitney(experiment, control []float64, conf float64) (shift, error) {
	w := newRankSum(experiment, control)
	muMin := w.x[0] - w.y[len(w.y)-1]
	muMax := w.x[len(w.x)-1] - w.y[0]
	zq := -normalQuantile((1 - conf) / 2) // 2.326 at 0.98

	var firstErr error
	f := func(zq float64) func(float64) float64 {
		return func(d float64) float64 {
			z, err := w.z(d)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			return z - zq
		}
	}
	root := func(zq float64) float64 {
		g := f(zq)
		lo, hi := g(muMin), g(muMax)
		switch {
		case lo <= 0: // the test never reaches the quantile: the bracket's end
			return muMin
		case hi >= 0:
			return muMax
		}
		return zeroin(muMin, muMax, lo, hi, g)
	}
	var s shift
	s.Lower = root(zq)
	s.Upper = root(-zq)
	g := f(0)
	s.Estimate = zeroin(muMin, muMax, g(muMin), g(muMax), g)
	if firstErr != nil {
		return shift{}, firstErr
	}
	return s, nil
}

// normalQuantile is Φ⁻¹(p) of the standard normal distribution.
func normalQuantile(p float64) float64 {
	return -math.Sqrt2 * math.Erfcinv(2*p)
}

// Brent's root finder as R's zeroin: bisection, secant and inverse
// quadratic interpolation on a bracket [a, b] whose ends' values f(a) = fa
// and f(b) = fb have opposite signs, to an absolute tolerance of 1e-4. When
// it does not converge it returns its last iterate, as R and Kayenta do.
const (
	zeroinTolerance  = 1e-4
	zeroinIterations = 1000
	machineEpsilon   = 2.220446049250313e-16
)

func zeroin(a, b, fa, fb float64, f func(float64) float64) float64 {
	if fa == 0 {
		return a
	}
	if fb == 0 {
		return b
	}
	c, fc := a, fa
	for it := 0; it <= zeroinIterations; it++ {
		prev := b - a
		if math.Abs(fc) < math.Abs(fb) {
			// b is the best guess so far; c stays on the other side of the root.
			a, b, c = b, c, b
			fa, fb, fc = fb, fc, fb
		}
		tol := 2*machineEpsilon*math.Abs(b) + zeroinTolerance/2
		step := (c - b) / 2
		if math.Abs(step) <= tol || fb == 0 {
			return b
		}
		if math.Abs(prev) >= tol && math.Abs(fa) > math.Abs(fb) {
			cb := c - b
			var p, q float64
			if a == c { // secant
				t1 := fb / fa
				p = cb * t1
				q = 1 - t1
			} else { // inverse quadratic interpolation
				q = fa / fc
				t1 := fb / fc
				t2 := fb / fa
				p = t2 * (cb*q*(q-t1) - (b-a)*(t1-1))
				q = (q - 1) * (t1 - 1) * (t2 - 1)
			}
			if p > 0 {
				q = -q
			} else {
				p = -p
			}
			if p < 0.75*cb*q-math.Abs(tol*q)/2 && p < math.Abs(prev*q/2) {
				step = p / q
			}
		}
		if math.Abs(step) < tol {
			if step > 0 {
				step = tol
			} else {
				step = -tol
			}
		}
		a, fa = b, fb
		b += step
		fb = f(b)
		if (fb > 0 && fc > 0) || (fb < 0 && fc < 0) {
			c, fc = a, fa
		}
	}
	return b
}
