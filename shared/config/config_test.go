package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/deferral"
	"github.com/eksguard/eksguard/shared/policy"
)

var knownRules = []string{"cluster-admin-granted", "iam-user-granted"}

// clearEnv unsets every EKSGUARD_* variable for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, n := range config.Names {
		t.Setenv(n.Name, "")
	}
}

func TestLoadReadsEverySetting(t *testing.T) {
	clearEnv(t)
	t.Setenv(config.EnvPolicy, `{"version":1,"defaults":{"mode":"off"},"rules":{"iam-user-granted":{"mode":"notify"}}}`)
	t.Setenv(config.EnvTable, " t ")
	t.Setenv(config.EnvTopicARN, "arn:aws:sns:eu-west-1:111122223333:eksguard-findings")
	t.Setenv(config.EnvRemediationRoleARN, " arn:aws:iam::1:role/a , ,arn:aws:iam::1:role/b-* ")
	t.Setenv(config.EnvRemediation, "OFF")
	t.Setenv(config.EnvKillSwitchParameter, "/eksguard/remediation")
	t.Setenv(config.EnvDeferQueueURL, "https://sqs.eu-west-1.amazonaws.com/111122223333/eksguard-defer")
	t.Setenv(config.EnvDeferDelaySeconds, "60")
	t.Setenv(config.EnvDeferMaxAttempts, "4")
	t.Setenv(config.EnvClusterRegions, "eu-west-1,us-east-1")
	t.Setenv(config.EnvSlackSecretARN, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack")
	s, err := config.Load(knownRules, config.EnvTable, config.EnvTopicARN, config.EnvSlackSecretARN)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(s.Policy.ModeFor("cluster-admin-granted")), "off"; got != want {
		t.Errorf("policy mode for cluster-admin-granted = %s, want %s", got, want)
	}
	if got, want := string(s.Policy.ModeFor("iam-user-granted")), "notify"; got != want {
		t.Errorf("policy mode for iam-user-granted = %s, want %s", got, want)
	}
	want := config.Settings{
		Policy:              s.Policy,
		Table:               "t",
		TopicARN:            "arn:aws:sns:eu-west-1:111122223333:eksguard-findings",
		SelfRoles:           []string{"arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b-*"},
		RemediationOff:      true,
		KillSwitchParameter: "/eksguard/remediation",
		DeferQueueURL:       "https://sqs.eu-west-1.amazonaws.com/111122223333/eksguard-defer",
		DeferDelay:          time.Minute,
		DeferMaxAttempts:    4,
		ClusterRegions:      []string{"eu-west-1", "us-east-1"},
		SlackSecretARN:      "arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v, want %+v", s, want)
	}
}

func TestLoadWithNothingSet(t *testing.T) {
	clearEnv(t)
	s, err := config.Load(knownRules)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Policy, policy.Default()) {
		t.Errorf("policy = %+v, want policy.Default()", s.Policy)
	}
	if s.RemediationOff || s.DeferDelay != 0 || s.DeferMaxAttempts != 0 || s.SelfRoles != nil || s.Table != "" {
		t.Errorf("got %+v, want zero settings besides the policy", s)
	}
}

// A function's required variables are its own: the notifier needs the
// Slack secret and not the topic.
func TestLoadRequiresWhatTheFunctionNames(t *testing.T) {
	clearEnv(t)
	t.Setenv(config.EnvSlackSecretARN, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:slack")
	if _, err := config.Load(knownRules, config.EnvSlackSecretARN); err != nil {
		t.Errorf("notifier settings without a table or topic: got %v, want no error", err)
	}
	t.Setenv(config.EnvSlackSecretARN, "  ")
	_, err := config.Load(knownRules, config.EnvSlackSecretARN)
	if err == nil || !strings.Contains(err.Error(), config.EnvSlackSecretARN+" is not set") {
		t.Errorf("blank Slack secret: got %v, want an error naming %s", err, config.EnvSlackSecretARN)
	}
	_, err = config.Load(knownRules, "EKSGUARD_TABEL")
	if err == nil || !strings.Contains(err.Error(), "EKSGUARD_TABEL is not an eksguard variable") {
		t.Errorf("misspelt requirement: got %v, want an error naming it", err)
	}
}

// Every bad variable is reported at once, each by name.
func TestLoadNamesEachBadVariable(t *testing.T) {
	clearEnv(t)
	t.Setenv(config.EnvPolicy, `{"version":1,"rules":{"cluster-admin-grantd":{"mode":"remediate"}}}`)
	t.Setenv(config.EnvDeferDelaySeconds, "soon")
	t.Setenv(config.EnvDeferMaxAttempts, "0")
	_, err := config.Load(knownRules, config.EnvTable, config.EnvTopicARN)
	if err == nil {
		t.Fatal("got no error, want one per bad variable")
	}
	for _, want := range []string{
		config.EnvPolicy, "cluster-admin-grantd",
		config.EnvTable + " is not set", config.EnvTopicARN + " is not set",
		config.EnvDeferDelaySeconds + `="soon"`, config.EnvDeferMaxAttempts + `="0"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	clearEnv(t)
	t.Setenv(config.EnvDeferDelaySeconds, "901")
	if _, err := config.Load(knownRules); err == nil || !strings.Contains(err.Error(), "from 0 to 900") {
		t.Errorf("delay over the SQS limit: got %v, want an error giving the range", err)
	}
}

func TestLoadPolicyInItsJSONForm(t *testing.T) {
	clearEnv(t)
	t.Setenv(config.EnvPolicy, `{"version":1,"defaults":{"mode":"off"}}`)
	s, err := config.Load(knownRules)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(s.Policy.ModeFor("cluster-admin-granted")), "off"; got != want {
		t.Errorf("mode = %s, want %s", got, want)
	}
	t.Setenv(config.EnvPolicy, "version: 1\ndefaults:\n  mode: off\n")
	if _, err := config.Load(knownRules); err == nil || !strings.Contains(err.Error(), "JSON form") {
		t.Errorf("YAML in %s: got %v, want an error saying it takes the JSON form", config.EnvPolicy, err)
	}
	t.Setenv(config.EnvPolicy, `{"version":1,"principals":{"admin":[]}}`)
	if _, err := config.Load(knownRules); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Errorf("unknown key: got %v, want an error naming it", err)
	}
}

func TestMaxDeferDelayIsTheQueueLimit(t *testing.T) {
	if config.MaxDeferDelay != deferral.MaxDelay {
		t.Errorf("config.MaxDeferDelay = %s, want deferral.MaxDelay %s", config.MaxDeferDelay, deferral.MaxDelay)
	}
}

func TestSwitchedOff(t *testing.T) {
	for v, want := range map[string]bool{"off": true, " OFF ": true, "false": true, "0": true, "disabled": true, "on": false, "": false, "remediate": false} {
		if got := config.SwitchedOff(v); got != want {
			t.Errorf("SwitchedOff(%q) = %v, want %v", v, got, want)
		}
	}
}
