package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

const (
	interactionTimeoutSeconds = 30
	interactionMemoryMB       = 256
)

// interaction is the Slack interaction function and what it is given.
type interaction struct {
	fn     awslambda.Function
	role   awsiam.Role
	url    awslambda.FunctionUrl
	secret awssecretsmanager.ISecret
	// fixes are its remediation policies, one per family, with their statements.
	fixes []grantPolicy
}

type grantPolicy struct {
	policy awsiam.Policy
	stmts  []Statement
}

// ApprovalPolicy is the policy an approved fix is granted under: every rule
// in remediate mode, since a person may approve the fix of a rule the policy
// keeps in notify mode.
func ApprovalPolicy(p *policy.Policy) *policy.Policy {
	cp := *p
	cp.Defaults.Mode = finding.ModeRemediate
	cp.Rules = map[string]policy.RuleConfig{}
	for id, rc := range p.Rules {
		if rc.Mode != finding.ModeOff {
			rc.Mode = finding.ModeRemediate
		}
		cp.Rules[id] = rc
	}
	return &cp
}

// ApprovalGrants are the interaction function's remediation statements, by
// family: what each family's function would hold with every rule in
// remediate mode. A family whose grants cannot be computed (EKS role
// patterns missing for its IAM fixes) gets none; its approved fixes are
// refused by IAM and reported failed.
func ApprovalGrants(cfg Config) map[string][]Statement {
	return approvalGrantsIn(cfg, []*policy.Policy{cfg.Policy}, nil)
}

// approvalGrantsIn are ApprovalGrants under each of the policies (an
// organization's per-account variants), for the given regions (none: the
// stack's own), merged by family.
func approvalGrantsIn(cfg Config, pols []*policy.Policy, regions []string) map[string][]Statement {
	out := map[string][]Statement{}
	for _, pol := range pols {
		for _, fam := range families.All() {
			if g, err := RemediationGrantsIn(fam, ApprovalPolicy(pol), cfg.Rules, cfg.ClusterNames, regions); err == nil && len(g) > 0 {
				out[fam.Name] = mergeStatements(out[fam.Name], g)
			}
		}
	}
	return out
}

// memberApprovalGrants are what the interaction function's approved fixes
// need in a member account (slackActions on, organization mode): every
// family's fixes, every rule as if in remediate mode, in the member regions.
func memberApprovalGrants(cfg Config, pols []*policy.Policy) []Statement {
	if !cfg.SlackActions || cfg.Org == nil {
		return nil
	}
	var out []Statement
	for _, fam := range families.All() {
		out = mergeStatements(out, approvalGrantsIn(cfg, pols, cfg.Org.Regions)[fam.Name])
	}
	return out
}

// newInteractionRole is created before the family functions, whose loop
// guard must list it: the fixes it applies are eksguard's own calls.
func newInteractionRole(st awscdk.Stack, cfg Config) awsiam.Role {
	return awsiam.NewRole(st, jsii.String("InteractionFunctionRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("eksguard interaction function"),
		// Organization mode: fixed, for the member roles' trust.
		RoleName: orgFunctionRoleName(cfg, InteractionName),
	})
}

// slackAppSecret is the configured secret of the Slack app (signing secret
// and bot token), or a new empty one.
func slackAppSecret(st awscdk.Stack, cfg Config) awssecretsmanager.ISecret {
	if arn := cfg.SlackAppSecretARN; arn != "" {
		if completeSecretARN.MatchString(arn) {
			return awssecretsmanager.Secret_FromSecretCompleteArn(st, jsii.String("SlackApp"), jsii.String(arn))
		}
		return awssecretsmanager.Secret_FromSecretPartialArn(st, jsii.String("SlackApp"), jsii.String(arn))
	}
	s := awssecretsmanager.NewSecret(st, jsii.String("SlackApp"), &awssecretsmanager.SecretProps{
		Description: jsii.String(`eksguard: the Slack app's signing secret, or {"signingSecret":"...","botToken":"xoxb-..."} (docs/slack-app.md)`),
	})
	s.Node().DefaultChild().(awscdk.CfnResource).AddPropertyDeletionOverride(jsii.String("GenerateSecretString"))
	return s
}

// addInteraction deploys the interaction function behind a function URL
// with auth type NONE (Slack cannot sign with SigV4; the function verifies
// Slack's signature itself), with the table, topic, kill switch and secret
// grants it needs and the approval grants.
func addInteraction(st awscdk.Stack, sh sharedResources, role awsiam.Role) *interaction {
	in := &interaction{role: role, secret: slackAppSecret(st, sh.cfg)}
	in.secret.GrantRead(role, nil)
	sh.topic.GrantPublish(role)
	// Nonces and kept findings are put and read; approvals are
	// idempotency claims and breaker counters (updates); suppressions are
	// put, read and indexed.
	sh.table.Grant(role, jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:UpdateItem"))
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadKillSwitch"),
		Actions:   jsii.Strings("ssm:GetParameter"),
		Resources: &[]*string{sh.killSwitch.ParameterArn()},
	}))
	grants := ApprovalGrants(sh.cfg)
	for _, fam := range families.All() {
		stmts := grants[fam.Name]
		if len(stmts) == 0 {
			continue
		}
		p := awsiam.NewPolicy(st, jsii.String("Interaction"+title(fam.Name)+"FixPolicy"), &awsiam.PolicyProps{
			Roles:      &[]awsiam.IRole{role},
			Statements: policyStatements(stmts),
		})
		in.fixes = append(in.fixes, grantPolicy{policy: p, stmts: stmts})
	}
	env := map[string]*string{
		config.EnvTopicARN:              sh.topic.TopicArn(),
		config.EnvKillSwitchParameter:   sh.killSwitch.ParameterName(),
		config.EnvSlackSigningSecretARN: in.secret.SecretArn(),
	}
	var assume awsiam.Policy
	if sh.cfg.Org != nil {
		// A member account's finding is fixed in that account, through its
		// remediation role (memberApprovalGrants).
		assume = assumeMemberRole(sh.cfg, role, InteractionName, env)
	}
	in.fn, _ = optionalFunction(st, sh, InteractionName, "eksguard interaction: Slack's Apply fix and Expected change buttons", role,
		interactionTimeoutSeconds, interactionMemoryMB, env)
	for _, g := range in.fixes {
		in.fn.Node().AddDependency(g.policy)
	}
	if assume != nil {
		in.fn.Node().AddDependency(assume)
	}
	in.url = in.fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_NONE})
	return in
}
