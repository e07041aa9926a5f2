package asl

import (
	"fmt"
	"strings"
)

// A payload template (Parameters, ResultSelector, ItemSelector) is a JSON
// object in which a field whose name ends in ".$" takes its value from a path
// into the input, a path into the context object ("$$."), or an intrinsic
// function; the ".$" suffix is dropped from the output field name. Objects
// and arrays nested at any depth are processed the same way.

type tmplNode interface {
	eval(env *evalEnv) (any, error)
}

type tmplLiteral struct{ value any }

func (t tmplLiteral) eval(*evalEnv) (any, error) { return t.value, nil }

type tmplField struct {
	key  string
	node tmplNode
}

type tmplObject struct{ fields []tmplField }

func (t *tmplObject) eval(env *evalEnv) (any, error) {
	out := make(map[string]any, len(t.fields))
	for _, f := range t.fields {
		v, err := f.node.eval(env)
		if err != nil {
			return nil, err
		}
		out[f.key] = v
	}
	return out, nil
}

type tmplArray struct{ items []tmplNode }

func (t *tmplArray) eval(env *evalEnv) (any, error) {
	out := make([]any, len(t.items))
	for i, item := range t.items {
		v, err := item.eval(env)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

type tmplPath struct {
	field string
	path  *jsonPath
}

func (t *tmplPath) eval(env *evalEnv) (any, error) {
	v, ok := env.resolve(t.path)
	if !ok {
		// Step Functions reports this as States.Runtime (not the
		// States.ParameterPathFailure the specification names), so a Catch
		// cannot route around it; we do the same.
		src := "input"
		var in any = env.input
		if t.path.context {
			src = "context object"
			if env.context != nil {
				in = env.context()
			}
		}
		return nil, runtimeError("The JSONPath '%s' specified for the field '%s.$' could not be found in the %s '%s'",
			t.path.text, t.field, src, mustJSON(in))
	}
	return v, nil
}

type tmplIntrinsic struct {
	field string
	call  *intrinsicCall
}

func (t *tmplIntrinsic) eval(env *evalEnv) (any, error) { return t.call.eval(env) }

// template is a compiled payload template.
type template struct{ root tmplNode }

func (t *template) eval(env *evalEnv) (any, error) { return t.root.eval(env) }

// usesTaskToken reports whether the template reads $$.Task.Token anywhere,
// which a .waitForTaskToken task must do to hand the token out.
func (t *template) usesTaskToken() bool { return nodeUsesToken(t.root) }

func nodeUsesToken(n tmplNode) bool {
	switch x := n.(type) {
	case *tmplObject:
		for _, f := range x.fields {
			if nodeUsesToken(f.node) {
				return true
			}
		}
	case *tmplArray:
		for _, item := range x.items {
			if nodeUsesToken(item) {
				return true
			}
		}
	case *tmplPath:
		return x.path.context && strings.HasPrefix(x.path.text, "$$.Task.Token")
	case *tmplIntrinsic:
		return strings.Contains(x.call.text, "$$.Task.Token")
	}
	return false
}

// compileTemplate compiles a decoded template value.
func compileTemplate(v any) (*template, error) {
	root, err := compileNode(v, "")
	if err != nil {
		return nil, err
	}
	return &template{root: root}, nil
}

func compileNode(v any, where string) (tmplNode, error) {
	switch x := v.(type) {
	case map[string]any:
		obj := &tmplObject{}
		dynamic := false
		seen := map[string]bool{}
		for _, key := range sortedKeys(x) {
			val := x[key]
			name := key
			var node tmplNode
			if base, ok := strings.CutSuffix(key, ".$"); ok {
				name = base
				s, ok := val.(string)
				if !ok {
					return nil, fmt.Errorf("field %q: the value of a field ending in \".$\" must be a string holding a path or an intrinsic function, got %s", where+key, jsonTypeName(val))
				}
				n, err := compileBinding(base, s)
				if err != nil {
					return nil, fmt.Errorf("field %q: %w", where+key, err)
				}
				node, dynamic = n, true
			} else {
				n, err := compileNode(val, where+key+".")
				if err != nil {
					return nil, err
				}
				if _, lit := n.(tmplLiteral); !lit {
					dynamic = true
				}
				node = n
			}
			if seen[name] {
				return nil, fmt.Errorf("field %q is given twice (with and without \".$\")", where+name)
			}
			seen[name] = true
			obj.fields = append(obj.fields, tmplField{key: name, node: node})
		}
		if !dynamic {
			return tmplLiteral{value: v}, nil
		}
		return obj, nil
	case []any:
		arr := &tmplArray{}
		dynamic := false
		for i, item := range x {
			n, err := compileNode(item, fmt.Sprintf("%s[%d].", strings.TrimSuffix(where, "."), i))
			if err != nil {
				return nil, err
			}
			if _, lit := n.(tmplLiteral); !lit {
				dynamic = true
			}
			arr.items = append(arr.items, n)
		}
		if !dynamic {
			return tmplLiteral{value: v}, nil
		}
		return arr, nil
	}
	return tmplLiteral{value: v}, nil
}

// compileBinding compiles the value of a ".$" field.
func compileBinding(field, s string) (tmplNode, error) {
	switch {
	case strings.HasPrefix(s, "$"):
		p, err := parsePath(s)
		if err != nil {
			return nil, err
		}
		return &tmplPath{field: field, path: p}, nil
	case isIntrinsic(s):
		c, err := parseIntrinsic(s)
		if err != nil {
			return nil, err
		}
		return &tmplIntrinsic{field: field, call: c}, nil
	}
	return nil, fmt.Errorf("%q is neither a path (starting with '$') nor an intrinsic function (starting with 'States.')", s)
}

// dynString is a Fail state's ErrorPath or CausePath: a reference path or an
// intrinsic function that must yield a string.
type dynString struct {
	text string
	path *jsonPath
	call *intrinsicCall
}

func compileDynString(s string) (*dynString, error) {
	if isIntrinsic(s) {
		c, err := parseIntrinsic(s)
		if err != nil {
			return nil, err
		}
		return &dynString{text: s, call: c}, nil
	}
	p, err := parseReferencePath(s)
	if err != nil {
		return nil, err
	}
	return &dynString{text: s, path: p}, nil
}

func (d *dynString) eval(env *evalEnv) (string, error) {
	var v any
	if d.call != nil {
		var err error
		if v, err = d.call.eval(env); err != nil {
			return "", err
		}
	} else {
		var ok bool
		if v, ok = env.resolve(d.path); !ok {
			return "", runtimeError("The JSONPath '%s' could not be found in the input '%s'", d.text, mustJSON(env.input))
		}
	}
	s, ok := v.(string)
	if !ok {
		return "", runtimeError("The value at '%s' must be a string, got %s", d.text, jsonTypeName(v))
	}
	return s, nil
}
