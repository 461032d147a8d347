package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/rules"
)

const (
	// EventBridge retries a failed delivery to a target this often and for
	// this long before it goes to the target's dead-letter queue.
	targetRetries     = 8
	targetMaxAgeHours = 2
)

// EventPattern converts a family's pattern (rules.Pattern, the
// data the functions dispatch on) into the CDK type. A key it does not know
// is an error, so that no part of a pattern can be dropped silently.
func EventPattern(f families.Family) (*awsevents.EventPattern, error) {
	p := &awsevents.EventPattern{}
	for k, v := range rules.Pattern(f) {
		switch k {
		case "source":
			p.Source = jsii.Strings(v.([]string)...)
		case "detail-type":
			p.DetailType = jsii.Strings(v.([]string)...)
		case "detail":
			detail := map[string]interface{}{}
			for dk, dv := range v.(map[string]any) {
				detail[dk] = dv
			}
			p.Detail = &detail
		default:
			return nil, fmt.Errorf("family %s: pattern key %q is not supported by infra/stack", f.Name, k)
		}
	}
	return p, nil
}

func mustPattern(f families.Family) *awsevents.EventPattern {
	p, err := EventPattern(f)
	if err != nil {
		panic(err)
	}
	return p
}

// routeEvents adds one rule per family on the main region's default bus.
// Families whose events reach EventBridge only in another region get the
// same rule here too: it matches the events the forwarder stack sends over.
func routeEvents(st awscdk.Stack, sh sharedResources, fns map[string]*function) {
	for _, fam := range families.All() {
		desc := "eksguard " + fam.Name + ": " + fam.Description
		if fam.GlobalRegion != "" && fam.GlobalRegion != sh.cfg.Region {
			desc += " (forwarded from " + fam.GlobalRegion + ")"
		}
		rule := awsevents.NewRule(st, jsii.String(title(fam.Name)+"Rule"), &awsevents.RuleProps{
			Description:  jsii.String(desc),
			EventPattern: mustPattern(fam),
		})
		rule.AddTarget(lambdaTarget(sh, fns[fam.Name]))
	}
}

// lambdaTarget is a family function as a rule's target, with retries and
// the undelivered-events queue.
func lambdaTarget(sh sharedResources, f *function) awsevents.IRuleTarget {
	return awseventstargets.NewLambdaFunction(f.fn, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: sh.undelivered,
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(targetMaxAgeHours)),
		RetryAttempts:   jsii.Number(targetRetries),
	})
}

// ForwarderStackName names the stack that forwards a region's events.
func ForwarderStackName(mainStack, region string) string {
	return mainStack + "-forwarder-" + region
}

// newForwarder is the stack in a global service's region (us-east-1 for
// IAM): a rule per family whose events arrive only there, targeting the main
// region's default bus, with its own dead-letter queue and alarms (alarms
// cannot act on a topic in another region, so it has a small topic of its
// own with the same e-mail and HTTPS subscriptions).
func newForwarder(app awscdk.App, cfg Config, region string, main awscdk.Stack) awscdk.Stack {
	env := &awscdk.Environment{Region: jsii.String(region)}
	if cfg.Account != "" {
		env.Account = jsii.String(cfg.Account)
	}
	st := awscdk.NewStack(app, jsii.String(ForwarderStackName(cfg.StackName, region)), &awscdk.StackProps{
		Env:         env,
		Description: jsii.String("eksguard: forwards " + region + "-only events (IAM) to the " + cfg.Region + " default event bus"),
	})
	// The main stack's rules should exist before events start arriving.
	st.AddStackDependency(main, jsii.String("forwarded events are matched by the main stack's rules"))

	dlq := newQueue(st, "UndeliveredEvents", &awssqs.QueueProps{RetentionPeriod: awscdk.Duration_Days(jsii.Number(14))})
	bus := awsevents.EventBus_FromEventBusArn(st, jsii.String("MainBus"),
		awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:events:"+cfg.Region+":${AWS::AccountId}:event-bus/default"), nil))

	topic := encryptedTopic(st, "Alarms", "eksguard forwarder", "eksguard forwarder alarms topic")
	subscribe(topic, cfg, nil, nil)

	for _, fam := range families.All() {
		if fam.GlobalRegion != region {
			continue
		}
		id := title(fam.Name) + "Forward"
		rule := awsevents.NewRule(st, jsii.String(id+"Rule"), &awsevents.RuleProps{
			Description:  jsii.String("eksguard " + fam.Name + ": forward to " + cfg.Region + " (" + fam.Description + ")"),
			EventPattern: mustPattern(fam),
		})
		rule.AddTarget(awseventstargets.NewEventBus(bus, &awseventstargets.EventBusProps{DeadLetterQueue: dlq}))
		failed := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String("AWS/Events"),
			MetricName:    jsii.String("FailedInvocations"),
			DimensionsMap: &map[string]*string{"RuleName": rule.RuleName()},
			Statistic:     jsii.String("Sum"),
			Period:        awscdk.Duration_Minutes(jsii.Number(5)),
		})
		alarm(st, id+"Failures", failed,
			"eksguard: EventBridge could not forward "+fam.Name+" events from "+region+" to "+cfg.Region, topic)
	}
	alarm(st, "UndeliveredEventsAlarm", dlq.MetricApproximateNumberOfMessagesVisible(maxOver5m()),
		"eksguard: forwarded events are waiting in the "+region+" dead-letter queue", topic)
	output(st, "UndeliveredEventsQueueUrl", dlq.QueueUrl(), "events that could not be forwarded")
	suppressForwarder(st)
	return st
}

func sumOver5m() *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: awscdk.Duration_Minutes(jsii.Number(5))}
}

func maxOver5m() *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: awscdk.Duration_Minutes(jsii.Number(5))}
}

// alarm fires on one data point >= 1 and notifies the topic; no data is fine.
func alarm(st constructs.Construct, id string, metric awscloudwatch.IMetric, desc string, topic awssns.ITopic) awscloudwatch.Alarm {
	a := awscloudwatch.NewAlarm(st, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             metric,
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription:   jsii.String(desc),
	})
	a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	return a
}
