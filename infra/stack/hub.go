package stack

import (
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/hubimport"
	"github.com/eksguard/eksguard/shared/notify"
)

// HubName is the Security Hub importer's name (functions/hub).
const HubName = hubimport.Name

const (
	hubTimeoutSeconds = 60
	hubMemoryMB       = 256
	// hubReceives is how often a finding Security Hub keeps refusing is
	// delivered before it goes to the dead-letter queue.
	hubReceives = 5
)

// ProductARNTemplate is the Fn::Sub template of this account's default
// Security Hub product in the stack's region: the only resource the hub
// function may import findings into.
const ProductARNTemplate = "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"

// memberHubGrants are, with securityHub on, the member remediation role's
// statement for the hub function: BatchImportFindings on its own account's
// default product in each member region and in the central region (where
// a finding of another region is imported). Security Hub takes a
// default-product finding only from the account that is its AwsAccountId.
func memberHubGrants(cfg Config) []Statement {
	if !cfg.SecurityHub || cfg.Org == nil {
		return nil
	}
	regions := slices.Clone(cfg.Org.Regions)
	if !slices.Contains(regions, cfg.Region) {
		regions = append(regions, cfg.Region)
	}
	s := Statement{Sid: "ImportFindings", Actions: []string{"securityhub:BatchImportFindings"}}
	for _, r := range regions {
		s.Resources = append(s.Resources, "arn:${AWS::Partition}:securityhub:"+r+":${AWS::AccountId}:product/${AWS::AccountId}/default")
	}
	return []Statement{s}
}

// optionalFunction is a function the settings switch on: a role of its own,
// logs, and the common Lambda settings.
func optionalFunction(st awscdk.Stack, sh sharedResources, name, desc string, role awsiam.Role, timeout, memory int, env map[string]*string) (awslambda.Function, awslogs.LogGroup) {
	id := title(name)
	logs := awslogs.NewLogGroup(st, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     logRetentions[sh.cfg.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	logs.GrantWrite(role)
	env[config.EnvPolicy] = jsii.String(sh.cfg.PolicyJSON)
	env[config.EnvTable] = sh.table.TableName()
	fn := awslambda.NewFunction(st, jsii.String(id+"Function"), functionProps(sh.cfg, name, desc, role, logs, timeout, memory, env))
	return fn, logs
}

// hub is the Security Hub importer and its queues.
type hub struct {
	fn         awslambda.Function
	role       awsiam.Role
	queue, dlq awssqs.Queue
}

// addHub subscribes a queue to the findings topic (findings only: alarm
// messages carry no rule attribute) and has the hub function import what it
// holds into Security Hub, in batches; messages that keep failing go to its
// dead-letter queue, which has an alarm.
func addHub(st awscdk.Stack, sh sharedResources) *hub {
	h := &hub{}
	h.dlq = newQueue(st, "HubFindingsDLQ", &awssqs.QueueProps{RetentionPeriod: awscdk.Duration_Days(jsii.Number(14))})
	h.queue = newQueue(st, "HubFindings", &awssqs.QueueProps{
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * hubTimeoutSeconds)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{MaxReceiveCount: jsii.Number(hubReceives), Queue: h.dlq},
	})
	sh.topic.AddSubscription(awssnssubscriptions.NewSqsSubscription(h.queue, &awssnssubscriptions.SqsSubscriptionProps{
		RawMessageDelivery: jsii.Bool(true),
		DeadLetterQueue:    sh.undelivered,
		FilterPolicy: &map[string]awssns.SubscriptionFilter{
			notify.AttrRule: awssns.NewSubscriptionFilter(&[]interface{}{map[string]interface{}{"exists": true}}),
		},
	}))
	h.role = awsiam.NewRole(st, jsii.String("HubFunctionRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("eksguard hub function"),
		// Organization mode: fixed, for the member roles' trust.
		RoleName: orgFunctionRoleName(sh.cfg, HubName),
	})
	h.role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("ImportFindings"),
		Actions:   jsii.Strings("securityhub:BatchImportFindings"),
		Resources: &[]*string{awscdk.Fn_Sub(jsii.String(ProductARNTemplate), nil)},
	}))
	// First observations are if_not_exists updates (shared/hubimport).
	sh.table.Grant(h.role, jsii.String("dynamodb:UpdateItem"))
	env := map[string]*string{config.EnvSecurityHubAccount: awscdk.Aws_ACCOUNT_ID()}
	var assume awsiam.Policy
	if sh.cfg.Org != nil {
		// A member account's findings are imported by that account, through
		// its remediation role (memberHubGrants), in the member regions.
		assume = assumeMemberRole(sh.cfg, h.role, HubName, env)
		env[config.EnvMemberRegions] = jsii.String(strings.Join(sh.cfg.Org.Regions, ","))
	}
	h.fn, _ = optionalFunction(st, sh, HubName, "eksguard hub: imports findings into Security Hub (AWS Security Finding Format)", h.role, hubTimeoutSeconds, hubMemoryMB, env)
	if assume != nil {
		h.fn.Node().AddDependency(assume)
	}
	h.fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(h.queue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(hubimport.MaxBatch),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(10)),
		ReportBatchItemFailures: jsii.Bool(true),
	}))
	return h
}
