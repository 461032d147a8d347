package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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

// decodeOptions are the JSON semantics of every decode here: those of
// github.com/go-json-experiment/json (keys match their field exactly, a
// duplicate key is an error, unknown keys are ignored) except that invalid
// UTF-8 is taken, as U+FFFD, rather than refused: values such as
// userAgent are the caller's text, and a caller must not be able to make
// its event undecodable, and so unassessed, by sending bad bytes.
var decodeOptions = jsontext.AllowInvalidUTF8(true)

func unmarshal(raw []byte, v any) error {
	return fieldError(jsonv2.Unmarshal(raw, v, decodeOptions))
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
	dec, ok := paramDecoders[eventKey{r.EventSource, r.EventName}]
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

// fieldError words a decoding error as "field: what went wrong", the field
// written as a path (resourcesVpcConfig.endpointPublicAccess,
// logging.clusterLogging[1].enabled). Syntax errors are left as they are:
// they already say where.
func fieldError(err error) error {
	var se *jsonv2.SemanticError
	if err == nil || !errors.As(err, &se) {
		return err
	}
	field := fieldPath(se.JSONPointer)
	if field == "" {
		return err
	}
	if se.Err != nil { // from an UnmarshalJSON method (Bool, Time) or a syntax error inside the value
		return fmt.Errorf("%s: %w", field, se.Err)
	}
	return fmt.Errorf("%s: want %s, got %s", field, goType(se.GoType), jsonKind(se))
}

// fieldPath writes a JSON pointer (/logging/clusterLogging/1/enabled) as a
// field path (logging.clusterLogging[1].enabled).
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if tok != "" && strings.Trim(tok, "0123456789") == "" {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func goType(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	return t.String()
}

func jsonKind(se *jsonv2.SemanticError) string {
	kind := map[jsontext.Kind]string{'n': "null", 'f': "boolean", 't': "boolean", '"': "string", '0': "number",
		'{': "object", '}': "object", '[': "array", ']': "array"}[se.JSONKind]
	if kind == "" {
		kind = "value"
	}
	if v := se.JSONValue; len(v) > 0 {
		return kind + " " + truncate(string(v), 40)
	}
	return kind
}
