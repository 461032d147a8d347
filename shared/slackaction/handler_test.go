package slackaction

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/findingtest"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/slackalert"
	"github.com/eksguard/eksguard/shared/slackref"
	"github.com/eksguard/eksguard/shared/suppress"
)

const (
	signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	approver      = "U012APPROVER"
	stranger      = "U0STRANGER"
	secretARN     = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:eksguard/slack-app-AbCdEf"
	devTeam       = "arn:aws:iam::111122223333:role/dev-team"
	adminPol      = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	viewPol       = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
)

const testPolicy = `{"version":1,"defaults":{"mode":"notify"},"principals":{"admins":["arn:aws:iam::111122223333:role/platform-admins"]},"notify":{"slack":{"minSeverity":"low","approvers":{"users":["` + approver + `"]}}}}`

// slackFake is Slack's side: response_url and views.open.
type slackFake struct {
	srv     *httptest.Server
	mu      sync.Mutex
	replies []map[string]any
	opened  []map[string]any
}

func newSlackFake(t *testing.T) *slackFake {
	s := &slackFake{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var doc map[string]any
		_ = json.Unmarshal(body, &doc)
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case strings.HasPrefix(r.URL.Path, "/actions/"):
			s.replies = append(s.replies, doc)
			_, _ = io.WriteString(w, "ok")
		case r.URL.Path == "/api/views.open":
			if r.Header.Get("Authorization") != "Bearer xoxb-test-token" {
				_, _ = io.WriteString(w, `{"ok":false,"error":"not_authed"}`)
				return
			}
			s.opened = append(s.opened, doc)
			_, _ = io.WriteString(w, `{"ok":true}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *slackFake) lastReply(t *testing.T) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.replies) == 0 {
		t.Fatal("no reply through response_url")
	}
	return s.replies[len(s.replies)-1]
}

type rig struct {
	h     *Handler
	w     *awsfake.World
	slack *slackFake
	now   time.Time
	logs  *bytes.Buffer
	refs  *slackref.Store
}

// newRig builds the handler as the Lambda does (FromEnv against the fakes),
// then points its Slack calls at the Slack fake and its clocks at the rig's.
func newRig(t *testing.T, env map[string]string) *rig {
	t.Helper()
	w := awsfake.New(t)
	vars := w.Env()
	maps.Copy(vars, map[string]string{
		config.EnvPolicy: testPolicy, config.EnvTable: "eksguard", config.EnvTopicARN: "arn:aws:sns:eu-west-1:111122223333:eksguard",
		config.EnvSlackSigningSecretARN: secretARN, config.EnvRemediation: "", config.EnvKillSwitchParameter: "",
	})
	maps.Copy(vars, env)
	for k, v := range vars {
		t.Setenv(k, v)
	}
	w.SecretsManager.Set(secretARN, `{"signingSecret":"`+signingSecret+`","botToken":"xoxb-test-token"}`)
	logs := &bytes.Buffer{}
	h, err := FromEnv(context.Background(), slog.New(slog.NewJSONHandler(logs, nil)), func(c *aws.Config) { c.Retryer = awsfake.FastRetryer })
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{h: h, w: w, slack: newSlackFake(t), now: time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC), logs: logs}
	clock := func() time.Time { return r.now }
	h.Now = clock
	h.SlackAPI = r.slack.srv.URL + "/api"
	h.ResponseURLPrefix = r.slack.srv.URL + "/actions/"
	h.Findings.(*slackref.Store).Now = clock
	h.Suppress.(*suppress.Store).Now = clock
	r.refs = h.Findings.(*slackref.Store)
	w.EKS.Put(awsfake.Cluster{Name: "payments-prod", Entries: map[string]*awsfake.AccessEntry{devTeam: {Policies: []string{viewPol, adminPol}}}})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs)
		}
		if strings.Contains(logs.String(), signingSecret) || strings.Contains(logs.String(), "xoxb-test-token") ||
			strings.Contains(logs.String(), "/actions/T0TEAM/1/abc") || strings.Contains(logs.String(), "legacy-verification-token") {
			t.Error("a secret, the response_url or the payload's token reached the logs")
		}
	})
	return r
}

// notified keeps the finding a notify-mode message carries buttons for.
func (r *rig) notified(t *testing.T) (*finding.Finding, string) {
	t.Helper()
	f := findingtest.AdminFinding()
	f.Principal, f.Plan.PrincipalARN, f.Plan.PolicyARN, f.Plan.Cluster, f.Cluster = devTeam, devTeam, adminPol, "payments-prod", "payments-prod"
	f.Mode = finding.ModeNotify
	f.Outcome = &finding.Outcome{Status: finding.StatusSkippedMode}
	ref, err := r.refs.Put(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return f, ref
}

func payload(t *testing.T, p map[string]any) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return "payload=" + url.QueryEscape(string(b))
}

func (r *rig) click(t *testing.T, user, action, ref string) string {
	return payload(t, map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": "someone"}, "team": map[string]any{"id": "T0TEAM"},
		"trigger_id": "1.2.3", "response_url": r.slack.srv.URL + "/actions/T0TEAM/1/abc", "token": "legacy-verification-token",
		"actions": []any{map[string]any{"action_id": action, "block_id": slackalert.ActionsBlockID, "value": ref}},
	})
}

// request is the function URL event (payload format 2.0) of a body signed
// at ts; sign false leaves the signature out.
func request(body string, ts time.Time, sig string) events.LambdaFunctionURLRequest {
	req := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: "/", Body: base64.StdEncoding.EncodeToString([]byte(body)), IsBase64Encoded: true,
		Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"},
	}
	req.RequestContext.HTTP.Method = http.MethodPost
	req.RequestContext.HTTP.SourceIP = "203.0.113.9"
	if !ts.IsZero() {
		req.Headers["x-slack-request-timestamp"] = strconv.FormatInt(ts.Unix(), 10)
	}
	if sig != "" {
		req.Headers["x-slack-signature"] = sig
	}
	return req
}

func (r *rig) signed(body string) events.LambdaFunctionURLRequest {
	ts := strconv.FormatInt(r.now.Unix(), 10)
	return request(body, r.now, Sign([]byte(signingSecret), ts, []byte(body)))
}

func (r *rig) do(t *testing.T, req events.LambdaFunctionURLRequest) events.LambdaFunctionURLResponse {
	t.Helper()
	resp, err := r.h.Handle(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestSignature(t *testing.T) {
	r := newRig(t, nil)
	_, ref := r.notified(t)
	body := r.click(t, stranger, slackalert.ActionApplyFix, ref)
	ts := strconv.FormatInt(r.now.Unix(), 10)
	good := Sign([]byte(signingSecret), ts, []byte(body))
	stale := r.now.Add(-6 * time.Minute)
	for name, c := range map[string]struct {
		req  events.LambdaFunctionURLRequest
		want int
	}{
		"missing signature": {request(body, r.now, ""), 401},
		"missing timestamp": {request(body, time.Time{}, good), 401},
		"bad signature":     {request(body, r.now, Sign([]byte("another secret"), ts, []byte(body))), 401},
		"tampered body":     {request(body+"x", r.now, good), 401},
		"stale":             {request(body, stale, Sign([]byte(signingSecret), strconv.FormatInt(stale.Unix(), 10), []byte(body))), 401},
	} {
		if got := r.do(t, c.req); got.StatusCode != c.want {
			t.Errorf("%s: got %d, want %d", name, got.StatusCode, c.want)
		}
	}
	if n := len(r.w.Log.Of("eks")); n != 0 {
		t.Errorf("refused requests made %d EKS calls, want none", n)
	}
	// Signed well: accepted once, refused when replayed.
	if got := r.do(t, request(body, r.now, good)); got.StatusCode != 200 {
		t.Errorf("good: got %d, want 200", got.StatusCode)
	}
	if got := r.do(t, request(body, r.now, good)); got.StatusCode != 401 {
		t.Errorf("replayed: got %d, want 401", got.StatusCode)
	}
}

func TestApplyFixRunsOnceForAnApprover(t *testing.T) {
	r := newRig(t, nil)
	_, ref := r.notified(t)
	if got := r.do(t, r.signed(r.click(t, approver, slackalert.ActionApplyFix, ref))); got.StatusCode != 200 {
		t.Fatalf("got %d, want 200", got.StatusCode)
	}
	var ops []string
	for _, c := range r.w.Log.Of("eks") {
		ops = append(ops, c.Op+" "+c.Method+" "+c.Path)
	}
	want := []string{
		"ListAssociatedAccessPolicies GET /clusters/payments-prod/access-entries/" + url.QueryEscape(devTeam) + "/access-policies",
		"DisassociateAccessPolicy DELETE /clusters/payments-prod/access-entries/" + url.QueryEscape(devTeam) + "/access-policies/" + url.QueryEscape(adminPol),
	}
	if strings.Join(ops, "\n") != strings.Join(want, "\n") {
		t.Errorf("EKS calls:\ngot  %v\nwant %v", ops, want)
	}
	if c, _ := r.w.EKS.Get("payments-prod"); len(c.Entries[devTeam].Policies) != 1 || c.Entries[devTeam].Policies[0] != viewPol {
		t.Errorf("policies after the fix: got %v, want only %s", c.Entries[devTeam].Policies, viewPol)
	}
	pub := r.w.SNS.Published()
	if len(pub) != 1 {
		t.Fatalf("published %d, want the outcome once", len(pub))
	}
	f, err := notify.DecodeMessage(pub[0].Message)
	if err != nil || f.ApprovedBy != approver || f.Outcome.Status != finding.StatusRemediated {
		t.Errorf("published: got %+v (%v), want remediated, approved by %s", f, err, approver)
	}
	reply := r.slack.lastReply(t)
	if reply["replace_original"] != true || !strings.Contains(mustJSON(t, reply), `\u003c@`+approver+`\u003e`) {
		t.Errorf("reply: got %s, want the message replaced, naming the approver", mustJSON(t, reply))
	}

	// A double click: a new request (new timestamp) for the same finding.
	r.now = r.now.Add(2 * time.Second)
	if got := r.do(t, r.signed(r.click(t, approver, slackalert.ActionApplyFix, ref))); got.StatusCode != 200 {
		t.Fatalf("second click: got %d, want 200", got.StatusCode)
	}
	if n := countOp(r.w, "eks", "DisassociateAccessPolicy"); n != 1 {
		t.Errorf("DisassociateAccessPolicy: got %d calls, want 1", n)
	}
	if n := len(r.w.SNS.Published()); n != 1 {
		t.Errorf("published: got %d, want still 1", n)
	}
	if !strings.Contains(mustJSON(t, r.slack.lastReply(t)), "already approved and applied once") {
		t.Errorf("second reply: got %s, want it to say the fix ran once", mustJSON(t, r.slack.lastReply(t)))
	}
}

// The refusal is a low finding: with the Slack threshold at low (as in
// testPolicy) it is published.
func TestStrangerIsRefused(t *testing.T) {
	r := newRig(t, nil)
	_, ref := r.notified(t)
	if got := r.do(t, r.signed(r.click(t, stranger, slackalert.ActionApplyFix, ref))); got.StatusCode != 200 {
		t.Fatalf("got %d, want 200", got.StatusCode)
	}
	if n := len(r.w.Log.Of("eks")); n != 0 {
		t.Errorf("a stranger's click made %d EKS calls, want none", n)
	}
	reply := r.slack.lastReply(t)
	if reply["response_type"] != "ephemeral" || !strings.Contains(reply["text"].(string), "not allowed") {
		t.Errorf("reply: got %v, want an ephemeral not allowed", reply)
	}
	pub := r.w.SNS.Published()
	if len(pub) != 1 {
		t.Fatalf("published %d, want the refused attempt", len(pub))
	}
	f, _ := notify.DecodeMessage(pub[0].Message)
	if f == nil || f.Rule != RuleActionRefused || f.Severity != finding.Low || !strings.Contains(f.Summary, stranger) {
		t.Errorf("published %+v, want a low %s naming %s", f, RuleActionRefused, stranger)
	}
	if !strings.Contains(r.logs.String(), "Slack action refused") {
		t.Error("the refusal is not logged")
	}
}

func TestKillSwitchStopsTheFixAndSaysWhy(t *testing.T) {
	r := newRig(t, map[string]string{config.EnvRemediation: "off"})
	_, ref := r.notified(t)
	r.do(t, r.signed(r.click(t, approver, slackalert.ActionApplyFix, ref)))
	if n := countOp(r.w, "eks", "DisassociateAccessPolicy"); n != 0 {
		t.Errorf("DisassociateAccessPolicy: got %d calls, want none with the kill switch on", n)
	}
	if s := mustJSON(t, r.slack.lastReply(t)); !strings.Contains(s, "switched off") {
		t.Errorf("reply: got %s, want it to say remediation is switched off", s)
	}
}

func TestExpectedChange(t *testing.T) {
	r := newRig(t, nil)
	f, ref := r.notified(t)
	r.do(t, r.signed(r.click(t, approver, slackalert.ActionExpectedChange, ref)))
	r.slack.mu.Lock()
	opened := r.slack.opened
	r.slack.mu.Unlock()
	if len(opened) != 1 {
		t.Fatalf("views.open: got %d calls, want 1", len(opened))
	}
	view := opened[0]["view"].(map[string]any)
	if view["callback_id"] != CallbackExpectedChange || opened[0]["trigger_id"] != "1.2.3" {
		t.Fatalf("modal: got %v, want the Expected change modal for trigger 1.2.3", opened[0])
	}
	submit := func(user, reason string) events.LambdaFunctionURLResponse {
		r.now = r.now.Add(time.Second)
		return r.do(t, r.signed(payload(t, map[string]any{
			"type": "view_submission", "user": map[string]any{"id": user},
			"view": map[string]any{"callback_id": CallbackExpectedChange, "private_metadata": view["private_metadata"],
				"state": map[string]any{"values": map[string]any{
					"duration": map[string]any{"duration": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "4h0m0s"}}},
					"reason":   map[string]any{"reason": map[string]any{"type": "plain_text_input", "value": reason}},
				}}},
		})))
	}
	if got := submit(approver, "  "); !strings.Contains(got.Body, `"response_action":"errors"`) {
		t.Errorf("no reason: got %d %s, want the modal's errors", got.StatusCode, got.Body)
	}
	if got := submit(stranger, "mine"); !strings.Contains(got.Body, `"response_action":"errors"`) {
		t.Errorf("stranger: got %d %s, want the modal's errors", got.StatusCode, got.Body)
	}
	if got := submit(approver, "payments onboarding"); got.StatusCode != 200 || got.Body != "" {
		t.Fatalf("submission: got %d %q, want 200 and an empty body (the modal closes)", got.StatusCode, got.Body)
	}
	sup, ok, err := r.h.Suppress.(*suppress.Store).Active(context.Background(), f.Rule, f.Key())
	if err != nil || !ok || sup.Who != approver || sup.Why != "payments onboarding" || !sup.Until.Equal(r.now.Add(4*time.Hour)) {
		t.Errorf("suppression: got %+v %t %v, want 4 hours by %s", sup, ok, err, approver)
	}
	if s := mustJSON(t, r.slack.lastReply(t)); !strings.Contains(s, "Expected change") || !strings.Contains(s, "payments onboarding") {
		t.Errorf("reply: got %s, want the expected change told in the channel", s)
	}
}

func TestExpiredButtons(t *testing.T) {
	r := newRig(t, nil)
	_, ref := r.notified(t)
	r.now = r.now.Add(slackref.TTL + time.Hour)
	r.do(t, r.signed(r.click(t, approver, slackalert.ActionApplyFix, ref)))
	if n := len(r.w.Log.Of("eks")); n != 0 {
		t.Errorf("expired buttons made %d EKS calls, want none", n)
	}
	if s := mustJSON(t, r.slack.lastReply(t)); !strings.Contains(s, "expired") {
		t.Errorf("reply: got %s, want it to say the buttons expired", s)
	}
}

// A reply that cannot be delivered is logged without its URL.
func TestUndeliverableReplyKeepsTheURLOutOfTheLog(t *testing.T) {
	r := newRig(t, nil)
	_, ref := r.notified(t)
	r.slack.srv.Close() // Slack unreachable
	if got := r.do(t, r.signed(r.click(t, stranger, slackalert.ActionApplyFix, ref))); got.StatusCode != 200 {
		t.Fatalf("got %d, want 200", got.StatusCode)
	}
	if !strings.Contains(r.logs.String(), "cannot reply through response_url") {
		t.Errorf("the failed reply is not logged:\n%s", r.logs.String())
	}
}

func countOp(w *awsfake.World, service, op string) int {
	n := 0
	for _, c := range w.Log.Of(service) {
		if c.Op == op {
			n++
		}
	}
	return n
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
