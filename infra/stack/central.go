package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/policy"
)

// The organization mode's additions to the central stack: fixed function
// role names, the member-account settings in the functions' environment,
// the central bus with its rules, and the member stacks.

// orgFunctionRoleName is a family function's (or the scan function's)
// fixed role name in organization mode; nil (a generated name) otherwise
// and for the notifier.
func orgFunctionRoleName(cfg Config, fn string) *string {
	if cfg.Org == nil || fn == NotifierName {
		return nil
	}
	return jsii.String(functionRoleName(cfg.StackName, fn, cfg.Region))
}

// memberRoleGlob is, in organization mode, the remediation role in every
// account, for the loop guard: what the functions do through it is
// eksguard's own doing.
func memberRoleGlob(cfg Config) []*string {
	if cfg.Org == nil {
		return nil
	}
	return []*string{jsii.String("arn:*:iam::*:role/" + cfg.Org.RoleName)}
}

// orgFunction tells a family function or the scan function, in
// organization mode, the central account and the member role, and lets it
// assume that role in the organization's accounts.
func orgFunction(cfg Config, f *function, env map[string]*string) {
	if cfg.Org == nil {
		return
	}
	// The scan reads every member region; of the families, those that
	// look up cluster and node roles do.
	if f.name == ScanFunctionName || ReadsClusterRegions(familyNamed(f.name)) {
		env[config.EnvMemberRegions] = jsii.String(strings.Join(cfg.Org.Regions, ","))
	}
	f.assume = assumeMemberRole(cfg, f.role, f.name, env)
}

// assumeMemberRole lets a central function's role assume the member
// accounts' remediation role (organization mode) and tells the function
// the central account and the role's name: the policy, for the function
// to depend on.
func assumeMemberRole(cfg Config, role awsiam.Role, fn string, env map[string]*string) awsiam.Policy {
	env[config.EnvAccount] = awscdk.Aws_ACCOUNT_ID()
	env[config.EnvMemberRoleName] = jsii.String(cfg.Org.RoleName)
	p := awsiam.NewPolicy(role.Stack(), jsii.String(title(fn)+"AssumeMemberRolePolicy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AssumeMemberRemediationRole"),
			Actions:    jsii.Strings("sts:AssumeRole"),
			Resources:  &[]*string{awscdk.Fn_Sub(jsii.String(memberRoleARNs(cfg)), nil)},
			Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:ResourceOrgID": cfg.Org.ID}},
		})},
	})
	suppress(p, "AwsSolutions-IAM5", "The member accounts are those of the organization's OUs, known only when StackSets deploy to them: "+
		"the remediation role is named in every account, and the aws:ResourceOrgID condition keeps it to the organization's accounts.",
		"Resource::"+strings.NewReplacer("${", "<", "}", ">").Replace(memberRoleARNs(cfg)))
	return p
}

func memberRoleARNs(cfg Config) string {
	return "arn:${AWS::Partition}:iam::*:role/" + cfg.Org.RoleName
}

// addOrg adds the central bus, its rules and the member stacks.
func addOrg(app awscdk.App, st awscdk.Stack, sh sharedResources, fns map[string]*function, d *Deployment) error {
	cfg := sh.cfg
	grants, err := memberGrants(cfg, cfg.Policy.Variants())
	if err != nil {
		return err
	}
	accountGrants := map[string]map[string][]Statement{}
	for _, account := range cfg.Org.Accounts {
		if accountGrants[account], err = memberGrants(cfg, []*policy.Policy{cfg.Policy.For(account)}); err != nil {
			return err
		}
	}
	bus := awsevents.NewEventBus(st, jsii.String("CentralBus"), &awsevents.EventBusProps{
		EventBusName: jsii.String(CentralBusName(cfg.StackName)),
		Description:  jsii.String("eksguard: events forwarded by the member stacks of organization " + cfg.Org.ID),
	})
	busPolicy := awsevents.NewCfnEventBusPolicy(st, jsii.String("CentralBusPolicy"), &awsevents.CfnEventBusPolicyProps{
		EventBusName: bus.EventBusName(),
		StatementId:  jsii.String("OrganizationPutEvents"),
		Statement: map[string]interface{}{
			"Sid":       "OrganizationPutEvents",
			"Effect":    "Allow",
			"Principal": map[string]interface{}{"AWS": "*"},
			"Action":    "events:PutEvents",
			"Resource":  bus.EventBusArn(),
			"Condition": map[string]interface{}{"StringEquals": map[string]interface{}{"aws:PrincipalOrgID": cfg.Org.ID}},
		},
	})
	// What must be there before members forward: the bus, its policy, its rules.
	orgRules := []constructs.IDependable{bus, busPolicy}
	for _, fam := range families.All() {
		rule := awsevents.NewRule(st, jsii.String(title(fam.Name)+"OrgRule"), &awsevents.RuleProps{
			EventBus:     bus,
			Description:  jsii.String("eksguard " + fam.Name + ": member accounts' events (" + fam.Description + ")"),
			EventPattern: mustPattern(fam),
		})
		rule.AddTarget(lambdaTarget(sh, fns[fam.Name]))
		orgRules = append(orgRules, rule)
	}
	output(st, "CentralEventBusArn", bus.EventBusArn(), "event bus the member stacks forward to")

	audit, err := addOrgAudit(app, st, sh, fns, d)
	if err != nil {
		return err
	}
	suppressOrgAudit(audit)

	if len(cfg.Org.OUs) > 0 {
		body, err := memberTemplate(app, cfg, grants, d)
		if err != nil {
			return err
		}
		regions := jsii.Strings(cfg.Org.Regions...)
		set := awscloudformation.NewCfnStackSet(st, jsii.String("MemberStackSet"), &awscloudformation.CfnStackSetProps{
			StackSetName:    jsii.String(MemberStackSetName(cfg.StackName)),
			Description:     jsii.String("eksguard member: forwards EKS, IAM and CloudTrail events to " + cfg.StackName + " in " + cfg.Account + " " + cfg.Region),
			PermissionModel: jsii.String("SERVICE_MANAGED"),
			CallAs:          jsii.String(cfg.Org.CallAs),
			AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
				Enabled: jsii.Bool(true), RetainStacksOnAccountRemoval: jsii.Bool(false),
			},
			Capabilities:     jsii.Strings("CAPABILITY_NAMED_IAM"),
			ManagedExecution: map[string]interface{}{"Active": true},
			OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
				RegionConcurrencyType:      jsii.String("PARALLEL"),
				MaxConcurrentPercentage:    jsii.Number(25),
				FailureTolerancePercentage: jsii.Number(10),
			},
			StackInstancesGroup: &[]*awscloudformation.CfnStackSet_StackInstancesProperty{{
				DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
					OrganizationalUnitIds: jsii.Strings(cfg.Org.OUs...),
					// The central account's own events reach its functions
					// through the default-bus rules already.
					Accounts:          jsii.Strings(cfg.Account),
					AccountFilterType: jsii.String("DIFFERENCE"),
				},
				Regions: regions,
			}},
			TemplateBody: jsii.String(body),
		})
		set.Node().AddDependency(orgRules...)
	}

	for _, account := range cfg.Org.Accounts {
		for _, region := range cfg.Org.Regions {
			m := awscdk.NewStack(app, jsii.String(MemberStackName(cfg.StackName, account, region)), &awscdk.StackProps{
				Env:         &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)},
				Description: jsii.String(memberDescription(cfg)),
				Synthesizer: awscdk.NewBootstraplessSynthesizer(nil),
			})
			buildMember(m, cfg, region, accountGrants[account])
			d.Members = append(d.Members, m)
		}
	}
	return nil
}

func memberDescription(cfg Config) string {
	return "eksguard member: forwards EKS, IAM and CloudTrail events to " + cfg.StackName + " in " + cfg.Account + " " + cfg.Region + " and holds its remediation role"
}

// memberTemplate synthesizes the StackSet's member stack in an app of its
// own (it must not be deployed with `cdk deploy --all`) and returns its
// template as JSON. The member stack has no assets, so nothing but the
// template is needed to deploy it.
func memberTemplate(app awscdk.App, cfg Config, grants map[string][]Statement, d *Deployment) (string, error) {
	// Its own assembly, next to the app's stacks (cdk-nag writes its
	// report there; the CLI does not deploy it).
	dir := filepath.Join(*app.Outdir(), "stackset-"+MemberStackSetName(cfg.StackName))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("synthesize the member template: %w", err)
	}
	ctx, _ := app.Node().GetAllContext(nil).(map[string]interface{})
	inner := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir), Context: &ctx})
	m := awscdk.NewStack(inner, jsii.String(MemberStackSetName(cfg.StackName)), &awscdk.StackProps{
		Description: jsii.String(memberDescription(cfg)),
		Synthesizer: awscdk.NewBootstraplessSynthesizer(nil),
	})
	awscdk.Tags_Of(inner).Add(jsii.String("app"), jsii.String("eksguard"), nil)
	buildMember(m, cfg, "", grants)
	awscdk.Aspects_Of(inner).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	d.StackSetMember = m
	tmpl := inner.Synth(nil).GetStackArtifact(m.ArtifactId()).Template()
	b, err := json.Marshal(tmpl)
	if err != nil {
		return "", fmt.Errorf("encode the member template: %w", err)
	}
	return string(b), nil
}
