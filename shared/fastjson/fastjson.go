// Package fastjson decodes JSON with encoding/json's semantics at the speed
// of github.com/go-json-experiment/json, the upstream of encoding/json/v2.
//
// Its v1 package reproduces encoding/json's Unmarshal (case-insensitive keys,
// invalid UTF-8 replaced, UnmarshalJSON methods called with the raw value)
// in one pass, where encoding/json validates the whole input and then
// decodes it again. Programs that decode a great many records, the CLI's
// replay above all, hand Unmarshal to cloudtrail.UseUnmarshal; the Lambda
// functions keep encoding/json, which aws-lambda-go links into them anyway,
// rather than carry a second JSON library (BENCHMARKS.md).
package fastjson

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Unmarshal is encoding/json's Unmarshal, errors included: a type error is
// an *encoding/json.UnmarshalTypeError naming the field as encoding/json
// names it (the path of JSON names of struct fields, dot-separated).
func Unmarshal(data []byte, v any) error {
	err := jsonv1.Unmarshal(data, v)
	switch e := err.(type) {
	case nil:
		return nil
	case *jsonv1.UnmarshalTypeError:
		// The v1 emulation names the field by the keys as the input spelt
		// them; encoding/json by the struct fields' JSON names.
		return locate(data, v, &json.UnmarshalTypeError{Value: e.Value, Type: e.Type, Offset: e.Offset, Struct: e.Struct, Field: e.Field})
	case *json.UnmarshalTypeError:
		// An UnmarshalJSON method's own type error: encoding/json adds the
		// field to it, the v1 emulation returns it as the method did.
		return locate(data, v, e)
	}
	return err
}

// locate names the field of a type error as encoding/json does: it decodes
// data again, into a fresh value, asking for the library's own errors, whose
// JSON pointer says where the error is. Only failing inputs take this path.
func locate(data []byte, v any, te *json.UnmarshalTypeError) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return te
	}
	err := jsonv2.Unmarshal(data, reflect.New(t.Elem()).Interface(),
		jsonv1.DefaultOptionsV1(), jsonv1.ReportErrorsWithLegacySemantics(false))
	se, ok := errors.AsType[*jsonv2.SemanticError](err)
	if !ok {
		return te
	}
	out := *te
	out.Struct, out.Field = fieldPath(t.Elem(), se.JSONPointer)
	return &out
}

// fieldPath turns a JSON pointer into encoding/json's description of where
// it is: the innermost struct's name and the JSON names of the struct fields
// on the way (a promoted field preceded by the Go names of the embedded
// structs it comes through), array indices and map keys left out.
func fieldPath(t reflect.Type, p jsontext.Pointer) (structName, field string) {
	var names []string
	for tok := range p.Tokens() {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByJSONName(t, tok)
			if !ok {
				return structName, strings.Join(names, ".")
			}
			structName = t.Name()
			names = append(names, f.path...)
			t = f.typ
		case reflect.Slice, reflect.Array, reflect.Map:
			t = t.Elem()
		default:
			return structName, strings.Join(names, ".")
		}
	}
	return structName, strings.Join(names, ".")
}

type field struct {
	name string
	// path is what encoding/json writes for the field: the Go names of the
	// embedded structs it is promoted through, then its JSON name.
	path []string
	typ  reflect.Type
}

// fieldByJSONName finds the struct field a JSON key decodes into, as
// encoding/json matches keys: its JSON name exactly, else case-insensitively,
// promoted fields of embedded structs included.
func fieldByJSONName(t reflect.Type, key string) (field, bool) {
	fields := jsonFields(t)
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return field{}, false
}

// jsonFields lists the fields encoding/json decodes into a struct, with
// their JSON names, embedded structs' fields promoted (shallower first).
func jsonFields(t reflect.Type) []field {
	var out, embedded []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for _, f := range jsonFields(ft) {
					f.path = append([]string{sf.Name}, f.path...)
					embedded = append(embedded, f)
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{name: name, path: []string{name}, typ: sf.Type})
	}
	return append(out, embedded...)
}
