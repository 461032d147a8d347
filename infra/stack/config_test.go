package stack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

// fakeAssets is a build directory with a dummy bootstrap per function, so
// that the stack can be synthesized without cross-compiling.
func fakeAssets(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, fn := range append(FunctionNames(), HubName, InteractionName, ScanFunctionName) {
		if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fn, "bootstrap"), []byte("#!/bin/sh\n# "+fn+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// approversPolicy is the built-in policy with one Slack approver, as
// slackActions needs.
const approversPolicy = "version: 1\nnotify:\n  slack:\n    approvers:\n      users: [U012AB3CD]\n"

func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// settings is a Lookup over a fixed map of context values.
func settings(m map[string]string) Lookup {
	return func(s Setting) (string, error) { return m[s.Context], nil }
}

const remediateAllPolicy = `version: 1
defaults:
  mode: remediate
principals:
  admins:
    - arn:aws:iam::123456789012:role/platform-admin
`

func TestResolveDefaults(t *testing.T) {
	cfg, err := Resolve(settings(map[string]string{"assetDir": fakeAssets(t)}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StackName != "eksguard" || cfg.Region != "us-east-1" || cfg.Account != "" {
		t.Errorf("stack %q region %q account %q; want eksguard, us-east-1, none", cfg.StackName, cfg.Region, cfg.Account)
	}
	if cfg.HeartbeatEvery != 15*time.Minute || cfg.HeartbeatWindow != 30*time.Minute {
		t.Errorf("heartbeat every %v, window %v; want 15m and 30m", cfg.HeartbeatEvery, cfg.HeartbeatWindow)
	}
	if cfg.ReservedConcurrency != 5 || cfg.LogRetentionDays != 90 {
		t.Errorf("reserved concurrency %d, retention %d; want 5 and 90", cfg.ReservedConcurrency, cfg.LogRetentionDays)
	}
	if cfg.SlackSecretARN != "" || cfg.AlertEmails != nil || cfg.AlertHTTPSEndpoints != nil || cfg.ClusterNames != nil {
		t.Errorf("optional settings set without being asked: %+v", cfg)
	}
	for _, id := range rules.IDs() {
		if m := cfg.Policy.ModeFor(id); m != finding.ModeNotify {
			t.Errorf("built-in policy gives %s mode %s, want notify", id, m)
		}
	}
	if len(cfg.Rules) != len(rules.All()) {
		t.Errorf("catalogue has %d rules, want %d", len(cfg.Rules), len(rules.All()))
	}
}

// The inline policy must read back, through the functions' own parser, as
// the policy the stack validated.
func TestPolicyJSONRoundTrips(t *testing.T) {
	path := writeFile(t, "policy.yaml", remediateAllPolicy+`rules:
  iam-user-granted:
    mode: notify
    allow: ["arn:aws:iam::123456789012:user/ci-*"]
notify:
  sns: {minSeverity: critical}
  dedupWindow: 5m
`)
	cfg, err := Resolve(settings(map[string]string{"assetDir": fakeAssets(t), "policyFile": path}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(cfg.PolicyJSON, "\n\t") {
		t.Errorf("policy JSON is not compact: %s", cfg.PolicyJSON)
	}
	back, err := policy.Parse([]byte(cfg.PolicyJSON), "EKSGUARD_POLICY", rules.IDs())
	if err != nil {
		t.Fatalf("the functions cannot read the stack's policy JSON: %v\n%s", err, cfg.PolicyJSON)
	}
	again, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != cfg.PolicyJSON {
		t.Errorf("policy changed on the round trip:\nstack: %s\nread:  %s", cfg.PolicyJSON, again)
	}
	if back.ModeFor("iam-user-granted") != finding.ModeNotify || back.ModeFor("cluster-admin-granted") != finding.ModeRemediate {
		t.Errorf("modes lost on the round trip: %s", cfg.PolicyJSON)
	}
	if back.Notify.SNS.MinSeverity != finding.Critical || back.Notify.DedupWindow.Minutes() != 5 {
		t.Errorf("notify settings lost on the round trip: %+v", back.Notify)
	}
}

func TestResolveReadsEverySetting(t *testing.T) {
	cfg, err := Resolve(settings(map[string]string{
		"assetDir":               fakeAssets(t),
		"stackName":              "guard-prod",
		"account":                "123456789012",
		"region":                 "eu-west-1",
		"slackSecretArn":         "arn:aws:secretsmanager:eu-west-1:123456789012:secret:eksguard/slack-AbCdEf",
		"alertEmails":            " oncall@example.com, sec@example.com ,oncall@example.com",
		"alertHttpsEndpoints":    "https://hooks.example.com/eksguard",
		"clusterNames":           "prod,staging",
		"auditLogClusters":       "prod",
		"reservedConcurrency":    "3",
		"logRetentionDays":       "365",
		"heartbeatMinutes":       "10",
		"heartbeatWindowMinutes": "45",
		"securityHub":            "on",
		"slackActions":           "on",
		"slackAppSecretArn":      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:eksguard/slack-app-AbCdEf",
		"policyFile":             writeFile(t, "approvers.yaml", approversPolicy),
		"scanSchedule":           "rate(6 hours)",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		StackName: "guard-prod", Account: "123456789012", Region: "eu-west-1",
		SlackSecretARN:      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:eksguard/slack-AbCdEf",
		AlertEmails:         []string{"oncall@example.com", "sec@example.com"},
		AlertHTTPSEndpoints: []string{"https://hooks.example.com/eksguard"},
		ClusterNames:        []string{"prod", "staging"},
		AuditLogClusters:    []string{"prod"},
		ReservedConcurrency: 3, LogRetentionDays: 365,
		HeartbeatEvery: 10 * time.Minute, HeartbeatWindow: 45 * time.Minute,
		SecurityHub: true, SlackActions: true,
		SlackAppSecretARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:eksguard/slack-app-AbCdEf",
		ScanSchedule:      "rate(6 hours)",
	}
	got := cfg
	got.Policy, got.PolicyJSON, got.Rules, got.AssetDir = nil, "", nil, ""
	if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
		t.Errorf("resolved\n%s\nwant\n%s", g, w)
	}
}

func TestResolveRejectsBadSettings(t *testing.T) {
	assets := fakeAssets(t)
	for _, tc := range []struct{ key, value, want string }{
		{"account", "12345", "not a 12-digit account ID"},
		{"region", "mars-1", "not an AWS region"},
		{"stackName", "1-bad name", "not a CloudFormation stack name"},
		{"slackSecretArn", "arn:aws:s3:::bucket", "not a Secrets Manager secret ARN"},
		{"alertEmails", "oncall@example.com,nobody", `"nobody" is not an e-mail address`},
		{"alertHttpsEndpoints", "http://insecure.example.com", "not an https:// URL"},
		{"clusterNames", "prod,bad name", `"bad name" is not an EKS cluster name`},
		{"auditLogClusters", "prod,/aws/eks/x/cluster", `"/aws/eks/x/cluster" is not an EKS cluster name`},
		{"reservedConcurrency", "0", "from 1 to 1000"},
		{"reservedConcurrency", "many", "from 1 to 1000"},
		{"logRetentionDays", "10", "CloudWatch Logs periods"},
		{"heartbeatMinutes", "0", "from 1 to 720"},
		{"heartbeatWindowMinutes", "2000", "from 1 to 1440"},
		{"heartbeatWindowMinutes", "20", "less than twice heartbeatMinutes (15)"},
		{"securityHub", "yes", "want on or off"},
		{"slackActions", "maybe", "want on or off"},
		{"slackActions", "on", "notify.slack.approvers names nobody"},
		{"slackAppSecretArn", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf", "slackActions is off"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			_, err := Resolve(settings(map[string]string{"assetDir": assets, tc.key: tc.value}))
			if err == nil {
				t.Fatalf("%s=%q accepted", tc.key, tc.value)
			}
			if !strings.Contains(err.Error(), "setting "+tc.key) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name setting %s and %q", err, tc.key, tc.want)
			}
		})
	}
}

// A broken policy fails with the validator's own message, whatever else is wrong.
func TestResolveFailsOnBrokenPolicy(t *testing.T) {
	path := writeFile(t, "policy.yaml", `version: 1
endpoint:
  publicAccessCidrs: ["10.0.0.1/8"]
rules:
  no-such-rule: {mode: remediate}
`)
	_, loadErr := policy.Load(path, rules.IDs())
	if loadErr == nil {
		t.Fatal("the fixture policy is valid; the test needs a broken one")
	}
	_, err := Resolve(settings(map[string]string{"assetDir": fakeAssets(t), "policyFile": path}))
	if err == nil {
		t.Fatal("broken policy accepted")
	}
	for _, line := range strings.Split(loadErr.Error(), "\n") {
		if !strings.Contains(err.Error(), line) {
			t.Errorf("error lacks the validator's %q:\n%v", line, err)
		}
	}
	if !strings.Contains(err.Error(), "invalid policy "+path) {
		t.Errorf("error does not name the policy file: %v", err)
	}
}

func TestResolveFailsWithoutBuiltFunctions(t *testing.T) {
	assets := fakeAssets(t)
	if err := os.Remove(filepath.Join(assets, "iam", "bootstrap")); err != nil {
		t.Fatal(err)
	}
	_, err := Resolve(settings(map[string]string{"assetDir": assets}))
	if err == nil || !strings.Contains(err.Error(), "function iam: "+filepath.Join(assets, "iam", "bootstrap")+" is missing") ||
		!strings.Contains(err.Error(), "make build") {
		t.Fatalf("error %v does not say that iam's bootstrap is missing and how to build it", err)
	}
	if strings.Contains(err.Error(), "function access") {
		t.Errorf("error blames a function that is built: %v", err)
	}
}

// Lambda allows 4 KB of environment per function: a policy that cannot fit
// fails the synth instead of the deployment.
func TestResolveFailsOnOversizedPolicy(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nprincipals:\n  admins:\n")
	for i := 0; i < 60; i++ {
		b.WriteString("    - arn:aws:iam::123456789012:role/team-" + strings.Repeat("x", 20) + "-admin-" + string(rune('a'+i%26)) + "\n")
	}
	path := writeFile(t, "big.yaml", b.String())
	_, err := Resolve(settings(map[string]string{"assetDir": fakeAssets(t), "policyFile": path}))
	if err == nil || !strings.Contains(err.Error(), "4 KB") {
		t.Fatalf("oversized policy: got %v, want an error about Lambda's 4 KB environment", err)
	}
}

func TestContextString(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{" eu-west-1 ", "eu-west-1"},
		{float64(3), "3"},
		{true, "true"},
		{[]any{"a@example.com", "b@example.com"}, "a@example.com,b@example.com"},
	} {
		got, err := contextString("k", tc.in)
		if err != nil || got != tc.want {
			t.Errorf("contextString(%#v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []any{[]any{"a", 1.0}, map[string]any{"a": "b"}} {
		if _, err := contextString("alertEmails", bad); err == nil || !strings.Contains(err.Error(), "context alertEmails") {
			t.Errorf("contextString(%#v): got %v, want an error naming the key", bad, err)
		}
	}
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docs/deploy.md documents every setting under both of its names.
func TestDeployDocListsEverySetting(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		row := ""
		for _, line := range strings.Split(string(doc), "\n") {
			if strings.HasPrefix(line, "| `"+s.Context+"` |") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("docs/deploy.md has no settings row for %s", s.Context)
			continue
		}
		for _, env := range s.Env {
			if !strings.Contains(row, "`"+env+"`") {
				t.Errorf("docs/deploy.md row for %s does not name $%s", s.Context, env)
			}
		}
	}
}

// The example policy shipped with the repository deploys as it is.
func TestExamplePolicyResolves(t *testing.T) {
	cfg, err := Resolve(settings(map[string]string{"assetDir": fakeAssets(t), "policyFile": filepath.Join("..", "..", "policy.example.yaml")}))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.PolicyJSON) > maxPolicyJSON {
		t.Errorf("example policy is %d bytes as JSON", len(cfg.PolicyJSON))
	}
	total := 0
	for _, fam := range families.All() {
		g, err := RemediationGrants(fam, cfg.Policy, cfg.Rules, nil)
		if err != nil {
			t.Fatal(err)
		}
		total += len(g)
	}
	if total == 0 {
		t.Error("the example policy remediates, but no family gets a grant")
	}
}

// The tamper rules guard the stack being deployed: the stack writes its name
// into the policy the functions read, and a policy naming another stack is
// an error rather than a guard on the wrong resources.
func TestPolicyNamesTheStack(t *testing.T) {
	dir := fakeAssets(t)
	cfg, err := Resolve(settings(map[string]string{"assetDir": dir, "stackName": "guard-prod"}))
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.ParseJSON([]byte(cfg.PolicyJSON), config.EnvPolicy, rules.IDs())
	if err != nil {
		t.Fatal(err)
	}
	if got := p.StackName(); got != "guard-prod" {
		t.Errorf("the functions' policy names stack %q, want guard-prod", got)
	}
	if got := rules.KillSwitchParameter(p); got != "/guard-prod/remediation" {
		t.Errorf("kill switch the rules watch %q, want /guard-prod/remediation", got)
	}

	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("version: 1\nself: {stackName: eksguard}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(settings(map[string]string{"assetDir": dir, "stackName": "guard-prod", "policyFile": pol}))
	if err == nil || !strings.Contains(err.Error(), `self.stackName is "eksguard", but the stack is "guard-prod"`) {
		t.Errorf("a policy naming another stack: %v", err)
	}
	if _, err := Resolve(settings(map[string]string{"assetDir": dir, "policyFile": pol})); err != nil {
		t.Errorf("a policy naming the stack being deployed: %v", err)
	}
}
