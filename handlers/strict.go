package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"stackboard/models"
)

// checkStrict walks a JSON body against the type it will be decoded into and refuses what encoding/json lets
// through: a body that is not an object (null, an array, a scalar), a field name that differs from the
// documented one only in case (encoding/json would match it), and bytes that are not UTF-8 (which it would
// quietly turn into U+FFFD). Each refusal names the field. Malformed JSON is left to the decoder, which says so.
func checkStrict(body []byte, t reflect.Type) error {
	w := walker{dec: json.NewDecoder(bytes.NewReader(body)), bad: -1}
	w.dec.UseNumber()
	if !utf8.Valid(body) {
		w.bad = firstInvalidUTF8(body)
	}
	tok, err := w.token("body")
	if err != nil {
		return w.refusal(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &models.FieldError{Field: "body", Reason: models.ReasonInvalid, Problem: "must be a JSON object"}
	}
	return w.refusal(w.object(t, ""))
}

// walker reads a JSON document token by token, knowing where the first invalid UTF-8 byte is (bad, or -1).
type walker struct {
	dec *json.Decoder
	bad int
}

// syntaxProblem marks a malformed document, which the decoder reports in its own words.
type syntaxProblem struct{ error }

func (w walker) refusal(err error) error {
	if _, ok := err.(syntaxProblem); ok {
		return nil
	}
	return err
}

// token reads the next token; once the reader has passed the invalid byte, field is the one that holds it.
func (w walker) token(field string) (json.Token, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return nil, syntaxProblem{err}
	}
	if w.bad >= 0 && w.dec.InputOffset() > int64(w.bad) {
		return nil, &models.FieldError{Field: field, Reason: models.ReasonInvalid, Problem: "is not valid UTF-8"}
	}
	return tok, nil
}

// object reads the members of an object whose '{' was read; t is the struct it decodes into (nil: any).
func (w walker) object(t reflect.Type, path string) error {
	t = indirect(t)
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	for w.dec.More() {
		tok, err := w.token(joinPath(path, "?"))
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		field := joinPath(path, key)
		if key == "" {
			field = joinPath(path, `""`)
		}
		var inner reflect.Type
		if fields != nil {
			ft, ok := fields[key]
			if !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return &models.FieldError{Field: field, Reason: models.ReasonUnknownField,
							Problem: fmt.Sprintf("is not a known field; field names are case-sensitive: did you mean %q?", name)}
					}
				}
				return &models.FieldError{Field: field, Reason: models.ReasonUnknownField, Problem: "is not a known field"}
			}
			inner = ft
		} else if t != nil && t.Kind() == reflect.Map {
			inner = t.Elem()
		}
		if err := w.value(inner, field); err != nil {
			return err
		}
	}
	_, err := w.token(path)
	return err
}

// value reads one value that decodes into t (nil: any).
func (w walker) value(t reflect.Type, path string) error {
	tok, err := w.token(path)
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return w.object(t, path)
	case json.Delim('['):
		var elem reflect.Type
		if t = indirect(t); t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; w.dec.More(); i++ {
			if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := w.token(path)
		return err
	}
	return nil
}

// jsonFields maps the JSON names of a struct's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func indirect(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// firstInvalidUTF8 is the offset of the first byte of b that is not part of valid UTF-8.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
