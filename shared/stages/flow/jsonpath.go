package flow

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gennaker/gennaker/shared/stages"
)

// errPathNotFound reports that a JSONPath names nothing in the document.
var errPathNotFound = errors.New("not found")

// readJSONPath reads one value from a decoded JSON document with the subset
// of JSONPath that webhook stages use: $, .name, ['name'] or ["name"], and
// [index] (negative counts from the end). Like Jayway's JsonPath, which orca
// uses, a path without a leading $ is read from the root ("status" is
// "$.status"). Wildcards, filters and deep scans are not supported and are
// reported as errors.
func readJSONPath(doc any, path string) (any, error) {
	steps, err := parseJSONPath(path)
	if err != nil {
		return nil, err
	}
	cur := doc
	walked := "$"
	for _, st := range steps {
		switch node := cur.(type) {
		case map[string]any:
			if st.isIndex {
				return nil, fmt.Errorf("%s: %s is an object, not a list: %w", path, walked, errPathNotFound)
			}
			v, ok := node[st.key]
			if !ok {
				return nil, fmt.Errorf("%s: %s has no %q: %w", path, walked, st.key, errPathNotFound)
			}
			cur = v
		case []any:
			if !st.isIndex {
				return nil, fmt.Errorf("%s: %s is a list, not an object: %w", path, walked, errPathNotFound)
			}
			i := st.index
			if i < 0 {
				i += len(node)
			}
			if i < 0 || i >= len(node) {
				return nil, fmt.Errorf("%s: %s has no index %d (length %d): %w", path, walked, st.index, len(node), errPathNotFound)
			}
			cur = node[i]
		default:
			return nil, fmt.Errorf("%s: %s is %s: %w", path, walked, stages.Describe(cur), errPathNotFound)
		}
		walked += st.String()
	}
	return cur, nil
}

type pathStep struct {
	key     string
	index   int
	isIndex bool
}

func (s pathStep) String() string {
	if s.isIndex {
		return fmt.Sprintf("[%d]", s.index)
	}
	return "." + s.key
}

func parseJSONPath(path string) ([]pathStep, error) {
	p := strings.TrimSpace(path)
	switch {
	case p == "":
		return nil, errors.New("empty JSONPath")
	case strings.HasPrefix(p, "$"):
		p = p[1:]
	case strings.HasPrefix(p, "["):
	default:
		p = "." + p
	}
	var steps []pathStep
	for len(p) > 0 {
		switch p[0] {
		case '.':
			if strings.HasPrefix(p, "..") {
				return nil, fmt.Errorf("JSONPath %q: deep scan (..) is not supported", path)
			}
			p = p[1:]
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			name := p[:end]
			if name == "" || name == "*" {
				return nil, fmt.Errorf("JSONPath %q: expected a property name after '.'", path)
			}
			steps = append(steps, pathStep{key: name})
			p = p[end:]
		case '[':
			rest := strings.TrimLeft(p[1:], " ")
			if rest != "" && (rest[0] == '\'' || rest[0] == '"') {
				// A quoted name may hold any character but its own quote.
				closing := strings.IndexByte(rest[1:], rest[0])
				if closing < 0 {
					return nil, fmt.Errorf("JSONPath %q: unterminated quoted name", path)
				}
				name := rest[1 : 1+closing]
				after := strings.TrimLeft(rest[2+closing:], " ")
				if !strings.HasPrefix(after, "]") {
					return nil, fmt.Errorf("JSONPath %q: missing ']' after ['%s'", path, name)
				}
				steps = append(steps, pathStep{key: name})
				p = after[1:]
				continue
			}
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return nil, fmt.Errorf("JSONPath %q: missing ']'", path)
			}
			inner := strings.TrimSpace(p[1:end])
			i, err := strconv.Atoi(inner)
			if err != nil {
				return nil, fmt.Errorf("JSONPath %q: [%s] is not an index or a quoted name (wildcards and filters are not supported)", path, inner)
			}
			steps = append(steps, pathStep{index: i, isIndex: true})
			p = p[end+1:]
		default:
			return nil, fmt.Errorf("JSONPath %q: unexpected %q", path, p[0])
		}
	}
	return steps, nil
}
