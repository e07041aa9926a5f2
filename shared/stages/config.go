package stages

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gennaker/gennaker/shared/model"
)

// The readers below take a stage's context (its evaluated configuration plus
// what earlier tasks recorded) and return a typed value, whether the key was
// set, and an error that names the field. A key that is absent, null or an
// empty string counts as not set, because Deck saves cleared inputs as "".
//
// Values are read leniently where Spinnaker is lenient: expressions evaluate
// to strings, so "30" is a number and "true" a boolean.

// Int reads a whole number: a JSON number or a numeric string.
func Int(ctx map[string]any, key string) (int64, bool, error) {
	v, ok := Lookup(ctx, key)
	if !ok {
		return 0, false, nil
	}
	n, err := ToInt(v)
	if err != nil {
		return 0, true, fmt.Errorf("%s: %w", key, err)
	}
	return n, true, nil
}

// String reads a string. Numbers and booleans are not strings.
func String(ctx map[string]any, key string) (string, bool, error) {
	v, ok := Lookup(ctx, key)
	if !ok {
		return "", false, nil
	}
	s, isString := v.(string)
	if !isString {
		return "", true, fmt.Errorf("%s: must be a string, not %s", key, Describe(v))
	}
	return s, true, nil
}

// Bool reads a boolean: true, false, or the strings "true" and "false" in any
// case.
func Bool(ctx map[string]any, key string) (bool, bool, error) {
	v, ok := Lookup(ctx, key)
	if !ok {
		return false, false, nil
	}
	b, err := ToBool(v)
	if err != nil {
		return false, true, fmt.Errorf("%s: %w", key, err)
	}
	return b, true, nil
}

// Ints reads a list of whole numbers, such as HTTP status codes.
func Ints(ctx map[string]any, key string) ([]int64, bool, error) {
	v, ok := Lookup(ctx, key)
	if !ok {
		return nil, false, nil
	}
	list, isList := v.([]any)
	if !isList {
		return nil, true, fmt.Errorf("%s: must be a list of numbers, not %s", key, Describe(v))
	}
	out := make([]int64, 0, len(list))
	for i, item := range list {
		n, err := ToInt(item)
		if err != nil {
			return nil, true, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		out = append(out, n)
	}
	return out, true, nil
}

// DecodeField decodes one field of the context into v and reports whether the
// field was set.
func DecodeField(ctx map[string]any, key string, v any) (bool, error) {
	raw, ok := Lookup(ctx, key)
	if !ok {
		return false, nil
	}
	return true, decodeValue(key, raw, v)
}

func decodeValue(prefix string, in, v any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: %w", OrDefault(prefix, "context"), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field := JoinPath(prefix, typeErr.Field)
			return fmt.Errorf("%s: must be %s, not %s", OrDefault(field, "context"), goTypeName(typeErr.Type.Kind().String()), typeErr.Value)
		}
		return fmt.Errorf("%s: %w", OrDefault(prefix, "context"), err)
	}
	return nil
}

// StageConfig returns a pipeline stage's configuration as the map its tasks
// will see as context (before expressions are evaluated).
func StageConfig(s *model.Stage) (map[string]any, error) {
	return s.Config()
}

// OverridableTimeout is Spinnaker's rule for polling tasks whose bound a stage
// may override: stageTimeoutMs when set, otherwise the task's own default.
func OverridableTimeout(s *model.StageExecution, dflt time.Duration) time.Duration {
	if s != nil {
		if ms, ok, err := Int(s.Context, "stageTimeoutMs"); err == nil && ok && ms > 0 {
			return time.Duration(ms) * time.Millisecond
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

func Lookup(ctx map[string]any, key string) (any, bool) {
	v, ok := ctx[key]
	if !ok || v == nil {
		return nil, false
	}
	if s, isString := v.(string); isString && strings.TrimSpace(s) == "" {
		return nil, false
	}
	return v, true
}

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

func JoinPath(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	default:
		return prefix + "." + field
	}
}

func OrDefault(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// AddErr records a reader error, whose message starts with the path.
// Transitional: typed configurations report paths through Decode.
func (p *Problems) AddErr(err error) {
	path, msg, ok := strings.Cut(err.Error(), ": ")
	if !ok {
		path, msg = "", err.Error()
	}
	*p = append(*p, model.Problem{Path: path, Message: msg})
}

// RawConfigOf returns a stage's configuration for validation, recording a
// problem when it cannot be read.
func RawConfigOf(s *model.Stage, p *Problems) map[string]any {
	cfg, err := StageConfig(s)
	if err != nil {
		p.Add("", "cannot read the stage configuration: %v", err)
		return map[string]any{}
	}
	return cfg
}

// CheckField validates an optional field with one of the readers, accepting
// expressions, which are only known at run time.
func CheckField(cfg map[string]any, key string, p *Problems, read func(map[string]any, string) error) {
	if IsExpression(cfg[key]) {
		return
	}
	if err := read(cfg, key); err != nil {
		p.AddErr(err)
	}
}

func ReadsInt(cfg map[string]any, key string) error { _, _, err := Int(cfg, key); return err }

func ReadsBool(cfg map[string]any, key string) error { _, _, err := Bool(cfg, key); return err }

func ReadsString(cfg map[string]any, key string) error { _, _, err := String(cfg, key); return err }

func ReadsInts(cfg map[string]any, key string) error { _, _, err := Ints(cfg, key); return err }

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
