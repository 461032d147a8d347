package policy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/finding"
)

var approverRules = []string{"cluster-admin-granted", "public-endpoint-opened"}

func TestApprovers(t *testing.T) {
	doc := `version: 1
notify:
  slack:
    minSeverity: high
    approvers:
      users: [U012AB3CD]
      rules:
        public-endpoint-opened: [U0NETWORK]
      severities:
        critical: [W0SECLEAD]
`
	p, err := Parse([]byte(doc), "policy.yaml", approverRules)
	if err != nil {
		t.Fatal(err)
	}
	if p.Notify.Slack.MinSeverity != finding.High {
		t.Errorf("minSeverity: got %s, want high (the inline channel settings)", p.Notify.Slack.MinSeverity)
	}
	for _, c := range []struct {
		user, rule string
		sev        finding.Severity
		want       bool
	}{
		{"U012AB3CD", "cluster-admin-granted", finding.Critical, true},
		{"U0NETWORK", "public-endpoint-opened", finding.High, true},
		{"U0NETWORK", "cluster-admin-granted", finding.Critical, false},
		{"W0SECLEAD", "cluster-admin-granted", finding.Critical, true},
		{"W0SECLEAD", "public-endpoint-opened", finding.High, false},
		{"U0STRANGER", "cluster-admin-granted", finding.Critical, false},
		{"", "cluster-admin-granted", finding.Critical, false},
	} {
		if got := p.MayApprove(c.user, c.rule, c.sev); got != c.want {
			t.Errorf("MayApprove(%s, %s, %s): got %t, want %t", c.user, c.rule, c.sev, got, c.want)
		}
	}
	// The JSON form round-trips them.
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseJSON(js, "json", approverRules)
	if err != nil {
		t.Fatal(err)
	}
	if !back.MayApprove("U0NETWORK", "public-endpoint-opened", finding.High) {
		t.Error("the JSON form lost the per-rule approvers")
	}
}

func TestApproversValidation(t *testing.T) {
	for name, c := range map[string]struct{ doc, want string }{
		"bad user": {"version: 1\nnotify:\n  slack:\n    approvers:\n      users: [alice]\n",
			`policy.yaml:5: notify.slack.approvers.users[0]: "alice" is not a Slack user ID`},
		"unknown rule": {"version: 1\nnotify:\n  slack:\n    approvers:\n      rules:\n        no-such-rule: [U012AB3CD]\n",
			`notify.slack.approvers.rules.no-such-rule: unknown rule "no-such-rule"`},
		"unknown severity": {"version: 1\nnotify:\n  slack:\n    approvers:\n      severities:\n        severe: [U012AB3CD]\n",
			`notify.slack.approvers.severities.severe: unknown severity "severe"`},
		"unknown key": {"version: 1\nnotify:\n  slack:\n    approvers:\n      groups: [x]\n", `unknown field "groups"`},
	} {
		_, err := Parse([]byte(c.doc), "policy.yaml", approverRules)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
	}
}
