package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/finding"
)

var known = []string{"cluster-admin-granted", "iam-user-granted", "public-endpoint-opened"}

const full = `version: 1
defaults: {mode: notify}
accounts: {trusted: ["111122223333"]}
principals:
  admins: ["arn:aws:iam::111122223333:role/platform-admins"]
  protected: ["arn:aws:iam::111122223333:role/break-glass"]
  automation: ["arn:aws:iam::111122223333:role/terraform-deployer"]
kubernetes: {privilegedGroups: [cluster-admin]}
endpoint: {publicAccessCidrs: ["203.0.113.0/24"]}
logging: {required: [api, audit, authenticator]}
roles: {cluster: ["*-cluster-role"], node: ["*-node-role"]}
rules: {cluster-admin-granted: {mode: remediate}, iam-user-granted: {mode: off}}
notify:
  slack: {minSeverity: low}
  sns: {minSeverity: critical, format: chatbot}
  dedupWindow: 5m
remediation: {maxPerResourcePerHour: 5}
correlation: {window: 30m, clusters: 3}
`

func TestParseFull(t *testing.T) {
	p, err := Parse([]byte(full), "policy.yaml", known)
	if err != nil {
		t.Fatal(err)
	}
	if p.ModeFor("cluster-admin-granted") != finding.ModeRemediate || p.ModeFor("iam-user-granted") != finding.ModeOff ||
		p.ModeFor("public-endpoint-opened") != finding.ModeNotify {
		t.Errorf("modes wrong: %v", p.Rules)
	}
	if !p.TrustedAccount("111122223333", "999999999999") || p.TrustedAccount("999999999999", "999999999999") {
		t.Error("trusted list must replace the own-account default")
	}
	if p.Notify.Slack.MinSeverity != finding.Low || p.Notify.SNS.MinSeverity != finding.Critical || p.Notify.SNS.Format != "chatbot" {
		t.Errorf("notify = %+v", p.Notify)
	}
	if p.Notify.DedupWindow.Duration != 5*time.Minute || p.Remediation.MaxPerResourcePerHour != 5 {
		t.Errorf("dedup %v breaker %d", p.Notify.DedupWindow, p.Remediation.MaxPerResourcePerHour)
	}
	if p.Correlation.Window.Duration != 30*time.Minute || p.Correlation.Clusters != 3 {
		t.Errorf("correlation = %v, %d clusters; want 30m, 3", p.Correlation.Window, p.Correlation.Clusters)
	}
	if !p.IsClusterRole("payments-prod-cluster-role") || p.IsClusterRole("payments-prod-node-role") || !p.IsNodeRole("x-node-role") {
		t.Error("role patterns from the file must replace the defaults")
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	if p.ModeFor("anything") != finding.ModeNotify {
		t.Error("default mode must be notify")
	}
	if !p.TrustedAccount("111122223333", "111122223333") || p.TrustedAccount("444455556666", "111122223333") {
		t.Error("with no list only the event's own account is trusted")
	}
	if p.IsAdmin("arn:aws:iam::111122223333:role/platform-admins") {
		t.Error("defaults have no admins")
	}
	if p.Notify.Slack.MinSeverity != finding.Medium || p.Notify.SNS.MinSeverity != finding.High {
		t.Errorf("default thresholds %v/%v, want medium/high", p.Notify.Slack.MinSeverity, p.Notify.SNS.MinSeverity)
	}
	if p.Remediation.MaxPerResourcePerHour != 3 || p.Notify.DedupWindow.Duration != 15*time.Minute {
		t.Error("default breaker 3/hour and dedup 15m")
	}
	if p.Correlation.Window.Duration != time.Hour || p.Correlation.Clusters != 5 {
		t.Errorf("default correlation = %v, %d clusters; want 1h, 5", p.Correlation.Window, p.Correlation.Clusters)
	}
}

func TestParseMinimalGetsDefaults(t *testing.T) {
	p, err := Parse([]byte("version: 1\n"), "p.yaml", known)
	if err != nil {
		t.Fatal(err)
	}
	if p.Notify.Slack.MinSeverity != finding.Medium || p.Notify.SNS.MinSeverity != finding.High {
		t.Errorf("unset thresholds must default to medium/high, got %v/%v", p.Notify.Slack.MinSeverity, p.Notify.SNS.MinSeverity)
	}
}

func TestParseErrorsGiveLine(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "version: 1\nprincipals:\n  admin: []\n", []string{"p.yaml", "line 3", "admin"}},
		{"bad CIDR", "version: 1\nendpoint:\n  publicAccessCidrs:\n    - 203.0.113.0/24\n    - 10.0.0/8\n", []string{"p.yaml:5", "publicAccessCidrs[1]", "10.0.0/8"}},
		{"host bits", "version: 1\nendpoint: {publicAccessCidrs: [10.1.2.3/8]}\n", []string{"p.yaml:2", "host bits", "10.0.0.0/8"}},
		{"world CIDR", "version: 1\nendpoint: {publicAccessCidrs: [0.0.0.0/0]}\n", []string{"whole internet"}},
		{"malformed ARN", "version: 1\nprincipals:\n  admins:\n    - platform-admins\n", []string{"p.yaml:4", "principals.admins[0]", "malformed ARN pattern"}},
		{"ARN with bad account", "version: 1\nprincipals: {protected: [\"arn:aws:iam::12:role/x\"]}\n", []string{"malformed ARN pattern"}},
		{"unknown rule", "version: 1\nrules:\n  cluster-admin-grantd: {mode: remediate}\n", []string{"p.yaml:3", "unknown rule ID", "cluster-admin-grantd"}},
		{"bad mode", "version: 1\nrules:\n  iam-user-granted:\n    mode: fix\n", []string{"p.yaml:4", "rules.iam-user-granted.mode", "unknown mode"}},
		{"bad default mode", "version: 1\ndefaults: {mode: loud}\n", []string{"defaults.mode"}},
		{"bad account", "version: 1\naccounts: {trusted: [\"1111\"]}\n", []string{"accounts.trusted[0]", "12-digit"}},
		{"wrong version", "version: 2\n", []string{"p.yaml:1", "version"}},
		{"bad log type", "version: 1\nlogging: {required: [api, audits]}\n", []string{"logging.required[1]", "audits"}},
		{"role ARN in role patterns", "version: 1\nroles: {node: [\"arn:aws:iam::111122223333:role/n\"]}\n", []string{"roles.node[0]", "not an ARN"}},
		{"bad severity", "version: 1\nnotify: {slack: {minSeverity: urgent}}\n", []string{"p.yaml", "urgent"}},
		{"bad format", "version: 1\nnotify: {sns: {format: xml}}\n", []string{"notify.sns.format", "xml"}},
		{"wrong type", "version: 1\nremediation: {maxPerResourcePerHour: lots}\n", []string{"p.yaml", "line 2"}},
		{"remediating admin grants without admins", "version: 1\nrules:\n  cluster-admin-granted: {mode: remediate}\n", []string{"p.yaml:3", "principals.admins is empty"}},
		{"remediate by default without admins", "version: 1\ndefaults: {mode: remediate}\n", []string{"defaults.mode", "cluster-admin-granted cannot remediate"}},
		{"duplicate key", "version: 1\nversion: 1\n", []string{"p.yaml", "line 2"}},
		{"node egress without approved CIDRs", "version: 1\nendpoint:\n  approvedIncludesNodeEgress: true\n", []string{"p.yaml:3", "endpoint.approvedIncludesNodeEgress", "publicAccessCidrs is empty"}},
		{"negative correlation window", "version: 1\ncorrelation:\n  window: -1h\n", []string{"p.yaml:3", "correlation.window", "-1h"}},
		{"correlation window past a day", "version: 1\ncorrelation: {window: 48h}\n", []string{"correlation.window", "24h0m0s"}},
		{"one cluster is no spree", "version: 1\ncorrelation:\n  clusters: 1\n", []string{"p.yaml:3", "correlation.clusters", "at least 2"}},
		{"correlation window not a duration", "version: 1\ncorrelation: {window: hourly}\n", []string{"p.yaml", "hourly"}},
		{"unknown correlation key", "version: 1\ncorrelation: {principals: 3}\n", []string{"p.yaml", "principals"}},
		{"empty protected cluster", "version: 1\nclusters: {protected: [\"\"]}\n", []string{"clusters.protected[0]", "empty"}},
		{"ClusterRole with upper case", "version: 1\nkubernetes:\n  privilegedClusterRoles: [ops-admin, Ops Admin]\n", []string{"p.yaml:3", "kubernetes.privilegedClusterRoles[1]", "Ops Admin"}},
		{"unknown kubernetes key", "version: 1\nkubernetes: {privilegedRoles: [x]}\n", []string{"p.yaml", "privilegedRoles"}},
		{"issuer that is not a URL", "version: 1\nidentityProviders:\n  allowed: [\"https://ok.example.com\", \"oidc.example.com\"]\n", []string{"identityProviders.allowed[1]", "https://"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "p.yaml", known)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestKubernetesPrivileges(t *testing.T) {
	p, err := Parse([]byte("version: 1\nkubernetes:\n  privilegedGroups: [ops]\n  privilegedClusterRoles: [\"*-admin\", \"system:aggregate-to-admin\"]\n"), "p.yaml", known)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name        string
		group, role bool
	}{
		{"system:masters", true, false}, {"ops", true, false}, {"cluster-admin", false, true},
		{"team-admin", false, true}, {"system:aggregate-to-admin", false, true}, {"view", false, false},
	} {
		if got := p.IsPrivilegedGroup(c.name); got != c.group {
			t.Errorf("IsPrivilegedGroup(%q): got %v, want %v", c.name, got, c.group)
		}
		if got := p.IsPrivilegedClusterRole(c.name); got != c.role {
			t.Errorf("IsPrivilegedClusterRole(%q): got %v, want %v", c.name, got, c.role)
		}
	}
}

func TestPrincipalMatching(t *testing.T) {
	p, err := Parse([]byte(full), "p.yaml", known)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		arn  string
		want bool
	}{
		{"role itself", "arn:aws:iam::111122223333:role/platform-admins", true},
		{"role with a path", "arn:aws:iam::111122223333:role/teams/platform-admins", true},
		{"session of the role", "arn:aws:sts::111122223333:assumed-role/platform-admins/alice", true},
		{"other role", "arn:aws:iam::111122223333:role/dev-team", false},
		{"same name other account", "arn:aws:iam::444455556666:role/platform-admins", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.IsAdmin(tt.arn); got != tt.want {
				t.Errorf("IsAdmin(%q) = %v, want %v", tt.arn, got, tt.want)
			}
		})
	}
	auto := &cloudtrail.Identity{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/terraform-deployer/ci"}
	if !p.IsAutomation(auto) {
		t.Error("a session of the automation role is automation")
	}
	if p.IsAutomation(&cloudtrail.Identity{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/dev/ci"}) {
		t.Error("another role is not automation")
	}
}

func TestAllowList(t *testing.T) {
	doc := "version: 1\nrules:\n  iam-user-granted:\n    allow: [\"arn:aws:iam::111122223333:user/svc-*\"]\n"
	p, err := Parse([]byte(doc), "p.yaml", known)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Allowed("iam-user-granted", "arn:aws:iam::111122223333:user/svc-ci") || p.Allowed("iam-user-granted", "arn:aws:iam::111122223333:user/bob") {
		t.Error("allow list mismatch")
	}
	if p.Allowed("cluster-admin-granted", "arn:aws:iam::111122223333:user/svc-ci") {
		t.Error("allow list of one rule must not exempt another")
	}
}

// self.stackName names the deployment the tamper rules guard: eksguard
// unless stated, and only a CloudFormation stack name.
func TestStackName(t *testing.T) {
	if got := Default().StackName(); got != DefaultStackName {
		t.Errorf("default stack name %q, want %q", got, DefaultStackName)
	}
	p, err := Parse([]byte("version: 1\nself: {stackName: guard-prod}\n"), "p.yaml", known)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.StackName(); got != "guard-prod" {
		t.Errorf("stack name %q, want guard-prod", got)
	}
	_, err = Parse([]byte("version: 1\nself:\n  stackName: 1-bad_name\n"), "p.yaml", known)
	if err == nil || !strings.Contains(err.Error(), "p.yaml:3: self.stackName") {
		t.Errorf("bad stack name: got %v, want an error at p.yaml:3", err)
	}
}

func TestScanRemediate(t *testing.T) {
	known := []string{"control-plane-logging-disabled", "public-endpoint-opened", "cluster-admin-granted"}
	p, err := Parse([]byte("version: 1\nrules: {public-endpoint-opened: {mode: remediate}, cluster-admin-granted: {mode: off}}\nscan: {remediate: [control-plane-logging-disabled, cluster-admin-granted]}\nprincipals: {admins: [\"arn:aws:iam::111122223333:role/a\"]}\n"), "p.yaml", known)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]finding.Mode{
		"control-plane-logging-disabled": finding.ModeRemediate, // listed
		"public-endpoint-opened":         finding.ModeNotify,    // remediate for events only
		"cluster-admin-granted":          finding.ModeOff,       // off is off
	} {
		if got := p.ScanMode(id); got != want {
			t.Errorf("ScanMode(%s): got %s, want %s", id, got, want)
		}
	}
	for doc, want := range map[string]string{
		"version: 1\nscan: {remediate: [no-such-rule]}\n":          `scan.remediate[0]`,
		"version: 1\nscan: {remediate: [cluster-admin-granted]}\n": "principals.admins is empty",
	} {
		if _, err := Parse([]byte(doc), "p.yaml", known); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error naming %s", doc, err, want)
		}
	}
}
