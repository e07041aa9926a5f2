package asl

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// This file implements Choice rules: comparisons (each operator and its
// *Path variant), the type tests (IsNull, IsPresent, ...), and the And, Or
// and Not combinators.

type opKind uint8

const (
	opString opKind = iota
	opNumeric
	opBoolean
	opTimestamp
	opMatches
	opTypeTest
)

type operator struct {
	kind opKind
	// cmp interprets the comparison result (-1, 0, 1) of the variable
	// against the operand.
	cmp func(int) bool
}

func eq(c int) bool  { return c == 0 }
func lt(c int) bool  { return c < 0 }
func gt(c int) bool  { return c > 0 }
func lte(c int) bool { return c <= 0 }
func gte(c int) bool { return c >= 0 }

var operators = map[string]operator{
	"StringEquals":               {opString, eq},
	"StringLessThan":             {opString, lt},
	"StringGreaterThan":          {opString, gt},
	"StringLessThanEquals":       {opString, lte},
	"StringGreaterThanEquals":    {opString, gte},
	"StringMatches":              {opMatches, nil},
	"NumericEquals":              {opNumeric, eq},
	"NumericLessThan":            {opNumeric, lt},
	"NumericGreaterThan":         {opNumeric, gt},
	"NumericLessThanEquals":      {opNumeric, lte},
	"NumericGreaterThanEquals":   {opNumeric, gte},
	"BooleanEquals":              {opBoolean, eq},
	"TimestampEquals":            {opTimestamp, eq},
	"TimestampLessThan":          {opTimestamp, lt},
	"TimestampGreaterThan":       {opTimestamp, gt},
	"TimestampLessThanEquals":    {opTimestamp, lte},
	"TimestampGreaterThanEquals": {opTimestamp, gte},
	"IsNull":                     {opTypeTest, nil},
	"IsPresent":                  {opTypeTest, nil},
	"IsNumeric":                  {opTypeTest, nil},
	"IsString":                   {opTypeTest, nil},
	"IsBoolean":                  {opTypeTest, nil},
	"IsTimestamp":                {opTypeTest, nil},
}

// lookupOperator resolves an operator field name, reporting whether it is
// the *Path variant.
func lookupOperator(field string) (string, operator, bool, bool) {
	if op, ok := operators[field]; ok {
		return field, op, false, true
	}
	if base, ok := strings.CutSuffix(field, "Path"); ok {
		if op, ok := operators[base]; ok && op.kind != opTypeTest && op.kind != opMatches {
			return base, op, true, true
		}
	}
	return "", operator{}, false, false
}

type choiceRule struct {
	next string

	and, or []*choiceRule
	not     *choiceRule

	variable  *jsonPath
	opName    string
	op        operator
	value     any       // literal operand
	valuePath *jsonPath // operand of a *Path variant
	stamp     time.Time // parsed Timestamp* literal
	pattern   []string  // StringMatches literal split at unescaped '*'
}

// parseChoiceRule compiles one rule; top-level rules carry Next, nested ones
// must not.
func parseChoiceRule(m map[string]any, top bool) (*choiceRule, error) {
	r := &choiceRule{}
	var opFields, combinators []string
	for _, k := range sortedKeys(m) {
		switch k {
		case "Next", "Comment", "Variable":
		case "And", "Or", "Not":
			combinators = append(combinators, k)
		default:
			if _, _, _, ok := lookupOperator(k); !ok {
				return nil, fmt.Errorf("unknown field %q in a choice rule", k)
			}
			opFields = append(opFields, k)
		}
	}
	if next, ok := m["Next"]; ok {
		if !top {
			return nil, fmt.Errorf("a nested choice rule must not have Next")
		}
		s, ok := next.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("Next must be a non-empty string")
		}
		r.next = s
	} else if top {
		return nil, fmt.Errorf("a choice rule has no Next")
	}
	switch {
	case len(combinators) > 1 || (len(combinators) == 1 && (len(opFields) > 0 || m["Variable"] != nil)):
		return nil, fmt.Errorf("a choice rule must be exactly one of a comparison, And, Or or Not")
	case len(combinators) == 1:
		return r, r.parseCombinator(combinators[0], m[combinators[0]])
	}
	switch len(opFields) {
	case 0:
		return nil, fmt.Errorf("a choice rule has no comparison operator")
	case 1:
	default:
		return nil, fmt.Errorf("a choice rule has more than one comparison operator: %s", strings.Join(opFields, ", "))
	}
	v, ok := m["Variable"].(string)
	if !ok {
		return nil, fmt.Errorf("a comparison has no Variable")
	}
	var err error
	if r.variable, err = parseReferencePath(v); err != nil {
		return nil, fmt.Errorf("Variable: %w", err)
	}
	return r, r.parseOperand(opFields[0], m[opFields[0]])
}

func (r *choiceRule) parseCombinator(name string, v any) error {
	if name == "Not" {
		sub, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("Not must be an object")
		}
		rule, err := parseChoiceRule(sub, false)
		if err != nil {
			return fmt.Errorf("Not: %w", err)
		}
		r.not = rule
		return nil
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return fmt.Errorf("%s must be a non-empty array of choice rules", name)
	}
	rules := make([]*choiceRule, len(list))
	for i, item := range list {
		sub, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("%s[%d] must be an object", name, i)
		}
		rule, err := parseChoiceRule(sub, false)
		if err != nil {
			return fmt.Errorf("%s[%d]: %w", name, i, err)
		}
		rules[i] = rule
	}
	if name == "And" {
		r.and = rules
	} else {
		r.or = rules
	}
	return nil
}

func (r *choiceRule) parseOperand(field string, v any) error {
	name, op, byPath, _ := lookupOperator(field)
	r.opName, r.op = name, op
	if byPath {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s must be a path string", field)
		}
		p, err := parseReferencePath(s)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		r.valuePath = p
		return nil
	}
	r.value = v
	switch op.kind {
	case opString:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s must be a string, got %s", field, jsonTypeName(v))
		}
	case opMatches:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s must be a string, got %s", field, jsonTypeName(v))
		}
		r.pattern = compileMatchPattern(s)
	case opNumeric:
		if _, ok := v.(json.Number); !ok {
			return fmt.Errorf("%s must be a number, got %s", field, jsonTypeName(v))
		}
	case opBoolean, opTypeTest:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s must be a boolean, got %s", field, jsonTypeName(v))
		}
	case opTimestamp:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s must be a timestamp string, got %s", field, jsonTypeName(v))
		}
		t, ok := parseTimestamp(s)
		if !ok {
			return fmt.Errorf("%s: %q is not an RFC 3339 timestamp", field, s)
		}
		r.stamp = t
	}
	return nil
}

// parseTimestamp accepts the RFC 3339 profile Step Functions requires: an
// uppercase T between date and time and an uppercase Z (or a numeric
// offset) for the zone.
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) < 20 || s[10] != 'T' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// compileMatchPattern splits a StringMatches pattern at each unescaped '*';
// "\*" is a literal star and "\\" a literal backslash.
func compileMatchPattern(p string) []string {
	var (
		parts []string
		cur   strings.Builder
	)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\' && i+1 < len(p) && (p[i+1] == '*' || p[i+1] == '\\'):
			i++
			cur.WriteByte(p[i])
		case c == '*':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, cur.String())
}

// matchPattern reports whether s matches a compiled StringMatches pattern.
func matchPattern(parts []string, s string) bool {
	if len(parts) == 1 {
		return s == parts[0]
	}
	first, last := parts[0], parts[len(parts)-1]
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

// eval evaluates the rule. A Variable (or *Path operand) that does not exist
// is a States.Runtime error, except for IsPresent, as in Step Functions.
func (r *choiceRule) eval(env *evalEnv) (bool, error) {
	switch {
	case r.and != nil:
		for _, sub := range r.and {
			ok, err := sub.eval(env)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, sub := range r.or {
			ok, err := sub.eval(env)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(env)
		return !ok, err
	}
	v, found := env.resolve(r.variable)
	if r.opName == "IsPresent" {
		return found == r.value.(bool), nil
	}
	if !found {
		return false, runtimeError("Invalid path '%s': The choice state's condition path references an invalid value.", r.variable.text)
	}
	if r.op.kind == opTypeTest {
		return typeTest(r.opName, v) == r.value.(bool), nil
	}
	operand, stamp := r.value, r.stamp
	if r.valuePath != nil {
		var ok bool
		if operand, ok = env.resolve(r.valuePath); !ok {
			return false, runtimeError("Invalid path '%s': The choice state's condition path references an invalid value.", r.valuePath.text)
		}
		if r.op.kind == opTimestamp {
			s, isString := operand.(string)
			if stamp, ok = parseTimestamp(s); !isString || !ok {
				return false, nil
			}
		}
	}
	// A variable of the wrong type never matches: Step Functions does not
	// convert between types.
	switch r.op.kind {
	case opString:
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		return ok1 && ok2 && r.op.cmp(strings.Compare(a, b)), nil
	case opMatches:
		a, ok := v.(string)
		return ok && matchPattern(r.pattern, a), nil
	case opNumeric:
		a, ok1 := v.(json.Number)
		b, ok2 := operand.(json.Number)
		return ok1 && ok2 && r.op.cmp(compareNumbers(a, b)), nil
	case opBoolean:
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b, nil
	case opTimestamp:
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		t, ok := parseTimestamp(s)
		return ok && r.op.cmp(t.Compare(stamp)), nil
	}
	return false, nil
}

func typeTest(name string, v any) bool {
	switch name {
	case "IsNull":
		return v == nil
	case "IsNumeric":
		_, ok := v.(json.Number)
		return ok
	case "IsString":
		_, ok := v.(string)
		return ok
	case "IsBoolean":
		_, ok := v.(bool)
		return ok
	case "IsTimestamp":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, ok = parseTimestamp(s)
		return ok
	}
	return false
}

// nexts lists the states this rule may transition to.
func (r *choiceRule) nexts() []string {
	if r.next == "" {
		return nil
	}
	return []string{r.next}
}
