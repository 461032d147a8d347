package stack

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

// cliEnv is the environment for the CDK CLI: no AWS credentials, profile or
// region to find, and no network calls (version check, notices, telemetry).
func cliEnv(t *testing.T) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "CDK_") || strings.HasPrefix(k, "EKSGUARD_") {
			continue
		}
		env = append(env, kv)
	}
	home := t.TempDir()
	return append(env,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+filepath.Join(home, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "no-credentials"),
		"CDK_HOME="+home,
		"CDK_DISABLE_VERSION_CHECK=true",
		"CDK_DISABLE_CLI_TELEMETRY=true",
		"JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1",
		"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20,22",
	)
}

// cdkSynth runs `npx cdk synth` from the repository root, as a user would,
// with the CLI pinned in package.json and the app from cdk.json.
func cdkSynth(t *testing.T, out string, args ...string) (string, error) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", ".bin", "cdk")); err != nil {
		t.Fatalf("the CDK CLI pinned in package.json is not installed (%v): run `npm ci` in %s", err, root)
	}
	cmd := exec.Command("npx", append([]string{"--no-install", "cdk", "synth", "--quiet", "--no-notices", "-o", out}, args...)...)
	cmd.Dir = root
	cmd.Env = cliEnv(t)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

func TestCDKSynthFromCDKJSON(t *testing.T) {
	assets := fakeAssets(t)
	out := t.TempDir()
	log, err := cdkSynth(t, out, "-c", "assetDir="+assets, "-c", "region=eu-west-1", "-c", "account=123456789012")
	if err != nil {
		t.Fatalf("cdk synth: %v\n%s", err, log)
	}
	raw, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatalf("no cloud assembly: %v\n%s", err, log)
	}
	var manifest struct {
		Artifacts map[string]struct {
			Type        string `json:"type"`
			Environment string `json:"environment"`
			Properties  struct {
				TemplateFile string `json:"templateFile"`
			} `json:"properties"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatal(err)
	}
	for stack, env := range map[string]string{
		"eksguard":                     "aws://123456789012/eu-west-1",
		"eksguard-forwarder-us-east-1": "aws://123456789012/us-east-1",
	} {
		a, ok := manifest.Artifacts[stack]
		if !ok || a.Type != "aws:cloudformation:stack" {
			t.Errorf("stack %s missing from the assembly: %s", stack, raw)
			continue
		}
		if a.Environment != env {
			t.Errorf("stack %s environment %s, want %s", stack, a.Environment, env)
		}
		tmpl, err := os.ReadFile(filepath.Join(out, a.Properties.TemplateFile))
		if err != nil || !strings.Contains(string(tmpl), `"AWS::Events::Rule"`) {
			t.Errorf("stack %s: template %s has no rule (%v)", stack, a.Properties.TemplateFile, err)
		}
	}
}

func TestCDKSynthFailsOnBrokenPolicy(t *testing.T) {
	bad := writeFile(t, "policy.yaml", "version: 1\nprincipals:\n  admins: [\"not-an-arn\"]\n")
	_, loadErr := policy.Load(bad, rules.IDs())
	if loadErr == nil {
		t.Fatal("the fixture policy is valid; the test needs a broken one")
	}
	out := t.TempDir()
	log, err := cdkSynth(t, out, "-c", "assetDir="+fakeAssets(t), "-c", "policyFile="+bad)
	if err == nil {
		t.Fatalf("cdk synth accepted a broken policy:\n%s", log)
	}
	if !strings.Contains(log, loadErr.Error()) {
		t.Errorf("cdk synth output lacks the validator's message %q:\n%s", loadErr, log)
	}
	if _, err := os.Stat(filepath.Join(out, "eksguard.template.json")); err == nil {
		t.Error("a template was written despite the broken policy")
	}
}
