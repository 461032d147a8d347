package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/scan"
)

// ScanFunctionName is the scheduled scan's function (functions/scan).
const ScanFunctionName = "scan"

// DefaultScanSchedule is when the scheduled scan runs unless scanSchedule
// says otherwise; ScanOff disables it.
const (
	DefaultScanSchedule = "rate(1 day)"
	ScanOff             = "off"
)

const (
	scanTimeoutSeconds = 900 // the Lambda maximum: a region of many clusters at the APIs' rates
	scanMemoryMB       = 512
)

var scheduleRE = regexp.MustCompile(`^(rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$`)

// checkScanSchedule accepts off and EventBridge Scheduler rate and cron
// expressions.
func checkScanSchedule(s string) error {
	if s == ScanOff || scheduleRE.MatchString(s) {
		return nil
	}
	return fmt.Errorf("%q: want %s, a rate expression such as rate(6 hours), or a cron expression such as cron(0 3 * * ? *)", s, ScanOff)
}

// ScanReadGrants are the read-only statements of the scan function: every
// action the scan reader calls (scan.Actions), each scoped as narrowly as
// its resource type allows, in every cluster region (the stack's own when
// none are given). An action without a scope in readScopes is an error.
func ScanReadGrants(clusterRegions []string) ([]Statement, error) {
	regions := clusterRegions
	if len(regions) == 0 {
		regions = []string{"${AWS::Region}"}
	}
	by := map[scope][]string{}
	for _, a := range scan.Actions() {
		sc, ok := readScopes[a]
		if !ok {
			return nil, fmt.Errorf("scan: the reader calls %s, which has no resource scope in infra/stack/grants.go (readScopes)", a)
		}
		by[sc] = append(by[sc], a)
	}
	var out []Statement
	for _, sc := range []scope{clusters, accessEntries, nodegroups, identityProviderConfigs, podIdentityAssociations, roles, anyResource} {
		if len(by[sc]) == 0 {
			continue
		}
		var res []string
		why := scopeWhy[sc]
		switch sc {
		case roles:
			res = []string{accountRoles}
			why = "the roles a cluster uses (cluster, node and pod identity roles) are named at runtime by EKS; scoped to this account's roles, read-only"
		case anyResource:
			res = []string{"*"}
		default:
			for _, r := range regions {
				res = append(res, eksResources(r, nil)[sc]...)
			}
			if sc == clusters {
				why = "the scan reads every cluster of the account in the cluster regions; read-only"
			}
		}
		out = append(out, Statement{Sid: "Scan" + scopeNames[sc], Actions: sorted(by[sc]), Resources: res, Why: why})
	}
	return out, nil
}

// ScanRemediationActions are the write actions the scan function needs:
// those of the rules the policy's scan.remediate lists that have a state
// form and are not off, sorted.
func ScanRemediationActions(pol *policy.Policy, catalogue []rules.Rule) []string {
	var out []string
	for _, r := range catalogue {
		if r.State == nil || pol.ScanMode(r.ID) != finding.ModeRemediate {
			continue
		}
		for _, a := range r.Actions {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}

// ScanRemediationGrants are the statements the scan function's fixes
// need, computed as the event functions' are (actionGrants), in the
// regions it scans (none: the stack's own).
func ScanRemediationGrants(pol *policy.Policy, catalogue []rules.Rule, clusterNames, regions []string) ([]Statement, error) {
	return actionGrants("scan", ScanRemediationActions(pol, catalogue), pol, clusterNames, regions, func(a string) []string {
		var ids []string
		for _, r := range catalogue {
			if slices.Contains(pol.Scan.Remediate, r.ID) && slices.Contains(r.Actions, a) {
				ids = append(ids, r.ID)
			}
		}
		return ids
	})
}

// scanInput is the input the schedule sends each run (scanjob.Input): the
// account, and the scheduled time Scheduler fills in.
func scanInput() *string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the context attribute must stay literal
	if err := enc.Encode(map[string]string{"account": "${AWS::AccountId}", "scheduledTime": ScheduledTime}); err != nil {
		panic(err)
	}
	return awscdk.Fn_Sub(jsii.String(strings.TrimSpace(b.String())), nil)
}

// newScanRole is the scan function's role, made before the family
// functions so that their loop guard names it; nil when the scan is off.
func newScanRole(st awscdk.Stack, cfg Config) awsiam.Role {
	if cfg.ScanSchedule == ScanOff {
		return nil
	}
	return awsiam.NewRole(st, jsii.String("ScanFunctionRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("eksguard scan function"),
		// Organization mode: the member roles trust it by name.
		RoleName: orgFunctionRoleName(cfg, ScanFunctionName),
	})
}

// newScan adds the scheduled scan: its function (read-only grants from the
// reader, fix grants only for scan.remediate's rules), the role Scheduler
// invokes it as, the schedule, and an alarm on its errors. Nothing when
// the schedule is off.
func newScan(st awscdk.Stack, sh sharedResources) (*function, []Statement, error) {
	cfg := sh.cfg
	if cfg.ScanSchedule == ScanOff {
		return nil, nil, nil
	}
	reads, err := ScanReadGrants(cfg.ClusterRegions)
	if err != nil {
		return nil, nil, err
	}
	fixes, err := ScanRemediationGrants(cfg.Policy, cfg.Rules, cfg.ClusterNames, cfg.ClusterRegions)
	if err != nil {
		return nil, nil, err
	}
	f := &function{name: ScanFunctionName, role: sh.scanRole}
	f.logs = awslogs.NewLogGroup(st, jsii.String("ScanLogs"), &awslogs.LogGroupProps{
		Retention:     logRetentions[cfg.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	f.logs.GrantWrite(f.role)
	sh.topic.GrantPublish(f.role)
	// The open findings (GetItem, PutItem), idempotency claims and breaker
	// counters (UpdateItem).
	sh.table.Grant(f.role, jsii.String("dynamodb:GetItem"), jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:UpdateItem"))
	f.role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ReadKillSwitch"),
		Actions:   jsii.Strings("ssm:GetParameter"),
		Resources: &[]*string{sh.killSwitch.ParameterArn()},
	}))
	f.detection = awsiam.NewPolicy(st, jsii.String("ScanReadPolicy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{f.role}, Statements: policyStatements(reads),
	})
	if len(fixes) > 0 {
		f.remediation = awsiam.NewPolicy(st, jsii.String("ScanRemediationPolicy"), &awsiam.PolicyProps{
			Roles: &[]awsiam.IRole{f.role}, Statements: policyStatements(fixes),
		})
	}
	env := map[string]*string{
		config.EnvPolicy:              jsii.String(cfg.PolicyJSON),
		config.EnvTable:               sh.table.TableName(),
		config.EnvTopicARN:            sh.topic.TopicArn(),
		config.EnvKillSwitchParameter: sh.killSwitch.ParameterName(),
	}
	if len(cfg.ClusterRegions) > 0 {
		env[config.EnvClusterRegions] = jsii.String(strings.Join(cfg.ClusterRegions, ","))
	}
	// Organization mode: the member accounts are read through their role.
	orgFunction(cfg, f, env)
	f.fn = awslambda.NewFunction(st, jsii.String("ScanFunction"), &awslambda.FunctionProps{
		Description:                  jsii.String("eksguard scan: judges the current state of the account's clusters with the same rules, on a schedule"),
		Runtime:                      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:                 awslambda.Architecture_ARM_64(),
		Handler:                      jsii.String("bootstrap"),
		Code:                         awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.AssetDir, ScanFunctionName)), nil),
		MemorySize:                   jsii.Number(scanMemoryMB),
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(scanTimeoutSeconds)),
		Role:                         f.role,
		LogGroup:                     f.logs,
		LoggingFormat:                awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2:        awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:             awslambda.SystemLogLevel_WARN,
		ReservedConcurrentExecutions: jsii.Number(1), // one scan at a time
		Environment:                  &env,
	})
	for _, p := range []awsiam.Policy{f.detection, f.remediation, f.assume} {
		if p != nil {
			f.fn.Node().AddDependency(p)
		}
	}
	// A failed run is retried by the next one: the schedule's own retries
	// are off, and so are Lambda's for the asynchronous invocation.
	f.fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{RetryAttempts: jsii.Number(0)})

	invoker := awsiam.NewRole(st, jsii.String("ScanSchedulerRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewPrincipalWithConditions(awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil),
			&map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}}),
		Description: jsii.String("eksguard scheduled scan: invokes the scan function and nothing else"),
	})
	invoker.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("InvokeScan"),
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{f.fn.FunctionArn()},
	}))
	sched := awsscheduler.NewCfnSchedule(st, jsii.String("Scan"), &awsscheduler.CfnScheduleProps{
		Description:        jsii.String("eksguard scheduled scan of the account's clusters"),
		ScheduleExpression: jsii.String(cfg.ScanSchedule),
		FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		State:              jsii.String("ENABLED"),
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:         f.fn.FunctionArn(),
			RoleArn:     invoker.RoleArn(),
			Input:       scanInput(),
			RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(0)},
		},
	})
	sched.Node().AddDependency(invoker)
	alarm(st, "ScanErrors", f.fn.MetricErrors(sumOver5m()), "eksguard: the scheduled scan failed or could not read some cluster; see its logs", sh.topic)

	suppress(f.role, "AwsSolutions-IAM5", whyGenerateDataKey, "Action::kms:GenerateDataKey*")
	for _, p := range []struct {
		policy awsiam.Policy
		stmts  []Statement
	}{{f.detection, reads}, {f.remediation, fixes}} {
		if p.policy == nil {
			continue
		}
		for _, s := range p.stmts {
			if wild := wildcards(s); len(wild) > 0 {
				suppress(p.policy, "AwsSolutions-IAM5", s.Sid+": "+s.Why, wild...)
			}
		}
	}
	return f, append(slices.Clone(reads), fixes...), nil
}

// memberScanGrants are, with the scan on, the scan function's statements
// in a member account (the remediation role's): the reads in the member
// regions, and the fixes scan.remediate asks for in any of pols.
func memberScanGrants(cfg Config, pols []*policy.Policy) ([]Statement, error) {
	if cfg.ScanSchedule == ScanOff {
		return nil, nil
	}
	stmts, err := ScanReadGrants(cfg.Org.Regions)
	if err != nil {
		return nil, err
	}
	for _, pol := range pols {
		fixes, err := ScanRemediationGrants(pol, cfg.Rules, cfg.ClusterNames, cfg.Org.Regions)
		if err != nil {
			return nil, err
		}
		stmts = mergeStatements(stmts, fixes)
	}
	return stmts, nil
}
