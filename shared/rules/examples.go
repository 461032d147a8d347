package rules

// Example is a call a rule is shown on: the rule fires on it, or stays quiet,
// under ExamplePolicy. Examples are documentation that is tested: one test
// wraps each in a CloudTrail record, decodes it with the real decoder and
// assesses it with the whole catalogue.
type Example struct {
	// Name says what the example shows.
	Name string
	// Event is the CloudTrail eventName; its eventSource is the judgement's.
	Event string
	// Params is the call's requestParameters as CloudTrail records them
	// (JSON; "null" for none).
	Params string
	// Response is the call's responseElements (JSON), for the rules that
	// read them; empty for none.
	Response string
	// ErrorCode, when set, makes the call a failed one.
	ErrorCode string
	// Actor is the caller's ARN; empty for a dev-team session of the
	// example account.
	Actor string
	// Audit, for a rule that reads Kubernetes audit events, is the event's
	// fields that matter (JSON), over a completed, successful request by a
	// dev-team session of the example account on cluster prod; Event,
	// Params and Response are then unused.
	Audit string
	// Fires says whether the rule gives a finding.
	Fires bool
}

// ExampleAccount is the account the examples happen in.
const ExampleAccount = "111122223333"

// ExamplePolicy is the policy examples are judged against.
const ExamplePolicy = `version: 1
accounts: {trusted: ["111122223333"]}
principals:
  admins: ["arn:aws:iam::111122223333:role/platform-admins"]
  protected: ["arn:aws:iam::111122223333:role/break-glass"]
  automation: ["arn:aws:iam::111122223333:role/terraform-deployer"]
kubernetes: {privilegedGroups: [cluster-admin]}
endpoint: {publicAccessCidrs: ["203.0.113.0/24"]}
logging: {required: [api, audit, authenticator]}
roles: {cluster: ["*-cluster-role"], node: ["*-node-role"]}
`
