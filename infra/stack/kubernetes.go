package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/rules"
)

// The kubernetes function reads the clusters' audit logs through
// CloudWatch Logs subscription filters, one per log group
// (/aws/eks/<cluster>/cluster), with the JSON filter pattern of the writes
// the rules read (rules.AuditFilterPattern): the clusters named in
// auditLogClusters get theirs here, at deploy time; a cluster whose audit
// logging is turned on later (CreateCluster, UpdateClusterConfig) gets its
// own from the cluster function (shared/auditsub).
//
// Not an account-level subscription filter policy (PutAccountPolicy,
// SUBSCRIPTION_FILTER_POLICY): its selection criteria take only
// LogGroupName NOT IN [...], a list of exact names to leave out, so it
// cannot be narrowed to /aws/eks/*/cluster; it would run the filter over
// every log group of the account and take the account's one policy of
// that type.

// auditLogGroups are the ARN templates of every EKS control plane log
// group of the account the statement is deployed in (${AWS::AccountId}),
// in the given regions (none: the stack's own, ${AWS::Region}), with and
// without the ":*" suffix CloudWatch Logs ARNs of a group's streams carry.
func auditLogGroups(regions []string) []string {
	if len(regions) == 0 {
		regions = []string{"${AWS::Region}"}
	}
	var out []string
	for _, r := range regions {
		g := "arn:${AWS::Partition}:logs:" + r + ":${AWS::AccountId}:log-group:/aws/eks/*/cluster"
		out = append(out, g, g+":*")
	}
	return out
}

// AuditSubscriptionGrant is what the cluster and scan functions need to
// subscribe a cluster's audit log (to the kubernetes function, or in
// organization mode to the central destination): the filter, the log group
// when EKS has not created it yet, and (the scan, before it puts one) the
// filters already there; in the given regions of the account the statement is
// deployed in (none: the stack's own region). The single-account stack
// gives it to the cluster function, the member role (memberAuditGrants)
// for the member regions.
func AuditSubscriptionGrant(regions []string) Statement {
	where := "this region"
	if len(regions) > 0 {
		where = "the regions " + strings.Join(regions, ", ")
	}
	return Statement{
		Sid:       "SubscribeAuditLogs",
		Actions:   []string{"logs:CreateLogGroup", "logs:DescribeSubscriptionFilters", "logs:PutSubscriptionFilter"},
		Resources: auditLogGroups(regions),
		Why:       "the cluster is named at runtime from the CreateCluster or UpdateClusterConfig event; scoped to this account's EKS control plane log groups (/aws/eks/<cluster>/cluster) in " + where,
	}
}

// wireAuditLogs lets CloudWatch Logs of this account invoke the kubernetes
// function from EKS control plane log groups, puts the deploy-time
// subscription filters, and lets the cluster function put the others.
func wireAuditLogs(st awscdk.Stack, cfg Config, fns map[string]*function) {
	k8s, cluster := fns[families.Kubernetes.Name], fns[families.Cluster.Name]
	permission := awslambda.NewCfnPermission(st, jsii.String("AuditLogsInvokeKubernetes"), &awslambda.CfnPermissionProps{
		Action:        jsii.String("lambda:InvokeFunction"),
		FunctionName:  k8s.fn.FunctionArn(),
		Principal:     jsii.String("logs.amazonaws.com"),
		SourceAccount: awscdk.Aws_ACCOUNT_ID(),
		SourceArn:     awscdk.Fn_Sub(jsii.String(auditLogGroups(nil)[1]), nil),
	})
	for _, name := range cfg.AuditLogClusters {
		f := awslogs.NewCfnSubscriptionFilter(st, jsii.String("AuditLogSubscription"+title(name)), &awslogs.CfnSubscriptionFilterProps{
			LogGroupName:   jsii.String("/aws/eks/" + name + "/cluster"),
			FilterName:     jsii.String(k8saudit.SubscriptionFilterName),
			FilterPattern:  jsii.String(rules.AuditFilterPattern()),
			DestinationArn: k8s.fn.FunctionArn(),
		})
		f.AddDependency(permission)
	}
	subscribesAuditLogs(st, cfg, cluster, k8s, "ClusterAuditSubscriptionPolicy")
}

// subscribesAuditLogs lets f put eksguard's subscription filters on this
// account's cluster audit logs (AuditSubscriptionGrant) and tells it where
// to: the kubernetes function and, in organization mode, the name of the
// central destinations (auditsub.New reads both). The cluster function
// subscribes when an event turns a cluster's audit log on, the scan
// function any cluster it finds with the audit log on and no filter.
func subscribesAuditLogs(st awscdk.Stack, cfg Config, f, k8s *function, id string) awsiam.Policy {
	grant := AuditSubscriptionGrant(nil)
	p := awsiam.NewPolicy(st, jsii.String(id), &awsiam.PolicyProps{
		Roles:      &[]awsiam.IRole{f.role},
		Statements: policyStatements([]Statement{grant}),
	})
	suppress(p, "AwsSolutions-IAM5", grant.Sid+": "+grant.Why, wildcards(grant)...)
	f.fn.Node().AddDependency(p)
	f.fn.AddEnvironment(jsii.String(config.EnvAuditFunctionARN), k8s.fn.FunctionArn(), nil)
	if cfg.Org != nil {
		f.fn.AddEnvironment(jsii.String(config.EnvAuditDestination), jsii.String(AuditDestinationName(cfg.StackName)), nil)
	}
	return p
}
