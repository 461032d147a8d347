//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
)

// heartbeat: the test plays EventBridge Scheduler and CloudTrail. It makes
// the schedule's one call (SSM PutParameter with the target's input, the
// scheduled time filled in) signed as the canary role, which the fakes
// authorize against the role's policy in the template; it turns the call
// into the CloudTrail event EventBridge would deliver, which the rules
// route to the tamper function; the function records the heartbeat in the
// table and emits the metric, and publishes nothing. The canary role's
// other calls are denied by IAM, and its events reach no rule.
func scenarioHeartbeat(t *testing.T, s *stand) string {
	s.reset()
	c := s.dep.Canary
	if c.Target != "arn:aws:scheduler:::aws-sdk:ssm:putParameter" {
		t.Fatalf("canary target %s, want the SSM PutParameter universal target", c.Target)
	}
	scheduled := time.Date(2025, 5, 12, 8, 30, 0, 0, time.UTC)
	var input ssm.PutParameterInput
	if err := json.Unmarshal([]byte(strings.ReplaceAll(c.Input, "<aws.scheduler.scheduled-time>", scheduled.Format(time.RFC3339))), &input); err != nil {
		t.Fatalf("canary input %s: %v", c.Input, err)
	}
	cfg := awsfake.Config(region)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKey, "e2e-fake-secret", "e2e-fake-session")
	canary := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(s.world.SSM.URL) })
	ctx := context.Background()
	if _, err := canary.PutParameter(ctx, &input); err != nil {
		t.Fatalf("the canary's own call: %v", err)
	}
	if v, _ := s.world.SSM.Get(s.dep.Heartbeat); v != scheduled.Format(time.RFC3339) {
		t.Fatalf("heartbeat parameter %s = %q, want the scheduled time", s.dep.Heartbeat, v)
	}

	// Exactly its one call: the kill switch is another parameter.
	seen := len(s.world.Denied())
	_, err := canary.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(s.dep.KillSwitch), Value: aws.String("off"), Type: "String", Overwrite: aws.Bool(true)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("the canary writing the kill switch: got %v, want AccessDeniedException", err)
	}
	if d := s.world.Denied()[seen:]; len(d) != 1 {
		t.Fatalf("denials: got %v, want the canary's one write of the kill switch", d)
	}
	if v, _ := s.world.SSM.Get(s.dep.KillSwitch); v != s.dep.KillSwitchValue {
		t.Fatalf("kill switch = %q after the canary's denied write, want %q", v, s.dep.KillSwitchValue)
	}

	beat := canaryEvent(t, s, aws.ToString(input.Name), aws.ToString(input.Value), scheduled.Add(2*time.Second), "e2e0beat-0000-4000-8000-000000000001")
	tamper := s.fns["tamper"]
	m := tamper.Mark()
	to, out := s.deliver(t, beat)
	if to != "tamper" {
		t.Fatalf("the heartbeat event went to %s, want tamper", to)
	}
	answeredNull(t, "the tamper function", out)
	table := s.dep.Functions["tamper"].Env["EKSGUARD_TABLE"]
	it, ok := s.world.DynamoDB.Get(table, "heartbeat#"+account+"#"+region)
	if !ok || it.S("heardAt") != "2025-05-12T08:30:02.000000000Z" || it.S("eventID") != "e2e0beat-0000-4000-8000-000000000001" {
		t.Fatalf("heartbeat item: got %v (found %v), want heardAt 2025-05-12T08:30:02Z from the beat", it, ok)
	}
	if !tamper.WaitCount(m, `"HeartbeatsHeard":1`, 1) {
		t.Fatalf("no HeartbeatsHeard metric line:\n%s", tamper.Since(m))
	}
	if n := len(s.world.SNS.Published()); n != 0 {
		t.Fatalf("published %d messages for the heartbeat, want 0", n)
	}

	// An event of the canary role that is not the heartbeat reaches no rule
	// (it cannot make the call, but the event is what the guard sees).
	m = tamper.Mark()
	odd := canaryEvent(t, s, s.dep.KillSwitch, "off", scheduled.Add(time.Minute), "e2e0beat-0000-4000-8000-000000000002")
	_, out = s.deliver(t, odd)
	answeredNull(t, "the tamper function", out)
	if !tamper.WaitCount(m, `"outcome":"ignored"`, 1) {
		t.Fatalf("the canary's other event was not ignored:\n%s", tamper.Since(m))
	}
	if n := len(s.world.SNS.Published()); n != 0 {
		t.Fatalf("published %d messages for the canary's other event, want 0", n)
	}
	it, _ = s.world.DynamoDB.Get(table, "heartbeat#"+account+"#"+region)
	if it.S("eventID") != "e2e0beat-0000-4000-8000-000000000001" {
		t.Fatalf("heartbeat item changed by the canary's other event: %v", it)
	}
	// The heartbeat alarm's notification, as CloudWatch publishes it to the
	// topic (no message attributes): the notifier's subscription takes it
	// and Slack hears that eksguard went blind.
	topicARN := ""
	for _, sub := range s.dep.Subscriptions {
		if sub.Target == "notifier" {
			topicARN = sub.TopicARN
		}
	}
	before := len(s.hook.Posts())
	alarm := awsfake.Published{ID: "e2e0alrm-0000-4000-8000-000000000001", TopicARN: topicARN,
		Subject: `ALARM: "eksguard-HeartbeatMissing" in US East (N. Virginia)`,
		Message: `{"AlarmName":"eksguard-HeartbeatMissing","AlarmDescription":"eksguard has not heard from CloudTrail in 30 minutes","AWSAccountId":"` + account +
			`","NewStateValue":"ALARM","OldStateValue":"OK","NewStateReason":"Threshold Crossed: 1 missing datapoint was treated as [Breaching].",` +
			`"StateChangeTime":"2025-05-12T09:00:00.000+0000","Region":"US East (N. Virginia)","AlarmArn":"arn:aws:cloudwatch:` + region + `:` + account + `:alarm:eksguard-HeartbeatMissing"}`}
	if n := s.driveSNS(t, []awsfake.Published{alarm}); n != 1 {
		t.Fatalf("the alarm reached %d subscriptions of functions, want 1 (the notifier)", n)
	}
	posts := s.hook.Posts()[before:]
	if len(posts) != 1 || !strings.Contains(string(posts[0].Body), "has not heard from CloudTrail in 30 minutes") {
		t.Fatalf("Slack posts for the heartbeat alarm: %d, want 1 naming it", len(posts))
	}
	return "canary PutParameter " + s.dep.Heartbeat + " allowed, kill switch denied; heard at 08:30:02, 0 alerts; other canary event ignored; the missing-heartbeat alarm posted to Slack"
}

// canaryEvent is the CloudTrail event of a PutParameter made by the canary
// role, as EventBridge delivers it.
func canaryEvent(t *testing.T, s *stand, name, value string, at time.Time, id string) []byte {
	t.Helper()
	raw := withIdentity(t, s.event(t, "tamper/put-kill-switch-off.json"), s.dep.Canary.RoleARN, "e2e-scheduler")
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	d := ev["detail"].(map[string]any)
	d["eventID"], d["eventTime"] = id, at.Format(time.RFC3339)
	d["requestParameters"] = map[string]any{"name": name, "value": value, "type": "String", "overwrite": true}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
