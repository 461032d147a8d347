package slackalert

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/eksguard/eksguard/shared/notify"
)

// Alarm is the notification CloudWatch publishes to SNS when an alarm
// changes state (the fields eksguard shows of it).
type Alarm struct {
	AlarmName        string `json:"AlarmName"`
	AlarmDescription string `json:"AlarmDescription"`
	AWSAccountID     string `json:"AWSAccountId"`
	NewStateValue    string `json:"NewStateValue"`
	OldStateValue    string `json:"OldStateValue"`
	NewStateReason   string `json:"NewStateReason"`
	StateChangeTime  string `json:"StateChangeTime"`
	Region           string `json:"Region"`
	AlarmARN         string `json:"AlarmArn"`
}

// decodeAlarm reads a CloudWatch alarm notification; ok is false for any
// other message (a finding).
func decodeAlarm(body string) (a Alarm, ok bool) {
	if !strings.Contains(body, `"AlarmName"`) {
		return Alarm{}, false
	}
	if json.Unmarshal([]byte(body), &a) != nil || a.AlarmName == "" || a.NewStateValue == "" {
		return Alarm{}, false
	}
	return a, true
}

// AlarmMessage is the Slack message of an alarm's change of state: eksguard's
// own alarms (failed invocations, dead letters, the missing heartbeat) are
// how on-call learns that eksguard itself cannot see or act. Every string
// is escaped like a finding's.
func AlarmMessage(a Alarm) *slack.WebhookMessage {
	emoji, what := ":rotating_light:", "ALARM"
	switch a.NewStateValue {
	case "OK":
		emoji, what = ":white_check_mark:", "OK again"
	case "INSUFFICIENT_DATA":
		emoji, what = ":grey_question:", "no data"
	}
	headline := fmt.Sprintf("[%s] eksguard alarm %s", what, a.AlarmName)
	if a.AWSAccountID != "" || a.Region != "" {
		headline += " (" + strings.TrimSpace(a.AWSAccountID+" "+a.Region) + ")"
	}
	text := notify.EscapeCut(notify.OneLine(headline), notify.MaxHeadline)
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType,
			notify.EscapeCut(notify.OneLine(emoji+" "+what+" · "+a.AlarmName), maxHeader), true, false)),
	}
	if a.AlarmDescription != "" {
		blocks = append(blocks, section(notify.EscapeCut(a.AlarmDescription, maxSectionText)))
	}
	var facts []string
	if a.NewStateReason != "" {
		facts = append(facts, "*Why:* "+notify.Escape(notify.OneLine(a.NewStateReason)))
	}
	if a.OldStateValue != "" {
		facts = append(facts, "*Was:* "+notify.Escape(a.OldStateValue))
	}
	if a.StateChangeTime != "" {
		facts = append(facts, "*Since:* "+notify.Escape(a.StateChangeTime))
	}
	if a.AlarmARN != "" {
		facts = append(facts, "*Alarm:* "+notify.Code(a.AlarmARN))
	}
	if len(facts) > 0 {
		blocks = append(blocks, section(notify.CutMrkdwn(strings.Join(facts, "\n"), maxSectionText)))
	}
	return &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
}
