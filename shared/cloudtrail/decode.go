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
	return decodeRecordText(raw, "")
}

// decodeRecordText decodes raw, or text when raw is nil (text is then a
// string copy of the record, shared by the decoded strings). It takes the
// fast path (scan.go) and falls back to encoding/json for anything the
// fast path does not handle, errors included.
func decodeRecordText(raw []byte, text string) (*Record, error) {
	if raw != nil {
		text = string(raw)
	}
	r, params, ok := fastRecord(text)
	if !ok {
		if raw == nil {
			raw = []byte(text)
		}
		return decodeRecordStd(raw)
	}
	if r.EventName == "" || r.EventSource == "" {
		return nil, fmt.Errorf("decode record: %w (no eventSource/eventName)", ErrNotCloudTrail)
	}
	key := eventKey{r.EventSource, r.EventName}
	if fast := fastParams[key]; fast != nil && !isNullText(params) {
		ps := &scanner{s: params}
		if p, ok := fast(ps); ok && ps.end() {
			r.Params = p
			return r, nil
		}
	}
	if err := r.decodeParams(); err != nil {
		return nil, err
	}
	return r, nil
}

// decodeRecordStd is DecodeRecord with encoding/json only: the reference
// the fast path must agree with.
func decodeRecordStd(raw []byte) (*Record, error) {
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
	if env, detail, ok := fastEnvelope(string(raw)); ok && detail != "" && !isNullText(detail) {
		r, err := decodeRecordText(nil, detail)
		if err != nil {
			return nil, fmt.Errorf("EventBridge envelope %s detail: %w", env.ID, err)
		}
		return r, nil
	}
	return decodeEnvelopeStd(raw)
}

// decodeEnvelopeStd is DecodeEnvelope with encoding/json only.
func decodeEnvelopeStd(raw []byte) (*Record, error) {
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("decode EventBridge envelope: %w", fieldError(err))
	}
	if isNull(env.Detail) {
		return nil, fmt.Errorf("decode EventBridge envelope %s: detail: missing", env.ID)
	}
	r, err := decodeRecordStd(env.Detail)
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

// isEnvelope reports whether a JSON object looks like an EventBridge event:
// it has the keys "detail-type" and "detail". (The first is looked for
// through its 'y', which is rarer than its quote; see indexKey.)
func isEnvelope(raw []byte) bool {
	return indexKey(raw, detailTypeKey, 9) >= 0 && bytes.Contains(raw, detailKey)
}

var (
	detailTypeKey = []byte(`"detail-type"`)
	detailKey     = []byte(`"detail"`)
)

// isNullText is isNull for the fast path's strings ("" when the key was absent).
func isNullText(s string) bool { return s == "" || s == "null" }
