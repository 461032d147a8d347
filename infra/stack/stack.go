// Package stack is eksguard's CDK app: the main stack (functions, rules,
// topic, secret, table, queues, alarms) and, where the main region does not
// receive a global service's events, a small forwarder stack in that
// service's region. Everything is derived from shared/families (routing),
// shared/rules (remediation actions) and the validated policy.
package stack

import (
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/eksguard/eksguard/shared/deferral"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/rules"
)

// Deployment is what New adds to the app.
type Deployment struct {
	Main awscdk.Stack
	// Functions are the main stack's functions by name (FunctionNames).
	Functions map[string]awslambda.Function
	// Forwarders are the stacks in global services' regions (us-east-1 for
	// IAM) that forward those events to the main region's default bus; none
	// when the main stack is in that region.
	Forwarders []awscdk.Stack
	// Members are the standalone member stacks (organization mode with
	// memberAccounts), StackSetMember the one whose template the StackSet
	// inlines (organization mode with memberOrganizationalUnits).
	Members        []awscdk.Stack
	StackSetMember awscdk.Stack
	// AuditDestinations are the stacks holding the central account's
	// audit-log destination in the member regions other than the central
	// one (organization mode, orgaudit.go).
	AuditDestinations []awscdk.Stack
}

// New adds eksguard's stacks to the app and applies cdk-nag's AwsSolutions
// checks to it. It fails, before adding anything, when a family's grants
// cannot be computed from the policy.
func New(app awscdk.App, cfg Config) (*Deployment, error) {
	grants := map[string][]Statement{}
	for _, fam := range families.All() {
		g, err := RemediationGrants(fam, cfg.Policy.For(cfg.Account), cfg.Rules, cfg.ClusterNames)
		if err != nil {
			return nil, err
		}
		grants[fam.Name] = g
	}

	env := &awscdk.Environment{Region: jsii.String(cfg.Region)}
	if cfg.Account != "" {
		env.Account = jsii.String(cfg.Account)
	}
	st := awscdk.NewStack(app, jsii.String(cfg.StackName), &awscdk.StackProps{
		Env:         env,
		Description: jsii.String("eksguard: watches EKS access, cluster and IAM changes and notifies or reverts them"),
	})
	awscdk.Tags_Of(app).Add(jsii.String("app"), jsii.String("eksguard"), nil)
	d := &Deployment{Main: st}

	topic := findingsTopic(st, cfg)
	table := awsdynamodb.NewTable(st, jsii.String("State"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		TimeToLiveAttribute: jsii.String("expiresAt"),
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption: awsdynamodb.TableEncryption_AWS_MANAGED,
		// Idempotency records, breaker counters and dedup windows all expire
		// within hours: nothing worth keeping after the stack is gone.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	killSwitch := awsssm.NewStringParameter(st, jsii.String("KillSwitch"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(rules.KillSwitchParameter(cfg.Policy)),
		StringValue:   jsii.String("on"),
		Description:   jsii.String("eksguard kill switch: set to off to turn every remediation into a notification"),
	})
	slack := slackSecret(st, cfg)

	// Undelivered events: EventBridge targets and SNS subscriptions that
	// could not reach their function.
	undelivered := newQueue(st, "UndeliveredEvents", &awssqs.QueueProps{RetentionPeriod: awscdk.Duration_Days(jsii.Number(14))})
	deferDLQ := newQueue(st, "DeferredFixesDLQ", &awssqs.QueueProps{RetentionPeriod: awscdk.Duration_Days(jsii.Number(14))})
	deferQueue := newQueue(st, "DeferredFixes", &awssqs.QueueProps{
		DeliveryDelay:     awscdk.Duration_Seconds(jsii.Number(deferral.DefaultDelay.Seconds())),
		VisibilityTimeout: awscdk.Duration_Seconds(jsii.Number(6 * familyTimeoutSeconds)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(4)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{MaxReceiveCount: jsii.Number(5), Queue: deferDLQ},
	})

	canary := newCanary(st, cfg)
	shared := sharedResources{
		cfg: cfg, topic: topic, table: table, killSwitch: killSwitch, slack: slack,
		deferQueue: deferQueue, undelivered: undelivered, canary: canary, scanRole: newScanRole(st, cfg),
	}
	if cfg.SlackActions {
		shared.interactionRole = newInteractionRole(st, cfg)
	}
	fns := newFunctions(st, shared, grants)
	routeEvents(st, shared, fns)
	wireAuditLogs(st, cfg, fns)
	scanFn, _, err := newScan(st, shared)
	if err != nil {
		return nil, err
	}
	if scanFn != nil {
		subscribesAuditLogs(st, cfg, scanFn, fns[families.Kubernetes.Name], "ScanAuditSubscriptionPolicy")
	}
	d.Functions = map[string]awslambda.Function{}
	for name, f := range fns {
		d.Functions[name] = f.fn
	}
	if scanFn != nil {
		d.Functions[ScanFunctionName] = scanFn.fn
	}
	// The notifier gets the findings at or above the Slack threshold, and
	// the alarm messages (no severityLevel attribute): eksguard's own alarms,
	// the missing heartbeat among them, reach Slack as well as e-mail.
	topic.AddSubscription(awssnssubscriptions.NewLambdaSubscription(fns[NotifierName].fn, &awssnssubscriptions.LambdaSubscriptionProps{
		DeadLetterQueue: undelivered,
		FilterPolicy: &map[string]awssns.SubscriptionFilter{
			"severityLevel": awssns.NewSubscriptionFilter(&[]interface{}{
				map[string]interface{}{"numeric": []interface{}{">=", int(cfg.Policy.Notify.Slack.MinSeverity)}},
				map[string]interface{}{"exists": false},
			}),
		},
	}))

	dlqs := map[string]awssqs.IQueue{"UndeliveredEvents": undelivered, "DeferredFixesDLQ": deferDLQ}
	for _, name := range FunctionNames() {
		dlqs[title(name)+"FailedInvocations"] = fns[name].dlq
	}
	opt := addOptional(st, shared, dlqs)
	if opt.hub != nil {
		d.Functions[HubName] = opt.hub.fn
	}
	if opt.interaction != nil {
		d.Functions[InteractionName] = opt.interaction.fn
	}
	addAlarms(st, cfg, topic, fns, dlqs)
	addHeartbeatAlarm(st, cfg, topic)

	for _, region := range forwardRegions(cfg.Region) {
		d.Forwarders = append(d.Forwarders, newForwarder(app, cfg, region, st))
	}

	if cfg.Org != nil {
		if err := addOrg(app, st, shared, fns, d); err != nil {
			return nil, err
		}
	}

	output(st, "TopicArn", topic.TopicArn(), "SNS topic findings and alarms are published to")
	output(st, "SlackSecretArn", slack.SecretArn(), "secret holding the Slack webhook URL")
	output(st, "KillSwitchParameter", killSwitch.ParameterName(), "set to off to stop every remediation")
	output(st, "HeartbeatParameterName", canary.parameter.ParameterName(), "the parameter the heartbeat canary writes (docs/tamper.md)")
	output(st, "TableName", table.TableName(), "DynamoDB table for idempotency, circuit breaker and dedup")
	output(st, "UndeliveredEventsQueueUrl", undelivered.QueueUrl(), "events that never reached a function")

	suppressMain(st, cfg, fns, grants)
	suppressOptional(opt)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return d, nil
}

// sharedResources are what the functions are wired to.
type sharedResources struct {
	cfg         Config
	topic       awssns.Topic
	table       awsdynamodb.Table
	killSwitch  awsssm.StringParameter
	slack       awssecretsmanager.ISecret
	deferQueue  awssqs.Queue
	undelivered awssqs.Queue
	canary      canary
	// interactionRole is the interaction function's role (slackActions), nil without it.
	interactionRole awsiam.Role
	// scanRole is the scan function's role (nil with the scan off).
	scanRole awsiam.Role
}

// encryptedTopic is an SSL-only topic encrypted with a key of its own
// (rotated yearly) that CloudWatch alarms may publish to.
func encryptedTopic(st awscdk.Stack, id, displayName, keyDescription string) awssns.Topic {
	key := awskms.NewKey(st, jsii.String("TopicKey"), &awskms.KeyProps{
		Description:       jsii.String(keyDescription),
		EnableKeyRotation: jsii.Bool(true),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	topic := awssns.NewTopic(st, jsii.String(id), &awssns.TopicProps{
		DisplayName: jsii.String(displayName),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	allowAlarms(key, topic)
	return topic
}

// findingsTopic is the KMS-encrypted, SSL-only topic for findings and alarms,
// with the configured e-mail and HTTPS subscriptions.
func findingsTopic(st awscdk.Stack, cfg Config) awssns.Topic {
	topic := encryptedTopic(st, "Findings", "eksguard", "eksguard findings topic")

	// Findings below the SNS threshold go to Slack only; alarm messages carry
	// no severityLevel attribute and always pass.
	filter := &map[string]awssns.SubscriptionFilter{
		"severityLevel": awssns.NewSubscriptionFilter(&[]interface{}{
			map[string]interface{}{"numeric": []interface{}{">=", int(cfg.Policy.Notify.SNS.MinSeverity)}},
			map[string]interface{}{"exists": false},
		}),
	}
	subscribe(topic, cfg, filter, nil)
	return topic
}

// allowAlarms lets this account's CloudWatch alarms publish to the
// encrypted topic: the service needs the key as well as the topic.
func allowAlarms(key awskms.Key, topic awssns.Topic) {
	cw := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{cw},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"),
	}), nil)
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{cw},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
	}))
}

// subscribe adds the configured e-mail and HTTPS subscriptions.
func subscribe(topic awssns.Topic, cfg Config, filter *map[string]awssns.SubscriptionFilter, dlq awssqs.IQueue) {
	for _, e := range cfg.AlertEmails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(e), &awssnssubscriptions.EmailSubscriptionProps{
			FilterPolicy: filter,
		}))
	}
	for _, u := range cfg.AlertHTTPSEndpoints {
		topic.AddSubscription(awssnssubscriptions.NewUrlSubscription(jsii.String(u), &awssnssubscriptions.UrlSubscriptionProps{
			Protocol:        awssns.SubscriptionProtocol_HTTPS,
			FilterPolicy:    filter,
			DeadLetterQueue: dlq,
		}))
	}
}

var completeSecretARN = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)

// slackSecret is the configured secret, or a new empty one.
func slackSecret(st awscdk.Stack, cfg Config) awssecretsmanager.ISecret {
	if arn := cfg.SlackSecretARN; arn != "" {
		if completeSecretARN.MatchString(arn) {
			return awssecretsmanager.Secret_FromSecretCompleteArn(st, jsii.String("SlackWebhook"), jsii.String(arn))
		}
		return awssecretsmanager.Secret_FromSecretPartialArn(st, jsii.String("SlackWebhook"), jsii.String(arn))
	}
	s := awssecretsmanager.NewSecret(st, jsii.String("SlackWebhook"), &awssecretsmanager.SecretProps{
		Description: jsii.String("eksguard: Slack incoming-webhook URL (set it with aws secretsmanager put-secret-value)"),
	})
	// Created empty: without this the L2 construct generates a random
	// password, which the notifier would take for a webhook URL.
	s.Node().DefaultChild().(awscdk.CfnResource).AddPropertyDeletionOverride(jsii.String("GenerateSecretString"))
	return s
}

// newQueue is an SQS queue with SQS-managed encryption that refuses non-TLS requests.
func newQueue(scope constructs.Construct, id string, props *awssqs.QueueProps) awssqs.Queue {
	props.Encryption = awssqs.QueueEncryption_SQS_MANAGED
	props.EnforceSSL = jsii.Bool(true)
	return awssqs.NewQueue(scope, jsii.String(id), props)
}

func output(st awscdk.Stack, id string, value *string, desc string) {
	awscdk.NewCfnOutput(st, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(desc)})
}

// title turns "access" into "Access" for construct IDs.
func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// forwardRegions are the global-service regions, other than the main one,
// that some family's events reach EventBridge in.
func forwardRegions(mainRegion string) []string {
	var out []string
	for _, f := range families.All() {
		if f.GlobalRegion != "" && f.GlobalRegion != mainRegion && !slices.Contains(out, f.GlobalRegion) {
			out = append(out, f.GlobalRegion)
		}
	}
	return out
}
