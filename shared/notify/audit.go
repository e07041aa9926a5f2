package notify

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
	"github.com/gennaker/gennaker/shared/store"
)

// AuditFilter narrows the audit log.
type AuditFilter struct {
	// Application keeps one application's events; empty keeps all.
	Application model.ApplicationName
	// Since keeps events at or after this time (ms since the epoch).
	Since int64
	// Types keeps events of these types, or whose type starts with one
	// followed by a dot ("pipeline" keeps pipeline.*); empty keeps all.
	Types []string
	// Execution keeps one run's events.
	Execution model.ExecutionID
	// Limit is the most events returned; 0 means no limit.
	Limit int
}

func (f AuditFilter) keeps(ev Event) bool {
	if ev.Time < f.Since || (f.Execution != "" && ev.ExecutionID != f.Execution) {
		return false
	}
	if len(f.Types) == 0 {
		return true
	}
	for _, t := range f.Types {
		if ev.Type == t || strings.HasPrefix(ev.Type, t+".") {
			return true
		}
	}
	return false
}

// Audit returns the events the filter keeps, newest first.
func Audit(ctx context.Context, recs store.Records, f AuditFilter) ([]Event, error) {
	prefix := auditPrefix
	if f.Application != "" {
		prefix += string(f.Application) + "/"
	}
	var out []Event
	err := recs.Scan(ctx, prefix, func(_ string, v []byte) error {
		var ev Event
		if json.Unmarshal(v, &ev) == nil && f.keeps(ev) {
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b Event) int { return compareEvents(b, a) })
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}
