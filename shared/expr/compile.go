package expr

import (
	"errors"
	"fmt"
	"regexp"
	goruntime "runtime"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

// Limits that keep one expression from costing much. expr-lang has no
// loops, so run time is bounded by program size; its VM also caps the
// memory one run may allocate.
const (
	// MaxExpressionLength is the longest "${…}" body accepted, in bytes.
	MaxExpressionLength = 10_000
	// maxNodes caps the size of a compiled expression's syntax tree.
	maxNodes = 5_000
	// maxCachedPrograms bounds the program cache.
	maxCachedPrograms = 4_096
)

// compiled is a cache entry: a program, or why the expression has none.
type compiled struct {
	program *vm.Program
	err     error
}

// programs caches compiled expressions by their SpEL text: the same
// expressions run for every execution of a pipeline. Failures are cached
// too, so a broken expression is not re-parsed on every evaluation.
var programs = struct {
	sync.RWMutex
	m map[string]*compiled
}{m: make(map[string]*compiled)}

// compile returns the program for one SpEL expression (the text between
// "${" and "}"), from the cache when it can.
func compile(src string) (*vm.Program, error) {
	if len(src) > MaxExpressionLength { // checked first: such keys would bloat the cache
		return nil, fmt.Errorf("%w: expression is %d bytes long; the limit is %d", ErrTooLong, len(src), MaxExpressionLength)
	}
	programs.RLock()
	c, ok := programs.m[src]
	programs.RUnlock()
	if ok {
		return c.program, c.err
	}
	p, err := compileUncached(src)
	programs.Lock()
	if len(programs.m) >= maxCachedPrograms {
		for k := range programs.m { // evict an arbitrary entry
			delete(programs.m, k)
			break
		}
	}
	programs.m[src] = &compiled{p, err}
	programs.Unlock()
	return p, err
}

// baseOptions configure expr-lang for SpEL: names resolve at run time
// against a map (an unknown name is null, like a missing map key), expr-lang's
// own builtins are off (SpEL has no bare function calls, and names like
// "type" or "count" must stay free for pipeline data), and the functions
// the translation calls are registered.
var baseOptions = func() []expr.Option {
	opts := []expr.Option{
		expr.Env(map[string]any{}),
		expr.AllowUndefinedVariables(),
		expr.DisableAllBuiltins(),
		expr.MaxNodes(maxNodes),
		fn2(fnPlus, plus),
		fn2(fnDivide, func(a, b any) (any, error) { return arithmetic("/", a, b) }),
		fn2(fnModulo, func(a, b any) (any, error) { return arithmetic("%", a, b) }),
		fn2(fnMatches, func(a, b any) (any, error) { return matches(a, b) }),
		fn2(fnSafeGet, safeGet),
		fn2(fnStaticField, func(t, name any) (any, error) { return staticField(t.(string), name) }),
		expr.Function(fnIsEmpty, func(p ...any) (any, error) { return isEmptyForElvis(p[0]), nil }),
		expr.Function(fnBool, func(p ...any) (any, error) {
			if b, ok := p[0].(bool); ok {
				return b, nil
			}
			return nil, fmt.Errorf("and and or need boolean operands, not %s", describe(p[0]))
		}),
		expr.Function(fnCollection, func(p ...any) (any, error) { return collectionOperand(p[0]) }),
		expr.Function(fnMethod, func(p ...any) (any, error) {
			return callMethod(p[0].(string), p[1], p[2:])
		}),
		expr.Function(fnSafeMethod, func(p ...any) (any, error) {
			if p[1] == nil {
				return nil, nil
			}
			return callMethod(p[0].(string), p[1], p[2:])
		}),
		expr.Function(fnStatic, func(p ...any) (any, error) {
			return callStatic(p[0].(string), p[1].(string), p[2:])
		}),
	}
	for _, h := range helpers {
		if h.omitted == "" {
			opts = append(opts, h.option())
		}
	}
	return opts
}()

// fn2 registers a two-argument function.
func fn2(name string, f func(a, b any) (any, error)) expr.Option {
	return expr.Function(name, func(p ...any) (any, error) { return f(p[0], p[1]) })
}

// safeGet is SpEL's a?.b: null when a is null, a.b otherwise.
func safeGet(from, key any) (any, error) {
	switch x := from.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		k, ok := key.(string)
		if !ok {
			k = javaString(key)
		}
		return x[k], nil
	case []any:
		i, ok := toInt64(key)
		if !ok || i < 0 || i >= int64(len(x)) {
			return nil, fmt.Errorf("index %s out of bounds for a List of size %d", javaString(key), len(x))
		}
		return x[i], nil
	}
	return nil, fmt.Errorf("cannot read property %s of %s", quoteIfString(key), javaTypeName(from))
}

// collectionOperand checks what a selection or projection runs over.
func collectionOperand(v any) (any, error) {
	switch v.(type) {
	case []any:
		return v, nil
	case nil:
		return nil, errors.New("cannot select from or project null")
	}
	n, err := normalize(v, 0)
	if l, ok := n.([]any); ok && err == nil {
		return l, nil
	}
	return nil, fmt.Errorf("can only select from or project a List, not a %s", javaTypeName(v))
}

// compileUncached translates and compiles one SpEL expression.
func compileUncached(src string) (*vm.Program, error) {
	tr, err := translate(src)
	if err != nil {
		if errors.Is(err, ErrUnsupported) || errors.Is(err, ErrSyntax) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	patch := &spelPatch{}
	opts := make([]expr.Option, 0, len(baseOptions)+2)
	opts = append(opts, baseOptions...)
	opts = append(opts, expr.Patch(patch), expr.Patch(rootScope{}))
	program, err := expr.Compile(tr.code, opts...)
	if patch.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, patch.err)
	}
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			msg := cleanMessage(fe.Message)
			if near := tr.near(src, fe.From); near != "" {
				msg += fmt.Sprintf(" near %q", near)
			}
			if isNodeLimit(fe.Message) {
				return nil, fmt.Errorf("%w: %s", ErrTooLong, msg)
			}
			return nil, fmt.Errorf("%w: %s", ErrSyntax, msg)
		}
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	return program, nil
}

func isNodeLimit(msg string) bool {
	return msg == "compilation failed: expression exceeds maximum allowed nodes"
}

// vms reuses expr-lang virtual machines between runs.
var vms = sync.Pool{New: func() any { return &vm.VM{} }}

// run executes a program. Any panic, in expr-lang or in our functions,
// becomes an error.
func run(p *vm.Program, env map[string]any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	m := vms.Get().(*vm.VM)
	out, err = m.Run(p, env)
	clear(m.Variables) // drop references to this run's values
	m.Stack = m.Stack[:0]
	vms.Put(m)
	if err != nil {
		return nil, runtimeError(err)
	}
	return out, nil
}

// runtimeError turns expr-lang's run-time error into ours: the message of
// what failed, without expr-lang's rendering of the translated source, and
// still wrapping the cause so errors.Is finds our sentinels.
func runtimeError(err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err
	}
	var inner *file.Error
	var goPanic goruntime.Error
	if fe.Prev != nil && !errors.As(fe.Prev, &inner) && !errors.As(fe.Prev, &goPanic) {
		return fe.Prev // an error of ours, from a function the program called
	}
	return errors.New(cleanMessage(fe.Message))
}

var (
	fetchFromNil = regexp.MustCompile(`^cannot fetch (.*) from <nil>$`)
	fetchFrom    = regexp.MustCompile(`^cannot fetch (.*) from (.*)$`)
	notBool      = regexp.MustCompile(`^interface conversion: interface \{\} is (.*), not bool$`)
	mapByNumber  = regexp.MustCompile(`^reflect.Value.MapIndex: value of type (.*) is not assignable to type string$`)
)

// cleanMessage rewords expr-lang messages that would otherwise mention Go
// types or the translation.
func cleanMessage(msg string) string {
	if m := fetchFromNil.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("cannot read property %q of null", m[1])
	}
	if m := fetchFrom.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("cannot read property %q of %s", m[1], goTypeToJava(m[2]))
	}
	if m := notBool.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("a condition is %s, not a boolean", withArticle(goTypeToJava(m[1])))
	}
	if m := mapByNumber.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("a Map cannot be indexed by %s; use a String key", withArticle(goTypeToJava(m[1])))
	}
	if msg == "invalid operation: int(string)" {
		return "a List or String cannot be read by property name; use a number index"
	}
	return msg
}

func withArticle(javaType string) string {
	if javaType == "null" {
		return javaType
	}
	if strings.ContainsRune("AEIOU", rune(javaType[0])) {
		return "an " + javaType
	}
	return "a " + javaType
}

func goTypeToJava(t string) string {
	switch t {
	case "string":
		return "String"
	case "bool":
		return "Boolean"
	case "nil":
		return "null"
	case "int", "int64":
		return "Integer"
	case "float64":
		return "Double"
	case "[]interface {}":
		return "List"
	case "map[string]interface {}":
		return "Map"
	}
	return t
}
