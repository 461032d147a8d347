package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ParseJSON validates a policy in its JSON form, the one the stack gives
// the functions in EKSGUARD_POLICY (its keys are the YAML keys), as strictly
// as Parse: unknown keys, wrong types and every check of the validator are
// errors. It names no lines, and it links no YAML parser, so the Lambdas,
// which only ever read this form, stay small.
func ParseJSON(data []byte, name string, knownRules []string) (*Policy, error) {
	p := &Policy{sourceName: name}
	p.Notify.Slack.MinSeverity = DefaultSlackSeverity
	p.Notify.SNS.MinSeverity = DefaultSNSSeverity
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("%s: %w", name, jsonError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one JSON document", name)
	}
	v := &validator{name: name}
	v.check(p, knownRules)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	p.applyDefaults()
	return p, nil
}

// jsonError names the field of a type error ("principals.admins: want
// []string, got number").
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("%s: want %s, got %s", te.Field, te.Type, te.Value)
	}
	return err
}
