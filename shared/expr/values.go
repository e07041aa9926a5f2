package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// This file holds the value semantics SpEL users rely on and expr-lang does
// differently: Java-style string conversion, "+" that concatenates, integer
// division, full-match regular expressions and the Elvis test.

// javaTypeName names the Java type a user would think of for v, for error
// messages.
func javaTypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "String"
	case bool:
		return "Boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "Integer"
	case float32, float64:
		return "Double"
	case []any:
		return "List"
	case map[string]any:
		return "Map"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice, reflect.Array:
		return "List"
	case reflect.Map:
		return "Map"
	}
	return fmt.Sprintf("%T", v)
}

// describe renders v with its type for error messages: String "prod".
func describe(v any) string {
	if v == nil {
		return "null"
	}
	return javaTypeName(v) + " " + abbreviate(quoteIfString(v), 60)
}

func quoteIfString(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return javaString(v)
}

// javaString converts v to text the way string concatenation does in
// Spinnaker: null is "null", numbers read as they were written in the JSON
// they came from (5, not 5.0), and maps and lists are rendered as JSON.
func javaString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatFloat(x)
	case float32:
		return formatFloat(float64(x))
	}
	if i, ok := toInt64(v); ok {
		return strconv.FormatInt(i, 10)
	}
	if s, err := toJSON(v); err == nil {
		return s
	}
	return fmt.Sprint(v)
}

// formatFloat writes f as encoding/json would, so a number read from JSON
// keeps its spelling: 5 stays "5", 1.5 stays "1.5".
func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// toJSON renders v as compact JSON without HTML escaping, like Jackson.
func toJSON(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// isInteger reports whether v is one of Go's integer types.
func isInteger(v any) bool {
	switch v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// toInt64 converts integers, and floats with no fractional part (JSON
// numbers), to int64.
func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case float32:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) < 1<<24 {
			return int64(f), true
		}
	}
	return 0, false
}

// toFloat64 converts any Go number to float64.
func toFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	if isInteger(v) {
		i, ok := toInt64(v)
		return float64(i), ok
	}
	return 0, false
}

// isEmptyForElvis is SpEL's Elvis test: null and the empty string take the
// default.
func isEmptyForElvis(v any) bool {
	s, isString := v.(string)
	return v == nil || isString && s == ""
}

// plus is SpEL's "+": string concatenation when either side is a string
// ('v' + 5 is "v5"), arithmetic otherwise.
func plus(a, b any) (any, error) {
	_, aString := a.(string)
	_, bString := b.(string)
	if aString || bString {
		return javaString(a) + javaString(b), nil
	}
	return arithmetic("+", a, b)
}

// arithmetic applies op to two numbers. Two integers give an integer, with
// Java's truncating division; anything else gives a float.
func arithmetic(op string, a, b any) (any, error) {
	if isInteger(a) && isInteger(b) {
		x, _ := toInt64(a)
		y, _ := toInt64(b)
		switch op {
		case "+":
			return int(x + y), nil
		case "/", "%":
			if y == 0 {
				return nil, errors.New("division by zero")
			}
			if op == "/" {
				return int(x / y), nil
			}
			return int(x % y), nil
		}
	}
	x, okA := toFloat64(a)
	y, okB := toFloat64(b)
	if !okA || !okB {
		return nil, fmt.Errorf("operator %s cannot be applied to %s and %s", op, describe(a), describe(b))
	}
	switch op {
	case "+":
		return x + y, nil
	case "/":
		if y == 0 {
			return nil, errors.New("division by zero")
		}
		return x / y, nil
	case "%":
		if y == 0 {
			return nil, errors.New("division by zero")
		}
		return math.Mod(x, y), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

// matches is SpEL's "matches": the whole string must match the Java
// regular expression (which runs on Go's RE2, so backreferences and
// look-arounds are not available).
func matches(s, pattern any) (bool, error) {
	str, ok := s.(string)
	if !ok {
		return false, fmt.Errorf("matches needs a String on its left, not %s", describe(s))
	}
	p, ok := pattern.(string)
	if !ok {
		return false, fmt.Errorf("matches needs a String pattern on its right, not %s", describe(pattern))
	}
	re, err := compileRegexp(`^(?:` + p + `)$`)
	if err != nil {
		return false, fmt.Errorf("invalid regular expression %q: %w", p, err)
	}
	return re.MatchString(str), nil
}

// Compiled regular expressions are cached like programs: pipelines reuse a
// handful of patterns. The cache stops growing at maxRegexps entries.
var (
	regexps     sync.Map // pattern -> *regexp.Regexp
	regexpCount atomic.Int64
)

const maxRegexps = 1024

func compileRegexp(pattern string) (*regexp.Regexp, error) {
	if re, ok := regexps.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	if regexpCount.Load() < maxRegexps {
		if _, loaded := regexps.LoadOrStore(pattern, re); !loaded {
			regexpCount.Add(1)
		}
	}
	return re, nil
}

// maxDepth bounds how deeply nested a value may be; it stops a cyclic or
// absurd input from exhausting the stack.
const maxDepth = 1000

// errTooDeep reports a value nested more than maxDepth levels.
var errTooDeep = fmt.Errorf("value is nested more than %d levels deep", maxDepth)

// normalize deep-copies v into JSON-like values (map[string]any, []any,
// strings, numbers, bools, nil) so that a result never shares memory with
// the evaluation context and always encodes as JSON.
func normalize(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	switch x := v.(type) {
	case nil, string, bool, int, int64, float64:
		return v, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if strings.HasPrefix(k, reservedPrefix) {
				continue // the evaluation context, when #root is returned
			}
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	if i, ok := toInt64(v); ok && isInteger(v) {
		return int(i), nil
	}
	if f, ok := toFloat64(v); ok {
		return f, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			n, err := normalize(iter.Value().Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(iter.Key().Interface())] = n
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalize(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("expression produced a %T, which is not a JSON value", v)
}

// sortedKeys returns m's keys in order, so that results and error lists are
// the same on every run.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
