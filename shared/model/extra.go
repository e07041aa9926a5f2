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
type Extra map[string]json.RawMessage

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
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	knownFields.Store(t, names)
	return names
}

// decodeWithExtra decodes data into dst (a pointer to an alias type without
// methods) and returns the fields dst's type does not declare.
func decodeWithExtra(data []byte, dst any) (Extra, error) {
	if err := json.Unmarshal(data, dst); err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	known := fieldsOf(reflect.TypeOf(dst).Elem())
	var extra Extra
	for k, v := range all {
		if known[k] && !isEmptyJSON(v) {
			continue
		}
		if extra == nil {
			extra = Extra{}
		}
		extra[k] = v
	}
	return extra, nil
}

// encodeWithExtra encodes src (an alias type without methods) and merges the
// extra fields in. Declared fields win over extras with the same name.
func encodeWithExtra(src any, extra Extra) ([]byte, error) {
	b, err := json.Marshal(src)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range extra {
		if _, ok := all[k]; !ok {
			all[k] = v
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
