// Package auditsub subscribes the kubernetes function to an EKS cluster's
// control plane log group: when a CloudTrail event turns the cluster's
// audit log on (the cluster function's part in watching new clusters
// without a redeploy), and when the scheduled scan finds one on without
// eksguard's filter. Only those two functions import it, so that the
// others do not link the CloudWatch Logs client.
package auditsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/guard"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/rules"
)

// LogsClient is the part of the CloudWatch Logs client the audit log
// subscription uses.
type LogsClient interface {
	PutSubscriptionFilter(ctx context.Context, params *cloudwatchlogs.PutSubscriptionFilterInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutSubscriptionFilterOutput, error)
	CreateLogGroup(ctx context.Context, params *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	DescribeSubscriptionFilters(ctx context.Context, params *cloudwatchlogs.DescribeSubscriptionFiltersInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeSubscriptionFiltersOutput, error)
}

var _ LogsClient = (*cloudwatchlogs.Client)(nil)

var _ guard.Option = With

// Subscriber puts eksguard's subscription filter on a cluster's control
// plane log group when a CreateCluster or UpdateClusterConfig turns its
// audit log on, so that a new cluster is watched without a redeploy (the
// cluster function; see infra/stack/kubernetes.go for the deploy-time
// filters). A log group of the function's own account and region is
// subscribed to the kubernetes function; in organization mode a member
// account's to the central account's CloudWatch Logs destination of the
// log group's region, which forwards to the kubernetes function through a
// Kinesis stream: a subscription filter delivers to a function of its own
// account and region only. The function's own account's clusters in other
// regions are left (logged): neither path reaches them.
type Subscriber struct {
	// Logs is a CloudWatch Logs client for an account's log groups in a
	// region: with the function's credentials for its own account, the
	// member role's for another.
	Logs func(account, region string) LogsClient
	// Account and Region are the function's (Account is empty outside
	// organization mode).
	Account, Region string
	// Function is the kubernetes function's ARN.
	Function string
	// Destination, in organization mode, is the name of the central
	// account's CloudWatch Logs destination in every member region.
	Destination string
}

// With is the cluster function's guard.Option: it adds the Subscriber
// (New) when the stack names the kubernetes function.
func With(g *guard.Guard, cfg aws.Config, s config.Settings) {
	if sub := New(cfg, s, g.MemberRoles); sub != nil {
		g.Subscriber = sub
	}
}

// New is the Subscriber of the settings, or nil when they name no
// kubernetes function (EKSGUARD_AUDIT_FUNCTION_ARN); with the
// organization's destination (EKSGUARD_AUDIT_DESTINATION) when there is
// one. A member account's log groups are reached through its remediation
// role, with roles' credential cache (the guard's).
func New(cfg aws.Config, s config.Settings, roles *assume.Roles) *Subscriber {
	if s.AuditFunctionARN == "" {
		return nil
	}
	return &Subscriber{
		Account: s.Account, Region: cfg.Region, Function: s.AuditFunctionARN, Destination: s.AuditDestination,
		Logs: func(account, region string) LogsClient {
			c := cfg.Copy()
			c.Region = region
			if roles != nil && account != "" && account != s.Account {
				c.Credentials = roles.Credentials(account)
			}
			return cloudwatchlogs.NewFromConfig(c)
		},
	}
}

// target is where a log group of the account in the region is subscribed
// to, under which filter name; "" when nowhere can take it.
func (s *Subscriber) target(account, region string) (dest, filter string) {
	own := s.Account == "" || account == "" || account == s.Account
	switch {
	case own && region == s.Region:
		return s.Function, k8saudit.SubscriptionFilterName
	case own:
		// The function's own account in another region: its grant is for
		// its own region's log groups (infra/stack/kubernetes.go).
		return "", ""
	case s.Destination != "":
		a := arn.ARN{Partition: identity.Partition(region), Service: "logs", Region: region, AccountID: s.Account, Resource: "destination:" + s.Destination}
		return a.String(), k8saudit.DestinationFilterName(region)
	}
	return "", ""
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
	region := rec.AWSRegion
	if region == "" {
		region = s.Region
	}
	_, err := s.subscribe(ctx, rec.Account(), region, cluster, false, log)
	return err
}

// Ensure subscribes the audit log of a cluster whose audit logging is on,
// unless eksguard's filter is there already as it should be: the scheduled
// scan's part, for clusters whose audit log was on before eksguard was
// deployed, whose event was missed, or whose filter was removed. It
// reports whether it put the filter.
func (s *Subscriber) Ensure(ctx context.Context, account, region, cluster string, log *slog.Logger) (bool, error) {
	return s.subscribe(ctx, account, region, cluster, true, log)
}

func (s *Subscriber) subscribe(ctx context.Context, account, region, cluster string, check bool, log *slog.Logger) (bool, error) {
	group := "/aws/eks/" + cluster + "/cluster"
	dest, filter := s.target(account, region)
	if dest == "" {
		log.WarnContext(ctx, "audit log not subscribed: the kubernetes function is in another region, and a subscription filter delivers to a function of its own region only (organization mode subscribes member accounts' clusters through a destination in each member region)",
			"cluster", cluster, "logGroup", group, "region", region, "functionRegion", s.Region)
		return false, nil
	}
	logs := s.Logs(account, region)
	in := &cloudwatchlogs.PutSubscriptionFilterInput{
		LogGroupName:   aws.String(group),
		FilterName:     aws.String(filter),
		FilterPattern:  aws.String(rules.AuditFilterPattern()),
		DestinationArn: aws.String(dest),
	}
	if check {
		there, err := subscribed(ctx, logs, in)
		if err != nil {
			log.ErrorContext(ctx, "cannot read the cluster's audit log subscription filters", "cluster", cluster, "logGroup", group, "account", account, "region", region, "error", err)
			return false, fmt.Errorf("describe subscription filters of %s in %s %s: %w", group, account, region, err)
		}
		if there {
			return false, nil
		}
	}
	_, err := logs.PutSubscriptionFilter(ctx, in)
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		_, cerr := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
		var exists *types.ResourceAlreadyExistsException
		if cerr != nil && !errors.As(cerr, &exists) {
			err = fmt.Errorf("create log group %s for cluster %s's audit log: %w", group, cluster, cerr)
		} else {
			_, err = logs.PutSubscriptionFilter(ctx, in)
		}
	}
	if err != nil {
		log.ErrorContext(ctx, "cannot subscribe to the cluster's audit log", "cluster", cluster, "logGroup", group, "account", account, "region", region, "destination", dest, "error", err)
		return false, fmt.Errorf("put subscription filter on %s in %s %s: %w", group, account, region, err)
	}
	log.InfoContext(ctx, "audit log subscribed", "cluster", cluster, "logGroup", group, "account", account, "region", region, "destination", dest)
	return true, nil
}

// subscribed reports whether the log group has the filter in as it is:
// same name, destination and pattern. A log group EKS has not created yet
// has none.
func subscribed(ctx context.Context, logs LogsClient, in *cloudwatchlogs.PutSubscriptionFilterInput) (bool, error) {
	p := cloudwatchlogs.NewDescribeSubscriptionFiltersPaginator(logs, &cloudwatchlogs.DescribeSubscriptionFiltersInput{
		LogGroupName: in.LogGroupName, FilterNamePrefix: in.FilterName,
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		var missing *types.ResourceNotFoundException
		if errors.As(err, &missing) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		for _, f := range out.SubscriptionFilters {
			if aws.ToString(f.FilterName) == aws.ToString(in.FilterName) && aws.ToString(f.DestinationArn) == aws.ToString(in.DestinationArn) &&
				aws.ToString(f.FilterPattern) == aws.ToString(in.FilterPattern) {
				return true, nil
			}
		}
	}
	return false, nil
}
