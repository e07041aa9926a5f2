package stages

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/model"
)

// Helpers for tasks: when a task started, Spinnaker's overridable polling
// bound, and the lenient reading of numbers and booleans Decode applies
// (expressions evaluate to strings, so "30" is a number and "true" a
// boolean).

// OverridableTimeout is Spinnaker's rule for polling tasks whose bound a stage
// may override: stageTimeoutMs when set, otherwise the task's own default.
func OverridableTimeout(s *model.StageExecution, dflt time.Duration) time.Duration {
	if s != nil {
		if v := s.Context["stageTimeoutMs"]; !Unset(v) {
			if ms, err := ToInt(v); err == nil && ms > 0 {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	return dflt
}

// TaskStart is when the running task named name began: the stage's
// bookkeeping if set, else the start of the task's unfinished entry in the
// stage's task list, else the stage start.
func TaskStart(run *Run, name string) (time.Time, error) {
	s := run.Stage
	if s.Orchestration.TaskStartTime > 0 {
		return time.UnixMilli(s.Orchestration.TaskStartTime), nil
	}
	for _, t := range s.Tasks {
		if t.Name == name && !t.Status.IsComplete() && t.StartTime > 0 {
			return time.UnixMilli(t.StartTime), nil
		}
	}
	if s.StartTime > 0 {
		return time.UnixMilli(s.StartTime), nil
	}
	return time.Time{}, fmt.Errorf("stage %s (%s) has no start time", s.ID, s.Name)
}

// ToInt reads a whole number: a JSON number or a numeric string.
func ToInt(v any) (int64, error) {
	switch n := v.(type) {
	case int:
		return int64(n), nil
	case int32:
		return int64(n), nil
	case int64:
		return n, nil
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) || n > math.MaxInt64 || n < math.MinInt64 {
			return 0, fmt.Errorf("%v is not a whole number", n)
		}
		return int64(n), nil
	case json.Number:
		return ToInt(string(n))
	case string:
		s := strings.TrimSpace(n)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return ToInt(f)
		}
		return 0, fmt.Errorf("must be a number, not %q", n)
	default:
		return 0, fmt.Errorf("must be a number, not %s", Describe(v))
	}
}

// ToBool reads true or false, or the strings "true" and "false" in any case.
func ToBool(v any) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, fmt.Errorf("must be true or false, not %q", b)
	default:
		return false, fmt.Errorf("must be true or false, not %s", Describe(v))
	}
}

// Describe names a JSON value's kind for error messages.
func Describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case float64, int, int64, json.Number:
		return fmt.Sprintf("the number %v", x)
	case string:
		return fmt.Sprintf("the string %q", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// goTypeName names the JSON kind a Go kind holds, for error messages.
func goTypeName(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	default:
		return kind
	}
}

// FailedWith is Failed with extra context entries merged in.
func FailedWith(extra map[string]any, format string, args ...any) Result {
	r := Failed(format, args...)
	for k, v := range extra {
		r.Context[k] = v
	}
	return r
}

// WithStatus returns r with another failure status.
func WithStatus(r Result, st model.Status) Result {
	r.Status = st
	return r
}
