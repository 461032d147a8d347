package slackalert

import (
	"bytes"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/findingtest"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
)

func TestPreviewPrintsWhatEachChannelWouldGet(t *testing.T) {
	fs := []finding.Finding{*findingtest.LoggingFinding(), *findingtest.NotifyOnlyFinding(), *findingtest.LowFinding()}
	var slackOut, snsOut bytes.Buffer
	if err := Preview(&slackOut, "slack", fs, policy.Default()); err != nil {
		t.Fatal(err)
	}
	if err := Preview(&snsOut, "sns", fs, policy.Default()); err != nil {
		t.Fatal(err)
	}
	s := slackOut.String()
	if strings.Count(s, `"blocks": [`) != 2 ||
		!strings.Contains(s, "--- slack 3/3: cluster-created-insecure on payments-prod (event ab12cd34-0000-4000-8000-000000000001)\nnot posted: severity low is below notify.slack.minSeverity medium\n") {
		t.Errorf("slack preview:\n%s", s)
	}
	n := snsOut.String()
	for _, want := range []string{
		"--- sns 1/3: control-plane-logging-disabled on payments-prod (event 3b1c7a8e-1f7e-4a55-9d55-0d0f1c2b3a4d)\n" +
			"Delivered to: every subscription (severity high >= notify.sns.minSeverity high)\n" +
			"Subject: [HIGH] control-plane-logging-disabled: payments-prod (111122223333 eu-west-1)\n" +
			"MessageAttributes:\n  account (String): 111122223333\n  cluster (String): payments-prod\n  outcome (String): remediated\n" +
			"  region (String): eu-west-1\n  rule (String): control-plane-logging-disabled\n  severity (String): high\n  severityLevel (Number): 3\n" +
			"Message (json):\n{\n  \"rule\": \"control-plane-logging-disabled\",",
		"Delivered to: the Slack notifier only; e-mail/HTTPS subscriptions filter it out (severity medium < notify.sns.minSeverity high)",
		"not published: severity low is below medium",
	} {
		if !strings.Contains(n, want) {
			t.Errorf("sns preview lacks:\n%s\n--- got:\n%s", want, n)
		}
	}
	// The same input always prints the same bytes.
	var again bytes.Buffer
	_ = Preview(&again, "sns", fs, policy.Default())
	if again.String() != n {
		t.Error("preview is not deterministic")
	}
}

func TestPreviewChatbotAndErrors(t *testing.T) {
	pol := policy.Default()
	pol.Notify.SNS.Format = notify.FormatChatbot
	var b bytes.Buffer
	if err := Preview(&b, "sns", []finding.Finding{*findingtest.AdminFinding()}, pol); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Message (chatbot):\n{\n  \"version\": \"1.0\",\n  \"source\": \"custom\",") {
		t.Errorf("chatbot preview:\n%s", b.String())
	}
	if err := Preview(&b, "email", nil, pol); err == nil || !strings.Contains(err.Error(), "want slack or sns") {
		t.Errorf("unknown channel: %v", err)
	}
	b.Reset()
	if err := Preview(&b, "slack", nil, pol); err != nil || b.String() != "--- slack: no findings, nothing would be sent\n" {
		t.Errorf("empty preview = %q, %v", b.String(), err)
	}
}
