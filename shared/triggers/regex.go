package triggers

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/gennaker/gennaker/shared/artifacts"
)

func compile(pattern string) (*regexp.Regexp, error) { return artifacts.Compile(pattern) }

func jsonUnmarshal(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
