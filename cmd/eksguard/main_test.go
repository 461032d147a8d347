package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

const events = "../../events"

func TestReplayEventsTable(t *testing.T) {
	code, out, errOut := runCLI(t, "", "replay", events)
	if code != 1 {
		t.Errorf("exit %d, want 1 (the samples hold high and critical findings); stderr %s", code, errOut)
	}
	for _, want := range []string{"CRITICAL  cluster-admin-granted", "would do", "aws eks disassociate-access-policy",
		"by hand", "in scope", "0 unreadable", "policy: built-in defaults"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q", want)
		}
	}
}

func TestReplayJSONFields(t *testing.T) {
	code, out, _ := runCLI(t, "", "replay", events, "--output", "json", "--fail-on", "none")
	if code != 0 {
		t.Errorf("exit %d with --fail-on none, want 0", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 10 {
		t.Fatalf("only %d findings", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line is not JSON: %v: %s", err, l)
		}
		for _, k := range []string{"rule", "severity", "title", "eventID", "eventName", "eventTime", "account", "region", "actor", "mode"} {
			if _, ok := m[k]; !ok {
				t.Errorf("finding lacks %q: %s", k, l)
			}
		}
	}
	if !strings.Contains(out, `"plan":{"action":"eks:DisassociateAccessPolicy"`) {
		t.Error("no plan in the JSON output")
	}
}

func TestReplayExitCodes(t *testing.T) {
	dir := t.TempDir()
	view, err := os.ReadFile(filepath.Join(events, "access/associate-view-policy-to-dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	iamUser, err := os.ReadFile(filepath.Join(events, "access/create-access-entry-for-iam-user.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		inErr string
	}{
		{"no findings", string(view), []string{"replay", "-"}, 0, ""},
		{"medium below the default threshold", string(iamUser), []string{"replay", "-"}, 0, ""},
		{"medium at --fail-on medium", string(iamUser), []string{"replay", "--fail-on", "medium", "-"}, 1, ""},
		{"unreadable input", `{"Records":[{"eventSource":"eks.amazonaws.com","eventName":"CreateAccessEntry","requestParameters":{"principalArn":1}}]}`,
			[]string{"replay", "-"}, 2, "<stdin>: record 0: decode CreateAccessEntry requestParameters: principalArn"},
		{"missing file", "", []string{"replay", filepath.Join(dir, "nope.json")}, 2, "nope.json"},
		{"bad flag value", "", []string{"replay", "--fail-on", "loud", "-"}, 2, "unknown severity"},
		{"no paths", "", []string{"replay"}, 2, "no PATH"},
		{"unknown command", "", []string{"frobnicate"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tt.code, errOut)
			}
			if tt.inErr != "" && !strings.Contains(errOut, tt.inErr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.inErr)
			}
		})
	}
}

func TestReplayWithPolicy(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("version: 1\nprincipals:\n  admins: [\"arn:aws:iam::111122223333:role/platform-admins\"]\nrules:\n  cluster-admin-granted: {mode: remediate}\n"), 0o644)
	code, out, errOut := runCLI(t, "", "replay", "--policy", pol, filepath.Join(events, "access"))
	if code != 1 {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "will do") {
		t.Error("a rule in remediate mode should say what it will do")
	}
	if strings.Contains(out, "platform-admins was granted") {
		t.Error("a listed admin must not be flagged")
	}
	os.WriteFile(pol, []byte("version: 1\nrules:\n  no-such-rule: {mode: off}\n"), 0o644)
	code, _, errOut = runCLI(t, "", "replay", "--policy", pol, events)
	if code != 2 || !strings.Contains(errOut, "policy.yaml:3") || !strings.Contains(errOut, "unknown rule ID") {
		t.Errorf("broken policy: exit %d, stderr %q", code, errOut)
	}
}

func TestPolicyValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("version: 1\nrules: {iam-user-granted: {mode: off}}\n"), 0o644)
	os.WriteFile(bad, []byte("version: 1\nendpoint:\n  publicAccessCidrs: [\"10.0.0.0/33\"]\n"), 0o644)
	code, out, _ := runCLI(t, "", "policy", "validate", good)
	if code != 0 || !strings.Contains(out, "valid (18 rules: 0 remediate, 17 notify, 1 off)") {
		t.Errorf("good policy: exit %d, %q", code, out)
	}
	code, _, errOut := runCLI(t, "", "policy", "validate", bad)
	if code != 1 || !strings.Contains(errOut, "bad.yaml:3") || !strings.Contains(errOut, "not a CIDR") {
		t.Errorf("bad policy: exit %d, %q", code, errOut)
	}
}

func TestRulesCommand(t *testing.T) {
	code, out, _ := runCLI(t, "", "rules")
	if code != 0 || !strings.Contains(out, "cluster-admin-granted") || !strings.Contains(out, "notify") {
		t.Errorf("rules: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "", "rules", "--output", "json")
	if code != 0 || strings.Count(out, "\n") != 18 {
		t.Errorf("rules json: exit %d, %d lines", code, strings.Count(out, "\n"))
	}
}

// The README's rule table is generated from the catalogue.
func TestReadmeRuleTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code, table, _ := runCLI(t, "", "rules", "--output", "markdown")
	if code != 0 {
		t.Fatal("rules --output markdown failed")
	}
	if !strings.Contains(string(readme), table) {
		t.Error("README.md's rule table differs from `eksguard rules --output markdown`; paste the new table into README.md")
	}
}

func TestReplayNotifyPreview(t *testing.T) {
	ev := filepath.Join(events, "cluster/update-config-disable-audit-logging.json")
	code, out, errOut := runCLI(t, "", "replay", "--notify", "sns", ev)
	if code != 1 || !strings.Contains(out, "Subject: [HIGH] control-plane-logging-disabled: payments-prod (111122223333 eu-west-1)") {
		t.Errorf("sns preview: exit %d, stderr %s\n%s", code, errOut, out)
	}
	code, out, _ = runCLI(t, "", "replay", "--notify", "slack", ev)
	if code != 1 || !strings.Contains(out, `"blocks"`) || !strings.Contains(out, "aws eks update-cluster-config") {
		t.Errorf("slack preview: exit %d\n%s", code, out)
	}
	if code, _, errOut = runCLI(t, "", "replay", "--notify", "pager", ev); code != 2 || !strings.Contains(errOut, "unknown channel") {
		t.Errorf("unknown channel: exit %d, %s", code, errOut)
	}
}
