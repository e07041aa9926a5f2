package expr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file rewrites the SpEL forms pipelines use into expr-lang source. It is
// a token-level rewrite, not a parser: SpEL and expr-lang share most of their
// grammar (member access, indexing, comparison, boolean logic, the ternary),
// so only the tokens whose meaning differs are replaced, and the few forms
// that need structure (method calls, Elvis, selection) are marked here and
// finished by the AST patch in patch.go.

// Names the rewrite introduces. They start with "_spel_" so they cannot clash
// with pipeline data, and the AST patch recognises them by that prefix.
const (
	reservedPrefix = "_spel_"
	identThis      = reservedPrefix + "this"  // #this; becomes the closure element or the root
	identElvis     = reservedPrefix + "elvis" // marks "a ?: b" as "a ? _spel_elvis : b"
	identTypeRef   = reservedPrefix + "T_"    // T(java.lang.Math) becomes _spel_T_Math
	methodSelect   = reservedPrefix + "select"
	methodProject  = reservedPrefix + "project"
	methodFirst    = reservedPrefix + "first"
	methodLast     = reservedPrefix + "last"
)

type tokenKind int

const (
	tokIdent  tokenKind = iota // foo, null, and
	tokNumber                  // 42, 1.5, 0x1F
	tokString                  // 'text' or "text"; text holds the decoded value
	tokHash                    // #name; text holds the name
	tokOp                      // operators and brackets
)

type token struct {
	kind tokenKind
	text string
	pos  int // byte offset in the expression
}

// lexSpEL splits a SpEL expression into tokens.
func lexSpEL(src string) ([]token, error) {
	var toks []token
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRuneInString(src[i:])
		switch {
		case unicode.IsSpace(r):
			i += size

		case r == '\'' || r == '"':
			text, n, err := lexString(src[i:])
			if err != nil {
				return nil, fmt.Errorf("%w at offset %d", err, i)
			}
			toks = append(toks, token{tokString, text, i})
			i += n

		case r >= '0' && r <= '9':
			text, n := lexNumber(src[i:])
			toks = append(toks, token{tokNumber, text, i})
			i += n

		case isIdentStart(r):
			n := lexIdent(src[i:])
			toks = append(toks, token{tokIdent, src[i : i+n], i})
			i += n

		case r == '#':
			n := 0
			if i+1 < len(src) {
				if r2, _ := utf8.DecodeRuneInString(src[i+1:]); isIdentStart(r2) {
					n = lexIdent(src[i+1:])
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("'#' must be followed by a function or variable name, at offset %d", i)
			}
			toks = append(toks, token{tokHash, src[i+1 : i+1+n], i})
			i += 1 + n

		default:
			op := lexOperator(src[i:])
			if op == "" {
				return nil, fmt.Errorf("unexpected character %q at offset %d", r, i)
			}
			toks = append(toks, token{tokOp, op, i})
			i += len(op)
		}
	}
	return toks, nil
}

// lexString reads a quoted SpEL string literal at the start of s. SpEL has
// no backslash escapes: a quote is escaped by doubling it ('it”s').
func lexString(s string) (text string, n int, err error) {
	quote := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != quote {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == quote {
			b.WriteByte(quote)
			i++
			continue
		}
		return b.String(), i + 1, nil
	}
	return "", 0, fmt.Errorf("unterminated string literal")
}

// lexNumber reads a number at the start of s. Java's type suffixes (10L,
// 1.5f, 2d) are dropped: expr-lang has one integer and one float type.
func lexNumber(s string) (text string, n int) {
	digits := func(i int, hex bool) int {
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || hex && strings.IndexByte("abcdefABCDEF", s[i]) >= 0) {
			i++
		}
		return i
	}
	i := 0
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		i = digits(2, true)
	} else {
		i = digits(0, false)
		if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
			i = digits(i+1, false)
		}
		if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
			j := i + 1
			if j < len(s) && (s[j] == '+' || s[j] == '-') {
				j++
			}
			if j < len(s) && s[j] >= '0' && s[j] <= '9' {
				i = digits(j, false)
			}
		}
	}
	text = s[:i]
	if i < len(s) && strings.IndexByte("lLfFdD", s[i]) >= 0 {
		if s[i] != 'l' && s[i] != 'L' && !strings.ContainsAny(text, ".eExX") {
			text += ".0" // 2f and 2d are floating point in Java
		}
		i++
	}
	return text, i
}

func isIdentStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }

func isIdentPart(r rune) bool { return isIdentStart(r) || unicode.IsDigit(r) }

func lexIdent(s string) int {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !isIdentPart(r) {
			break
		}
		n += size
	}
	return n
}

// operators lists SpEL's operator tokens, longest first so that the first
// prefix match wins.
var operators = []string{
	"?.?[", "?.![", "?.^[", "?.$[",
	".?[", ".![", ".^[", ".$[",
	"==", "!=", "<=", ">=", "&&", "||", "?.", "?:", "++", "--",
	"+", "-", "*", "/", "%", "^", "<", ">", "!", "=", "?", ":", ".", ",",
	"(", ")", "[", "]", "{", "}", "@", "&", "|", ";", "~", "`", "\\",
}

func lexOperator(s string) string {
	for _, op := range operators {
		if strings.HasPrefix(s, op) {
			return op
		}
	}
	return ""
}

// wordOperators are SpEL's textual operators, matched case-insensitively as
// SpEL does, with their expr-lang spelling.
var wordOperators = map[string]string{
	"and": "&&", "or": "||", "not": "!",
	"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
	"div": "/", "mod": "%", "matches": "matches",
	"null": "nil", "true": "true", "false": "false",
}

// unsupportedOperators are SpEL operators with no gennaker equivalent.
var unsupportedOperators = map[string]string{
	"instanceof": "the instanceof operator is not supported",
	"between":    "the between operator is not supported",
	"new":        "constructors (new ...) are not supported",
}

// collectionOps maps SpEL's collection selection and projection operators
// to the marker methods the AST patch turns into expr-lang closures.
var collectionOps = map[string]string{
	".?[": methodSelect, ".![": methodProject, ".^[": methodFirst, ".$[": methodLast,
}

// staticTypes are the Java types T(...) may name. Like Spinnaker's
// allow-list, arbitrary classes are not reachable.
var staticTypes = map[string]bool{
	"Integer": true, "Long": true, "Double": true, "Float": true,
	"Boolean": true, "String": true, "Math": true,
}

// outToken is one token of the translated expression with the offset of
// the source token it came from, so errors can point at what the user wrote.
type outToken struct {
	text string
	pos  int
}

// translation is the expr-lang form of one SpEL expression.
type translation struct {
	code string
	toks []outToken
}

// near returns the user's source text around the translated rune offset,
// for error messages about the translated code.
func (t *translation) near(src string, runeOffset int) string {
	pos, off := -1, 0
	for _, tok := range t.toks {
		if off > runeOffset {
			break
		}
		pos = tok.pos
		off += utf8.RuneCountInString(tok.text) + 1
	}
	if pos < 0 || pos >= len(src) {
		return ""
	}
	rest := []rune(src[pos:])
	if len(rest) > 20 {
		return string(rest[:20]) + "…"
	}
	return string(rest)
}

// closer is a pending closing bracket: the one the source must contain and
// the text to emit in its place.
type closer struct {
	src  string
	emit string
}

// translate rewrites one SpEL expression (the text between "${" and "}")
// into expr-lang source.
func translate(src string) (*translation, error) {
	toks, err := lexSpEL(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty expression")
	}
	tr := &translation{}
	emit := func(pos int, texts ...string) {
		for _, t := range texts {
			tr.toks = append(tr.toks, outToken{t, pos})
		}
	}
	var stack []closer
	next := func(i int) *token {
		if i+1 < len(toks) {
			return &toks[i+1]
		}
		return nil
	}
	isOp := func(t *token, op string) bool { return t != nil && t.kind == tokOp && t.text == op }

	for i := 0; i < len(toks); i++ {
		t := toks[i]
		afterDot := i > 0 && (isOp(&toks[i-1], ".") || isOp(&toks[i-1], "?."))
		switch t.kind {
		case tokString:
			emit(t.pos, quoteExprString(t.text))

		case tokNumber:
			emit(t.pos, t.text)

		case tokHash:
			if !isOp(next(i), "(") {
				switch t.text {
				case "this":
					emit(t.pos, identThis)
				case "root":
					emit(t.pos, "$env")
				default:
					return nil, fmt.Errorf("unknown variable #%s (only #this and #root exist)", t.text)
				}
				continue
			}
			h, ok := helperByName[t.text]
			if !ok {
				return nil, fmt.Errorf("unknown function #%s", t.text)
			}
			if h.omitted != "" {
				return nil, fmt.Errorf("%w: #%s %s", ErrUnsupported, t.text, h.omitted)
			}
			emit(t.pos, h.ident(), "(")
			stack = append(stack, closer{")", ")"})
			i++ // the "("
			if h.needsContext {
				emit(t.pos, "$env")
				if !isOp(next(i), ")") {
					emit(t.pos, ",")
				}
			}

		case tokIdent:
			if afterDot {
				emit(t.pos, t.text) // a property or method name, never an operator
				continue
			}
			if strings.HasPrefix(t.text, reservedPrefix) {
				return nil, fmt.Errorf("names starting with %s are reserved", reservedPrefix)
			}
			lower := strings.ToLower(t.text)
			if op, ok := wordOperators[lower]; ok {
				emit(t.pos, op)
				continue
			}
			if msg, ok := unsupportedOperators[lower]; ok {
				return nil, fmt.Errorf("%w: %s", ErrUnsupported, msg)
			}
			if t.text == "T" && isOp(next(i), "(") {
				name, n, err := typeReference(toks[i+1:])
				if err != nil {
					return nil, err
				}
				emit(t.pos, identTypeRef+name)
				i += n
				continue
			}
			if t.text == "deployedServerGroups" && !isOp(next(i), "(") {
				// Spinnaker still accepts this old variable form of the function.
				emit(t.pos, helperByName["deployedServerGroups"].ident(), "(", "$env", ")")
				continue
			}
			emit(t.pos, t.text)

		case tokOp:
			switch t.text {
			case "?:":
				emit(t.pos, "?", identElvis, ":")
			case ".?[", ".![", ".^[", ".$[", "?.?[", "?.![", "?.^[", "?.$[":
				dot, op := ".", t.text
				if strings.HasPrefix(op, "?.") {
					dot, op = "?.", op[1:]
				}
				emit(t.pos, dot, collectionOps[op], "(")
				stack = append(stack, closer{"]", ")"})
			case "(":
				emit(t.pos, "(")
				stack = append(stack, closer{")", ")"})
			case "[":
				emit(t.pos, "[")
				stack = append(stack, closer{"]", "]"})
			case "{":
				if isOp(next(i), ":") && i+2 < len(toks) && isOp(&toks[i+2], "}") {
					emit(t.pos, "{", "}") // {:} is SpEL's empty map
					i += 2
					continue
				}
				if isMapLiteral(toks[i+1:]) {
					emit(t.pos, "{")
					stack = append(stack, closer{"}", "}"})
				} else {
					emit(t.pos, "[") // SpEL's inline list {1, 2} is expr-lang's [1, 2]
					stack = append(stack, closer{"}", "]"})
				}
			case ")", "]", "}":
				if len(stack) == 0 || stack[len(stack)-1].src != t.text {
					return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
				}
				emit(t.pos, stack[len(stack)-1].emit)
				stack = stack[:len(stack)-1]
			case "=":
				return nil, fmt.Errorf("%w: assignment (=) is not supported; use == to compare", ErrUnsupported)
			case "@", "&":
				return nil, fmt.Errorf("%w: bean references (%s) are not supported", ErrUnsupported, t.text)
			case "++", "--":
				return nil, fmt.Errorf("%w: the %s operator is not supported", ErrUnsupported, t.text)
			case "|", ";", "~", "`", "\\":
				return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
			default:
				emit(t.pos, t.text)
			}
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("missing %q at the end of the expression", stack[len(stack)-1].src)
	}
	texts := make([]string, len(tr.toks))
	for i, t := range tr.toks {
		texts[i] = t.text
	}
	tr.code = strings.Join(texts, " ")
	return tr, nil
}

// typeReference reads the "(java.lang.Integer)" of T(java.lang.Integer)
// from toks, which starts at the "(". It returns the simple class name and
// how many tokens it used.
func typeReference(toks []token) (name string, n int, err error) {
	var parts []string
	wantIdent := true
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.kind == tokIdent && wantIdent:
			parts = append(parts, t.text)
			wantIdent = false
		case t.kind == tokOp && t.text == "." && !wantIdent:
			wantIdent = true
		case t.kind == tokOp && t.text == ")" && !wantIdent:
			full := strings.Join(parts, ".")
			name := parts[len(parts)-1]
			if !staticTypes[name] || (len(parts) > 1 && full != "java.lang."+name) {
				return "", 0, fmt.Errorf("%w: type T(%s) is not available in expressions", ErrUnsupported, full)
			}
			return name, i + 1, nil
		default:
			return "", 0, fmt.Errorf("malformed type reference T(...) at offset %d", t.pos)
		}
	}
	return "", 0, fmt.Errorf("malformed type reference T(...): missing ')'")
}

// isMapLiteral reports whether the braces that open just before toks hold a
// map ({'a': 1}) rather than a list ({1, 2}): a map has a ':' at its own
// nesting level that is not the else-branch of a ternary.
func isMapLiteral(toks []token) bool {
	depth, ternaries := 0, 0
	for _, t := range toks {
		if t.kind != tokOp {
			continue
		}
		switch t.text {
		case "(", "[", "{", ".?[", ".![", ".^[", ".$[", "?.?[", "?.![", "?.^[", "?.$[":
			depth++
		case ")", "]":
			depth--
		case "}":
			if depth == 0 {
				return false
			}
			depth--
		case "?":
			if depth == 0 {
				ternaries++
			}
		case ":":
			if depth == 0 {
				if ternaries == 0 {
					return true
				}
				ternaries--
			}
		}
	}
	return false
}

// quoteExprString writes s as an expr-lang double-quoted string literal.
func quoteExprString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
