package embedded

import (
	"bytes"
	"hash/maphash"
	"sync"

	"github.com/gennaker/gennaker/shared/model"
)

// Reading a run decodes every one of its stages, and the orchestrator reads
// a run each time one of its stages moves: for a run of a hundred stages the
// same records are decoded thousands of times. stageCache keeps decoded
// stages by content — the stored bytes, revision included — so a record is
// decoded once per version and callers get copies they may change.
type stageCache struct {
	mu      sync.Mutex
	seed    maphash.Seed
	entries map[uint64]cachedStage
}

type cachedStage struct {
	raw   []byte
	stage *model.StageExecution
}

// maxCachedStages bounds the cache; past it the cache starts again empty.
const maxCachedStages = 20000

var decodedStages = &stageCache{seed: maphash.MakeSeed(), entries: map[uint64]cachedStage{}}

// get returns a copy of the stage stored as raw, decoding it if needed.
func (c *stageCache) get(raw []byte, decode func([]byte) (*model.StageExecution, error)) (*model.StageExecution, error) {
	h := maphash.Bytes(c.seed, raw)
	c.mu.Lock()
	e, ok := c.entries[h]
	c.mu.Unlock()
	if ok && bytes.Equal(e.raw, raw) {
		return cloneStage(e.stage), nil
	}
	s, err := decode(raw)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.entries) >= maxCachedStages {
		c.entries = map[uint64]cachedStage{}
	}
	c.entries[h] = cachedStage{raw: bytes.Clone(raw), stage: cloneStage(s)}
	c.mu.Unlock()
	return s, nil
}

// cloneStage copies a stage deeply enough that changing the copy's maps and
// slices never reaches the original.
func cloneStage(s *model.StageExecution) *model.StageExecution {
	c := *s
	c.Context = cloneMap(s.Context)
	c.Outputs = cloneMap(s.Outputs)
	c.Orchestration.Config = cloneMap(s.Orchestration.Config)
	c.Extra = cloneExtra(s.Extra)
	if s.Tasks != nil {
		c.Tasks = append([]model.TaskExecution{}, s.Tasks...)
		for i := range c.Tasks {
			c.Tasks[i].Extra = cloneExtra(c.Tasks[i].Extra)
		}
	}
	if s.RequisiteStageRefIDs != nil {
		c.RequisiteStageRefIDs = append([]string{}, s.RequisiteStageRefIDs...)
	}
	if s.LastModified != nil {
		lm := *s.LastModified
		lm.Extra = cloneExtra(lm.Extra)
		c.LastModified = &lm
	}
	return &c
}

// cloneExtra copies the map; its raw values are never changed in place.
func cloneExtra(x model.Extra) model.Extra {
	if x == nil {
		return nil
	}
	out := make(model.Extra, len(x))
	for k, v := range x {
		out[k] = v
	}
	return out
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	default:
		// JSON decoding yields only maps, slices and immutable scalars.
		return v
	}
}
