package triggers

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Quartz is a parsed Quartz cron expression, the form Spinnaker's cron
// triggers use: seconds, minutes, hours, day of month, month, day of week
// (1 = Sunday … 7 = Saturday, or SUN … SAT) and an optional year. Fields
// take *, ?, numbers, names, ranges (a-b), lists (a,b) and steps (a/n,
// */n, a-b/n); Quartz's L, W and # are refused.
type Quartz struct {
	expr                                 string
	seconds, minutes, hours, dom, months []int
	dow, years                           []int
	anyDOM, anyDOW                       bool
}

var (
	monthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	dayNames   = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
)

// ParseQuartz parses a Quartz cron expression, or says which field is wrong.
func ParseQuartz(expr string) (*Quartz, error) {
	f := strings.Fields(expr)
	if len(f) != 6 && len(f) != 7 {
		return nil, fmt.Errorf("cron expression %q has %d fields; Quartz takes 6 or 7: seconds minutes hours day-of-month month day-of-week [year]", expr, len(f))
	}
	q := &Quartz{expr: expr}
	specs := []struct {
		name    string
		lo, hi  int
		names   map[string]int
		dst     *[]int
		anyFlag *bool
	}{
		{"seconds", 0, 59, nil, &q.seconds, nil},
		{"minutes", 0, 59, nil, &q.minutes, nil},
		{"hours", 0, 23, nil, &q.hours, nil},
		{"day of month", 1, 31, nil, &q.dom, &q.anyDOM},
		{"month", 1, 12, monthNames, &q.months, nil},
		{"day of week", 1, 7, dayNames, &q.dow, &q.anyDOW},
		{"year", 1970, 2199, nil, &q.years, nil},
	}
	if len(f) == 6 {
		f = append(f, "*")
	}
	for i, s := range specs {
		vals, any, err := parseField(f[i], s.lo, s.hi, s.names)
		if err != nil {
			return nil, fmt.Errorf("cron expression %q, %s field %q: %w", expr, s.name, f[i], err)
		}
		*s.dst = vals
		if s.anyFlag != nil {
			*s.anyFlag = any
		}
	}
	return q, nil
}

func parseField(field string, lo, hi int, names map[string]int) ([]int, bool, error) {
	if field == "?" || field == "*" {
		return span(lo, hi, 1), true, nil
	}
	var out []int
	for _, part := range strings.Split(field, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 {
				return nil, false, fmt.Errorf("step %q is not a positive number", stepStr)
			}
			step = n
		}
		from, to := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			var err error
			if from, err = value(a, lo, hi, names); err != nil {
				return nil, false, err
			}
			if to, err = value(b, lo, hi, names); err != nil {
				return nil, false, err
			}
		default:
			v, err := value(rng, lo, hi, names)
			if err != nil {
				return nil, false, err
			}
			from = v
			if !hasStep {
				to = v
			}
		}
		if from > to {
			return nil, false, fmt.Errorf("range %d-%d runs backwards", from, to)
		}
		out = append(out, span(from, to, step)...)
	}
	slices.Sort(out)
	return slices.Compact(out), false, nil
}

func value(s string, lo, hi int, names map[string]int) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number%s (L, W and # are not supported)", s, map[bool]string{true: " or a name", false: ""}[names != nil])
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%d is outside %d-%d", v, lo, hi)
	}
	return v, nil
}

func span(from, to, step int) []int {
	var out []int
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

// String is the expression as written.
func (q *Quartz) String() string { return q.expr }

// dayMatches applies Quartz's day rule: with one of day-of-month and
// day-of-week left open (? or *), the other decides; with both given,
// either may match.
func (q *Quartz) dayMatches(t time.Time) bool {
	domOK := slices.Contains(q.dom, t.Day())
	dowOK := slices.Contains(q.dow, int(t.Weekday())+1)
	switch {
	case q.anyDOM && q.anyDOW:
		return true
	case q.anyDOM:
		return dowOK
	case q.anyDOW:
		return domOK
	}
	return domOK || dowOK
}

// Next returns the first time after t (in t's location) the expression
// fires, or the zero time if it never fires again.
func (q *Quartz) Next(t time.Time) time.Time {
	loc := t.Location()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	for range 366 * 5 {
		if slices.Contains(q.years, day.Year()) && slices.Contains(q.months, int(day.Month())) && q.dayMatches(day) {
			for _, h := range q.hours {
				for _, m := range q.minutes {
					for _, s := range q.seconds {
						c := time.Date(day.Year(), day.Month(), day.Day(), h, m, s, 0, loc)
						if c.After(t) {
							return c
						}
					}
				}
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// EventBridge returns the expression in EventBridge Scheduler's cron()
// form, which has no seconds: a Quartz expression that fires at a second
// other than 0 cannot be written in it, and ok is false.
func (q *Quartz) EventBridge() (expr string, ok bool) {
	f := strings.Fields(q.expr)
	if len(f) == 6 {
		f = append(f, "*")
	}
	ok = len(q.seconds) == 1 && q.seconds[0] == 0
	return "cron(" + strings.Join(f[1:], " ") + ")", ok
}
