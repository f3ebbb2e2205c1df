package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/minichain/minichain/node/query"
)

// readJSON decodes a request body into v (a pointer to one of the api
// request structs), strictly: the body must be one JSON object whose keys
// are v's field names exactly as written (encoding/json alone would match
// "AMOUNT" to "amount"), each at most once and none null; unknown fields,
// trailing data and an oversized body are errors. Every failure is a 400
// malformed_json that says what is wrong, or a 413.
func readJSON(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return query.ErrBodyTooLarge
		}
		return query.BadRequest("malformed_json", "reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return query.BadRequest("malformed_json", "the request body is empty; a JSON object is expected")
	}
	if err := checkObject(data, fieldNames(v)); err != nil {
		return query.BadRequest("malformed_json", "%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return query.BadRequest("malformed_json", "malformed JSON body: %v", err)
	}
	return nil
}

// checkObject checks that data is exactly one JSON object whose keys are
// all in fields, exact and case-sensitive, with no key twice and no null
// value; objects nested in it may not repeat a key either.
func checkObject(data []byte, fields []string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("malformed JSON body: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if tok == nil {
			return errors.New("the body is null; a JSON object is expected")
		}
		return fmt.Errorf("the body is %s; a JSON object is expected", jsonKind(tok))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("malformed JSON body: %v", err)
		}
		key := tok.(string) // object keys are strings, or Token fails
		if seen[key] {
			return fmt.Errorf("the field %q is given twice", key)
		}
		seen[key] = true
		if !slices.Contains(fields, key) {
			return fmt.Errorf("unknown field %q: the fields are %s (names are case-sensitive)", key, strings.Join(fields, ", "))
		}
		null, err := skipValue(dec)
		if err != nil {
			return err
		}
		if null {
			return fmt.Errorf("the field %q is null; leave it out or give a value", key)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fmt.Errorf("malformed JSON body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}

// skipValue reads one JSON value, checking that no object in it repeats a
// key; it reports whether the value was null.
func skipValue(dec *json.Decoder) (null bool, err error) {
	tok, err := dec.Token()
	if err != nil {
		return false, fmt.Errorf("malformed JSON body: %v", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok == nil, nil
	}
	seen := map[string]bool{}
	for dec.More() {
		if d == '{' {
			k, err := dec.Token()
			if err != nil {
				return false, fmt.Errorf("malformed JSON body: %v", err)
			}
			key := k.(string)
			if seen[key] {
				return false, fmt.Errorf("the field %q is given twice in a nested object", key)
			}
			seen[key] = true
		}
		if _, err := skipValue(dec); err != nil {
			return false, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return false, fmt.Errorf("malformed JSON body: %v", err)
	}
	return false, nil
}

// jsonKind names a top-level JSON token for a message.
func jsonKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "an array"
		}
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "not an object"
}

// fieldNames lists the JSON names of the fields of the struct v points to
// (embedded structs' fields included), in declaration order.
func fieldNames(v any) []string {
	var names []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
		}
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		walk(t)
	}
	return names
}
