package model

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// Extra holds the JSON fields of an object that its Go type does not declare,
// and declared fields given explicitly with an empty value (false, [], "")
// that omitempty would drop. They are written back unchanged, so
// configurations round-trip.
//
// Types decoded with decodeExact also record here, as a nil value, each
// declared field without omitempty that the document did not have: such a
// field is written back only once it holds a value, so a document from
// elsewhere (an execution exported from Spinnaker) is written back without
// the fields gennaker would have added.
type Extra map[string]json.RawMessage

// absent reports whether name is a declared field the decoded document did
// not have.
func (x Extra) absent(name string) bool {
	v, ok := x[name]
	return ok && v == nil
}

// withoutDeclared returns the extra fields that are not declared in known:
// what a value keeps when it becomes gennaker's own, every declared field
// then written as gennaker writes it.
func (x Extra) withoutDeclared(known map[string]bool) Extra {
	var out Extra
	for k, v := range x {
		if _, ok := known[k]; ok {
			continue
		}
		if out == nil {
			out = Extra{}
		}
		out[k] = v
	}
	return out
}

// isEmptyJSON reports whether a raw value is one omitempty would omit.
func isEmptyJSON(v json.RawMessage) bool {
	var compact bytes.Buffer
	if json.Compact(&compact, v) != nil {
		return false
	}
	switch compact.String() {
	case "false", "0", `""`, "[]", "{}", "null":
		return true
	}
	return false
}

var knownFields sync.Map // reflect.Type -> map[string]bool

// fieldsOf returns the JSON names of t's declared fields, each mapped to
// whether it is always written (it has no omitempty).
func fieldsOf(t reflect.Type) map[string]bool {
	if v, ok := knownFields.Load(t); ok {
		return v.(map[string]bool)
	}
	names := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names[name] = !strings.Contains(","+opts+",", ",omitempty,")
	}
	knownFields.Store(t, names)
	return names
}

// isZeroField reports whether the field of struct src named name in JSON
// holds its zero value.
func isZeroField(src any, name string) bool {
	v := reflect.ValueOf(src)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" {
			tag = f.Name
		}
		if tag == name && f.IsExported() {
			return v.Field(i).IsZero()
		}
	}
	return false
}

// decodeWithExtra decodes data into dst (a pointer to an alias type without
// methods) and returns the fields dst's type does not declare.
func decodeWithExtra(data []byte, dst any) (Extra, error) {
	return decodeFields(data, dst, false)
}

// decodeExact is decodeWithExtra that also records, as nil values, the
// declared fields without omitempty that data does not have, so that
// encodeWithExtra writes data back as it was.
func decodeExact(data []byte, dst any) (Extra, error) {
	return decodeFields(data, dst, true)
}

func decodeFields(data []byte, dst any, exact bool) (Extra, error) {
	if err := json.Unmarshal(data, dst); err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	t := reflect.TypeOf(dst).Elem()
	known := fieldsOf(t)
	var extra Extra
	add := func(k string, v json.RawMessage) {
		if extra == nil {
			extra = Extra{}
		}
		extra[k] = v
	}
	for k, v := range all {
		if always, ok := known[k]; ok && (!isEmptyJSON(v) || always && writtenBackAs(t, k, v)) {
			continue
		}
		add(k, v)
	}
	if exact {
		for name, always := range known {
			if _, ok := all[name]; always && !ok {
				add(name, nil)
			}
		}
	}
	return extra, nil
}

var fieldKinds sync.Map // reflect.Type -> map[string]reflect.Kind

// writtenBackAs reports whether the empty value v, decoded into t's field
// named name, encodes back as v: then the field needs no extra to
// round-trip, and encoding keeps its fast path (an empty map written as {},
// an empty list as [], false, 0 and "").
func writtenBackAs(t reflect.Type, name string, v json.RawMessage) bool {
	kinds, ok := fieldKinds.Load(t)
	if !ok {
		m := map[string]reflect.Kind{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag == "-" || !f.IsExported() {
				continue
			}
			if tag == "" {
				tag = f.Name
			}
			m[tag] = f.Type.Kind()
		}
		kinds, _ = fieldKinds.LoadOrStore(t, m)
	}
	kind := kinds.(map[string]reflect.Kind)[name]
	switch string(bytes.TrimSpace(v)) {
	case "false":
		return kind == reflect.Bool
	case "0":
		return kind >= reflect.Int && kind <= reflect.Float64
	case `""`:
		return kind == reflect.String
	case "[]":
		return kind == reflect.Slice
	case "{}":
		return kind == reflect.Map
	}
	return false
}

// encodeWithExtra encodes src (an alias type without methods) and merges the
// extra fields in. A declared field with a value wins over an extra of the
// same name; one still empty is written as the decoded document had it.
func encodeWithExtra(src any, extra Extra) ([]byte, error) {
	b, err := json.Marshal(src)
	if err != nil || !changesEncoding(src, extra) {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range extra {
		declared, ok := all[k]
		switch {
		case !ok:
			if v != nil {
				all[k] = v
			}
		case v == nil:
			if isZeroField(src, k) {
				delete(all, k) // absent from the document decoded, and still unset
			}
		case !isEmptyJSON(declared):
			// Given a value since it was decoded: the value wins.
		default:
			all[k] = v // the empty value as the document wrote it (null, [], 0)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(all); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// changesEncoding reports whether merging extra into src's encoding changes
// it: there is an undeclared field to add, or a declared field that the
// decoded document had empty or did not have is still unset. Values decoded
// from gennaker's own records rarely have either, and encode in one pass.
func changesEncoding(src any, extra Extra) bool {
	if len(extra) == 0 {
		return false
	}
	known := fieldsOf(reflect.TypeOf(src))
	for k := range extra {
		if always, declared := known[k]; !declared || !always || isZeroField(src, k) {
			return true
		}
		// A field always written and holding a value is written as it
		// is: the extra (the empty value it was decoded with) does not
		// apply.
	}
	return false
}

// decodeKeeping decodes data into dst (an alias type without methods) and
// keeps in extra the fields dst does not declare.
func decodeKeeping(data []byte, dst any, extra *Extra) error {
	e, err := decodeWithExtra(data, dst)
	if err != nil {
		return err
	}
	*extra = e
	return nil
}

// decodeExactKeeping is decodeKeeping with decodeExact.
func decodeExactKeeping(data []byte, dst any, extra *Extra) error {
	e, err := decodeExact(data, dst)
	if err != nil {
		return err
	}
	*extra = e
	return nil
}
