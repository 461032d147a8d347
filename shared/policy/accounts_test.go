package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/finding"
)

const orgPolicy = `version: 1
principals:
  admins: ["arn:aws:iam::111122223333:role/platform-admins"]
accounts:
  trusted: ["111122223333", "444455556666"]
  names: {"444455556666": payments-prod}
  organizationalUnits:
    ou-ab12-11111111: ["777788889999"]
overrides:
  - accounts: ["444455556666"]
    rules: {cluster-admin-granted: {mode: remediate}}
    principals: {admins: ["arn:aws:iam::444455556666:role/payments-admins"]}
  - organizationalUnits: [ou-ab12-11111111]
    rules: {iam-user-granted: {mode: off}}
`

func TestOverridesApplyPerAccountAndOU(t *testing.T) {
	p, err := Parse([]byte(orgPolicy), "policy.yaml", known)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		account        string
		admin, iamUser finding.Mode
		paymentsAdmin  bool
	}{
		{"111122223333", finding.ModeNotify, finding.ModeNotify, false},
		{"444455556666", finding.ModeRemediate, finding.ModeNotify, true},
		{"777788889999", finding.ModeNotify, finding.ModeOff, false},
	} {
		ap := p.For(tc.account)
		if got := ap.ModeFor("cluster-admin-granted"); got != tc.admin {
			t.Errorf("%s: cluster-admin-granted mode %s, want %s", tc.account, got, tc.admin)
		}
		if got := ap.ModeFor("iam-user-granted"); got != tc.iamUser {
			t.Errorf("%s: iam-user-granted mode %s, want %s", tc.account, got, tc.iamUser)
		}
		if got := ap.IsAdmin("arn:aws:iam::444455556666:role/payments-admins"); got != tc.paymentsAdmin {
			t.Errorf("%s: payments-admins is admin %v, want %v", tc.account, got, tc.paymentsAdmin)
		}
		if !ap.IsAdmin("arn:aws:iam::111122223333:role/platform-admins") {
			t.Errorf("%s: the policy's own admins are lost", tc.account)
		}
	}
	if p.For("111122223333") != p {
		t.Error("an account without overrides must get the policy itself")
	}
	if p.ModeFor("cluster-admin-granted") != finding.ModeNotify || len(p.Principals.Admins) != 1 {
		t.Errorf("applying an override changed the policy: %v, admins %v", p.Rules, p.Principals.Admins)
	}
	if got := p.AccountName("444455556666"); got != "payments-prod" {
		t.Errorf("display name %q, want payments-prod", got)
	}
	if got, want := p.ListedAccounts(), []string{"111122223333", "444455556666", "777788889999"}; !slices.Equal(got, want) {
		t.Errorf("listed accounts %v, want %v", got, want)
	}
	var modes []finding.Mode
	for _, v := range p.Variants() {
		modes = append(modes, v.ModeFor("cluster-admin-granted"))
	}
	if !slices.Equal(modes, []finding.Mode{finding.ModeNotify, finding.ModeRemediate, finding.ModeNotify}) {
		t.Errorf("variants' cluster-admin-granted modes %v", modes)
	}

	// The JSON form the functions read keeps the overrides.
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseJSON(raw, "EKSGUARD_POLICY", known)
	if err != nil {
		t.Fatal(err)
	}
	if back.For("444455556666").ModeFor("cluster-admin-granted") != finding.ModeRemediate || back.AccountName("444455556666") != "payments-prod" {
		t.Errorf("JSON round trip lost the overrides or names: %s", raw)
	}
}

// Without accounts' names, OUs or overrides the JSON form is what it was.
func TestNoOverridesKeepTheJSON(t *testing.T) {
	raw, err := json.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"overrides", "names", "organizationalUnits"} {
		if strings.Contains(string(raw), `"`+key+`"`) {
			t.Errorf("default policy JSON has %q: %s", key, raw)
		}
	}
}

func TestOverrideErrorsGiveLine(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"version: 1\naccounts:\n  names: {\"4444\": x}\n", `policy.yaml:3: accounts.names.4444: "4444" is not a 12-digit account ID`},
		{"version: 1\naccounts:\n  organizationalUnits:\n    ou-bad: [\"444455556666\"]\n", `accounts.organizationalUnits.ou-bad: "ou-bad" is not an organizational unit ID`},
		{"version: 1\noverrides:\n  - rules: {iam-user-granted: {mode: off}}\n", "policy.yaml:3: overrides[0]: names no accounts and no organizationalUnits"},
		{"version: 1\noverrides:\n  - accounts: [\"444455556666\", \"12\"]\n", `policy.yaml:3: overrides[0].accounts[1]: "12" is not a 12-digit account ID`},
		{"version: 1\noverrides:\n  - organizationalUnits: [ou-ab12-11111111]\n", "policy.yaml:3: overrides[0].organizationalUnits[0]: ou-ab12-11111111 lists no accounts under accounts.organizationalUnits"},
		{"version: 1\noverrides:\n  - accounts: [\"444455556666\"]\n    rules: {no-such-rule: {mode: off}}\n", `policy.yaml:4: overrides[0].rules.no-such-rule: unknown rule ID "no-such-rule"`},
		{"version: 1\noverrides:\n  - accounts: [\"444455556666\"]\n    rules: {iam-user-granted: {mode: loud}}\n", `overrides[0].rules.iam-user-granted.mode: unknown mode "loud"`},
		{"version: 1\noverrides:\n  - accounts: [\"444455556666\"]\n    principals: {admins: [\"payments-admins\"]}\n", `overrides[0].principals.admins[0]: malformed ARN pattern "payments-admins"`},
		{"version: 1\noverrides:\n  - accounts: [\"444455556666\"]\n    rules: {cluster-admin-granted: {mode: remediate}}\n", "overrides[0].rules.cluster-admin-granted.mode: cluster-admin-granted cannot remediate while principals.admins is empty"},
		{"version: 1\noverrides:\n  - accounts: [\"444455556666\"]\n    mode: remediate\n", "line 4"},
	} {
		_, err := Parse([]byte(tc.doc), "policy.yaml", known)
		if err == nil {
			t.Errorf("accepted:\n%s", tc.doc)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q, want it to contain %q", err, tc.want)
		}
	}
}

// In an organization deployment with no trusted list, the organization's
// listed accounts are trusted besides the event's own; never anyone else.
func TestOrganizationAccountsAreTrustedByDefault(t *testing.T) {
	p := Default()
	p.Accounts.Organization = []string{"111122223333", "444455556666"}
	for _, tc := range []struct {
		account, event string
		want           bool
	}{
		{"444455556666", "777788889999", true},
		{"777788889999", "777788889999", true},
		{"999999999999", "777788889999", false},
	} {
		if got := p.TrustedAccount(tc.account, tc.event); got != tc.want {
			t.Errorf("TrustedAccount(%s, event in %s) = %v, want %v", tc.account, tc.event, got, tc.want)
		}
	}
	p.Accounts.Trusted = []string{"111122223333"}
	if p.TrustedAccount("444455556666", "777788889999") {
		t.Error("a trusted list must replace the organization default")
	}
}
