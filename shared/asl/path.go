package asl

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// This file implements the JSONPath subset the Amazon States Language uses:
//
//   - Reference paths ("$", "$.a.b", "$['a b']", "$.a[0]") select one node and
//     are what ResultPath, ItemsPath, Variable, the *Path comparison operators
//     and the *SecondsPath / TimestampPath fields take.
//   - Paths may also use wildcards ("$.a[*].b", "$.*"), slices ("$.a[1:3]")
//     and unions ("$.a[0,2]", "$['x','y']"); such an indefinite path yields an
//     array of every match, as the Jayway JSONPath that Step Functions uses
//     does. They are allowed in InputPath, OutputPath and payload templates.
//   - "$$" instead of "$" addresses the context object.
//
// Recursive descent ("$..x") and filter expressions ("[?(...)]") are not
// supported and are rejected when the definition is parsed.

type segKind uint8

const (
	segField       segKind = iota // .name or ['name']
	segIndex                      // [n], negative counts from the end
	segWildcard                   // .* or [*]
	segSlice                      // [start:end:step]
	segUnionFields                // ['a','b']
	segUnionIndex                 // [0,2]
)

type pathSeg struct {
	kind    segKind
	name    string
	index   int
	names   []string
	indexes []int
	// slice bounds; nil means open
	start, end *int
	step       int
}

// jsonPath is a compiled path.
type jsonPath struct {
	text     string
	context  bool // "$$": selects from the context object
	segs     []pathSeg
	definite bool // selects at most one node
}

func (p *jsonPath) String() string { return p.text }

// parsePath compiles a path that may be indefinite.
func parsePath(text string) (*jsonPath, error) {
	p := &jsonPath{text: text, definite: true}
	s := text
	switch {
	case strings.HasPrefix(s, "$$"):
		p.context = true
		s = s[2:]
	case strings.HasPrefix(s, "$"):
		s = s[1:]
	default:
		return nil, fmt.Errorf("path %q must start with '$'", text)
	}
	for len(s) > 0 {
		var (
			seg pathSeg
			err error
		)
		switch s[0] {
		case '.':
			seg, s, err = parseDotSegment(s[1:])
		case '[':
			seg, s, err = parseBracketSegment(s[1:])
		default:
			err = fmt.Errorf("unexpected %q", s[0])
		}
		if err != nil {
			return nil, fmt.Errorf("invalid path %q: %w", text, err)
		}
		if seg.kind != segField && seg.kind != segIndex {
			p.definite = false
		}
		p.segs = append(p.segs, seg)
	}
	return p, nil
}

// parseReferencePath compiles a path that must select a single node.
func parseReferencePath(text string) (*jsonPath, error) {
	p, err := parsePath(text)
	if err != nil {
		return nil, err
	}
	if !p.definite {
		return nil, fmt.Errorf("%q is not a reference path: wildcards, slices and unions select more than one node", text)
	}
	return p, nil
}

func parseDotSegment(s string) (pathSeg, string, error) {
	if s == "" {
		return pathSeg{}, "", fmt.Errorf("empty field name after '.'")
	}
	if s[0] == '.' {
		return pathSeg{}, "", fmt.Errorf("recursive descent '..' is not supported")
	}
	if s[0] == '*' {
		return pathSeg{kind: segWildcard}, s[1:], nil
	}
	end := strings.IndexAny(s, ".[")
	if end < 0 {
		end = len(s)
	}
	name := s[:end]
	if name == "" {
		return pathSeg{}, "", fmt.Errorf("empty field name after '.'")
	}
	if strings.ContainsAny(name, "]'\"") || strings.TrimSpace(name) != name {
		return pathSeg{}, "", fmt.Errorf("invalid field name %q", name)
	}
	return pathSeg{kind: segField, name: name}, s[end:], nil
}

func parseBracketSegment(s string) (pathSeg, string, error) {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return pathSeg{}, "", fmt.Errorf("unterminated '['")
	}
	switch s[0] {
	case '*':
		rest := strings.TrimLeft(s[1:], " ")
		if !strings.HasPrefix(rest, "]") {
			return pathSeg{}, "", fmt.Errorf("expected ']' after '*'")
		}
		return pathSeg{kind: segWildcard}, rest[1:], nil
	case '?':
		return pathSeg{}, "", fmt.Errorf("filter expressions are not supported")
	case '\'', '"':
		var names []string
		for {
			name, rest, err := parseQuoted(s)
			if err != nil {
				return pathSeg{}, "", err
			}
			names = append(names, name)
			rest = strings.TrimLeft(rest, " ")
			if rest == "" {
				return pathSeg{}, "", fmt.Errorf("unterminated '['")
			}
			if rest[0] == ']' {
				s = rest[1:]
				break
			}
			if rest[0] != ',' {
				return pathSeg{}, "", fmt.Errorf("expected ',' or ']' after field name")
			}
			s = strings.TrimLeft(rest[1:], " ")
		}
		if len(names) == 1 {
			return pathSeg{kind: segField, name: names[0]}, s, nil
		}
		return pathSeg{kind: segUnionFields, names: names}, s, nil
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return pathSeg{}, "", fmt.Errorf("unterminated '['")
	}
	body, rest := strings.TrimSpace(s[:end]), s[end+1:]
	if strings.Contains(body, ":") {
		seg, err := parseSlice(body)
		return seg, rest, err
	}
	parts := strings.Split(body, ",")
	idx := make([]int, 0, len(parts))
	for _, part := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return pathSeg{}, "", fmt.Errorf("invalid array index %q", part)
		}
		idx = append(idx, n)
	}
	if len(idx) == 1 {
		return pathSeg{kind: segIndex, index: idx[0]}, rest, nil
	}
	return pathSeg{kind: segUnionIndex, indexes: idx}, rest, nil
}

func parseSlice(body string) (pathSeg, error) {
	parts := strings.Split(body, ":")
	if len(parts) > 3 {
		return pathSeg{}, fmt.Errorf("invalid slice %q", body)
	}
	seg := pathSeg{kind: segSlice, step: 1}
	bound := func(text string) (*int, error) {
		text = strings.TrimSpace(text)
		if text == "" {
			return nil, nil
		}
		n, err := strconv.Atoi(text)
		if err != nil {
			return nil, fmt.Errorf("invalid slice bound %q", text)
		}
		return &n, nil
	}
	var err error
	if seg.start, err = bound(parts[0]); err != nil {
		return pathSeg{}, err
	}
	if seg.end, err = bound(parts[1]); err != nil {
		return pathSeg{}, err
	}
	if len(parts) == 3 {
		step, err := bound(parts[2])
		if err != nil {
			return pathSeg{}, err
		}
		if step != nil {
			if *step <= 0 {
				return pathSeg{}, fmt.Errorf("slice step must be positive")
			}
			seg.step = *step
		}
	}
	return seg, nil
}

// parseQuoted reads a quoted name starting at s[0], honouring backslash
// escapes of the quote character and of backslash itself.
func parseQuoted(s string) (string, string, error) {
	quote := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == quote:
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("unterminated quoted name")
}

// get evaluates the path against root. A definite path returns the selected
// node and whether it exists. An indefinite path always succeeds and returns
// the array of every match (possibly empty).
func (p *jsonPath) get(root any) (any, bool) {
	if p.definite {
		cur := root
		for _, seg := range p.segs {
			var ok bool
			if cur, ok = stepDefinite(cur, seg); !ok {
				return nil, false
			}
		}
		return cur, true
	}
	matches := []any{root}
	for _, seg := range p.segs {
		var next []any
		for _, node := range matches {
			next = appendMatches(next, node, seg)
		}
		matches = next
	}
	if matches == nil {
		matches = []any{}
	}
	return matches, true
}

func stepDefinite(node any, seg pathSeg) (any, bool) {
	switch seg.kind {
	case segField:
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[seg.name]
		return v, ok
	case segIndex:
		a, ok := node.([]any)
		if !ok {
			return nil, false
		}
		i := seg.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, false
		}
		return a[i], true
	}
	return nil, false
}

func appendMatches(out []any, node any, seg pathSeg) []any {
	switch seg.kind {
	case segField, segIndex:
		if v, ok := stepDefinite(node, seg); ok {
			out = append(out, v)
		}
	case segWildcard:
		switch n := node.(type) {
		case map[string]any:
			// Go maps are unordered; sort keys so results are deterministic.
			for _, k := range slices.Sorted(maps.Keys(n)) {
				out = append(out, n[k])
			}
		case []any:
			out = append(out, n...)
		}
	case segUnionFields:
		if m, ok := node.(map[string]any); ok {
			for _, name := range seg.names {
				if v, ok := m[name]; ok {
					out = append(out, v)
				}
			}
		}
	case segUnionIndex:
		for _, i := range seg.indexes {
			if v, ok := stepDefinite(node, pathSeg{kind: segIndex, index: i}); ok {
				out = append(out, v)
			}
		}
	case segSlice:
		a, ok := node.([]any)
		if !ok {
			return out
		}
		start, end := 0, len(a)
		if seg.start != nil {
			start = clampIndex(*seg.start, len(a))
		}
		if seg.end != nil {
			end = clampIndex(*seg.end, len(a))
		}
		for i := start; i < end; i += seg.step {
			out = append(out, a[i])
		}
	}
	return out
}

func clampIndex(i, n int) int {
	if i < 0 {
		i += n
	}
	return min(max(i, 0), n)
}

// set returns a copy of root with the node the path selects replaced by val,
// creating missing intermediate objects. Only objects and arrays along the
// path are copied; root itself is never modified. The path must be a
// definite path over the input (not "$$").
func (p *jsonPath) set(root, val any) (any, error) {
	return setAt(root, p.segs, val, "$")
}

func setAt(node any, segs []pathSeg, val any, where string) (any, error) {
	if len(segs) == 0 {
		return val, nil
	}
	seg := segs[0]
	switch seg.kind {
	case segField:
		m, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s is a %s, not an object", where, jsonTypeName(node))
		}
		child, exists := m[seg.name]
		if !exists && len(segs) > 1 {
			child = map[string]any{}
		}
		nv, err := setAt(child, segs[1:], val, where+"."+seg.name)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m)+1)
		maps.Copy(out, m)
		out[seg.name] = nv
		return out, nil
	case segIndex:
		a, ok := node.([]any)
		if !ok {
			return nil, fmt.Errorf("%s is a %s, not an array", where, jsonTypeName(node))
		}
		i := seg.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, fmt.Errorf("index %d is out of range for %s (length %d)", seg.index, where, len(a))
		}
		nv, err := setAt(a[i], segs[1:], val, fmt.Sprintf("%s[%d]", where, i))
		if err != nil {
			return nil, err
		}
		out := slices.Clone(a)
		out[i] = nv
		return out, nil
	}
	return nil, fmt.Errorf("cannot set through a wildcard, slice or union")
}
