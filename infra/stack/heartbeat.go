package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/heartbeat"
)

// CanaryTarget is the EventBridge Scheduler universal target the canary
// calls: SSM PutParameter, made by Scheduler itself as the canary role. No
// function of eksguard's runs for it, so none can be silenced to stop it.
const CanaryTarget = "arn:aws:scheduler:::aws-sdk:ssm:putParameter"

// ScheduledTime is the Scheduler context attribute the canary writes: the
// time the invocation was scheduled for.
const ScheduledTime = "<aws.scheduler.scheduled-time>"

// canary is the end-to-end heartbeat's write side: the parameter it writes
// and the role it writes as (the only thing that role may do).
type canary struct {
	parameter awsssm.StringParameter
	role      awsiam.Role
}

// newCanary adds the heartbeat parameter, the canary role (assumed by
// EventBridge Scheduler for this account only; ssm:PutParameter on the
// heartbeat parameter and nothing else) and the schedule that writes the
// scheduled time into the parameter every cfg.HeartbeatEvery.
func newCanary(st awscdk.Stack, cfg Config) canary {
	name := heartbeat.Parameter(cfg.StackName)
	param := awsssm.NewStringParameter(st, jsii.String("HeartbeatParameter"), &awsssm.StringParameterProps{
		ParameterName: jsii.String(name),
		StringValue:   jsii.String("not yet written by the canary"),
		Description:   jsii.String("eksguard heartbeat: the canary writes the time here; its CloudTrail event must reach the tamper function"),
	})
	role := awsiam.NewRole(st, jsii.String("CanaryRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewPrincipalWithConditions(awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil),
			&map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}}),
		Description: jsii.String("eksguard heartbeat canary: writes " + name + " and nothing else"),
	})
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("WriteHeartbeat"),
		Actions:   jsii.Strings("ssm:PutParameter"),
		Resources: &[]*string{param.ParameterArn()},
	}))
	// Scheduler replaces the context attribute in the input text: it must
	// stay literal, not HTML-escaped as json.Marshal would write it.
	var input bytes.Buffer
	enc := json.NewEncoder(&input)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{
		"Name":      name,
		"Value":     ScheduledTime,
		"Type":      "String",
		"Overwrite": true,
	}); err != nil {
		panic(err)
	}
	sched := awsscheduler.NewCfnSchedule(st, jsii.String("Canary"), &awsscheduler.CfnScheduleProps{
		Description:        jsii.String("eksguard heartbeat canary: writes the scheduled time into " + name),
		ScheduleExpression: jsii.String(rate(cfg.HeartbeatEvery)),
		FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		State:              jsii.String("ENABLED"),
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:     jsii.String(CanaryTarget),
			RoleArn: role.RoleArn(),
			Input:   jsii.String(strings.TrimSpace(input.String())),
			// A beat that cannot be written in time is a missing beat: the
			// next one comes with the next period.
			RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{
				MaximumEventAgeInSeconds: jsii.Number(cfg.HeartbeatEvery.Seconds()),
				MaximumRetryAttempts:     jsii.Number(3),
			},
		},
	})
	// The role's policy before the first beat.
	sched.Node().AddDependency(role)
	return canary{parameter: param, role: role}
}

// rate is a Scheduler rate expression for a whole number of minutes.
func rate(d time.Duration) string {
	n := int(d / time.Minute)
	if n == 1 {
		return "rate(1 minute)"
	}
	return fmt.Sprintf("rate(%d minutes)", n)
}

// HeartbeatAlarmDescription is the alarm's text for a window, with the
// account and region filled in by CloudFormation.
func HeartbeatAlarmDescription(window time.Duration) *string {
	return awscdk.Fn_Sub(jsii.String(fmt.Sprintf(
		"eksguard has not heard from CloudTrail in %d minutes in account ${AWS::AccountId} region ${AWS::Region}: "+
			"the heartbeat canary's event did not reach the tamper function. Check the trail, eksguard's EventBridge rules "+
			"and functions (eksguard status).", int(window/time.Minute))), nil)
}

// addHeartbeatAlarm fires when no heartbeat was heard (the tamper function
// emits heartbeat.MetricName once per beat) in a whole window. Missing
// data is breaching: silence is what it is there to catch.
func addHeartbeatAlarm(st awscdk.Stack, cfg Config, topic awssns.ITopic) {
	heard := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(cfg.StackName),
		MetricName: jsii.String(heartbeat.MetricName),
		Statistic:  jsii.String("Sum"),
		Period:     awscdk.Duration_Minutes(jsii.Number(cfg.HeartbeatWindow.Minutes())),
	})
	a := awscloudwatch.NewAlarm(st, jsii.String("HeartbeatMissing"), &awscloudwatch.AlarmProps{
		Metric:             heard,
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_BREACHING,
		AlarmDescription:   HeartbeatAlarmDescription(cfg.HeartbeatWindow),
	})
	a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	a.AddOkAction(awscloudwatchactions.NewSnsAction(topic))
}
