package judge

import (
	"fmt"
	"math/rand"
	"testing"
)

// BenchmarkJudge100x1000 judges 100 metrics of 1,000 points a side, every
// third one shifted, in five groups: one canary run of a large config.
func BenchmarkJudge100x1000(b *testing.B) {
	rng := rand.New(rand.NewSource(7))
	cfg := Config{Metrics: map[string]Metric{}}
	var series []Series
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("metric-%03d", i)
		m := MetricDefaults(name)
		m.Groups = []string{fmt.Sprintf("group-%d", i%5)}
		cfg.Metrics[name] = m
		shift := 0.0
		if i%3 == 0 {
			shift = 0.5
		}
		s := Series{Name: name, Control: make([]float64, 1000), Experiment: make([]float64, 1000)}
		for k := range s.Control {
			s.Control[k] = 100 + rng.NormFloat64()*5
			s.Experiment[k] = 100 + shift*5 + rng.NormFloat64()*5
		}
		series = append(series, s)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := Production.Judge(cfg, series, Thresholds{Pass: 75, Marginal: 50})
		if len(j.Results) != 100 {
			b.Fatal("missing results")
		}
	}
}
