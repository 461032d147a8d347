package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/eksguard/eksguard/internal/testsupport/findingtest"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

const topicARN = "arn:aws:sns:eu-west-1:111122223333:eksguard-findings"

// snsFake is an SNS endpoint (AWS query protocol) that records Publish calls.
type snsFake struct {
	mu       sync.Mutex
	requests []url.Values
	deny     bool
}

func (f *snsFake) client(t *testing.T) *sns.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(body))
		if err != nil || r.Method != http.MethodPost || r.URL.Path != "/" {
			t.Errorf("SNS fake got %s %s: %v", r.Method, r.URL.Path, err)
		}
		f.mu.Lock()
		f.requests = append(f.requests, form)
		deny := f.deny
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		if deny {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code>`+
				`<Message>not authorized to perform SNS:Publish</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
			return
		}
		_, _ = io.WriteString(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>`+
			`<MessageId>11111111-2222-3333-4444-555555555555</MessageId></PublishResult>`+
			`<ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></PublishResponse>`)
	}))
	t.Cleanup(srv.Close)
	return sns.New(sns.Options{
		Region:           "eu-west-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDFAKE", "fake-secret", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	})
}

func (f *snsFake) calls() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.requests...)
}

// attributes reads MessageAttributes.entry.N.* back into name -> "DataType=Value".
func attributes(form url.Values) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		p := fmt.Sprintf("MessageAttributes.entry.%d.", i)
		name := form.Get(p + "Name")
		if name == "" {
			return out
		}
		out[name] = form.Get(p+"Value.DataType") + "=" + form.Get(p+"Value.StringValue")
	}
}

func TestPublishSendsSubjectAttributesAndTheWholeFinding(t *testing.T) {
	fake := &snsFake{}
	f := findingtest.LoggingFinding()
	if err := (&SNSPublisher{SNS: fake.client(t), TopicARN: topicARN, Policy: policy.Default()}).Publish(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	calls := fake.calls()
	if len(calls) != 1 {
		t.Fatalf("%d Publish calls, want 1", len(calls))
	}
	form := calls[0]
	if form.Get("Action") != "Publish" || form.Get("TopicArn") != topicARN {
		t.Errorf("Action %q, TopicArn %q", form.Get("Action"), form.Get("TopicArn"))
	}
	if want := "[HIGH] control-plane-logging-disabled: payments-prod (111122223333 eu-west-1)"; form.Get("Subject") != want {
		t.Errorf("Subject = %q, want %q", form.Get("Subject"), want)
	}
	want := map[string]string{
		"severity": "String=high", "severityLevel": "Number=3", "rule": "String=control-plane-logging-disabled",
		"account": "String=111122223333", "region": "String=eu-west-1", "cluster": "String=payments-prod",
		"outcome": "String=remediated",
	}
	if got := attributes(form); !reflect.DeepEqual(got, want) {
		t.Errorf("attributes = %v\nwant %v", got, want)
	}
	var back finding.Finding
	if err := json.Unmarshal([]byte(form.Get("Message")), &back); err != nil {
		t.Fatalf("Message is not the finding JSON: %v", err)
	}
	if !reflect.DeepEqual(&back, f) {
		t.Errorf("Message decodes to %+v\nwant %+v", back, *f)
	}
}

func TestPublishLeavesOutEmptyAttributes(t *testing.T) {
	fake := &snsFake{}
	f := findingtest.IamFinding() // no cluster
	if err := (&SNSPublisher{SNS: fake.client(t), TopicARN: topicARN, Policy: policy.Default()}).Publish(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	attrs := attributes(fake.calls()[0])
	if _, ok := attrs["cluster"]; ok || len(attrs) != 6 || attrs["outcome"] != "String=skipped-kill-switch" {
		t.Errorf("attributes = %v", attrs)
	}
	f = findingtest.NotifyOnlyFinding() // no outcome
	if err := (&SNSPublisher{SNS: fake.client(t), TopicARN: topicARN, Policy: policy.Default()}).Publish(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if got := attributes(fake.calls()[1])["outcome"]; got != "String=none" {
		t.Errorf("outcome = %q, want none", got)
	}
}

func TestPublishThresholdIsTheLowerOfSlackAndSNS(t *testing.T) {
	cases := []struct {
		slack, sns finding.Severity
		sev        finding.Severity
		published  bool
	}{
		{finding.Medium, finding.High, finding.Medium, true}, // the defaults: Slack wants medium
		{finding.Medium, finding.High, finding.Low, false},
		{finding.High, finding.Low, finding.Low, true},
		{finding.High, finding.Critical, finding.Medium, false},
		{finding.Critical, finding.Critical, finding.Critical, true},
	}
	for _, c := range cases {
		fake := &snsFake{}
		pol := policy.Default()
		pol.Notify.Slack.MinSeverity, pol.Notify.SNS.MinSeverity = c.slack, c.sns
		f := findingtest.NotifyOnlyFinding()
		f.Severity = c.sev
		p := &SNSPublisher{SNS: fake.client(t), TopicARN: topicARN, Policy: pol}
		if err := p.Publish(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		if got := len(fake.calls()) == 1; got != c.published || p.Wants(f) != c.published {
			t.Errorf("slack %s, sns %s, finding %s: published %v, want %v", c.slack, c.sns, c.sev, got, c.published)
		}
	}
}

func TestPublishChatbotFormatCarriesTheFinding(t *testing.T) {
	fake := &snsFake{}
	pol := policy.Default()
	pol.Notify.SNS.Format = FormatChatbot
	f := findingtest.AdminFinding()
	if err := (&SNSPublisher{SNS: fake.client(t), TopicARN: topicARN, Policy: pol}).Publish(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	form := fake.calls()[0]
	var c Chatbot
	if err := json.Unmarshal([]byte(form.Get("Message")), &c); err != nil {
		t.Fatal(err)
	}
	if c.Version != "1.0" || c.Source != "custom" || c.Content.TextType != "client-markdown" {
		t.Errorf("envelope = %+v", c)
	}
	if !strings.Contains(c.Content.Title, "[CRITICAL]") || !strings.Contains(c.Content.Description, "*Fix FAILED*") {
		t.Errorf("content = %+v", c.Content)
	}
	if len(c.Content.NextSteps) != 2 || !strings.Contains(c.Content.NextSteps[1], "aws eks disassociate-access-policy") {
		t.Errorf("nextSteps = %q", c.Content.NextSteps)
	}
	if c.Metadata.ThreadID != "eksguard/cluster-admin-granted/"+f.Key() {
		t.Errorf("threadId = %q", c.Metadata.ThreadID)
	}
	back, err := DecodeMessage(form.Get("Message"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, f) {
		t.Errorf("decoded %+v\nwant %+v", back, f)
	}
	if attributes(form)["severity"] != "String=critical" {
		t.Errorf("attributes = %v", attributes(form))
	}
}

func TestPublishErrorNamesTheFindingAndTopic(t *testing.T) {
	fake := &snsFake{deny: true}
	err := (&SNSPublisher{SNS: fake.client(t), TopicARN: topicARN, Policy: policy.Default()}).Publish(context.Background(), findingtest.LoggingFinding())
	for _, want := range []string{"control-plane-logging-disabled", "payments-prod", topicARN, "AuthorizationError"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestSubjectFitsSNS(t *testing.T) {
	f := findingtest.LoggingFinding()
	f.Cluster = strings.Repeat("very-long-cluster-name-", 6) + "é\n"
	s := Subject(f)
	if utf8.RuneCountInString(s) >= 100 || len(s) >= 100 {
		t.Errorf("subject is %d characters: %q", len(s), s)
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			t.Errorf("subject has %q: %q", r, s)
		}
	}
	if !strings.HasPrefix(s, "[HIGH] control-plane-logging-disabled: very-long") || !strings.HasSuffix(s, "...") {
		t.Errorf("subject = %q", s)
	}
	if got := Subject(findingtest.IamFinding()); got != "[HIGH] required-policy-detached: payments-node-role (111122223333 us-east-1)" {
		t.Errorf("IAM subject = %q", got)
	}
}

func TestOversizedFindingIsShrunkToFitSNS(t *testing.T) {
	f := findingtest.AdminFinding()
	f.Before = strings.Repeat("x", 400_000)
	f.Outcome.Message = strings.Repeat("denied ", 50_000)
	for _, format := range []string{FormatJSON, FormatChatbot} {
		m, err := BuildSNS(f, format)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if len(m.Body) > maxSNSBody {
			t.Errorf("%s body is %d bytes, over %d", format, len(m.Body), maxSNSBody)
		}
		back, err := DecodeMessage(m.Body)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if !strings.HasSuffix(back.Before, truncatedMark) || back.Rule != f.Rule || back.Plan.CLI("x") != f.Plan.CLI("x") {
			t.Errorf("%s: shrunk finding lost its identity or its mark: rule %q, before ends %q", format, back.Rule, back.Before[len(back.Before)-30:])
		}
	}
	if len(f.Before) != 400_000 {
		t.Error("shrinking changed the caller's finding")
	}
}

func TestDecodeMessageRejectsForeignMessages(t *testing.T) {
	for name, body := range map[string]string{
		"not json":                "hello",
		"no rule":                 `{"severity":"high"}`,
		"chatbot without finding": `{"version":"1.0","source":"custom","content":{"description":"x"},"metadata":{}}`,
		"bad severity":            `{"rule":"x","severity":"urgent"}`,
	} {
		if _, err := DecodeMessage(body); err == nil || !strings.HasPrefix(err.Error(), "decode SNS message") {
			t.Errorf("%s: error = %v", name, err)
		}
	}
}

func TestEncodeJSONKeepsMarkupReadableAndValid(t *testing.T) {
	v := map[string]any{"link": "<https://x?a=1&b=2|x>", "literal": `\u003c stays`, "quote": `"q" \ n`}
	b, err := EncodeJSON(v, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"link":"<https://x?a=1&b=2|x>","literal":"\\u003c stays","quote":"\"q\" \\ n"}`
	if string(b) != want {
		t.Errorf("encodeJSON = %s\nwant %s", b, want)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, v) {
		t.Errorf("round trip = %v, %v", back, err)
	}
}

// A publisher without a policy applies the default policy's threshold.
func TestSNSPublisherWithoutPolicyUsesTheDefaults(t *testing.T) {
	p := &SNSPublisher{TopicARN: topicARN}
	threshold := PublishThreshold(policy.Default())
	for sev := finding.Info; sev <= finding.Critical; sev++ {
		f := findingtest.LoggingFinding()
		f.Severity = sev
		if got, want := p.Wants(f), sev >= threshold; got != want {
			t.Errorf("severity %s: Wants = %v, want %v (default threshold %s)", sev, got, want, threshold)
		}
	}
}
