package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Envelope is the EventBridge event that carries a CloudTrail record
// ("detail-type": "AWS API Call via CloudTrail").
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       Time            `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// ErrNotCloudTrail is returned for JSON that is neither a record nor an envelope around one.
var ErrNotCloudTrail = errors.New("not a CloudTrail record or EventBridge envelope")

// jsonUnmarshal decodes every record, envelope and parameter set here. It
// is encoding/json's, which aws-lambda-go links into every function anyway:
// a second JSON library would cost each bootstrap 0.59 MB. A program that
// decodes many records may swap in a faster one with UseUnmarshal.
var jsonUnmarshal = json.Unmarshal

// UseUnmarshal makes the package decode with f, which must have
// encoding/json's Unmarshal semantics and error types (fastjson.Unmarshal
// does: the replay CLI uses it). Call it once, before any decoding starts.
func UseUnmarshal(f func(data []byte, v any) error) { jsonUnmarshal = f }

// unmarshal decodes, naming the field of a type error.
func unmarshal(raw []byte, v any) error {
	return fieldError(jsonUnmarshal(raw, v))
}

// DecodeRecord decodes one CloudTrail record and, for in-scope events, its
// typed request parameters. Errors name the event and the field:
// "decode CreateAccessEntry requestParameters: principalArn: ...".
func DecodeRecord(raw []byte) (*Record, error) {
	r := new(Record)
	if err := unmarshal(raw, r); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if r.EventName == "" || r.EventSource == "" {
		return nil, fmt.Errorf("decode record: %w (no eventSource/eventName)", ErrNotCloudTrail)
	}
	if err := r.decodeParams(); err != nil {
		return nil, err
	}
	return r, nil
}

// DecodeEvent decodes an EventBridge envelope or a bare record, whichever raw is.
func DecodeEvent(raw []byte) (*Record, error) {
	if isEnvelope(raw) {
		return DecodeEnvelope(raw)
	}
	return DecodeRecord(raw)
}

// DecodeEnvelope decodes an EventBridge envelope and the record in its detail.
func DecodeEnvelope(raw []byte) (*Record, error) {
	var env Envelope
	if err := unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("decode EventBridge envelope: %w", err)
	}
	if isNull(env.Detail) {
		return nil, fmt.Errorf("decode EventBridge envelope %s: detail: missing", env.ID)
	}
	r, err := DecodeRecord(env.Detail)
	if err != nil {
		return nil, fmt.Errorf("EventBridge envelope %s detail: %w", env.ID, err)
	}
	return r, nil
}

func (r *Record) decodeParams() error {
	dec, ok := decoderFor(r.EventSource, r.EventName)
	if !ok || isNull(r.RequestParameters) {
		return nil
	}
	p, err := dec(r.RequestParameters)
	if err != nil {
		return fmt.Errorf("decode %s requestParameters: %w", r.EventName, err)
	}
	r.Params = p
	return nil
}

// fieldError words encoding/json's type errors as "field: want T, got V",
// the field written as its path (resourcesVpcConfig.endpointPublicAccess).
// Bool and Time report their errors as type errors so that encoding/json
// names the field for them too.
func fieldError(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field == "" {
		return err
	}
	want := "a value"
	switch te.Type {
	case nil:
	case reflect.TypeFor[Bool]():
		want = "a boolean"
	case reflect.TypeFor[Time]():
		want = "a timestamp"
	default:
		want = te.Type.String()
	}
	return fmt.Errorf("%s: want %s, got %s", te.Field, want, te.Value)
}
