package slackalert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/slack-go/slack"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/findingtest"
	"github.com/eksguard/eksguard/shared/dedup"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/slackhook"
)

const topicARN = "arn:aws:sns:eu-west-1:111122223333:eksguard-findings"

const hookPath = "/services/T0FAKE/B0FAKE/xoxsecretTOKEN123"

// webhook is a fake Slack incoming webhook: it answers with the queued
// statuses (then 200 "ok") and keeps every posted body.
type webhook struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	status []int
	posts  []map[string]any
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{t: t}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != hookPath || r.Method != http.MethodPost {
			t.Errorf("webhook got %s %s", r.Method, r.URL.Path)
		}
		body, _ := io.ReadAll(r.Body)
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Errorf("webhook body is not JSON: %v", err)
		}
		h.mu.Lock()
		h.posts = append(h.posts, doc)
		code := http.StatusOK
		if len(h.status) > 0 {
			code, h.status = h.status[0], h.status[1:]
		}
		h.mu.Unlock()
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "2")
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *webhook) fail(codes ...int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.status = append(h.status, codes...)
}

func (h *webhook) received() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.posts...)
}

// rig is a notifier wired to fakes: webhook, DynamoDB, log and metric buffers.
type rig struct {
	n       *Notifier
	hook    *webhook
	aws     *awsfake.World
	logs    *bytes.Buffer
	metrics *bytes.Buffer
	waits   *[]time.Duration
	clock   *time.Time
}

func newRig(t *testing.T, pol *policy.Policy) *rig {
	t.Helper()
	hook := newWebhook(t)
	u, err := slackhook.ParseURL(hook.srv.URL + hookPath)
	if err != nil {
		t.Fatal(err)
	}
	var logs, metrics bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	waits := &[]time.Duration{}
	client := slackhook.New(u, func(o *slackhook.Options) {
		o.Log = log
		o.Sleep = func(_ context.Context, d time.Duration) error {
			*waits = append(*waits, d)
			return nil
		}
	})
	w := awsfake.New(t)
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	now := time.Date(2025, 3, 14, 3, 2, 30, 0, time.UTC)
	clock := &now
	win := &dedup.Window{DB: db, Table: "eksguard-state", Length: pol.Notify.DedupWindow.Duration, Now: func() time.Time { return *clock }}
	n := &Notifier{Policy: pol, Slack: client, Dedup: win, Log: log, Metrics: &metrics, Now: func() time.Time { return *clock }}
	return &rig{n: n, hook: hook, aws: w, logs: &logs, metrics: &metrics, waits: waits, clock: clock}
}

// deliver hands the notifier one SNS record carrying the finding.
func (r *rig) deliver(t *testing.T, f *finding.Finding, messageID, format string) error {
	t.Helper()
	m, err := notify.BuildSNS(f, format)
	if err != nil {
		t.Fatal(err)
	}
	ev := events.SNSEvent{Records: []events.SNSEventRecord{{EventSource: "aws:sns", SNS: events.SNSEntity{
		MessageID: messageID, TopicArn: topicARN, Subject: m.Subject, Message: m.Body,
	}}}}
	return r.n.Handle(context.Background(), ev)
}

func headerOf(post map[string]any) string {
	blocks, _ := post["blocks"].([]any)
	if len(blocks) == 0 {
		return ""
	}
	text, _ := blocks[0].(map[string]any)["text"].(map[string]any)
	s, _ := text["text"].(string)
	return s
}

func allText(post map[string]any) string {
	b, _ := json.Marshal(post)
	return string(b)
}

func assertNoWebhookSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{hookPath, "xoxsecretTOKEN123"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains the webhook secret %q:\n%s", what, secret, s)
		}
	}
}

func TestNotifierPostsBlockKitForBothSNSFormats(t *testing.T) {
	for _, format := range []string{notify.FormatJSON, notify.FormatChatbot} {
		t.Run(format, func(t *testing.T) {
			r := newRig(t, policy.Default())
			if err := r.deliver(t, findingtest.AdminFinding(), "m1", format); err != nil {
				t.Fatal(err)
			}
			posts := r.hook.received()
			if len(posts) != 1 {
				t.Fatalf("%d posts, want 1", len(posts))
			}
			if h := headerOf(posts[0]); h != ":rotating_light: CRITICAL · Cluster-admin access granted to a non-admin principal" {
				t.Errorf("header = %q", h)
			}
			if !strings.HasPrefix(posts[0]["text"].(string), "[CRITICAL] Cluster-admin access granted") {
				t.Errorf("text = %q", posts[0]["text"])
			}
			if got := strings.Join(r.aws.Log.Ops("dynamodb"), " "); got != "dynamodb:UpdateItem dynamodb:PutItem" {
				t.Errorf("DynamoDB calls = %s", got)
			}
			key := "dedup#cluster-admin-granted#" + findingtest.AdminFinding().Key()
			if it, ok := r.aws.DynamoDB.Get("eksguard-state", key); !ok || it.S("postedBy") != "m1" || it.S("lastState") != "failed" {
				t.Errorf("dedup item %s = %v", key, it)
			}
			if !strings.Contains(r.logs.String(), `"msg":"posted to Slack"`) {
				t.Errorf("no success log:\n%s", r.logs)
			}
		})
	}
}

func TestNotifierAppliesTheSlackThreshold(t *testing.T) {
	pol := policy.Default()
	pol.Notify.Slack.MinSeverity = finding.High
	r := newRig(t, pol)
	if err := r.deliver(t, findingtest.NotifyOnlyFinding(), "m1", notify.FormatJSON); err != nil { // medium
		t.Fatal(err)
	}
	if len(r.hook.received()) != 0 || len(r.aws.Log.Calls()) != 0 {
		t.Errorf("a medium finding was posted or counted under a high threshold")
	}
	if !strings.Contains(r.logs.String(), "below the Slack threshold") {
		t.Errorf("skip not logged:\n%s", r.logs)
	}
	if err := r.deliver(t, findingtest.LoggingFinding(), "m2", notify.FormatJSON); err != nil { // high
		t.Fatal(err)
	}
	if len(r.hook.received()) != 1 {
		t.Errorf("a high finding was not posted")
	}
}

func TestNotifierFoldsRepeatsAndReportsTheCount(t *testing.T) {
	r := newRig(t, policy.Default())
	f := findingtest.LoggingFinding() // remediated
	for i, id := range []string{"m1", "m2", "m3"} {
		*r.clock = r.clock.Add(time.Minute)
		f.EventID = "event-" + id
		if err := r.deliver(t, f, id, notify.FormatJSON); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	if n := len(r.hook.received()); n != 1 {
		t.Fatalf("%d posts for 3 identical findings in the window, want 1", n)
	}
	if strings.Count(r.logs.String(), "folded into an earlier alert") != 2 {
		t.Errorf("folds not logged:\n%s", r.logs)
	}
	// eksguard's circuit breaker now gives up: a different outcome is posted at once, with the count.
	f.Outcome = &finding.Outcome{Status: finding.StatusSuppressed, Message: "3 fixes on this resource in the last hour"}
	if err := r.deliver(t, f, "m4", notify.FormatJSON); err != nil {
		t.Fatal(err)
	}
	posts := r.hook.received()
	if len(posts) != 2 {
		t.Fatalf("%d posts, want 2", len(posts))
	}
	text := allText(posts[1])
	for _, want := range []string{"What eksguard did changed since the last alert", "Seen *4 times* on this resource since 2025-03-14 03:03 UTC; 2 not posted separately (15m window)", "*Not fixed*"} {
		if !strings.Contains(text, want) {
			t.Errorf("second post lacks %q:\n%s", want, text)
		}
	}
	// After the window, the next one opens a new window and reports the fold.
	*r.clock = r.clock.Add(30 * time.Minute)
	if err := r.deliver(t, f, "m5", notify.FormatJSON); err != nil {
		t.Fatal(err)
	}
	posts = r.hook.received()
	if len(posts) != 3 || !strings.Contains(allText(posts[2]), "The previous window (2025-03-14 03:03 UTC to 2025-03-14 03:18 UTC) had 2 more not posted separately") {
		t.Errorf("third post: %d posts\n%s", len(posts), allText(posts[len(posts)-1]))
	}
}

func TestNotifierRetries429And5xxWithinOneInvocation(t *testing.T) {
	r := newRig(t, policy.Default())
	r.hook.fail(429, 503)
	if err := r.deliver(t, findingtest.LoggingFinding(), "m1", notify.FormatJSON); err != nil {
		t.Fatal(err)
	}
	if n := len(r.hook.received()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if got := *r.waits; len(got) != 2 || got[0] != 2*time.Second || got[1] != 2*time.Second {
		t.Errorf("waits = %v, want [2s (Retry-After) 2s (backoff after attempt 2)]", got)
	}
	if r.metrics.Len() != 0 {
		t.Errorf("failure metric on success: %s", r.metrics)
	}
}

func TestNotifierFailureEmitsMetricReturnsErrorAndTheRedeliveryPosts(t *testing.T) {
	r := newRig(t, policy.Default())
	r.hook.fail(500, 500, 500, 500)
	err := r.deliver(t, findingtest.LoggingFinding(), "m1", notify.FormatJSON)
	var herr *slackhook.Error
	if !errors.As(err, &herr) || herr.Attempts != slackhook.DefaultMaxAttempts || herr.Status != 500 {
		t.Fatalf("Handle = %v, want the delivery error (so Lambda retries, then dead-letters)", err)
	}
	for _, want := range []string{"control-plane-logging-disabled", "payments-prod", "HTTP 500"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	assertNoWebhookSecret(t, "error", err.Error())
	assertNoWebhookSecret(t, "logs", r.logs.String())

	var emf struct {
		AWS struct {
			Timestamp         int64 `json:"Timestamp"`
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			} `json:"CloudWatchMetrics"`
		} `json:"_aws"`
		Function string
		Failures float64 `json:"NotificationFailures"`
		Stage    string  `json:"stage"`
		Rule     string  `json:"rule"`
	}
	lines := strings.Split(strings.TrimSpace(r.metrics.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("metric lines = %q", lines)
	}
	if err := json.Unmarshal([]byte(lines[0]), &emf); err != nil {
		t.Fatal(err)
	}
	d := emf.AWS.CloudWatchMetrics
	if len(d) != 1 || d[0].Namespace != "eksguard" || len(d[0].Metrics) != 1 || d[0].Metrics[0].Name != "NotificationFailures" ||
		d[0].Metrics[0].Unit != "Count" || len(d[0].Dimensions) != 1 || d[0].Dimensions[0][0] != "Function" ||
		emf.Function != "notifier" || emf.Failures != 1 || emf.Stage != "slack" || emf.Rule != "control-plane-logging-disabled" ||
		emf.AWS.Timestamp != r.clock.UnixMilli() {
		t.Errorf("EMF line = %s", lines[0])
	}

	// Lambda redelivers the same SNS message: it is posted, not folded.
	if err := r.deliver(t, findingtest.LoggingFinding(), "m1", notify.FormatJSON); err != nil {
		t.Fatal(err)
	}
	if n := len(r.hook.received()); n != 5 {
		t.Errorf("%d requests, want 4 failed + 1 redelivered", n)
	}
}

func TestNotifierTimeoutKeepsTheURLOutOfEverything(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	u, err := slackhook.ParseURL(srv.URL + hookPath)
	if err != nil {
		t.Fatal(err)
	}
	var logs, metrics bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	client := slackhook.New(u, func(o *slackhook.Options) {
		o.Log, o.MaxAttempts = log, 2
		o.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
		o.Sleep = func(context.Context, time.Duration) error { return nil }
	})
	n := &Notifier{Policy: policy.Default(), Slack: client, Log: log, Metrics: &metrics}
	m, _ := notify.BuildSNS(findingtest.LoggingFinding(), notify.FormatJSON)
	err = n.Handle(context.Background(), events.SNSEvent{Records: []events.SNSEventRecord{{SNS: events.SNSEntity{MessageID: "m1", Message: m.Body}}}})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("Handle = %v, want a timeout", err)
	}
	assertNoWebhookSecret(t, "error", err.Error())
	assertNoWebhookSecret(t, "logs", logs.String())
	assertNoWebhookSecret(t, "metrics", metrics.String())
	if !strings.Contains(metrics.String(), `"NotificationFailures":1`) {
		t.Errorf("no failure metric: %s", metrics.String())
	}
}

func TestNotifierPostsWhenTheDedupTableFails(t *testing.T) {
	r := newRig(t, policy.Default())
	r.aws.DynamoDB.Fail("UpdateItem", 1, awsfake.Fault{Status: 400, Code: "AccessDeniedException"})
	if err := r.deliver(t, findingtest.LoggingFinding(), "m1", notify.FormatJSON); err != nil {
		t.Fatal(err)
	}
	if len(r.hook.received()) != 1 {
		t.Error("not posted when DynamoDB failed")
	}
	if !strings.Contains(r.logs.String(), "dedup window unavailable") {
		t.Errorf("dedup failure not logged:\n%s", r.logs)
	}
}

func TestNotifierRejectsForeignMessagesWithMetric(t *testing.T) {
	r := newRig(t, policy.Default())
	err := r.n.Handle(context.Background(), events.SNSEvent{Records: []events.SNSEventRecord{{SNS: events.SNSEntity{MessageID: "m9", Message: "hello"}}}})
	if err == nil || !strings.Contains(err.Error(), "m9") {
		t.Errorf("Handle = %v", err)
	}
	if !strings.Contains(r.metrics.String(), `"stage":"decode"`) || len(r.hook.received()) != 0 {
		t.Errorf("metrics = %s", r.metrics)
	}
}

type unconfigured struct{ posts int }

func (u *unconfigured) Post(context.Context, *slack.WebhookMessage) (int, error) {
	u.posts++
	return 0, fmt.Errorf("read Slack webhook secret x: %w", slackhook.ErrNotConfigured)
}

// The stack creates the webhook secret empty: until it is set, findings are
// not retried into the dead-letter queue, only logged and counted.
func TestNotifierWithoutWebhookLogsCountsAndSucceeds(t *testing.T) {
	r := newRig(t, policy.Default())
	u := &unconfigured{}
	r.n.Slack = u
	if err := r.deliver(t, findingtest.AdminFinding(), "m1", notify.FormatJSON); err != nil {
		t.Fatalf("Handle = %v, want nil while Slack is not configured", err)
	}
	if u.posts != 1 || !strings.Contains(r.logs.String(), "Slack alerts are off until the webhook secret is set") {
		t.Errorf("posts %d, logs %s", u.posts, r.logs.String())
	}
	if m := r.metrics.String(); strings.Count(m, "\n") != 1 || !strings.Contains(m, `"SlackNotConfigured":1`) ||
		!strings.Contains(m, `"Name":"SlackNotConfigured"`) || !strings.Contains(m, `"stage":"not-configured"`) || strings.Contains(m, "NotificationFailures") {
		t.Errorf("metrics = %q, want one SlackNotConfigured data point", m)
	}
}

// secretsRig points the rig's notifier at a webhook read from the fake
// Secrets Manager, as the Lambda does.
func secretsRig(t *testing.T) (*rig, string) {
	t.Helper()
	r := newRig(t, policy.Default())
	const arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:eksguard/slack-webhook-AbCdEf"
	sm := secretsmanager.NewFromConfig(awsfake.Config("eu-west-1"), func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(r.aws.SecretsManager.URL) })
	r.n.Slack = slackhook.NewFromSecret(sm, arn, func(o *slackhook.Options) {
		o.Sleep = func(context.Context, time.Duration) error { return nil }
	})
	return r, arn
}

// An alert that was not delivered opens no dedup window: while the secret
// is empty the finding is counted and dropped; once it is set, the same
// finding posts at once, not "folded into an earlier alert" nobody saw.
func TestNotifierPostsTheRepeatOfAnAlertSentWhileSlackWasUnset(t *testing.T) {
	for _, value := range []string{"", "unset"} { // created empty, or without a value at all
		t.Run("secret "+value, func(t *testing.T) {
			r, arn := secretsRig(t)
			if value == "" {
				r.aws.SecretsManager.Set(arn, "")
			}
			f := findingtest.AdminFinding()
			if err := r.deliver(t, f, "m1", notify.FormatJSON); err != nil {
				t.Fatalf("Handle = %v, want nil while Slack is not configured", err)
			}
			if n := len(r.hook.received()); n != 0 || !strings.Contains(r.metrics.String(), `"SlackNotConfigured":1`) {
				t.Fatalf("%d posts, metrics %q: want none, and the finding counted", n, r.metrics)
			}
			r.aws.SecretsManager.Set(arn, `{"webhookUrl":"`+r.hook.srv.URL+hookPath+`"}`)
			*r.clock = r.clock.Add(time.Minute)
			f.EventID = "9f0e2d41-8c3b-4e6a-b1d2-77aa55cc3e11" // the same change, made again
			if err := r.deliver(t, f, "m2", notify.FormatJSON); err != nil {
				t.Fatal(err)
			}
			posts := r.hook.received()
			if len(posts) != 1 || strings.Contains(r.logs.String(), "folded into an earlier alert") {
				t.Fatalf("%d posts after the secret was set, want 1 (not folded):\n%s", len(posts), r.logs)
			}
			if text := allText(posts[0]); !strings.Contains(text, f.EventID) || strings.Contains(text, "not posted separately") {
				t.Errorf("post = %s, want the new event as the first of its window", text)
			}
			key := "dedup#cluster-admin-granted#" + f.Key()
			if it, _ := r.aws.DynamoDB.Get("eksguard-state", key); it.S("postedBy") != "m2" || it.N("occurrences") != "1" ||
				it.N("windowStart") != fmt.Sprint(r.clock.Unix()) {
				t.Errorf("dedup item = %v, want a window opened by m2 now", it)
			}
		})
	}
}

// The same holds for a post that finally fails: after the dead-letter queue
// has the message, the next occurrence posts.
func TestNotifierPostsTheRepeatOfAnAlertWhosePostFailed(t *testing.T) {
	r := newRig(t, policy.Default())
	r.hook.fail(500, 500, 500, 500)
	f := findingtest.LoggingFinding()
	if err := r.deliver(t, f, "m1", notify.FormatJSON); err == nil {
		t.Fatal("Handle = nil, want the delivery error")
	}
	*r.clock = r.clock.Add(time.Minute)
	if err := r.deliver(t, f, "m2", notify.FormatJSON); err != nil {
		t.Fatal(err)
	}
	if n := len(r.hook.received()); n != 5 || strings.Contains(r.logs.String(), "folded into an earlier alert") {
		t.Errorf("%d requests, want 4 failed + 1 for the repeat (not folded)", n)
	}
}

// A webhook that hangs: the notifier stops before a retry it could not
// finish and answers with its own error and metric before the deadline.
func TestNotifierHangingWebhookEndsWithItsOwnErrorBeforeTheDeadline(t *testing.T) {
	var requests atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	u, err := slackhook.ParseURL(srv.URL + hookPath)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, policy.Default())
	// As in Lambda, scaled down: 1s invocation, 100ms attempts, 50ms reserve,
	// backoff 250ms then 500ms: attempts at 0 and ~350ms; a third would start
	// at ~950ms and be cut off.
	r.n.Slack = slackhook.New(u, func(o *slackhook.Options) {
		o.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
		o.Reserve, o.BaseDelay, o.MaxDelay = 50*time.Millisecond, 250*time.Millisecond, time.Second
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, _ := notify.BuildSNS(findingtest.LoggingFinding(), notify.FormatJSON)
	err = r.n.Handle(ctx, events.SNSEvent{Records: []events.SNSEventRecord{{SNS: events.SNSEntity{MessageID: "m1", Message: m.Body}}}})
	if ctx.Err() != nil {
		t.Fatalf("Handle returned after the deadline: %v", err)
	}
	var herr *slackhook.Error
	if !errors.As(err, &herr) || !herr.Deadline || herr.Attempts != 2 || requests.Load() != 2 {
		t.Fatalf("Handle = %v after %d requests; want the notifier's deadline error after 2 attempts", err, requests.Load())
	}
	if !strings.Contains(err.Error(), "notify control-plane-logging-disabled on payments-prod") || !strings.Contains(err.Error(), "would pass the deadline") {
		t.Errorf("error = %v", err)
	}
	if m := r.metrics.String(); !strings.Contains(m, `"NotificationFailures":1`) || !strings.Contains(m, `"stage":"slack-deadline"`) {
		t.Errorf("metrics = %q, want a NotificationFailures point, stage slack-deadline", m)
	}
	assertNoWebhookSecret(t, "error", err.Error())
	// The claim was given back: Lambda's retry of the message (or a repeat) posts.
	r.n.Slack = slackhook.New(mustURL(t, r.hook.srv.URL+hookPath))
	if err := r.deliver(t, findingtest.LoggingFinding(), "m2", notify.FormatJSON); err != nil || len(r.hook.received()) != 1 {
		t.Errorf("repeat after the deadline stop: %v, %d posts, want posted", err, len(r.hook.received()))
	}
}

func mustURL(t *testing.T, raw string) slackhook.URL {
	t.Helper()
	u, err := slackhook.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// A Notifier without a logger or clock logs to slog.Default() and stamps
// metrics with the real time, rather than panicking.
func TestNotifierWithoutLoggerOrClock(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	r := newRig(t, policy.Default())
	r.n.Log, r.n.Now = nil, nil
	before := time.Now().UnixMilli()
	if err := r.deliver(t, findingtest.LoggingFinding(), "m1", notify.FormatJSON); err != nil {
		t.Fatal(err)
	}
	if got, want := len(r.hook.received()), 1; got != want {
		t.Fatalf("got %d posts, want %d", got, want)
	}
	if !strings.Contains(logs.String(), `"msg":"posted to Slack"`) {
		t.Errorf("default logger got %q, want the posted line", logs.String())
	}
	err := r.n.Handle(context.Background(), events.SNSEvent{Records: []events.SNSEventRecord{{SNS: events.SNSEntity{MessageID: "m2", Message: "not a finding"}}}})
	if err == nil {
		t.Fatal("undecodable message: got no error, want one")
	}
	if !strings.Contains(logs.String(), `"msg":"cannot read the SNS message"`) {
		t.Errorf("default logger got %q, want the decode failure", logs.String())
	}
	var point struct {
		AWS struct{ Timestamp int64 } `json:"_aws"`
	}
	if err := json.Unmarshal(r.metrics.Bytes(), &point); err != nil {
		t.Fatalf("metric %q: %v", r.metrics.String(), err)
	}
	if point.AWS.Timestamp < before {
		t.Errorf("metric timestamp %d, want the real time (at least %d)", point.AWS.Timestamp, before)
	}
}
