package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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

// DecodeRecord decodes one CloudTrail record and, for in-scope events, its
// typed request parameters. Errors name the event and the field:
// "decode CreateAccessEntry requestParameters: principalArn: ...".
func DecodeRecord(raw []byte) (*Record, error) {
	r := new(Record)
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, fmt.Errorf("decode record: %w", fieldError(err))
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
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("decode EventBridge envelope: %w", fieldError(err))
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
	dec, ok := paramDecoders[r.EventSource+"/"+r.EventName]
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

// isEnvelope reports whether a JSON object looks like an EventBridge event.
func isEnvelope(raw []byte) bool {
	return bytes.Contains(raw, []byte(`"detail-type"`)) && bytes.Contains(raw, []byte(`"detail"`))
}
