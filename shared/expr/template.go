package expr

import (
	"fmt"
	"strings"
)

// segment is one piece of a string value: literal text, or one "${…}"
// expression.
type segment struct {
	text   string // literal text, or the expression body between "${" and "}"
	raw    string // for an expression, the whole "${…}" as written
	isExpr bool
}

// HasExpression reports whether s contains a "${" that starts an
// expression. A "${" written as "\${" is literal text and does not count.
func HasExpression(s string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			return false
		}
		i += j
		if i == 0 || s[i-1] != '\\' {
			return true
		}
		i += 2
	}
}

// splitTemplate cuts s into literal text and "${…}" expressions. The end of
// an expression is the first "}" outside quotes that closes no "{" opened
// inside the expression, so "${ {'a': 1}['a'] }" and "${ 'a}b' }" are one
// expression each. "\${" is left in the text exactly as written.
func splitTemplate(s string) ([]segment, error) {
	var segs []segment
	var lit strings.Builder
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			lit.WriteString(s[i:])
			break
		}
		start := i + j
		if start > 0 && s[start-1] == '\\' {
			lit.WriteString(s[i : start+2])
			i = start + 2
			continue
		}
		lit.WriteString(s[i:start])
		end, err := expressionEnd(s, start+2)
		if err != nil {
			return nil, err
		}
		if lit.Len() > 0 {
			segs = append(segs, segment{text: lit.String()})
			lit.Reset()
		}
		body := s[start+2 : end]
		if strings.TrimSpace(body) == "" {
			return nil, fmt.Errorf("%w: empty expression ${}", ErrSyntax)
		}
		segs = append(segs, segment{text: body, raw: s[start : end+1], isExpr: true})
		i = end + 1
	}
	if lit.Len() > 0 {
		segs = append(segs, segment{text: lit.String()})
	}
	return segs, nil
}

// expressionEnd returns the index of the "}" that ends the expression whose
// body starts at s[from].
func expressionEnd(s string, from int) (int, error) {
	depth := 0
	var quote byte
	for i := from; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			// SpEL escapes a quote by doubling it; leaving and re-entering
			// the string on "''" has the same effect.
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i, nil
			}
			depth--
		}
	}
	if quote != 0 {
		return 0, fmt.Errorf("%w: unterminated string literal in %q", ErrSyntax, s[from-2:])
	}
	return 0, fmt.Errorf("%w: missing closing } for the expression starting %q", ErrSyntax, abbreviate(s[from-2:], 40))
}

// abbreviate shortens s to at most n runes for error messages.
func abbreviate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
