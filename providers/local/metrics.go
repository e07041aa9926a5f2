package local

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"
)

// buckets are the request latency histogram's upper bounds, in seconds.
var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// metrics counts a load balancer's requests per server group, for the
// Prometheus text format.
type metrics struct {
	mu     sync.Mutex
	groups map[string]*groupMetrics
}

type groupMetrics struct {
	codes  map[int]uint64
	errors uint64
	counts []uint64 // per bucket, not cumulative
	sum    float64
	total  uint64
}

func newMetrics() *metrics { return &metrics{groups: map[string]*groupMetrics{}} }

// observe records one answered request. 5xx answers (including the load
// balancer's own 502 and 503) count as errors.
func (m *metrics) observe(group string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.groups[group]
	if !ok {
		g = &groupMetrics{codes: map[int]uint64{}, counts: make([]uint64, len(buckets)+1)}
		m.groups[group] = g
	}
	g.codes[code]++
	if code >= 500 {
		g.errors++
	}
	secs := d.Seconds()
	i := sort.SearchFloat64s(buckets, secs)
	g.counts[i]++
	g.sum += secs
	g.total++
}

func (m *metrics) write(w io.Writer, lb string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.groups))
	for n := range m.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	labels := func(group string) string {
		return fmt.Sprintf(`load_balancer=%q,server_group=%q`, lb, group)
	}
	fmt.Fprintln(w, "# HELP gennaker_lb_requests_total Requests answered through the load balancer, by server group and status code.")
	fmt.Fprintln(w, "# TYPE gennaker_lb_requests_total counter")
	for _, n := range names {
		g := m.groups[n]
		codes := make([]int, 0, len(g.codes))
		for c := range g.codes {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			fmt.Fprintf(w, "gennaker_lb_requests_total{%s,code=\"%d\"} %d\n", labels(n), c, g.codes[c])
		}
	}
	fmt.Fprintln(w, "# HELP gennaker_lb_request_errors_total Requests answered with a 5xx status or not answered, by server group.")
	fmt.Fprintln(w, "# TYPE gennaker_lb_request_errors_total counter")
	for _, n := range names {
		fmt.Fprintf(w, "gennaker_lb_request_errors_total{%s} %d\n", labels(n), m.groups[n].errors)
	}
	fmt.Fprintln(w, "# HELP gennaker_lb_request_duration_seconds Time to answer a request through the load balancer, by server group.")
	fmt.Fprintln(w, "# TYPE gennaker_lb_request_duration_seconds histogram")
	for _, n := range names {
		g := m.groups[n]
		var cum uint64
		for i, b := range buckets {
			cum += g.counts[i]
			fmt.Fprintf(w, "gennaker_lb_request_duration_seconds_bucket{%s,le=%q} %d\n", labels(n), strconv.FormatFloat(b, 'g', -1, 64), cum)
		}
		cum += g.counts[len(buckets)]
		fmt.Fprintf(w, "gennaker_lb_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", labels(n), cum)
		fmt.Fprintf(w, "gennaker_lb_request_duration_seconds_sum{%s} %g\n", labels(n), g.sum)
		fmt.Fprintf(w, "gennaker_lb_request_duration_seconds_count{%s} %d\n", labels(n), g.total)
	}
}
