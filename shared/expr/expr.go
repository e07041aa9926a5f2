// Package expr evaluates the "${…}" expressions of Spinnaker pipelines.
//
// Stage configurations written for Spinnaker contain expressions in the
// Spring Expression Language (SpEL): ${trigger.parameters.env},
// ${#stage('Deploy').context.serverGroup}, ${parameters.tag ?: 'latest'}.
// This package runs them unchanged on expr-lang
// (github.com/expr-lang/expr): each expression is translated into
// expr-lang source by a small rewrite that knows SpEL's string literals
// (translate.go), finished by an AST patch (patch.go), compiled once and
// cached (compile.go). Java's methods on strings, lists and maps
// (methods.go) and Spinnaker's "#" helpers (helpers.go) are functions the
// translated program calls.
//
// Evaluation follows Spinnaker's: a string that is exactly one expression
// becomes the expression's typed value; text around expressions makes the
// result a string; a missing map key reads as null; an expression that
// fails, or whose whole value is null, leaves the string as written and is
// reported, so the caller can apply the stage's failOnFailedExpressions.
package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Context is what an expression can see.
type Context struct {
	// Execution is the execution rendered as JSON: id, application, name,
	// status, trigger, stages ([{id, refId, type, name, status, context,
	// outputs, startTime, endTime, ...}]), ... It is "execution" in
	// expressions and what #stage, #judgment and the other stage helpers
	// search.
	Execution map[string]any
	// Trigger is "trigger"; when nil, Execution["trigger"] is used.
	Trigger map[string]any
	// Parameters is "parameters"; when nil, Trigger["parameters"] is used,
	// and an empty map when the trigger has none.
	Parameters map[string]any
	// Stage is the stage being evaluated, shaped like an element of
	// Execution["stages"]; #currentStage() returns it, and the keys of its
	// "context" are visible as top-level names, as in Spinnaker.
	Stage map[string]any
	// Variables are the outputs of upstream stages, merged; each key is a
	// top-level name (${deploymentDetails}). The stage's own context, then
	// execution, trigger and parameters, take precedence. Like Spinnaker,
	// scmInfo is derived from the trigger's buildInfo unless a variable
	// or the stage context has it.
	Variables map[string]any
}

// Error says which field and which expression failed, and why.
type Error struct {
	// Path is the JSON path of the failing string within the value given to
	// Evaluate, such as "url" or "payload.items[0]"; empty for a string
	// given to EvaluateString or EvaluateBool.
	Path string
	// Expression is the failing "${…}" as written (or the bare expression
	// given to EvaluateBool).
	Expression string
	// Err is the reason. errors.Is finds ErrSyntax, ErrUnsupported,
	// ErrTooLong, ErrNullResult and ErrNotBoolean through it.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	if e.Expression != "" {
		fmt.Fprintf(&b, "expression %q failed: ", e.Expression)
	}
	fmt.Fprint(&b, e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Reasons an expression fails, for errors.Is.
var (
	// ErrSyntax: the expression is not valid SpEL (or uses SpEL that does
	// not translate).
	ErrSyntax = errors.New("syntax error")
	// ErrUnsupported: the expression uses a SpEL feature or helper that
	// gennaker does not offer, such as #fromUrl or T(java.lang.System).
	ErrUnsupported = errors.New("not supported")
	// ErrTooLong: the expression exceeds the size limits.
	ErrTooLong = errors.New("expression too large")
	// ErrNullResult: the whole value is null. Spinnaker leaves such a
	// string unevaluated and reports it; so does Evaluate.
	ErrNullResult = errors.New("evaluated to null")
	// ErrNotBoolean: EvaluateBool's expression gave something other than a
	// boolean.
	ErrNotBoolean = errors.New("not a boolean")
)

// Evaluate returns a copy of value with every expression in it replaced by
// its result. value is JSON-like: map[string]any, []any, strings, numbers,
// bools and nil; maps and slices of other element types are copied into
// those. Map keys holding expressions are evaluated too. value itself is
// never modified.
//
// A string whose expressions fail stays as written in the result, and each
// failure is reported with the string's path; the caller decides whether
// that fails the stage. Evaluate never panics.
func Evaluate(value any, c *Context) (any, []*Error) {
	ev := newEvaluator(c)
	out := ev.walk(value, "", 0)
	return out, ev.errs
}

// EvaluateString evaluates the expressions in s. A string that is exactly
// one "${…}" gives the typed result (map, list, number, bool, string); text
// around expressions gives a string. On failure it returns s unchanged and
// the error, an *Error (or several joined, when several expressions in s
// fail).
func EvaluateString(s string, c *Context) (any, error) {
	ev := newEvaluator(c)
	out := ev.walk(s, "", 0)
	return out, ev.err()
}

// EvaluateBool evaluates a condition such as a stageEnabled expression or
// an expression precondition. Like Spinnaker it accepts "${…}" or a bare
// expression ("parameters.env == 'prod'"). The result must be a boolean,
// or the string "true" or "false" in any case; anything else is an error
// wrapping ErrNotBoolean.
func EvaluateBool(s string, c *Context) (bool, error) {
	ev := newEvaluator(c)
	trimmed := strings.TrimSpace(s)
	var v any
	if HasExpression(trimmed) {
		v = ev.walk(trimmed, "", 0)
	} else {
		var err error
		if v, err = ev.eval(trimmed); err == nil && v == nil {
			err = ErrNullResult
		}
		if err != nil {
			ev.fail("", s, err)
		}
	}
	if err := ev.err(); err != nil {
		return false, err
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, &Error{Expression: s, Err: fmt.Errorf("%w: evaluated to %s, want true or false", ErrNotBoolean, describe(v))}
}

// evaluator evaluates the expressions of one value against one context.
type evaluator struct {
	env  map[string]any
	errs []*Error
}

func newEvaluator(c *Context) *evaluator {
	if c == nil {
		c = &Context{}
	}
	stageContext, _ := c.Stage["context"].(map[string]any)
	env := make(map[string]any, len(c.Variables)+len(stageContext)+4)
	for k, v := range c.Variables {
		env[k] = v
	}
	for k, v := range stageContext {
		env[k] = v
	}
	env["execution"] = c.Execution
	env["trigger"] = c.trigger()
	env["parameters"] = c.parameters()
	if _, ok := env["scmInfo"]; !ok {
		env["scmInfo"] = c.scmInfo()
	}
	env[contextKey] = c
	return &evaluator{env: env}
}

// scmInfo is the commit that triggered a build-triggered pipeline, as
// Spinnaker offers it: from the trigger's buildInfo.scm, the first entry
// not on master or develop when there are several.
func (c *Context) scmInfo() any {
	buildInfo, _ := c.trigger()["buildInfo"].(map[string]any)
	scm, _ := buildInfo["scm"].([]any)
	if len(scm) == 0 {
		return nil
	}
	if len(scm) >= 2 {
		for _, s := range scm {
			if m, ok := s.(map[string]any); ok && m["branch"] != "master" && m["branch"] != "develop" {
				return m
			}
		}
	}
	return scm[0]
}

// trigger is the trigger an expression sees.
func (c *Context) trigger() map[string]any {
	if c.Trigger != nil {
		return c.Trigger
	}
	t, _ := c.Execution["trigger"].(map[string]any)
	return t
}

// parameters is the parameters map an expression sees, never nil.
func (c *Context) parameters() map[string]any {
	if c.Parameters != nil {
		return c.Parameters
	}
	if p, ok := c.trigger()["parameters"].(map[string]any); ok {
		return p
	}
	return map[string]any{}
}

func (ev *evaluator) fail(path, expression string, err error) {
	ev.errs = append(ev.errs, &Error{Path: path, Expression: expression, Err: err})
}

// err is the evaluation's failures as one error, or nil.
func (ev *evaluator) err() error {
	switch len(ev.errs) {
	case 0:
		return nil
	case 1:
		return ev.errs[0]
	}
	errs := make([]error, len(ev.errs))
	for i, e := range ev.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// walk copies v, evaluating the strings in it.
func (ev *evaluator) walk(v any, path string, depth int) any {
	if depth > maxDepth {
		ev.fail(path, "", errTooDeep)
		return v
	}
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "${") {
			return x
		}
		return ev.template(x, path)
	case map[string]any:
		out := make(map[string]any, len(x))
		for _, k := range sortedKeys(x) {
			key := k
			if HasExpression(k) {
				key = javaString(ev.template(k, joinPath(path, k)))
			}
			out[key] = ev.walk(x[k], joinPath(path, k), depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ev.walk(e, fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
		return out
	case nil, bool, int, int64, float64:
		return v
	}
	n, err := normalize(v, depth)
	if err != nil {
		ev.fail(path, "", err)
		return v
	}
	if _, ok := n.(map[string]any); ok {
		return ev.walk(n, path, depth)
	}
	if _, ok := n.([]any); ok {
		return ev.walk(n, path, depth)
	}
	return n
}

// joinPath appends a map key to a JSON path, bracketing keys that are not
// plain names ("context[\"deploy.server.groups\"]").
func joinPath(path, key string) string {
	plain := key != ""
	for i, r := range key {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return fmt.Sprintf("%s[%s]", path, strconv.Quote(key))
	case path == "":
		return key
	}
	return path + "." + key
}

// template evaluates the expressions in one string. Its result is the
// typed value when s is a single expression, a string otherwise, and s
// itself when anything fails.
func (ev *evaluator) template(s, path string) any {
	segs, err := splitTemplate(s)
	if err != nil {
		ev.fail(path, s, err)
		return s
	}
	if len(segs) == 1 && segs[0].isExpr {
		v, err := ev.eval(segs[0].text)
		if err == nil && v == nil {
			err = ErrNullResult
		}
		if err == nil {
			if v, err = normalize(v, 0); err == nil {
				return v
			}
		}
		ev.fail(path, s, err)
		return s
	}
	var b strings.Builder
	failed := false
	for _, seg := range segs {
		if !seg.isExpr {
			b.WriteString(seg.text)
			continue
		}
		v, err := ev.eval(seg.text)
		if err != nil {
			ev.fail(path, seg.raw, err)
			failed = true
			continue
		}
		if v != nil { // null contributes nothing, as in Spring's templates
			b.WriteString(javaString(v))
		}
	}
	if failed {
		return s
	}
	return b.String()
}

// eval compiles (or fetches from the cache) and runs one expression.
func (ev *evaluator) eval(src string) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	p, err := compile(src)
	if err != nil {
		return nil, err
	}
	return run(p, ev.env)
}
