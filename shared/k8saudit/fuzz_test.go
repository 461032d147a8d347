package k8saudit

import (
	"strings"
	"testing"
)

// FuzzDecodeLambdaEvent: whatever a subscription delivers, decoding
// returns an error or events, never panics, and every event it returns
// has the auditID and verb Decode requires.
func FuzzDecodeLambdaEvent(f *testing.F) {
	good := strings.ReplaceAll(auditEvent, "\n", "")
	f.Add(lambdaEventOf(f, dataMessage(f, good)))
	f.Add(lambdaEventOf(f, `{"messageType":"CONTROL_MESSAGE","logEvents":[]}`))
	f.Add([]byte(`{"awslogs":{"data":"H4sIAAAAAAAA/w=="}}`))
	f.Add([]byte(`{"awslogs":{}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		sub, err := DecodeLambdaEvent(raw)
		if err != nil {
			return
		}
		evs, _ := sub.Events("eu-west-1")
		for _, ev := range evs {
			if ev.AuditID == "" || ev.Verb == "" {
				t.Errorf("decoded event without auditID or verb: %+v", ev)
			}
			_ = ev.Object()
			_ = ev.User.Principal()
		}
	})
}

// FuzzDecode feeds raw audit events (the JSON Lines replay reads).
func FuzzDecode(f *testing.F) {
	f.Add([]byte(strings.ReplaceAll(auditEvent, "\n", "")))
	f.Add([]byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x","verb":"get","objectRef":null,"user":{"extra":{"arn":[]}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := Decode(raw)
		if err != nil {
			return
		}
		_, _, _ = ev.Object(), ev.User.Principal(), ev.Denied()
	})
}
