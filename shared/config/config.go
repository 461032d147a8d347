// Package config reads the EKSGUARD_* environment variables through which
// the stack configures the Lambdas: Load reads and checks all of them, the
// policy included, for every function, and each function says which ones
// it requires. The names are constants here so the functions, the CDK stack
// and the README use the same ones.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/eksguard/eksguard/shared/policy"
)

// The environment variables eksguard reads.
const (
	// EnvPolicy holds the policy document itself, in its JSON form.
	EnvPolicy = "EKSGUARD_POLICY"
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
	// iam function looks at to tell cluster and node roles apart, and the
	// scan function scans.
	EnvClusterRegions = "EKSGUARD_CLUSTER_REGIONS"
	// EnvSlackSecretARN is the Secrets Manager secret holding the Slack webhook URL.
	EnvSlackSecretARN = "EKSGUARD_SLACK_SECRET_ARN"
	// EnvCanaryRoleARN is the role the heartbeat canary writes the
	// heartbeat parameter as (the tamper function only).
	EnvCanaryRoleARN = "EKSGUARD_CANARY_ROLE_ARN"
	// EnvAccount is the central account of an organization deployment.
	EnvAccount = "EKSGUARD_ACCOUNT"
	// EnvMemberRoleName is the remediation role's name in the member
	// accounts of an organization deployment.
	EnvMemberRoleName = "EKSGUARD_MEMBER_ROLE_NAME"
	// EnvMemberRegions lists (comma-separated) the member accounts' regions
	// whose clusters the iam function looks at, and in which the hub
	// function imports their findings (organization mode).
	EnvMemberRegions = "EKSGUARD_MEMBER_REGIONS"
	// EnvSecurityHubAccount is the account whose default Security Hub
	// product receives the findings (the hub function).
	EnvSecurityHubAccount = "EKSGUARD_SECURITY_HUB_ACCOUNT"
	// EnvSlackSigningSecretARN is the Secrets Manager secret holding the
	// Slack app's signing secret (the interaction function).
	EnvSlackSigningSecretARN = "EKSGUARD_SLACK_SIGNING_SECRET_ARN"
	// EnvSlackActions, set to on, puts the Apply fix and Expected change
	// buttons on Slack messages and makes the family functions consult
	// expected changes.
	EnvSlackActions = "EKSGUARD_SLACK_ACTIONS"
	// EnvAuditFunctionARN is the kubernetes function the cluster function
	// subscribes to a cluster's audit log when audit logging is turned on.
	EnvAuditFunctionARN = "EKSGUARD_AUDIT_FUNCTION_ARN"
	// EnvAuditDestination is the name of the central account's CloudWatch
	// Logs destination in every member region (organization mode): the
	// cluster function subscribes a member cluster's audit log to it.
	EnvAuditDestination = "EKSGUARD_AUDIT_DESTINATION"
)

// Names lists every variable with what it is for, for docs.
var Names = []struct{ Name, Purpose string }{
	{EnvPolicy, "the policy document in its JSON form; the stack sets it from the validated policy file"},
	{EnvTable, "DynamoDB table for idempotency records and the circuit breaker"},
	{EnvTopicARN, "SNS topic findings are published to"},
	{EnvRemediationRoleARN, "eksguard's own role ARNs (comma-separated, globs allowed): events they cause are ignored"},
	{EnvRemediation, "kill switch: `off` turns every remediation into notify"},
	{EnvKillSwitchParameter, "SSM parameter whose value `off` also turns remediation off, without a redeploy"},
	{EnvDeferQueueURL, "SQS queue that delays fixes while a cluster update is in progress"},
	{EnvDeferDelaySeconds, "seconds before the first retry of a deferred fix, doubled for each later attempt up to 900 (default 120)"},
	{EnvDeferMaxAttempts, "attempts in all for a fix that meets a busy cluster, before it is reported failed (default 8)"},
	{EnvClusterRegions, "regions (comma-separated) whose clusters the iam function lists to tell cluster and node roles apart, and the scan function scans (default: its own region)"},
	{EnvSlackSecretARN, "Secrets Manager secret holding the Slack webhook URL (notifier only)"},
	{EnvAccount, "organization mode: the central account the functions run in; events of any other account are judged and fixed through that account's remediation role"},
	{EnvMemberRoleName, "organization mode: the remediation role's name in every member account (sts:AssumeRole)"},
	{EnvMemberRegions, "organization mode: regions (comma-separated) of the member accounts that the scan function scans and whose clusters the iam function lists to tell cluster and node roles apart (default: those of EKSGUARD_CLUSTER_REGIONS); the hub function imports a member account's findings of these regions in them"},
	{EnvAuditFunctionARN, "the kubernetes function, which the cluster function subscribes to a cluster's audit log group when a CreateCluster or UpdateClusterConfig turns audit logging on (cluster only)"},
	{EnvAuditDestination, "organization mode: the name of the central account's CloudWatch Logs destination in each member region, which the cluster function subscribes a member account's cluster audit log to (arn:<partition>:logs:<region>:<EKSGUARD_ACCOUNT>:destination:<name>; cluster only)"},
	{EnvCanaryRoleARN, "role of the heartbeat canary (tamper only): its write of the heartbeat parameter is recorded as heard, and nothing else it does is acted on"},
	{EnvSecurityHubAccount, "account whose default Security Hub product receives the findings (hub only; default: each finding's own account); in organization mode the central account's own findings only, a member account's are imported through its role"},
	{EnvSlackSigningSecretARN, "Secrets Manager secret holding the Slack app's signing secret (interaction only)"},
	{EnvSlackActions, "`on`: Slack messages carry the Apply fix and Expected change buttons, and the family functions consult expected changes (setting slackActions)"},
}

// MaxDeferDelay is the longest EKSGUARD_DEFER_DELAY_SECONDS accepted: the
// longest delay SQS gives a message (deferral.MaxDelay; a test holds them equal).
const MaxDeferDelay = 900 * time.Second

// Settings are the EKSGUARD_* variables, read and checked. Zero numbers
// mean the consumer's named default (deferral.DefaultDelay,
// deferral.DefaultMaxAttempts); empty strings and lists mean unset.
type Settings struct {
	// Policy is the policy from EKSGUARD_POLICY,
	// validated against the rule catalogue; policy.Default() when neither is set.
	Policy *policy.Policy
	// Table is EKSGUARD_TABLE.
	Table string
	// TopicARN is EKSGUARD_TOPIC_ARN.
	TopicARN string
	// SelfRoles is EKSGUARD_REMEDIATION_ROLE_ARN, split on commas.
	SelfRoles []string
	// RemediationOff is EKSGUARD_REMEDIATION set to off (or false, 0, disabled).
	RemediationOff bool
	// KillSwitchParameter is EKSGUARD_KILL_SWITCH_PARAMETER.
	KillSwitchParameter string
	// DeferQueueURL is EKSGUARD_DEFER_QUEUE_URL.
	DeferQueueURL string
	// DeferDelay is EKSGUARD_DEFER_DELAY_SECONDS (0 when unset).
	DeferDelay time.Duration
	// DeferMaxAttempts is EKSGUARD_DEFER_MAX_ATTEMPTS (0 when unset).
	DeferMaxAttempts int
	// ClusterRegions is EKSGUARD_CLUSTER_REGIONS, split on commas.
	ClusterRegions []string
	// SlackSecretARN is EKSGUARD_SLACK_SECRET_ARN.
	SlackSecretARN string
	// CanaryRoles is EKSGUARD_CANARY_ROLE_ARN, split on commas.
	CanaryRoles []string
	// Account is EKSGUARD_ACCOUNT, MemberRoleName EKSGUARD_MEMBER_ROLE_NAME
	// (organization mode, both set or neither).
	Account, MemberRoleName string
	// MemberRegions is EKSGUARD_MEMBER_REGIONS, split on commas.
	MemberRegions []string
	// SecurityHubAccount is EKSGUARD_SECURITY_HUB_ACCOUNT.
	SecurityHubAccount string
	// SlackSigningSecretARN is EKSGUARD_SLACK_SIGNING_SECRET_ARN.
	SlackSigningSecretARN string
	// SlackActions is EKSGUARD_SLACK_ACTIONS set to on.
	SlackActions bool
	// AuditFunctionARN is EKSGUARD_AUDIT_FUNCTION_ARN.
	AuditFunctionARN string
	// AuditDestination is EKSGUARD_AUDIT_DESTINATION.
	AuditDestination string
}

// Load reads and checks every EKSGUARD_* variable: the policy (against
// knownRules, the catalogue's rule IDs), the numbers, and that each variable
// named in required is set. Every problem is reported, each naming its
// variable.
func Load(knownRules []string, required ...string) (Settings, error) {
	var errs []error
	pol, err := loadPolicy(knownRules)
	if err != nil {
		errs = append(errs, err)
	}
	s := Settings{
		Policy:              pol,
		Table:               value(EnvTable),
		TopicARN:            value(EnvTopicARN),
		SelfRoles:           list(EnvRemediationRoleARN),
		RemediationOff:      remediationOff(),
		KillSwitchParameter: value(EnvKillSwitchParameter),
		DeferQueueURL:       value(EnvDeferQueueURL),
		ClusterRegions:      list(EnvClusterRegions),
		SlackSecretARN:      value(EnvSlackSecretARN),
		CanaryRoles:         list(EnvCanaryRoleARN),
		Account:             value(EnvAccount),
		MemberRoleName:      value(EnvMemberRoleName),
		MemberRegions:       list(EnvMemberRegions),

		SecurityHubAccount:    value(EnvSecurityHubAccount),
		SlackSigningSecretARN: value(EnvSlackSigningSecretARN),
		SlackActions:          strings.EqualFold(value(EnvSlackActions), "on"),
		AuditFunctionARN:      value(EnvAuditFunctionARN),
		AuditDestination:      value(EnvAuditDestination),
	}
	if (s.Account == "") != (s.MemberRoleName == "") {
		errs = append(errs, fmt.Errorf("%s and %s go together (organization mode): set both or neither", EnvAccount, EnvMemberRoleName))
	}
	for _, name := range required {
		purpose, known := purposeOf(name)
		switch {
		case !known:
			errs = append(errs, fmt.Errorf("%s is not an eksguard variable and cannot be required", name))
		case value(name) == "":
			errs = append(errs, fmt.Errorf("%s is not set: this function needs it (%s)", name, purpose))
		}
	}
	if v := value(EnvDeferDelaySeconds); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > int(MaxDeferDelay/time.Second) {
			errs = append(errs, fmt.Errorf("%s=%q: want whole seconds from 0 to %d", EnvDeferDelaySeconds, v, int(MaxDeferDelay/time.Second)))
		}
		s.DeferDelay = time.Duration(n) * time.Second
	}
	if v := value(EnvDeferMaxAttempts); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number of at least 1", EnvDeferMaxAttempts, v))
		}
		s.DeferMaxAttempts = n
	}
	return s, errors.Join(errs...)
}

// loadPolicy loads the policy from EKSGUARD_POLICY, or returns the built-in
// defaults when it is unset. It holds the JSON form the stack writes
// (policy.ParseJSON): the functions link no YAML parser, while the stack and
// `eksguard policy validate` read the YAML file (with line numbers).
func loadPolicy(knownRules []string) (*policy.Policy, error) {
	doc := os.Getenv(EnvPolicy)
	if strings.TrimSpace(doc) == "" {
		return policy.Default(), nil
	}
	if !strings.HasPrefix(strings.TrimSpace(doc), "{") {
		return nil, fmt.Errorf("load policy: %s holds the policy in its JSON form (as the stack writes it), not YAML", EnvPolicy)
	}
	p, err := policy.ParseJSON([]byte(doc), EnvPolicy, knownRules)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	return p, nil
}

func purposeOf(name string) (string, bool) {
	for _, n := range Names {
		if n.Name == name {
			return n.Purpose, true
		}
	}
	return "", false
}

// value is a variable, trimmed.
func value(name string) string { return strings.TrimSpace(os.Getenv(name)) }

// list splits a comma-separated variable, dropping blanks.
func list(name string) []string {
	var out []string
	for _, s := range strings.Split(os.Getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// remediationOff reports whether the environment kill switch is set.
func remediationOff() bool { return SwitchedOff(os.Getenv(EnvRemediation)) }

// SwitchedOff reports whether a switch's value means off: off, false, 0 or
// disabled, in any case, blanks around ignored. It reads
// EKSGUARD_REMEDIATION and the kill switch parameter alike.
func SwitchedOff(value string) bool {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "off", "false", "0", "disabled":
		return true
	}
	return false
}
