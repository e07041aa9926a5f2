package asl

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// This file implements the intrinsic functions (States.Format and friends)
// that payload templates, Fail's ErrorPath/CausePath may invoke. A call is
// parsed once, when the definition is parsed, and evaluated per state entry.

// maxIntrinsicNesting is the nesting depth Step Functions allows.
const maxIntrinsicNesting = 10

// maxIntrinsicStringLen bounds the strings States.Hash and the Base64
// functions accept, as Step Functions does.
const maxIntrinsicStringLen = 10000

// maxArrayRangeItems bounds the array States.ArrayRange may build.
const maxArrayRangeItems = 1000

// evalEnv is what paths inside templates, choice rules and intrinsics read:
// the state's (effective) input and, lazily, the context object.
type evalEnv struct {
	input   any
	context func() any
}

func (e *evalEnv) resolve(p *jsonPath) (any, bool) {
	root := e.input
	if p.context {
		if e.context == nil {
			return nil, false
		}
		root = e.context()
	}
	return p.get(root)
}

type intrinsicArg interface {
	eval(env *evalEnv) (any, error)
}

// argLiteral is a string, number, boolean or null literal argument.
type argLiteral struct {
	value any
	// fmtParts is, for a string literal, its text split at each unescaped
	// "{}" placeholder, so that States.Format honours escaped braces.
	fmtParts []string
}

func (a *argLiteral) eval(*evalEnv) (any, error) { return a.value, nil }

// argPath is a path argument, selecting from the input or context object.
type argPath struct{ path *jsonPath }

func (a *argPath) eval(env *evalEnv) (any, error) {
	v, ok := env.resolve(a.path)
	if !ok {
		return nil, fmt.Errorf("the path %q could not be found in the input", a.path.text)
	}
	return v, nil
}

// intrinsicCall is one parsed invocation, e.g. States.Format('{}', $.x).
type intrinsicCall struct {
	text string
	name string
	fn   *intrinsicFunc
	args []intrinsicArg
}

type intrinsicFunc struct {
	minArgs, maxArgs int // maxArgs < 0: variadic
	eval             func(c *intrinsicCall, args []any) (any, error)
}

var intrinsicFuncs map[string]*intrinsicFunc

func init() {
	// Assigned in init because States.Format refers to the call's arguments.
	intrinsicFuncs = map[string]*intrinsicFunc{
		"States.Format":         {1, -1, fnFormat},
		"States.StringToJson":   {1, 1, fnStringToJSON},
		"States.JsonToString":   {1, 1, fnJSONToString},
		"States.Array":          {0, -1, fnArray},
		"States.ArrayPartition": {2, 2, fnArrayPartition},
		"States.ArrayContains":  {2, 2, fnArrayContains},
		"States.ArrayRange":     {3, 3, fnArrayRange},
		"States.ArrayGetItem":   {2, 2, fnArrayGetItem},
		"States.ArrayLength":    {1, 1, fnArrayLength},
		"States.ArrayUnique":    {1, 1, fnArrayUnique},
		"States.Base64Encode":   {1, 1, fnBase64Encode},
		"States.Base64Decode":   {1, 1, fnBase64Decode},
		"States.Hash":           {2, 2, fnHash},
		"States.JsonMerge":      {3, 3, fnJSONMerge},
		"States.MathRandom":     {2, 3, fnMathRandom},
		"States.MathAdd":        {2, 2, fnMathAdd},
		"States.StringSplit":    {2, 2, fnStringSplit},
		"States.UUID":           {0, 0, fnUUID},
	}
}

// isIntrinsic reports whether a payload template value invokes a function.
func isIntrinsic(s string) bool { return strings.HasPrefix(s, "States.") }

// parseIntrinsic compiles an intrinsic function invocation.
func parseIntrinsic(text string) (*intrinsicCall, error) {
	p := &intrinsicParser{s: text}
	c, err := p.call(1)
	if err != nil {
		return nil, fmt.Errorf("invalid intrinsic function %q: %w", text, err)
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("invalid intrinsic function %q: unexpected %q after the closing parenthesis", text, p.s[p.pos:])
	}
	return c, nil
}

type intrinsicParser struct {
	s   string
	pos int
}

func (p *intrinsicParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n') {
		p.pos++
	}
}

func (p *intrinsicParser) call(depth int) (*intrinsicCall, error) {
	if depth > maxIntrinsicNesting {
		return nil, fmt.Errorf("more than %d nested intrinsic functions", maxIntrinsicNesting)
	}
	start := p.pos
	for p.pos < len(p.s) && (isIdentByte(p.s[p.pos]) || p.s[p.pos] == '.') {
		p.pos++
	}
	name := p.s[start:p.pos]
	fn, ok := intrinsicFuncs[name]
	if !ok {
		return nil, fmt.Errorf("unknown intrinsic function %q", name)
	}
	p.skipSpace()
	if p.pos >= len(p.s) || p.s[p.pos] != '(' {
		return nil, fmt.Errorf("expected '(' after %s", name)
	}
	p.pos++
	c := &intrinsicCall{name: name, fn: fn}
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == ')' {
		p.pos++
	} else {
		for {
			p.skipSpace()
			arg, err := p.arg(depth)
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, arg)
			p.skipSpace()
			if p.pos >= len(p.s) {
				return nil, fmt.Errorf("missing ')' closing %s", name)
			}
			if p.s[p.pos] == ')' {
				p.pos++
				break
			}
			if p.s[p.pos] != ',' {
				return nil, fmt.Errorf("expected ',' or ')' in the arguments of %s, found %q", name, p.s[p.pos])
			}
			p.pos++
		}
	}
	c.text = p.s[start:p.pos]
	if len(c.args) < fn.minArgs || (fn.maxArgs >= 0 && len(c.args) > fn.maxArgs) {
		return nil, fmt.Errorf("%s takes %s, got %d", name, arityText(fn), len(c.args))
	}
	return c, nil
}

func arityText(fn *intrinsicFunc) string {
	switch {
	case fn.maxArgs < 0:
		return fmt.Sprintf("at least %d arguments", fn.minArgs)
	case fn.minArgs == fn.maxArgs:
		return fmt.Sprintf("%d arguments", fn.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", fn.minArgs, fn.maxArgs)
}

func isIdentByte(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func (p *intrinsicParser) arg(depth int) (intrinsicArg, error) {
	if p.pos >= len(p.s) {
		return nil, fmt.Errorf("missing argument")
	}
	rest := p.s[p.pos:]
	switch c := rest[0]; {
	case c == '\'':
		return p.stringLiteral()
	case c == '$':
		return p.pathArg()
	case c == '-' || ('0' <= c && c <= '9'):
		end := 1
		for end < len(rest) && strings.IndexByte("0123456789.eE+-", rest[end]) >= 0 {
			end++
		}
		text := rest[:end]
		if _, err := strconv.ParseFloat(text, 64); err != nil || !json.Valid([]byte(text)) {
			return nil, fmt.Errorf("invalid number %q", text)
		}
		p.pos += end
		return &argLiteral{value: json.Number(text)}, nil
	case strings.HasPrefix(rest, "States."):
		return p.call(depth + 1)
	}
	for word, v := range map[string]any{"true": true, "false": false, "null": nil} {
		if strings.HasPrefix(rest, word) && (len(rest) == len(word) || !isIdentByte(rest[len(word)])) {
			p.pos += len(word)
			return &argLiteral{value: v}, nil
		}
	}
	return nil, fmt.Errorf("invalid argument at %q", rest)
}

// stringLiteral reads a single-quoted string, where \' \{ \} and \\ escape
// the reserved characters; any other backslash is an open escape and an
// error, as the Step Functions interpreter treats it.
func (p *intrinsicParser) stringLiteral() (intrinsicArg, error) {
	var (
		cur   strings.Builder
		whole strings.Builder
		parts []string
	)
	for i := p.pos + 1; i < len(p.s); i++ {
		c := p.s[i]
		switch c {
		case '\\':
			if i+1 >= len(p.s) || strings.IndexByte(`'{}\`, p.s[i+1]) < 0 {
				return nil, fmt.Errorf("open escape '\\' in string literal")
			}
			i++
			cur.WriteByte(p.s[i])
			whole.WriteByte(p.s[i])
		case '\'':
			p.pos = i + 1
			parts = append(parts, cur.String())
			return &argLiteral{value: whole.String(), fmtParts: parts}, nil
		case '{':
			if i+1 < len(p.s) && p.s[i+1] == '}' {
				parts = append(parts, cur.String())
				cur.Reset()
				whole.WriteString("{}")
				i++
				continue
			}
			cur.WriteByte(c)
			whole.WriteByte(c)
		default:
			cur.WriteByte(c)
			whole.WriteByte(c)
		}
	}
	return nil, fmt.Errorf("unterminated string literal")
}

// pathArg reads a path up to the next ',' or ')' outside brackets and quotes.
func (p *intrinsicParser) pathArg() (intrinsicArg, error) {
	start := p.pos
	depth := 0
	var quote byte
	i := p.pos
loop:
	for ; i < len(p.s); i++ {
		c := p.s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0 && (c == ',' || c == ')'):
			break loop
		}
	}
	text := strings.TrimSpace(p.s[start:i])
	path, err := parsePath(text)
	if err != nil {
		return nil, err
	}
	p.pos = i
	return &argPath{path: path}, nil
}

// eval runs the call. Failures are States.IntrinsicFailure errors.
func (c *intrinsicCall) eval(env *evalEnv) (any, error) {
	args := make([]any, len(c.args))
	for i, a := range c.args {
		v, err := a.eval(env)
		if err != nil {
			if se, ok := asStatesError(err); ok {
				return nil, se
			}
			return nil, c.failure(err)
		}
		args[i] = v
	}
	v, err := c.fn.eval(c, args)
	if err != nil {
		return nil, c.failure(err)
	}
	return v, nil
}

func (c *intrinsicCall) failure(err error) *Error {
	return newError(ErrorIntrinsicFailure, "The function '%s' had the following error: %v", c.text, err)
}

func argString(args []any, i int, what string) (string, error) {
	s, ok := args[i].(string)
	if !ok {
		return "", fmt.Errorf("%s must be a string, got %s", what, jsonTypeName(args[i]))
	}
	return s, nil
}

func argArray(args []any, i int, what string) ([]any, error) {
	a, ok := args[i].([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an array, got %s", what, jsonTypeName(args[i]))
	}
	return a, nil
}

// argInt reads an integer argument; Step Functions rounds non-integers to the
// nearest integer the way Java's Math.round does.
func argInt(args []any, i int, what string) (int64, error) {
	f, ok := numberValue(args[i])
	if !ok {
		return 0, fmt.Errorf("%s must be a number, got %s", what, jsonTypeName(args[i]))
	}
	if n, ok := intValue(args[i]); ok {
		return n, nil
	}
	if math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("%s is out of range", what)
	}
	return int64(math.Floor(f + 0.5)), nil
}

func fnFormat(c *intrinsicCall, args []any) (any, error) {
	var parts []string
	if lit, ok := c.args[0].(*argLiteral); ok && lit.fmtParts != nil {
		parts = lit.fmtParts
	} else {
		tmpl, err := argString(args, 0, "the format string")
		if err != nil {
			return nil, err
		}
		parts = strings.Split(tmpl, "{}")
	}
	if len(parts)-1 != len(args)-1 {
		return nil, fmt.Errorf("the format string has %d placeholders but %d values were given", len(parts)-1, len(args)-1)
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for i, v := range args[1:] {
		b.WriteString(formatValue(v))
		b.WriteString(parts[i+1])
	}
	return b.String(), nil
}

// formatValue renders a States.Format argument: strings verbatim, scalars as
// JSON, and objects and arrays in the Java-style notation Step Functions uses
// ({a=1, b=[x, y]}).
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		items := make([]string, len(x))
		for i, item := range x {
			items[i] = formatValue(item)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = k + "=" + formatValue(x[k])
		}
		return "{" + strings.Join(items, ", ") + "}"
	}
	return mustJSON(v)
}

func fnStringToJSON(_ *intrinsicCall, args []any) (any, error) {
	s, err := argString(args, 0, "the argument")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("the argument is not valid JSON: %v", err)
	}
	return v, nil
}

func fnJSONToString(_ *intrinsicCall, args []any) (any, error) {
	b, err := encodeJSON(args[0])
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func fnArray(_ *intrinsicCall, args []any) (any, error) {
	return slices.Clone(args), nil
}

func fnArrayPartition(_ *intrinsicCall, args []any) (any, error) {
	a, err := argArray(args, 0, "the first argument")
	if err != nil {
		return nil, err
	}
	size, err := argInt(args, 1, "the chunk size")
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("the chunk size must be a positive integer, got %d", size)
	}
	out := []any{}
	for chunk := range slices.Chunk(a, int(size)) {
		out = append(out, slices.Clone(chunk))
	}
	return out, nil
}

func fnArrayContains(_ *intrinsicCall, args []any) (any, error) {
	a, err := argArray(args, 0, "the first argument")
	if err != nil {
		return nil, err
	}
	return slices.ContainsFunc(a, func(v any) bool { return jsonEqual(v, args[1]) }), nil
}

func fnArrayRange(_ *intrinsicCall, args []any) (any, error) {
	first, err := argInt(args, 0, "the start")
	if err != nil {
		return nil, err
	}
	last, err := argInt(args, 1, "the end")
	if err != nil {
		return nil, err
	}
	step, err := argInt(args, 2, "the step")
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, fmt.Errorf("the step must not be zero")
	}
	if n := (last-first)/step + 1; n > maxArrayRangeItems {
		return nil, fmt.Errorf("the range would have %d items; at most %d are allowed", n, maxArrayRangeItems)
	}
	out := []any{}
	for i := first; (step > 0 && i <= last) || (step < 0 && i >= last); i += step {
		out = append(out, intNumber(i))
	}
	return out, nil
}

func fnArrayGetItem(_ *intrinsicCall, args []any) (any, error) {
	a, err := argArray(args, 0, "the first argument")
	if err != nil {
		return nil, err
	}
	i, err := argInt(args, 1, "the index")
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= int64(len(a)) {
		return nil, fmt.Errorf("index %d is out of bounds for an array of length %d", i, len(a))
	}
	return a[i], nil
}

func fnArrayLength(_ *intrinsicCall, args []any) (any, error) {
	a, err := argArray(args, 0, "the argument")
	if err != nil {
		return nil, err
	}
	return intNumber(int64(len(a))), nil
}

func fnArrayUnique(_ *intrinsicCall, args []any) (any, error) {
	a, err := argArray(args, 0, "the argument")
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, v := range a {
		if !slices.ContainsFunc(out, func(u any) bool { return jsonEqual(u, v) }) {
			out = append(out, v)
		}
	}
	return out, nil
}

func fnBase64Encode(_ *intrinsicCall, args []any) (any, error) {
	s, err := argString(args, 0, "the argument")
	if err != nil {
		return nil, err
	}
	if len([]rune(s)) > maxIntrinsicStringLen {
		return nil, fmt.Errorf("the input is longer than %d characters", maxIntrinsicStringLen)
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(_ *intrinsicCall, args []any) (any, error) {
	s, err := argString(args, 0, "the argument")
	if err != nil {
		return nil, err
	}
	if len(s) > maxIntrinsicStringLen {
		return nil, fmt.Errorf("the input is longer than %d characters", maxIntrinsicStringLen)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the input is not valid base64: %v", err)
	}
	return string(b), nil
}

var hashAlgorithms = map[string]func() hash.Hash{
	"MD5":     md5.New,
	"SHA-1":   sha1.New,
	"SHA-256": sha256.New,
	"SHA-384": sha512.New384,
	"SHA-512": sha512.New,
}

func fnHash(_ *intrinsicCall, args []any) (any, error) {
	data, err := argString(args, 0, "the data")
	if err != nil {
		return nil, err
	}
	if len([]rune(data)) > maxIntrinsicStringLen {
		return nil, fmt.Errorf("the data is longer than %d characters", maxIntrinsicStringLen)
	}
	alg, err := argString(args, 1, "the algorithm")
	if err != nil {
		return nil, err
	}
	newHash, ok := hashAlgorithms[alg]
	if !ok {
		return nil, fmt.Errorf("unsupported hash algorithm %q (want MD5, SHA-1, SHA-256, SHA-384 or SHA-512)", alg)
	}
	h := newHash()
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnJSONMerge(_ *intrinsicCall, args []any) (any, error) {
	a, ok := args[0].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the first argument must be an object, got %s", jsonTypeName(args[0]))
	}
	b, ok := args[1].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the second argument must be an object, got %s", jsonTypeName(args[1]))
	}
	deep, ok := args[2].(bool)
	if !ok {
		return nil, fmt.Errorf("the third argument must be a boolean, got %s", jsonTypeName(args[2]))
	}
	if deep {
		return nil, fmt.Errorf("only shallow merging is supported; the third argument must be false")
	}
	out := maps.Clone(a)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, b)
	return out, nil
}

// fnMathRandom returns an integer in [start, end). With a seed the sequence
// is deterministic.
func fnMathRandom(_ *intrinsicCall, args []any) (any, error) {
	start, err := argInt(args, 0, "the start")
	if err != nil {
		return nil, err
	}
	end, err := argInt(args, 1, "the end")
	if err != nil {
		return nil, err
	}
	if end <= start {
		return nil, fmt.Errorf("the end (%d) must be greater than the start (%d)", end, start)
	}
	var r *mrand.Rand
	if len(args) == 3 {
		seed, err := argInt(args, 2, "the seed")
		if err != nil {
			return nil, err
		}
		r = mrand.New(mrand.NewPCG(uint64(seed), uint64(seed)))
	} else {
		var b [16]byte
		_, _ = rand.Read(b[:])
		r = mrand.New(mrand.NewPCG(beUint64(b[:8]), beUint64(b[8:])))
	}
	return intNumber(start + r.Int64N(end-start)), nil
}

func beUint64(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}

func fnMathAdd(_ *intrinsicCall, args []any) (any, error) {
	a, err := argInt(args, 0, "the first argument")
	if err != nil {
		return nil, err
	}
	b, err := argInt(args, 1, "the second argument")
	if err != nil {
		return nil, err
	}
	return intNumber(a + b), nil
}

// fnStringSplit splits at every character of the delimiter string and drops
// empty pieces.
func fnStringSplit(_ *intrinsicCall, args []any) (any, error) {
	s, err := argString(args, 0, "the first argument")
	if err != nil {
		return nil, err
	}
	delims, err := argString(args, 1, "the delimiters")
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) }) {
		out = append(out, f)
	}
	return out, nil
}

func fnUUID(*intrinsicCall, []any) (any, error) { return newUUID(), nil }

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return formatUUID(b, 4)
}

// nameUUID returns a name-based (version 5 style, SHA-256 truncated) UUID, so
// that a retried action derives the same identifier.
func nameUUID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	var b [16]byte
	copy(b[:], h[:16])
	return formatUUID(b, 5)
}

func formatUUID(b [16]byte, version byte) string {
	b[6] = b[6]&0x0f | version<<4
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
