package cost

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// Memory the CDK app gives each function, in MB; the local runtime prices
// its in-process invocations as these functions would be billed.
const (
	OrchestratorMemoryMB = 512
	TasksMemoryMB        = 1024
	APIMemoryMB          = 512
)

// StepHandler is a state machine step as a Lambda function serves it: a
// raw JSON payload in and out.
type StepHandler func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error)

// Step counts each invocation of a step function — one Lambda request, its
// billed duration times memoryMB, and the request units its store calls
// consumed — and adds it to the ledger of the run named by the payload's
// executionId. A ledger that cannot be written is logged, never fails the
// step.
func Step(recs Records, function string, memoryMB int, log *slog.Logger, next StepHandler) StepHandler {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		m := &Meter{}
		start := time.Now()
		out, err := next(WithMeter(ctx, m), payload)
		u := m.Usage()
		u.Invocations++
		u.GBSeconds += Compute(time.Since(start), memoryMB)
		u.WriteUnits += EntryWriteUnits
		var ids struct {
			ExecutionID string `json:"executionId"`
		}
		_ = json.Unmarshal(payload, &ids)
		if rerr := Record(ctx, recs, ids.ExecutionID, function, u); rerr != nil && log != nil {
			log.WarnContext(ctx, "cost not recorded", "executionId", ids.ExecutionID, "error", rerr)
		}
		return out, err
	}
}

// HTTP counts each API request that acts on a run — the handler names the
// run with MeterFrom(ctx).SetRun — as one API call and one invocation of the
// API function, with its compute and request units, on that run's ledger.
// Requests that name no run (listings, reads, saves) are not a run's cost.
func HTTP(recs Records, memoryMB int, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := &Meter{}
		start := time.Now()
		next.ServeHTTP(w, r.WithContext(WithMeter(r.Context(), m)))
		run := m.Run()
		if run == "" {
			return
		}
		u := m.Usage()
		u.APICalls++
		u.Invocations++
		u.GBSeconds += Compute(time.Since(start), memoryMB)
		u.WriteUnits += EntryWriteUnits
		if err := Record(r.Context(), recs, run, "api", u); err != nil && log != nil {
			log.WarnContext(r.Context(), "cost not recorded", "executionId", run, "error", err)
		}
	})
}
