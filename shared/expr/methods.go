package expr

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm/runtime"
)

// This file gives strings, lists, maps, numbers and booleans the Java
// methods pipelines call on them ('x'.toUpperCase(), list.size(),
// map.containsKey('k')), and the static methods reachable through T(...).
// Indexes count characters (runes); Java counts UTF-16 units, which only
// differs outside the Basic Multilingual Plane.

// callMethod calls the Java method name on recv.
func callMethod(name string, recv any, args []any) (any, error) {
	if recv == nil {
		return nil, fmt.Errorf("cannot call %s() on null", name)
	}
	out, handled, err := anyMethod(name, recv, args)
	if !handled {
		switch x := recv.(type) {
		case string:
			out, handled, err = stringMethod(name, x, args)
		case []any:
			out, handled, err = listMethod(name, x, args)
		case map[string]any:
			out, handled, err = mapMethod(name, x, args)
		case bool:
			if name == "booleanValue" {
				out, handled, err = x, true, wantArgs(args, 0)
			}
		default:
			if _, ok := toFloat64(recv); ok {
				out, handled, err = numberMethod(name, recv, args)
			} else if n, nerr := normalize(recv, 0); nerr == nil {
				if _, isList := n.([]any); isList {
					return callMethod(name, n, args)
				}
				if _, isMap := n.(map[string]any); isMap {
					return callMethod(name, n, args)
				}
			}
		}
	}
	if !handled {
		return nil, fmt.Errorf("%s has no method %s()", javaTypeName(recv), name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s(): %w", name, err)
	}
	return out, nil
}

// anyMethod implements the methods every Java object has.
func anyMethod(name string, recv any, args []any) (any, bool, error) {
	switch name {
	case "toString":
		return javaString(recv), true, wantArgs(args, 0)
	case "equals":
		if err := wantArgs(args, 1); err != nil {
			return nil, true, err
		}
		return equal(recv, args[0]), true, nil
	}
	return nil, false, nil
}

// equal is Java's equals, with numbers compared by value since JSON does
// not keep Java's Integer and Double apart.
func equal(a, b any) bool {
	return runtime.Equal(a, b)
}

func stringMethod(name, s string, args []any) (any, bool, error) {
	arity := func(n ...int) error {
		for _, k := range n {
			if len(args) == k {
				return nil
			}
		}
		return fmt.Errorf("takes %v argument(s), got %d", n, len(args))
	}
	str := func(i int) (string, error) {
		if x, ok := args[i].(string); ok {
			return x, nil
		}
		return "", fmt.Errorf("argument %d is %s, not a String", i+1, describe(args[i]))
	}
	var (
		out any
		err error
	)
	switch name {
	case "toUpperCase":
		out, err = strings.ToUpper(s), arity(0)
	case "toLowerCase":
		out, err = strings.ToLower(s), arity(0)
	case "trim", "strip":
		out, err = strings.TrimSpace(s), arity(0)
	case "length", "size":
		out, err = utf8.RuneCountInString(s), arity(0)
	case "isEmpty":
		out, err = s == "", arity(0)
	case "isBlank":
		out, err = strings.TrimSpace(s) == "", arity(0)
	case "contains", "startsWith", "endsWith", "equalsIgnoreCase", "concat", "compareTo":
		if err = arity(1); err != nil {
			break
		}
		var x string
		if x, err = str(0); err != nil {
			break
		}
		switch name {
		case "contains":
			out = strings.Contains(s, x)
		case "startsWith":
			out = strings.HasPrefix(s, x)
		case "endsWith":
			out = strings.HasSuffix(s, x)
		case "equalsIgnoreCase":
			out = strings.EqualFold(s, x)
		case "concat":
			out = s + x
		case "compareTo":
			out = strings.Compare(s, x)
		}
	case "indexOf", "lastIndexOf":
		if err = arity(1); err != nil {
			break
		}
		var x string
		if x, err = str(0); err != nil {
			break
		}
		i := strings.Index(s, x)
		if name == "lastIndexOf" {
			i = strings.LastIndex(s, x)
		}
		if i >= 0 {
			i = utf8.RuneCountInString(s[:i])
		}
		out = i
	case "substring":
		if err = arity(1, 2); err != nil {
			break
		}
		out, err = substring(s, args)
	case "charAt":
		if err = arity(1); err != nil {
			break
		}
		r := []rune(s)
		i, ok := toInt64(args[0])
		if !ok || i < 0 || i >= int64(len(r)) {
			err = fmt.Errorf("index %s out of range for a String of length %d", javaString(args[0]), len(r))
			break
		}
		out = string(r[i])
	case "replace":
		if err = arity(2); err != nil {
			break
		}
		var a, b string
		if a, err = str(0); err != nil {
			break
		}
		if b, err = str(1); err != nil {
			break
		}
		out = strings.ReplaceAll(s, a, b)
	case "replaceAll", "replaceFirst":
		if err = arity(2); err != nil {
			break
		}
		out, err = replaceRegexp(name, s, args)
	case "matches":
		if err = arity(1); err != nil {
			break
		}
		out, err = matches(s, args[0])
	case "split":
		if err = arity(1, 2); err != nil {
			break
		}
		out, err = split(s, args)
	default:
		return nil, false, nil
	}
	return out, true, err
}

// substring is Java's String.substring(begin[, end]).
func substring(s string, args []any) (any, error) {
	r := []rune(s)
	begin, ok := toInt64(args[0])
	end := int64(len(r))
	if len(args) == 2 {
		var ok2 bool
		end, ok2 = toInt64(args[1])
		ok = ok && ok2
	}
	if !ok {
		return nil, errors.New("indexes must be integers")
	}
	if begin < 0 || end > int64(len(r)) || begin > end {
		return nil, fmt.Errorf("range [%d, %d) out of bounds for a String of length %d", begin, end, len(r))
	}
	return string(r[begin:end]), nil
}

// split is Java's String.split(regex[, limit]): trailing empty strings are
// dropped unless a limit is given.
func split(s string, args []any) (any, error) {
	pattern, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("the separator is %s, not a String", describe(args[0]))
	}
	limit := int64(0)
	if len(args) == 2 {
		if limit, ok = toInt64(args[1]); !ok {
			return nil, errors.New("the limit must be an integer")
		}
	}
	n := -1
	if limit > 0 {
		n = int(limit)
	}
	var parts []string
	if regexp.QuoteMeta(pattern) == pattern {
		parts = strings.SplitN(s, pattern, n)
	} else {
		re, err := compileRegexp(pattern)
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression %q: %w", pattern, err)
		}
		parts = re.Split(s, n)
	}
	if limit == 0 && len(parts) > 1 {
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// replaceRegexp is Java's replaceAll and replaceFirst. Group references in
// the replacement are written $1, as in Java.
func replaceRegexp(name, s string, args []any) (any, error) {
	pattern, ok1 := args[0].(string)
	repl, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, errors.New("takes a String pattern and a String replacement")
	}
	re, err := compileRegexp(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", pattern, err)
	}
	// Java reads "$1x" as group 1 then "x"; Go would read a group named "1x".
	repl = javaGroupRef.ReplaceAllString(repl, "$${$1}")
	if name == "replaceAll" {
		return re.ReplaceAllString(s, repl), nil
	}
	done := false
	return re.ReplaceAllStringFunc(s, func(m string) string {
		if done {
			return m
		}
		done = true
		return re.ReplaceAllString(m, repl)
	}), nil
}

var javaGroupRef = regexp.MustCompile(`\$(\d)`)

func listMethod(name string, l []any, args []any) (any, bool, error) {
	var (
		out any
		err error
	)
	index := func(i int) (int, error) {
		n, ok := toInt64(args[i])
		if !ok {
			return 0, fmt.Errorf("index %s is not an integer", describe(args[i]))
		}
		return int(n), nil
	}
	switch name {
	case "size", "length":
		out, err = len(l), wantArgs(args, 0)
	case "isEmpty":
		out, err = len(l) == 0, wantArgs(args, 0)
	case "get":
		if err = wantArgs(args, 1); err != nil {
			break
		}
		var i int
		if i, err = index(0); err != nil {
			break
		}
		if i < 0 || i >= len(l) {
			err = fmt.Errorf("index %d out of bounds for a List of size %d", i, len(l))
			break
		}
		out = l[i]
	case "contains":
		if err = wantArgs(args, 1); err == nil {
			out = indexOf(l, args[0]) >= 0
		}
	case "indexOf":
		if err = wantArgs(args, 1); err == nil {
			out = indexOf(l, args[0])
		}
	case "lastIndexOf":
		if err = wantArgs(args, 1); err == nil {
			out = -1
			for i := len(l) - 1; i >= 0; i-- {
				if equal(l[i], args[0]) {
					out = i
					break
				}
			}
		}
	case "containsAll":
		if err = wantArgs(args, 1); err != nil {
			break
		}
		other, ok := args[0].([]any)
		if !ok {
			err = fmt.Errorf("argument is %s, not a List", describe(args[0]))
			break
		}
		all := true
		for _, o := range other {
			all = all && indexOf(l, o) >= 0
		}
		out = all
	case "subList":
		if err = wantArgs(args, 2); err != nil {
			break
		}
		var from, to int
		if from, err = index(0); err != nil {
			break
		}
		if to, err = index(1); err != nil {
			break
		}
		if from < 0 || to > len(l) || from > to {
			err = fmt.Errorf("range [%d, %d) out of bounds for a List of size %d", from, to, len(l))
			break
		}
		out = append([]any{}, l[from:to]...)
	default:
		return nil, false, nil
	}
	return out, true, err
}

func indexOf(l []any, v any) int {
	for i, e := range l {
		if equal(e, v) {
			return i
		}
	}
	return -1
}

func mapMethod(name string, m map[string]any, args []any) (any, bool, error) {
	var (
		out any
		err error
	)
	switch name {
	case "size", "length":
		out, err = len(m), wantArgs(args, 0)
	case "isEmpty":
		out, err = len(m) == 0, wantArgs(args, 0)
	case "get", "containsKey", "getOrDefault":
		want := 1
		if name == "getOrDefault" {
			want = 2
		}
		if err = wantArgs(args, want); err != nil {
			break
		}
		key, ok := args[0].(string)
		if !ok {
			key = javaString(args[0])
		}
		v, found := m[key]
		switch name {
		case "get":
			out = v
		case "containsKey":
			out = found
		case "getOrDefault":
			out = v
			if !found {
				out = args[1]
			}
		}
	case "containsValue":
		if err = wantArgs(args, 1); err != nil {
			break
		}
		found := false
		for _, v := range m {
			found = found || equal(v, args[0])
		}
		out = found
	case "keySet", "values", "entrySet":
		if err = wantArgs(args, 0); err != nil {
			break
		}
		// Java's HashMap has no order; sorted keys make results repeatable.
		keys := sortedKeys(m)
		list := make([]any, len(keys))
		for i, k := range keys {
			switch name {
			case "keySet":
				list[i] = k
			case "values":
				list[i] = m[k]
			case "entrySet":
				list[i] = map[string]any{"key": k, "value": m[k]}
			}
		}
		out = list
	default:
		return nil, false, nil
	}
	return out, true, err
}

func numberMethod(name string, n any, args []any) (any, bool, error) {
	f, _ := toFloat64(n)
	switch name {
	case "intValue", "longValue":
		return int(math.Trunc(f)), true, wantArgs(args, 0)
	case "doubleValue", "floatValue":
		return f, true, wantArgs(args, 0)
	case "compareTo":
		if err := wantArgs(args, 1); err != nil {
			return nil, true, err
		}
		g, ok := toFloat64(args[0])
		if !ok {
			return nil, true, fmt.Errorf("argument is %s, not a number", describe(args[0]))
		}
		switch {
		case f < g:
			return -1, true, nil
		case f > g:
			return 1, true, nil
		}
		return 0, true, nil
	}
	return nil, false, nil
}

// staticFields are the constants reachable as T(java.lang.X).NAME.
var staticFields = map[string]any{
	"Integer.MAX_VALUE": math.MaxInt32,
	"Integer.MIN_VALUE": math.MinInt32,
	"Long.MAX_VALUE":    math.MaxInt64,
	"Long.MIN_VALUE":    math.MinInt64,
	"Math.PI":           math.Pi,
	"Math.E":            math.E,
}

// staticField is T(java.lang.X).NAME.
func staticField(typ string, name any) (any, error) {
	key := typ + "." + javaString(name)
	if v, ok := staticFields[key]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("%w: T(java.lang.%s) has no field %s here", ErrUnsupported, typ, javaString(name))
}

// callStatic is T(java.lang.X).method(args).
func callStatic(typ, name string, args []any) (any, error) {
	out, err := callStaticInner(typ, name, args)
	if err != nil {
		return nil, fmt.Errorf("T(java.lang.%s).%s(%s): %w", typ, name, argList(args), err)
	}
	return out, nil
}

func callStaticInner(typ, name string, args []any) (any, error) {
	one := func() (any, error) {
		if err := wantArgs(args, 1); err != nil {
			return nil, err
		}
		return args[0], nil
	}
	switch typ + "." + name {
	case "Integer.parseInt", "Integer.valueOf", "Long.parseLong", "Long.valueOf":
		v, err := one()
		if err != nil {
			return nil, err
		}
		return parseInt(v)
	case "Double.parseDouble", "Double.valueOf", "Float.parseFloat", "Float.valueOf":
		v, err := one()
		if err != nil {
			return nil, err
		}
		return parseFloat(v)
	case "Boolean.parseBoolean", "Boolean.valueOf":
		v, err := one()
		if err != nil {
			return nil, err
		}
		return parseBoolean(v), nil
	case "String.valueOf", "Integer.toString", "Long.toString", "Double.toString", "Boolean.toString":
		v, err := one()
		if err != nil {
			return nil, err
		}
		return javaString(v), nil
	case "String.join":
		if len(args) < 1 {
			return nil, errors.New("needs a delimiter")
		}
		sep, ok := args[0].(string)
		if !ok {
			return nil, errors.New("the delimiter must be a String")
		}
		items := args[1:]
		if len(items) == 1 {
			if l, ok := items[0].([]any); ok {
				items = l
			}
		}
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = javaString(it)
		}
		return strings.Join(parts, sep), nil
	case "Math.max", "Math.min":
		if err := wantArgs(args, 2); err != nil {
			return nil, err
		}
		a, okA := toFloat64(args[0])
		b, okB := toFloat64(args[1])
		if !okA || !okB {
			return nil, errors.New("takes two numbers")
		}
		if (name == "max") == (a >= b) {
			return args[0], nil
		}
		return args[1], nil
	case "Math.abs", "Math.round", "Math.floor", "Math.ceil", "Math.sqrt":
		v, err := one()
		if err != nil {
			return nil, err
		}
		if i, ok := v.(int); ok && name == "abs" {
			if i < 0 {
				i = -i
			}
			return i, nil
		}
		f, ok := toFloat64(v)
		if !ok {
			return nil, fmt.Errorf("%s is not a number", describe(v))
		}
		switch name {
		case "abs":
			return math.Abs(f), nil
		case "round":
			return int(math.Floor(f + 0.5)), nil
		case "floor":
			return math.Floor(f), nil
		case "ceil":
			return math.Ceil(f), nil
		default:
			return math.Sqrt(f), nil
		}
	case "Math.pow":
		if err := wantArgs(args, 2); err != nil {
			return nil, err
		}
		a, okA := toFloat64(args[0])
		b, okB := toFloat64(args[1])
		if !okA || !okB {
			return nil, errors.New("takes two numbers")
		}
		return math.Pow(a, b), nil
	}
	return nil, fmt.Errorf("%w: this method is not available in expressions", ErrUnsupported)
}
