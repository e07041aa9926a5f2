package stages

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/gennaker/gennaker/shared/model"
)

// A stage's configuration arrives as JSON (the saved pipeline) or as the
// stage context (the configuration after expressions were evaluated, plus
// what earlier tasks recorded). Decode reads either into the stage type's
// typed configuration, once, and reports every field that does not fit with
// its JSON path ("clusters[0].capacity.min: must be a number, not "lots"").
//
// Values are read as Spinnaker reads them:
//   - a key that is absent, null or a blank string is not set (Deck saves
//     cleared inputs as ""), so the field keeps its zero value or nil;
//   - numbers may be numeric strings ("30"), because expressions evaluate to
//     strings; booleans may be "true" and "false" in any case;
//   - strings must be strings: a number where a name belongs is a mistake.
//
// Fields the struct does not name are ignored by the decoder but never lost:
// the pipeline and the context keep them, and they are written back as they
// came.

// Unset reports whether a configuration value counts as not set: absent,
// null, or a blank string.
func Unset(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

// IsExpression reports whether v is a string holding a ${…} expression, whose
// value is only known when the stage runs.
func IsExpression(v any) bool {
	s, ok := v.(string)
	return ok && strings.Contains(s, "${")
}

// Decode reads a stage context (or any JSON-shaped value) into cfg, a
// pointer, and returns the problems found, each with its JSON path.
func Decode(ctx map[string]any, cfg any) Problems {
	d := decoder{}
	d.into("", ctx, reflect.ValueOf(cfg))
	return d.problems
}

// DecodeConfig reads a saved stage's configuration into cfg for validation.
// Values holding ${…} expressions are only known when the stage runs: they
// are left unset in cfg and their paths are returned, so that a check of a
// required field can accept them (Expressions.Has).
func DecodeConfig(s *model.Stage, cfg any) (Expressions, Problems) {
	raw, err := s.Config()
	if err != nil {
		return nil, Problems{{Path: "", Message: fmt.Sprintf("cannot read the stage configuration: %v", err)}}
	}
	d := decoder{exprs: Expressions{}}
	d.into("", raw, reflect.ValueOf(cfg))
	return d.exprs, d.problems
}

// Expressions are the JSON paths of configuration values that are ${…}
// expressions.
type Expressions map[string]bool

// Has reports whether the value at path, or a value inside it, is an
// expression.
func (e Expressions) Has(path string) bool {
	if e[path] {
		return true
	}
	for p := range e {
		if strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			return true
		}
	}
	return false
}

// Problems collects what is wrong with a stage's configuration.
type Problems []model.Problem

// Add records a problem at path.
func (p *Problems) Add(path, format string, args ...any) {
	*p = append(*p, model.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns the problems as one error, or nil when there are none.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return ConfigError(p)
}

// ConfigError is a stage configuration that cannot be run, with each
// problem's path.
type ConfigError []model.Problem

func (e ConfigError) Error() string {
	parts := make([]string, len(e))
	for i, p := range e {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// Path joins JSON path elements: strings are keys, ints are list indexes.
// Path("clusters", 0, "capacity") is "clusters[0].capacity".
func Path(elems ...any) string {
	var b strings.Builder
	for _, e := range elems {
		switch v := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", v)
		case string:
			if v == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		}
	}
	return b.String()
}

type decoder struct {
	problems Problems
	// exprs, when not nil, collects expression values instead of decoding
	// them (validation before the run).
	exprs Expressions
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	anyType             = reflect.TypeFor[any]()
)

// into decodes in into the value v points to (or v itself when settable).
func (d *decoder) into(path string, in any, v reflect.Value) {
	if v.Kind() == reflect.Pointer && !v.IsNil() && !v.CanSet() {
		v = v.Elem()
	}
	// A field of type any holds the value as it came, so a blank string
	// stays a blank string (an evaluated variable, a webhook payload).
	if Unset(in) && (in == nil || v.Type() != anyType) {
		return
	}
	if d.exprs != nil && IsExpression(in) && v.Kind() != reflect.String {
		d.exprs[path] = true
		return
	}
	if d.exprs != nil && IsExpression(in) {
		d.exprs[path] = true
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer && t != anyType && (reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType)) {
		d.unmarshal(path, in, v)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		d.into(path, in, p.Elem())
		v.Set(p)
	case reflect.Interface:
		if t == anyType {
			v.Set(reflect.ValueOf(in))
			return
		}
		d.fail(path, "cannot be decoded into %s", t)
	case reflect.Struct:
		m, ok := in.(map[string]any)
		if !ok {
			d.fail(path, "must be an object, not %s", Describe(in))
			return
		}
		for _, f := range fieldsOf(t) {
			raw, ok := m[f.name]
			if !ok {
				continue
			}
			d.into(Path(path, f.name), raw, v.FieldByIndex(f.index))
		}
	case reflect.Map:
		m, ok := in.(map[string]any)
		if !ok {
			d.fail(path, "must be an object, not %s", Describe(in))
			return
		}
		if t.Key().Kind() != reflect.String {
			d.fail(path, "cannot be decoded into %s", t)
			return
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for k, raw := range m {
			e := reflect.New(t.Elem()).Elem()
			if raw != nil {
				d.into(Path(path, k), raw, e)
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		v.Set(out)
	case reflect.Slice:
		list, ok := in.([]any)
		if !ok {
			d.fail(path, "must be a list, not %s", Describe(in))
			return
		}
		out := reflect.MakeSlice(t, len(list), len(list))
		for i, raw := range list {
			d.into(fmt.Sprintf("%s[%d]", path, i), raw, out.Index(i))
		}
		v.Set(out)
	case reflect.String:
		s, ok := in.(string)
		if !ok {
			d.fail(path, "must be a string, not %s", Describe(in))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, err := ToBool(in)
		if err != nil {
			d.fail(path, "%v", err)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := ToInt(in)
		if err != nil {
			d.fail(path, "%v", err)
			return
		}
		if v.OverflowInt(n) {
			d.fail(path, "%d is too large", n)
			return
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := ToInt(in)
		if err != nil {
			d.fail(path, "%v", err)
			return
		}
		if n < 0 || v.OverflowUint(uint64(n)) {
			d.fail(path, "must be a number from 0 to %d, not %d", uint64(1)<<(t.Bits())-1, n)
			return
		}
		v.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		f, err := toFloat(in)
		if err != nil {
			d.fail(path, "%v", err)
			return
		}
		v.SetFloat(f)
	default:
		d.fail(path, "cannot be decoded into %s", t)
	}
}

// unmarshal hands a value to a type that reads its own JSON.
func (d *decoder) unmarshal(path string, in any, v reflect.Value) {
	b, err := json.Marshal(in)
	if err != nil {
		d.fail(path, "%v", err)
		return
	}
	if err := json.Unmarshal(b, v.Addr().Interface()); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			d.fail(Path(path, typeErr.Field), "must be %s, not %s", goTypeName(typeErr.Type.Kind().String()), typeErr.Value)
			return
		}
		d.fail(path, "%v", err)
	}
}

func (d *decoder) fail(path, format string, args ...any) {
	d.problems.Add(path, format, args...)
}

type field struct {
	name  string
	index []int
}

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf lists a struct's JSON fields, embedded structs' fields included,
// as encoding/json names them.
func fieldsOf(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	var out []field
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			idx := append(append([]int{}, index...), i)
			if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, idx)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			out = append(out, field{name: name, index: idx})
		}
	}
	walk(t, nil)
	fieldCache.Store(t, out)
	return out
}

func toFloat(v any) (float64, error) {
	switch n := v.(type) {
	case float64:
		return n, nil
	case int:
		return float64(n), nil
	case int64:
		return float64(n), nil
	case json.Number:
		return toFloat(string(n))
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("must be a number, not %q", n)
		}
		return f, nil
	default:
		return 0, fmt.Errorf("must be a number, not %s", Describe(v))
	}
}
