package stack

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesis"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/families"
)

// Organization mode: the member accounts' EKS audit logs reach the central
// kubernetes function. CloudWatch Logs does not deliver a subscription to a
// Lambda function of another account; it delivers to a CloudWatch Logs
// destination of the receiving account, which must be in the log group's
// region and may forward to a Kinesis data stream in another one. So:
//
//	member log group /aws/eks/<cluster>/cluster
//	  -> subscription filter (put by the cluster function through the member role)
//	  -> destination <stackName>-audit of the central account, in the member's region
//	  -> Kinesis stream <stackName>-audit in the central region
//	  -> event source mapping -> kubernetes function
//
// The destinations in the central region (when it is a member region) are
// in the central stack; those of the other member regions each in a small
// stack of their own, AuditStackName, in the central account.

const (
	// The event source mapping reads up to auditBatchSize records (each a
	// gzipped batch of log events from CloudWatch Logs), waiting at most
	// auditBatchWindowSeconds to fill a batch.
	auditBatchSize          = 100
	auditBatchWindowSeconds = 5
	// A batch that fails is split in two (bisect) and retried up to
	// auditRetries times, for at most auditMaxAgeHours; then its shard and
	// sequence-number range goes to the on-failure queue. The records stay
	// in the stream for auditRetentionHours.
	auditRetries        = 5
	auditMaxAgeHours    = 1
	auditRetentionHours = 24
)

// AuditStreamName is the Kinesis data stream the member accounts' audit
// logs are delivered to, in the central region.
func AuditStreamName(stackName string) string { return stackName + "-audit" }

// AuditDestinationName is the central account's CloudWatch Logs
// destination in every member region (the cluster function subscribes a
// member's audit log group to arn:<partition>:logs:<region>:<central
// account>:destination:<name>).
func AuditDestinationName(stackName string) string { return stackName + "-audit" }

// AuditDeliveryRoleName is the role CloudWatch Logs assumes to put the
// destinations' records on the stream: fixed, so that the destinations in
// other regions name it without a cross-stack reference.
func AuditDeliveryRoleName(stackName string) string { return stackName + "-audit-delivery" }

// AuditStackName names the stack that holds the destination of a member
// region other than the central one.
func AuditStackName(stackName, region string) string { return stackName + "-audit-" + region }

// auditDestinationARN is the Fn::Sub template of the destination's ARN in a region.
func auditDestinationARN(cfg Config, region string) string {
	return "arn:${AWS::Partition}:logs:" + region + ":" + cfg.Account + ":destination:" + AuditDestinationName(cfg.StackName)
}

func auditStreamARN(cfg Config) string {
	return "arn:${AWS::Partition}:kinesis:" + cfg.Region + ":" + cfg.Account + ":stream/" + AuditStreamName(cfg.StackName)
}

func auditDeliveryRoleARN(cfg Config) string {
	return "arn:${AWS::Partition}:iam::" + cfg.Account + ":role/" + AuditDeliveryRoleName(cfg.StackName)
}

// AuditDestinationGrant is what the sending account's identity needs, on
// top of the destination's policy, to subscribe one of its log groups to
// the central destination of each member region.
func AuditDestinationGrant(cfg Config) Statement {
	s := Statement{Sid: "SubscribeToCentralAuditDestination", Actions: []string{"logs:PutSubscriptionFilter"}}
	for _, r := range cfg.Org.Regions {
		s.Resources = append(s.Resources, auditDestinationARN(cfg, r))
	}
	return s
}

// memberAuditGrants are the cluster function's statements in the member
// role: its audit log groups in every member region, and the destinations.
func memberAuditGrants(cfg Config) []Statement {
	return []Statement{AuditSubscriptionGrant(cfg.Org.Regions), AuditDestinationGrant(cfg)}
}

// orgAudit is what addOrgAudit built, for the suppressions.
type orgAudit struct {
	failed awssqs.Queue
	stream awskinesis.Stream
}

// addOrgAudit adds, in organization mode, the stream, its reader, the
// delivery role and the destinations (subscribesAuditLogs tells the cluster
// and scan functions their name).
func addOrgAudit(app awscdk.App, st awscdk.Stack, sh sharedResources, fns map[string]*function, d *Deployment) (*orgAudit, error) {
	cfg := sh.cfg
	k8s := fns[families.Kubernetes.Name]
	key := awskms.NewKey(st, jsii.String("AuditStreamKey"), &awskms.KeyProps{
		Description:       jsii.String("eksguard: member accounts' EKS audit logs in the " + AuditStreamName(cfg.StackName) + " stream"),
		EnableKeyRotation: jsii.Bool(true),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(7)),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	stream := awskinesis.NewStream(st, jsii.String("AuditStream"), &awskinesis.StreamProps{
		StreamName:      jsii.String(AuditStreamName(cfg.StackName)),
		StreamMode:      awskinesis.StreamMode_PROVISIONED,
		ShardCount:      jsii.Number(1),
		RetentionPeriod: awscdk.Duration_Hours(jsii.Number(auditRetentionHours)),
		Encryption:      awskinesis.StreamEncryption_KMS,
		EncryptionKey:   key,
		RemovalPolicy:   awscdk.RemovalPolicy_DESTROY,
	})

	// The reader: the kubernetes function answers with the sequence
	// numbers of the records it could not handle (batch item failures);
	// what still fails lands, as shard and sequence-number range, in the
	// queue, and the records can be read again from the stream for a day.
	failed := newQueue(st, "AuditRecordsFailed", &awssqs.QueueProps{RetentionPeriod: awscdk.Duration_Days(jsii.Number(14))})
	k8s.fn.AddEventSource(awslambdaeventsources.NewKinesisEventSource(stream, &awslambdaeventsources.KinesisEventSourceProps{
		StartingPosition:        awslambda.StartingPosition_LATEST,
		BatchSize:               jsii.Number(auditBatchSize),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(auditBatchWindowSeconds)),
		BisectBatchOnError:      jsii.Bool(true),
		RetryAttempts:           jsii.Number(auditRetries),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(auditMaxAgeHours)),
		ReportBatchItemFailures: jsii.Bool(true),
		OnFailure:               awslambdaeventsources.NewSqsDlq(failed),
	}))
	alarm(st, "AuditRecordsFailedWaiting", failed.MetricApproximateNumberOfMessagesVisible(maxOver5m()),
		"eksguard: member audit-log records the kubernetes function could not process are listed in dead-letter queue AuditRecordsFailed; read them again from the stream within a day", sh.topic)

	// The delivery role. Its trust names the regions, not the accounts:
	// a member is any account of the organization, also one that joins an
	// OU later, and CloudWatch Logs assumes the role on the sending log
	// group's behalf (aws:SourceArn is that account's). Who may subscribe
	// at all is the destination policy's business (aws:PrincipalOrgID).
	var sources []interface{}
	for _, r := range auditRegions(cfg) {
		sources = append(sources, awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:logs:"+r+":*:*"), nil))
	}
	role := awsiam.NewRole(st, jsii.String("AuditDeliveryRole"), &awsiam.RoleProps{
		RoleName: jsii.String(AuditDeliveryRoleName(cfg.StackName)),
		AssumedBy: awsiam.NewPrincipalWithConditions(awsiam.NewServicePrincipal(jsii.String("logs.amazonaws.com"), nil), &map[string]interface{}{
			"StringLike": map[string]interface{}{"aws:SourceArn": sources},
		}),
		Description: jsii.String("eksguard: CloudWatch Logs puts the member accounts' audit logs from the " + AuditDestinationName(cfg.StackName) + " destinations on the stream"),
	})
	delivery := awsiam.NewPolicy(st, jsii.String("AuditDeliveryPolicy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("PutAuditRecords"),
				Actions:   jsii.Strings("kinesis:PutRecord", "kinesis:PutRecords"),
				Resources: &[]*string{stream.StreamArn()},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("EncryptAuditRecords"),
				Actions:   jsii.Strings("kms:GenerateDataKey"),
				Resources: &[]*string{key.KeyArn()},
			}),
		},
	})

	// Creating a destination sends a test record through the role, so the
	// stream and the role's policy come first: here by dependency, in the
	// other regions' stacks by the stack's dependency on this one.
	for _, region := range cfg.Org.Regions {
		if region == cfg.Region {
			dest, err := auditDestination(st, cfg, region)
			if err != nil {
				return nil, err
			}
			dest.Node().AddDependency(stream, delivery)
			continue
		}
		rs := awscdk.NewStack(app, jsii.String(AuditStackName(cfg.StackName, region)), &awscdk.StackProps{
			Env:         &awscdk.Environment{Account: jsii.String(cfg.Account), Region: jsii.String(region)},
			Description: jsii.String("eksguard: the CloudWatch Logs destination member accounts' EKS audit logs in " + region + " are delivered to, for " + cfg.StackName + " in " + cfg.Region),
			Synthesizer: awscdk.NewBootstraplessSynthesizer(nil),
		})
		if _, err := auditDestination(rs, cfg, region); err != nil {
			return nil, err
		}
		rs.AddStackDependency(st, jsii.String("the destination's test record goes through the delivery role to the stream"))
		d.AuditDestinations = append(d.AuditDestinations, rs)
	}
	return &orgAudit{failed: failed, stream: stream}, nil
}

// auditRegions are the regions whose log groups deliver to the
// destinations: the member regions, and the central one (its own
// account's test record, and any of its log groups subscribed there).
func auditRegions(cfg Config) []string {
	out := slices.Clone(cfg.Org.Regions)
	if !slices.Contains(out, cfg.Region) {
		out = append(out, cfg.Region)
	}
	return out
}

// auditDestination is the central account's destination in region, open
// to the organization's accounts only.
func auditDestination(scope constructs.Construct, cfg Config, region string) (awslogs.CfnDestination, error) {
	policy, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "OrganizationSubscribes",
			"Effect":    "Allow",
			"Principal": map[string]any{"AWS": "*"},
			"Action":    "logs:PutSubscriptionFilter",
			"Resource":  auditDestinationARN(cfg, region),
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": cfg.Org.ID}},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("encode the audit destination policy in %s: %w", region, err)
	}
	return awslogs.NewCfnDestination(scope, jsii.String("AuditDestination"), &awslogs.CfnDestinationProps{
		DestinationName:   jsii.String(AuditDestinationName(cfg.StackName)),
		TargetArn:         awscdk.Fn_Sub(jsii.String(auditStreamARN(cfg)), nil),
		RoleArn:           awscdk.Fn_Sub(jsii.String(auditDeliveryRoleARN(cfg)), nil),
		DestinationPolicy: awscdk.Fn_Sub(jsii.String(string(policy)), nil),
	}), nil
}
