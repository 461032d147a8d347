package stack

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/slackalert"
)

// FailedRemediationPattern matches the family functions' "finding" log line
// (shared/guard, through lambdacontext's JSON logger) when its outcome is
// finding.StatusFailed.
const FailedRemediationPattern = `{ ($.message = "finding") && ($.outcome = "failed") }`

// FailedRemediationMetric is the metric the pattern feeds, in the namespace
// named after the stack.
const FailedRemediationMetric = "RemediationsFailed"

// addAlarms watches every function (errors, throttles), every dead-letter
// queue (any message) and failed remediations, all acting on the topic.
func addAlarms(st awscdk.Stack, cfg Config, topic awssns.ITopic, fns map[string]*function, dlqs map[string]awssqs.IQueue) {
	for _, name := range FunctionNames() {
		f := fns[name]
		id := title(name)
		alarm(st, id+"Errors", f.fn.MetricErrors(sumOver5m()), "eksguard: the "+name+" function failed", topic)
		alarm(st, id+"Throttles", f.fn.MetricThrottles(sumOver5m()),
			"eksguard: the "+name+" function was throttled (reserved concurrency reached)", topic)
	}
	for _, id := range slices.Sorted(maps.Keys(dlqs)) {
		alarm(st, id+"Waiting", dlqs[id].MetricApproximateNumberOfMessagesVisible(maxOver5m()),
			"eksguard: messages are waiting in dead-letter queue "+id+"; inspect and redrive them", topic)
	}

	ns := jsii.String(cfg.StackName)
	for _, fam := range families.All() {
		awslogs.NewMetricFilter(st, jsii.String(title(fam.Name)+"FailedRemediations"), &awslogs.MetricFilterProps{
			LogGroup:        fns[fam.Name].logs,
			FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(FailedRemediationPattern)),
			MetricNamespace: ns,
			MetricName:      jsii.String(FailedRemediationMetric),
			MetricValue:     jsii.String("1"),
		})
	}
	failed := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  ns,
		MetricName: jsii.String(FailedRemediationMetric),
		Statistic:  jsii.String("Sum"),
		Period:     awscdk.Duration_Minutes(jsii.Number(5)),
	})
	alarm(st, "FailedRemediations", failed, "eksguard: a remediation failed; the change it meant to undo is still in place", topic)

	// The notifier reports Slack delivery failures as an EMF metric.
	notifyFailed := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(slackalert.MetricNamespace),
		MetricName:    jsii.String(slackalert.MetricNotificationFailure),
		DimensionsMap: &map[string]*string{"Function": jsii.String(slackalert.MetricFunction)},
		Statistic:     jsii.String("Sum"),
		Period:        awscdk.Duration_Minutes(jsii.Number(5)),
	})
	alarm(st, "NotificationFailures", notifyFailed, "eksguard: findings could not be posted to Slack", topic)
}
