package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/gennaker/gennaker/shared/model"
)

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// readBody reads the request body, bounded by the handler's limit. An empty
// body is returned as nil.
func (s *server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("request body is larger than the limit of %s (%d bytes); send a smaller document", humanBytes(tooBig.Limit), tooBig.Limit)}
	}
	if err != nil {
		return nil, badRequest("could not read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	return body, nil
}

// decodeBody reads a JSON object from the request into dst. Malformed JSON
// is answered with where it went wrong (byte offset, line and column), and
// a value of the wrong type with its JSON path; every type problem is
// listed, not just the first.
func (s *server) decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return badRequest("request body is empty; send a JSON object")
	}
	return decodeJSON(body, dst, "")
}

// decodeJSON decodes one JSON object from data into dst. path prefixes the
// JSON paths in messages, for documents nested in others.
func decodeJSON(data []byte, dst any, path string) error {
	raw, err := parseJSON(data)
	if err != nil {
		return err
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		where := "the body"
		if path != "" {
			where = path
		}
		return badRequest("%s must be a JSON object, not %s", where, describeJSON(raw))
	}
	if probs := typeCheck(path, obj, reflect.TypeOf(dst).Elem()); len(probs) > 0 {
		return invalid("the request has values of the wrong type", probs)
	}
	if err := json.Unmarshal(data, dst); err != nil {
		// typeCheck accepts every document the model can decode, so what
		// remains is a value the model itself refuses (an unknown status).
		if path != "" {
			return badRequest("%s: %v", path, err)
		}
		return badRequest("%v", err)
	}
	return nil
}

// parseJSON parses exactly one JSON value, reporting syntax errors with
// their position.
func parseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return nil, badRequest("malformed JSON at %s: %s", position(data, syn.Offset), syn.Error())
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return nil, badRequest("malformed JSON: the document ends early at %s; check for a missing } or ] or an unclosed string", position(data, int64(len(data))))
		default:
			return nil, badRequest("malformed JSON: %v", err)
		}
	}
	if dec.More() {
		off := dec.InputOffset()
		return nil, badRequest("malformed JSON at %s: unexpected data after the end of the JSON value; send a single JSON document", position(data, off+1))
	}
	if _, err := dec.Token(); err != nil && !errors.Is(err, io.EOF) {
		off := dec.InputOffset()
		return nil, badRequest("malformed JSON at %s: unexpected data after the end of the JSON value; send a single JSON document", position(data, off+1))
	}
	return v, nil
}

// position describes a byte offset as "byte N (line L, column C)".
func position(data []byte, offset int64) string {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	line, col := 1, 1
	for _, b := range data[:offset] {
		if b == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	// The decoder reports the offset after the offending byte.
	if col > 1 {
		col--
	}
	return fmt.Sprintf("byte %d (line %d, column %d)", offset, line, col)
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// typeCheck compares a parsed JSON value with the Go type it will be decoded
// into and lists every value of the wrong type with its JSON path. Fields
// the type does not declare are not checked: the model keeps them as they
// are.
func typeCheck(path string, v any, t reflect.Type) []model.Problem {
	var probs []model.Problem
	check(path, v, t, &probs)
	return probs
}

func check(path string, v any, t reflect.Type, probs *[]model.Problem) {
	if v == nil {
		return // null decodes into anything as its zero value
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == rawMessageType || t.Kind() == reflect.Interface {
		return
	}
	add := func(want string) {
		p := path
		if p == "" {
			p = "(body)"
		}
		*probs = append(*probs, model.Problem{Path: p, Message: fmt.Sprintf("must be %s, not %s", want, describeJSON(v))})
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			add("a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			add("true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			add("a whole number")
			return
		}
		if _, err := n.Int64(); err != nil {
			add("a whole number")
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := v.(json.Number); !ok {
			add("a number")
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			add("a list")
			return
		}
		for i, item := range list {
			check(fmt.Sprintf("%s[%d]", path, i), item, t.Elem(), probs)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			add("an object")
			return
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			check(joinPath(path, k), obj[k], t.Elem(), probs)
		}
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			add("an object")
			return
		}
		for _, f := range jsonFields(t) {
			if fv, ok := obj[f.name]; ok {
				check(joinPath(path, f.name), fv, f.typ, probs)
			}
		}
	}
}

type field struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the JSON fields of a struct type, as encoding/json sees
// them (embedded structs are flattened).
func jsonFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, field{name: name, typ: f.Type})
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describeJSON names the JSON type of a parsed value, for messages.
func describeJSON(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", truncate(x, 40))
	case bool:
		return fmt.Sprintf("%t", x)
	case json.Number:
		return "the number " + x.String()
	case float64:
		return fmt.Sprintf("the number %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
