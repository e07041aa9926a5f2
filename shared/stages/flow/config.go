package flow

import (
	"strings"

	"github.com/gennaker/gennaker/shared/stages"
)

// problemAt reports whether decoding already found a problem at path or
// inside it, so that a check of the same field does not say it twice.
func problemAt(p stages.Problems, path string) bool {
	for _, pr := range p {
		if pr.Path == path || strings.HasPrefix(pr.Path, path+".") || strings.HasPrefix(pr.Path, path+"[") {
			return true
		}
	}
	return false
}

// decodeContext decodes a running stage's context into cfg, a pointer, and
// returns it, or the problems as a stages.ConfigError.
func decodeContext[C any](ctx map[string]any, cfg C) (C, error) {
	if err := stages.Decode(ctx, cfg).Err(); err != nil {
		var zero C
		return zero, err
	}
	return cfg, nil
}
