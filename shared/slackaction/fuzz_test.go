package slackaction

import (
	"net/url"
	"testing"
)

func FuzzParsePayload(f *testing.F) {
	for _, p := range []string{
		`{"type":"block_actions","user":{"id":"U012AB3CD"},"actions":[{"action_id":"eksguard_apply_fix","value":"0123456789abcdef0123456789abcdef"}],"response_url":"https://hooks.slack.com/actions/T/1/x","trigger_id":"1.2.3"}`,
		`{"type":"view_submission","user":{"id":"U012AB3CD"},"view":{"callback_id":"eksguard_expected_change","private_metadata":"{}","state":{"values":{"b":{"a":{"type":"plain_text_input","value":"x"}}}}}}`,
		`{"type":"shortcut"}`,
		`{"type":"block_actions","user":{"id":""},"actions":[]}`,
	} {
		f.Add([]byte("payload=" + url.QueryEscape(p)))
	}
	f.Add([]byte("payload=%zz"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := ParsePayload(body)
		if err != nil {
			if in != nil {
				t.Fatalf("error %v with an interaction", err)
			}
			return
		}
		if in.User.ID == "" {
			t.Fatal("accepted an interaction without a user")
		}
		switch in.Type {
		case TypeBlockActions:
			if len(in.Actions) == 0 || in.Actions[0].ActionID == "" {
				t.Fatal("accepted block_actions without an action")
			}
		case TypeViewSubmission:
			if in.View == nil || in.View.CallbackID == "" {
				t.Fatal("accepted a view submission without a view")
			}
		default:
			t.Fatalf("accepted type %q", in.Type)
		}
	})
}
