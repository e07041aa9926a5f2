package triggers

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sync"
)

// patterns caches compiled trigger patterns: the same few patterns are
// matched against every event.
var patterns sync.Map // string -> *regexp.Regexp or error

func compile(pattern string) (*regexp.Regexp, error) {
	if v, ok := patterns.Load(pattern); ok {
		if re, ok := v.(*regexp.Regexp); ok {
			return re, nil
		}
		return nil, v.(error)
	}
	re, err := regexp.Compile(`^(?:` + pattern + `)$`)
	if err != nil {
		patterns.Store(pattern, err)
		return nil, err
	}
	patterns.Store(pattern, re)
	return re, nil
}

func jsonUnmarshal(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
