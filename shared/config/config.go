// Package config reads the EKSGUARD_* environment variables through which
// the stack configures the Lambdas. The names are constants here so the
// functions, the CDK stack and the README use the same ones.
package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/eksguard/eksguard/shared/policy"
)

// The environment variables eksguard reads.
const (
	// EnvPolicy holds the policy document itself (YAML or JSON).
	EnvPolicy = "EKSGUARD_POLICY"
	// EnvPolicyFile names a policy file to read instead.
	EnvPolicyFile = "EKSGUARD_POLICY_FILE"
	// EnvTable is the DynamoDB table for idempotency records and the circuit breaker.
	EnvTable = "EKSGUARD_TABLE"
	// EnvTopicARN is the SNS topic findings are published to.
	EnvTopicARN = "EKSGUARD_TOPIC_ARN"
	// EnvRemediationRoleARN lists (comma-separated, globs allowed) the roles
	// eksguard remediates with; events they cause are never acted on.
	EnvRemediationRoleARN = "EKSGUARD_REMEDIATION_ROLE_ARN"
	// EnvRemediation is the kill switch: "off" turns every remediation into notify.
	EnvRemediation = "EKSGUARD_REMEDIATION"
	// EnvKillSwitchParameter names the SSM parameter that, set to "off",
	// also turns remediation off without a redeploy.
	EnvKillSwitchParameter = "EKSGUARD_KILL_SWITCH_PARAMETER"
	// EnvDeferQueueURL is the SQS delay queue for fixes that must wait for a cluster update.
	EnvDeferQueueURL = "EKSGUARD_DEFER_QUEUE_URL"
	// EnvDeferDelaySeconds is the wait before the first retry of a deferred fix
	// (doubled for each later attempt, at most 900).
	EnvDeferDelaySeconds = "EKSGUARD_DEFER_DELAY_SECONDS"
	// EnvDeferMaxAttempts is how many times a fix meeting a busy cluster is tried in all.
	EnvDeferMaxAttempts = "EKSGUARD_DEFER_MAX_ATTEMPTS"
	// EnvClusterRegions lists (comma-separated) the regions whose clusters the
	// iam function looks at to tell cluster and node roles apart.
	EnvClusterRegions = "EKSGUARD_CLUSTER_REGIONS"
	// EnvSlackSecretARN is the Secrets Manager secret holding the Slack webhook URL.
	EnvSlackSecretARN = "EKSGUARD_SLACK_SECRET_ARN"
)

// Names lists every variable with what it is for, for docs.
var Names = []struct{ Name, Purpose string }{
	{EnvPolicy, "the policy document (YAML or JSON); the stack sets it from the validated policy file"},
	{EnvPolicyFile, "path of a policy file, read when EKSGUARD_POLICY is unset"},
	{EnvTable, "DynamoDB table for idempotency records and the circuit breaker"},
	{EnvTopicARN, "SNS topic findings are published to"},
	{EnvRemediationRoleARN, "eksguard's own role ARNs (comma-separated, globs allowed): events they cause are ignored"},
	{EnvRemediation, "kill switch: `off` turns every remediation into notify"},
	{EnvKillSwitchParameter, "SSM parameter whose value `off` also turns remediation off, without a redeploy"},
	{EnvDeferQueueURL, "SQS queue that delays fixes while a cluster update is in progress"},
	{EnvDeferDelaySeconds, "seconds before the first retry of a deferred fix, doubled for each later attempt up to 900 (default 120)"},
	{EnvDeferMaxAttempts, "attempts in all for a fix that meets a busy cluster, before it is reported failed (default 8)"},
	{EnvClusterRegions, "regions (comma-separated) whose clusters the iam function lists to tell cluster and node roles apart (default: its own region)"},
	{EnvSlackSecretARN, "Secrets Manager secret holding the Slack webhook URL (notifier only)"},
}

// Policy loads the policy from EKSGUARD_POLICY or EKSGUARD_POLICY_FILE, or
// returns the built-in defaults when neither is set.
func Policy(knownRules []string) (*policy.Policy, error) {
	if doc := os.Getenv(EnvPolicy); strings.TrimSpace(doc) != "" {
		p, err := policy.Parse([]byte(doc), EnvPolicy, knownRules)
		if err != nil {
			return nil, fmt.Errorf("load policy: %w", err)
		}
		return p, nil
	}
	if path := os.Getenv(EnvPolicyFile); path != "" {
		p, err := policy.Load(path, knownRules)
		if err != nil {
			return nil, fmt.Errorf("load policy: %w", err)
		}
		return p, nil
	}
	return policy.Default(), nil
}

// List splits a comma-separated variable, dropping blanks.
func List(name string) []string {
	var out []string
	for _, s := range strings.Split(os.Getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// RemediationOff reports whether the environment kill switch is set.
func RemediationOff() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(EnvRemediation)))
	return v == "off" || v == "false" || v == "0" || v == "disabled"
}
