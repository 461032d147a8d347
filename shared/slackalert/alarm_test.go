package slackalert

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eksguard/eksguard/shared/policy"
)

// alarmNotification is a CloudWatch alarm notification as SNS delivers it
// (the documented fields), for the heartbeat alarm.
const alarmNotification = `{"AlarmName":"eksguard-HeartbeatMissing","AlarmDescription":"eksguard has not heard from CloudTrail in 30 minutes in account 111122223333 region eu-west-1 <!channel>",` +
	`"AWSAccountId":"111122223333","AlarmConfigurationUpdatedTimestamp":"2025-05-06T08:00:00.000+0000","NewStateValue":"ALARM",` +
	`"NewStateReason":"Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [Breaching].",` +
	`"StateChangeTime":"2025-05-06T09:30:00.000+0000","Region":"EU (Ireland)","AlarmArn":"arn:aws:cloudwatch:eu-west-1:111122223333:alarm:eksguard-HeartbeatMissing",` +
	`"OldStateValue":"OK","OKActions":[],"AlarmActions":["arn:aws:sns:eu-west-1:111122223333:eksguard-findings"],"InsufficientDataActions":[],` +
	`"Trigger":{"MetricName":"HeartbeatsHeard","Namespace":"eksguard","StatisticType":"Statistic","Statistic":"SUM","Unit":null,"Dimensions":[],"Period":1800,"EvaluationPeriods":1,"ComparisonOperator":"LessThanThreshold","Threshold":1.0,"TreatMissingData":"breaching","EvaluationDatapoints":[]}}`

// An alarm of eksguard's own reaches Slack: on-call hears that eksguard
// went blind where it hears of findings, escaped like them, and nothing is
// folded (CloudWatch sends one message per change of state).
func TestNotifierPostsAlarms(t *testing.T) {
	r := newRig(t, policy.Default())
	deliver := func(id, body string) error {
		return r.n.Handle(context.Background(), events.SNSEvent{Records: []events.SNSEventRecord{{EventSource: "aws:sns", SNS: events.SNSEntity{
			MessageID: id, TopicArn: topicARN, Subject: `ALARM: "eksguard-HeartbeatMissing" in EU (Ireland)`, Message: body,
		}}}})
	}
	if err := deliver("a1", alarmNotification); err != nil {
		t.Fatal(err)
	}
	if err := deliver("a2", alarmNotification); err != nil {
		t.Fatal(err)
	}
	ok := strings.Replace(strings.Replace(alarmNotification, `"NewStateValue":"ALARM"`, `"NewStateValue":"OK"`, 1), `"OldStateValue":"OK"`, `"OldStateValue":"ALARM"`, 1)
	if err := deliver("a3", ok); err != nil {
		t.Fatal(err)
	}
	posts := r.hook.received()
	if len(posts) != 3 {
		t.Fatalf("%d Slack posts, want 3 (two alarms, not folded, and the recovery)", len(posts))
	}
	text, _ := posts[0]["text"].(string)
	if want := "[ALARM] eksguard alarm eksguard-HeartbeatMissing (111122223333 EU (Ireland))"; text != want {
		t.Errorf("text = %q, want %q", text, want)
	}
	all := allText(posts[0])
	if !strings.Contains(all, "has not heard from CloudTrail in 30 minutes") || !strings.Contains(all, "Threshold Crossed") {
		t.Errorf("the alarm post does not say what happened: %s", all)
	}
	escaped := false
	for _, p := range posts {
		walkStrings("", p, func(path, s string) {
			if bad := unescaped(s); bad != "" {
				t.Errorf("%s: unescaped markup in %q", path, bad)
			}
			escaped = escaped || strings.Contains(s, "&lt;!channel&gt;")
		})
	}
	if !escaped {
		t.Error("the description's <!channel> does not reach Slack as text")
	}
	if h := headerOf(posts[2]); !strings.Contains(h, "OK again") {
		t.Errorf("recovery header = %q, want it to say OK again", h)
	}
}

// A finding whose text mentions an alarm is still a finding.
func TestDecodeAlarmOnlyTakesAlarms(t *testing.T) {
	if _, ok := decodeAlarm(`{"finding":{"rule":"x","summary":"\"AlarmName\""}}`); ok {
		t.Error("a finding was read as an alarm")
	}
	if a, ok := decodeAlarm(alarmNotification); !ok || a.AlarmName != "eksguard-HeartbeatMissing" || a.NewStateValue != "ALARM" {
		t.Errorf("decodeAlarm = %+v, %v", a, ok)
	}
}
