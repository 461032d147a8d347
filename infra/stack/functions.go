package stack

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
)

const (
	familyTimeoutSeconds   = 30
	familyMemoryMB         = 256
	notifierTimeoutSeconds = 20
	notifierMemoryMB       = 128
	// Async invocations (EventBridge, SNS) are retried this often and for
	// this long before they go to the function's failure queue.
	asyncRetries     = 2
	asyncMaxAgeHours = 1
)

// function is one deployed Lambda with its role, logs and failure queue.
type function struct {
	name string
	fn   awslambda.Function
	role awsiam.Role
	logs awslogs.LogGroup
	// dlq receives async invocations that failed every retry.
	dlq awssqs.Queue
	// detection and remediation hold the EKS/IAM grants, if any.
	detection, remediation awsiam.Policy
	// assume lets a family function assume the member accounts' role (organization mode).
	assume awsiam.Policy
}

// newFunctions creates every function: roles first, so that each function's
// loop guard can name all of eksguard's roles.
func newFunctions(st awscdk.Stack, sh sharedResources, grants map[string][]Statement) map[string]*function {
	fns := map[string]*function{}
	var roleARNs []*string
	for _, name := range FunctionNames() {
		id := title(name)
		role := awsiam.NewRole(st, jsii.String(id+"FunctionRole"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("eksguard " + name + " function"),
			RoleName:    orgFunctionRoleName(sh.cfg, name),
		})
		fns[name] = &function{name: name, role: role}
		roleARNs = append(roleARNs, role.RoleArn())
	}
	if sh.interactionRole != nil {
		// Approved fixes are eksguard's own calls too.
		roleARNs = append(roleARNs, sh.interactionRole.RoleArn())
	}
	if sh.scanRole != nil {
		// Its fixes (scan.remediate) are eksguard's own calls too.
		roleARNs = append(roleARNs, sh.scanRole.RoleArn())
	}
	selfRoles := append(roleARNs, memberRoleGlob(sh.cfg)...)
	ownRoles := awscdk.Fn_Join(jsii.String(","), &selfRoles)

	for _, name := range FunctionNames() {
		f := fns[name]
		id := title(name)
		f.logs = awslogs.NewLogGroup(st, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
			Retention:     logRetentions[sh.cfg.LogRetentionDays],
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		f.logs.GrantWrite(f.role)
		f.dlq = newQueue(st, id+"FailedInvocations", &awssqs.QueueProps{RetentionPeriod: awscdk.Duration_Days(jsii.Number(14))})

		env := map[string]*string{
			config.EnvPolicy: jsii.String(sh.cfg.PolicyJSON),
			config.EnvTable:  sh.table.TableName(),
		}
		timeout, memory := familyTimeoutSeconds, familyMemoryMB
		desc := "eksguard notifier: posts findings from the topic to Slack"
		if name == NotifierName {
			timeout, memory = notifierTimeoutSeconds, notifierMemoryMB
			env[config.EnvSlackSecretARN] = sh.slack.SecretArn()
			sh.slack.GrantRead(f.role, nil)
			// Slack dedup windows are conditional puts and updates (shared/dedup);
			// the findings the buttons refer to are puts (shared/slackref).
			sh.table.Grant(f.role, jsii.String("dynamodb:PutItem"), jsii.String("dynamodb:UpdateItem"))
			if sh.cfg.SlackActions {
				env[config.EnvSlackActions] = jsii.String("on")
			}
		} else {
			fam := familyNamed(name)
			desc = "eksguard " + name + ": " + fam.Description
			env[config.EnvTopicARN] = sh.topic.TopicArn()
			env[config.EnvRemediationRoleARN] = ownRoles
			sh.topic.GrantPublish(f.role)
			// Idempotency claims, breaker counters and (in the access function)
			// correlation marks are updates (shared/idempotency, shared/breaker,
			// shared/correlation/table).
			sh.table.Grant(f.role, jsii.String("dynamodb:UpdateItem"))
			if sh.cfg.SlackActions {
				// Expected changes are read before alerting (shared/suppress).
				env[config.EnvSlackActions] = jsii.String("on")
				sh.table.Grant(f.role, jsii.String("dynamodb:GetItem"))
			}
			if name != families.Kubernetes.Name { // it has no fix to switch off
				env[config.EnvKillSwitchParameter] = sh.killSwitch.ParameterName()
				f.role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("ReadKillSwitch"),
					Actions:   jsii.Strings("ssm:GetParameter"),
					Resources: &[]*string{sh.killSwitch.ParameterArn()},
				}))
			}
			orgFunction(sh.cfg, f, env)
			if stmts := DetectionGrants(fam, sh.cfg.ClusterRegions); len(stmts) > 0 {
				f.detection = awsiam.NewPolicy(st, jsii.String(id+"DetectionPolicy"), &awsiam.PolicyProps{
					Roles:      &[]awsiam.IRole{f.role},
					Statements: policyStatements(stmts),
				})
				if len(sh.cfg.ClusterRegions) > 0 && ReadsClusterRegions(fam) {
					env[config.EnvClusterRegions] = jsii.String(strings.Join(sh.cfg.ClusterRegions, ","))
				}
			}
			if stmts := grants[name]; len(stmts) > 0 {
				f.remediation = awsiam.NewPolicy(st, jsii.String(id+"RemediationPolicy"), &awsiam.PolicyProps{
					Roles:      &[]awsiam.IRole{f.role},
					Statements: policyStatements(stmts),
				})
			}
			if fam.Owns(families.SSM.EventSource, "PutParameter") {
				// The heartbeat: the canary's write reaches this function.
				env[config.EnvCanaryRoleARN] = sh.canary.role.RoleArn()
			}
			if fam.Name == families.Cluster.Name {
				env[config.EnvDeferQueueURL] = sh.deferQueue.QueueUrl()
				if slices.Contains(RemediationActions(fam, sh.cfg.Policy, sh.cfg.Rules), finding.ActionUpdateClusterConfig) {
					sh.deferQueue.GrantSendMessages(f.role)
				}
			}
		}

		f.fn = awslambda.NewFunction(st, jsii.String(id+"Function"), functionProps(sh.cfg, name, desc, f.role, f.logs, timeout, memory, env))
		// No invocation before the grants are in place.
		for _, p := range []awsiam.Policy{f.detection, f.remediation, f.assume} {
			if p != nil {
				f.fn.Node().AddDependency(p)
			}
		}
		f.fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
			MaxEventAge:   awscdk.Duration_Hours(jsii.Number(asyncMaxAgeHours)),
			RetryAttempts: jsii.Number(asyncRetries),
			OnFailure:     awslambdadestinations.NewSqsDestination(f.dlq),
		})
		if name == families.Cluster.Name {
			src := &awslambdaeventsources.SqsEventSourceProps{
				BatchSize:               jsii.Number(1),
				ReportBatchItemFailures: jsii.Bool(true),
			}
			if sh.cfg.ReservedConcurrency >= 2 {
				src.MaxConcurrency = jsii.Number(2)
			}
			f.fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(sh.deferQueue, src))
		}
	}
	return fns
}

// functionProps are the settings every eksguard function shares: the
// arm64 bootstrap of assetDir/name on provided.al2023, JSON logs to its own
// group, the reserved concurrency.
func functionProps(cfg Config, name, desc string, role awsiam.IRole, logs awslogs.ILogGroup, timeout, memory int, env map[string]*string) *awslambda.FunctionProps {
	return &awslambda.FunctionProps{
		Description:                  jsii.String(desc),
		Runtime:                      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:                 awslambda.Architecture_ARM_64(),
		Handler:                      jsii.String("bootstrap"),
		Code:                         awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.AssetDir, name)), nil),
		MemorySize:                   jsii.Number(memory),
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(timeout)),
		Role:                         role,
		LogGroup:                     logs,
		LoggingFormat:                awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2:        awslambda.ApplicationLogLevel_INFO,
		SystemLogLevelV2:             awslambda.SystemLogLevel_WARN,
		ReservedConcurrentExecutions: jsii.Number(cfg.ReservedConcurrency),
		Environment:                  &env,
	}
}

// policyStatements renders the grant data as IAM statements, resolving the
// ARN templates with Fn::Sub.
func policyStatements(stmts []Statement) *[]awsiam.PolicyStatement {
	out := make([]awsiam.PolicyStatement, 0, len(stmts))
	for _, s := range stmts {
		props := &awsiam.PolicyStatementProps{
			Sid:       jsii.String(s.Sid),
			Effect:    awsiam.Effect_ALLOW,
			Actions:   jsii.Strings(s.Actions...),
			Resources: subAll(s.Resources),
		}
		if len(s.Condition) > 0 {
			cond := map[string]interface{}{}
			for op, keys := range s.Condition {
				m := map[string]interface{}{}
				for k, vals := range keys {
					m[k] = subAll(vals)
				}
				cond[op] = m
			}
			props.Conditions = &cond
		}
		out = append(out, awsiam.NewPolicyStatement(props))
	}
	return &out
}

// subAll wraps each template in Fn::Sub; "*" stays literal.
func subAll(templates []string) *[]*string {
	out := make([]*string, len(templates))
	for i, t := range templates {
		if t == "*" {
			out[i] = jsii.String(t)
			continue
		}
		out[i] = awscdk.Fn_Sub(jsii.String(t), nil)
	}
	return &out
}

func familyNamed(name string) families.Family {
	for _, f := range append(families.All(), families.Kubernetes) {
		if f.Name == name {
			return f
		}
	}
	panic("stack: no family " + name)
}
