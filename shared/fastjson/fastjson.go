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
	"reflect"

	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Unmarshal is encoding/json's Unmarshal, errors included. An input the
// fast path rejects is decoded again by encoding/json, and its outcome is
// the one returned: the two libraries word their errors differently and,
// on an input with several wrong fields, do not stop at the same one
// (encoding/json keeps going past a mismatched type and returns the first
// error of an UnmarshalJSON method before it). Only failing inputs pay for
// the second decode.
func Unmarshal(data []byte, v any) error {
	if err := jsonv1.Unmarshal(data, v); err == nil {
		return nil
	}
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || reflect.ValueOf(v).IsNil() {
		return json.Unmarshal(data, v)
	}
	// Into a fresh value, so that what the fast path half-filled cannot
	// mix into it; copied over only if encoding/json accepts the input.
	fresh := reflect.New(t.Elem())
	if err := json.Unmarshal(data, fresh.Interface()); err != nil {
		return err
	}
	reflect.ValueOf(v).Elem().Set(fresh.Elem())
	return nil
}
