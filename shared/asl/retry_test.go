package asl

import (
	"testing"
	"time"
)

func TestRetryDelays(t *testing.T) {
	sm, err := Parse([]byte(`{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:f","End":true,
		"Retry":[
			{"ErrorEquals":["Defaults"]},
			{"ErrorEquals":["Backoff"],"IntervalSeconds":2,"BackoffRate":1.5,"MaxAttempts":4},
			{"ErrorEquals":["Capped"],"IntervalSeconds":1,"BackoffRate":3,"MaxDelaySeconds":5,"MaxAttempts":4},
			{"ErrorEquals":["Jitter"],"IntervalSeconds":10,"JitterStrategy":"FULL","MaxAttempts":20}
		]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := sm.graph.states["T"]
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	tests := []struct {
		error string
		want  []time.Duration // delay before each retry; then no more retries
	}{
		{"Defaults", []time.Duration{sec(1), sec(2), sec(4)}},
		{"Backoff", []time.Duration{sec(2), sec(3), sec(4.5), sec(6.75)}},
		{"Capped", []time.Duration{sec(1), sec(3), sec(5), sec(5)}},
	}
	for _, tt := range tests {
		t.Run(tt.error, func(t *testing.T) {
			f := &frame{x: &execution{rt: &Runtime{scale: 1}}}
			for i, want := range tt.want {
				got, ok := f.retryDelay(s, &Error{Name: tt.error})
				if !ok || got != want {
					t.Fatalf("retry %d: delay %v, retry %v; want %v, true", i+1, got, ok, want)
				}
			}
			if got, ok := f.retryDelay(s, &Error{Name: tt.error}); ok {
				t.Fatalf("retried after MaxAttempts (delay %v)", got)
			}
			if f.pos.RetryCount != 0 {
				t.Fatal("retryDelay must not count retries itself")
			}
		})
	}
	t.Run("Jitter", func(t *testing.T) {
		f := &frame{x: &execution{rt: &Runtime{scale: 1}}}
		varied := false
		for i := range 20 {
			got, ok := f.retryDelay(s, &Error{Name: "Jitter"})
			max := sec(10 * pow2(i))
			if !ok || got < 0 || got > max {
				t.Fatalf("retry %d: delay %v; want within [0, %v]", i+1, got, max)
			}
			if got != max {
				varied = true
			}
		}
		if !varied {
			t.Fatal("FULL jitter never shortened a delay")
		}
	})
	t.Run("unmatched error", func(t *testing.T) {
		f := &frame{x: &execution{rt: &Runtime{scale: 1}}}
		if _, ok := f.retryDelay(s, &Error{Name: "Other"}); ok {
			t.Fatal("retried an error no retrier names")
		}
		if _, ok := f.retryDelay(s, &Error{Name: ErrorRuntime}); ok {
			t.Fatal("retried States.Runtime")
		}
	})
}

func pow2(n int) float64 {
	f := 1.0
	for range n {
		f *= 2
	}
	return f
}

func TestErrorMatching(t *testing.T) {
	tests := []struct {
		err, pattern string
		want         bool
	}{
		{"Custom", "Custom", true},
		{"Custom", "Other", false},
		{"Custom", ErrorAll, true},
		{"Custom", ErrorTaskFailed, true},
		{ErrorTimeout, ErrorAll, true},
		{ErrorTimeout, ErrorTaskFailed, false},
		{ErrorTimeout, ErrorTimeout, true},
		{ErrorHeartbeatTimeout, ErrorTaskFailed, true},
		{ErrorRuntime, ErrorAll, false},
		{ErrorRuntime, ErrorRuntime, false},
		{ErrorDataLimitExceeded, ErrorAll, false},
		{ErrorIntrinsicFailure, ErrorAll, true},
	}
	for _, tt := range tests {
		if got := (&Error{Name: tt.err}).matches(tt.pattern); got != tt.want {
			t.Errorf("%s matches %s = %v; want %v", tt.err, tt.pattern, got, tt.want)
		}
	}
}
