// Package auditsub subscribes the kubernetes function to an EKS cluster's
// control plane log group when a CloudTrail event turns the cluster's audit
// log on: the cluster function's part in watching new clusters without a
// redeploy. Only that function imports it, so that the others do not link
// the CloudWatch Logs client.
package auditsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/guard"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/rules"
)

// LogsClient is the part of the CloudWatch Logs client the audit log
// subscription uses.
type LogsClient interface {
	PutSubscriptionFilter(ctx context.Context, params *cloudwatchlogs.PutSubscriptionFilterInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutSubscriptionFilterOutput, error)
	CreateLogGroup(ctx context.Context, params *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
}

var _ LogsClient = (*cloudwatchlogs.Client)(nil)

var _ guard.Option = With

// Subscriber puts the kubernetes function's subscription filter on a
// cluster's control plane log group when a CreateCluster or
// UpdateClusterConfig turns its audit log on, so that a new cluster is
// watched without a redeploy (the cluster function; see
// infra/stack/kubernetes.go for the deploy-time filters).
type Subscriber struct {
	Logs LogsClient
	// Destination is the kubernetes function's ARN.
	Destination string
}

// With is the cluster function's guard.Option: it adds the Subscriber when
// the stack names the kubernetes function (EKSGUARD_AUDIT_FUNCTION_ARN).
func With(g *guard.Guard, cfg aws.Config, s config.Settings) {
	if s.AuditFunctionARN != "" {
		g.Subscriber = &Subscriber{Logs: cloudwatchlogs.NewFromConfig(cfg), Destination: s.AuditFunctionARN}
	}
}

// auditLogTurnedOn is the cluster whose audit log the successful call turns
// on (or creates with it on), or "".
func auditLogTurnedOn(rec *cloudtrail.Record) string {
	if rec.Failed() {
		return ""
	}
	var logging *cloudtrail.Logging
	var cluster string
	switch p := rec.Params.(type) {
	case *cloudtrail.ClusterConfigParams:
		logging, cluster = p.Logging, p.Cluster()
	case *cloudtrail.CreateClusterParams:
		logging, cluster = p.Logging, p.Cluster()
	}
	if logging == nil || cluster == "" {
		return ""
	}
	if slices.Contains(logging.Enabled(), "audit") {
		return cluster
	}
	return ""
}

// Subscribe puts the subscription filter when the event turns a cluster's
// audit log on. EKS creates the log group when it first delivers logs,
// minutes after the call; a group not there yet is created (EKS then
// writes to it), as EKS's documentation allows for setting its retention.
func (s *Subscriber) Subscribe(ctx context.Context, rec *cloudtrail.Record, log *slog.Logger) error {
	cluster := auditLogTurnedOn(rec)
	if cluster == "" {
		return nil
	}
	group := "/aws/eks/" + cluster + "/cluster"
	in := &cloudwatchlogs.PutSubscriptionFilterInput{
		LogGroupName:   aws.String(group),
		FilterName:     aws.String(k8saudit.SubscriptionFilterName),
		FilterPattern:  aws.String(rules.AuditFilterPattern()),
		DestinationArn: aws.String(s.Destination),
	}
	_, err := s.Logs.PutSubscriptionFilter(ctx, in)
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		_, cerr := s.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
		var exists *types.ResourceAlreadyExistsException
		if cerr != nil && !errors.As(cerr, &exists) {
			err = fmt.Errorf("create log group %s for cluster %s's audit log: %w", group, cluster, cerr)
		} else {
			_, err = s.Logs.PutSubscriptionFilter(ctx, in)
		}
	}
	if err != nil {
		log.ErrorContext(ctx, "cannot subscribe the kubernetes function to the cluster's audit log", "cluster", cluster, "logGroup", group, "error", err)
		return fmt.Errorf("put subscription filter on %s: %w", group, err)
	}
	log.InfoContext(ctx, "audit log subscribed", "cluster", cluster, "logGroup", group)
	return nil
}
