package cost

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
)

// Meter adds up what one invocation uses. The stores add the request units
// of every call made with a context that carries one; a nil *Meter counts
// nothing.
type Meter struct {
	mu  sync.Mutex
	u   Usage
	run string
}

type meterKey struct{}

// WithMeter returns a context whose store calls are counted on m.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

// MeterFrom returns the context's meter, or nil.
func MeterFrom(ctx context.Context) *Meter {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	return m
}

// Add counts u.
func (m *Meter) Add(u Usage) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.u.Add(u)
	m.mu.Unlock()
}

// Usage is what the meter has counted.
func (m *Meter) Usage() Usage {
	if m == nil {
		return Usage{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.u
}

// SetRun names the run the metered work was for, when the caller learns it
// only on the way (an API call that triggers a run).
func (m *Meter) SetRun(id string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.run = id
	m.mu.Unlock()
}

// Run is the run named by SetRun, or "".
func (m *Meter) Run() string {
	if m == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.run
}

// ReadUnits counts DynamoDB read units on the context's meter.
func ReadUnits(ctx context.Context, units float64) { MeterFrom(ctx).Add(Usage{ReadUnits: units}) }

// WriteUnits counts DynamoDB write units on the context's meter.
func WriteUnits(ctx context.Context, units float64) { MeterFrom(ctx).Add(Usage{WriteUnits: units}) }

// Units DynamoDB bills for an item of size bytes: a strongly consistent
// read is one unit per 4 KB, a write one per 1 KB, each at least one.
func ReadUnitsOf(size int) float64  { return math.Max(1, math.Ceil(float64(size)/4096)) }
func WriteUnitsOf(size int) float64 { return math.Max(1, math.Ceil(float64(size)/1024)) }

// Compute is the Lambda compute of one invocation: its duration rounded up
// to the millisecond, as Lambda bills it, times the function's memory.
func Compute(d time.Duration, memoryMB int) float64 {
	ms := math.Ceil(float64(d) / float64(time.Millisecond))
	return ms / 1000 * float64(memoryMB) / 1024
}

// EntryWriteUnits is what writing one ledger entry costs: it is smaller
// than 1 KB. The entry counts its own write.
const EntryWriteUnits = 1

// Records is where ledgers are kept: store.Records is one.
type Records interface {
	Put(ctx context.Context, key string, value []byte) error
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error
}

const ledgerPrefix = "cost/"

func ledgerKey(run string) string { return ledgerPrefix + run + "/" }

// Record adds u to a run's ledger as an entry of its own, named by source
// (the function, say) and a random suffix, so writers never contend.
func Record(ctx context.Context, recs Records, run, source string, u Usage) error {
	if run == "" || recs == nil || u.Zero() {
		return nil
	}
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	key := fmt.Sprintf("%s%s-%d-%s", ledgerKey(run), source, time.Now().UnixNano(), hex.EncodeToString(suffix[:]))
	if err := recs.Put(context.WithoutCancel(ctx), key, b); err != nil {
		return fmt.Errorf("record the cost of run %s: %w", run, err)
	}
	return nil
}

// Of sums a run's ledger.
func Of(ctx context.Context, recs Records, run string) (Usage, error) {
	var total Usage
	err := recs.Scan(ctx, ledgerKey(run), func(key string, value []byte) error {
		var u Usage
		if err := json.Unmarshal(value, &u); err != nil {
			return fmt.Errorf("cost ledger entry %s: %w", strings.TrimPrefix(key, ledgerPrefix), err)
		}
		total.Add(u)
		return nil
	})
	return total, err
}
