package slackhook

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
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// secretPath is the part of a webhook URL that grants posting.
const secretPath = "/services/T0FAKE/B0FAKE/xoxsecretTOKEN123"

// hook is a fake Slack webhook that answers with the queued responses, then 200 "ok".
type hook struct {
	t         *testing.T
	srv       *httptest.Server
	mu        sync.Mutex
	responses []func(w http.ResponseWriter, r *http.Request)
	bodies    [][]byte
}

func newHook(t *testing.T, responses ...func(w http.ResponseWriter, r *http.Request)) *hook {
	h := &hook{t: t, responses: responses}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != secretPath || r.Header.Get("Content-Type") != "application/json" {
		h.t.Errorf("fake webhook got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, body)
	var respond func(w http.ResponseWriter, r *http.Request)
	if len(h.responses) > 0 {
		respond, h.responses = h.responses[0], h.responses[1:]
	}
	h.mu.Unlock()
	if respond != nil {
		respond(w, r)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

func (h *hook) url(t *testing.T) URL {
	u, err := ParseURL(h.srv.URL + secretPath)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (h *hook) requests() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

func status(code int, headers ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "error body")
	}
}

// sleeps records the waits instead of sleeping.
type sleeps struct{ d []time.Duration }

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.d = append(s.d, d)
	return nil
}

// options makes the client sleep through s.
func (s *sleeps) options(o *Options) { o.Sleep = s.sleep }

// logs captures JSON log lines.
func logs() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewJSONHandler(&b, nil)), &b
}

func message() *slack.WebhookMessage {
	return &slack.WebhookMessage{Text: "hello", Blocks: &slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*hi*", false, false), nil, nil),
	}}}
}

// assertNoSecret fails when the webhook URL or its token appears in s.
func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{secretPath, "xoxsecretTOKEN123", "B0FAKE/"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s contains the webhook secret %q:\n%s", what, secret, s)
		}
	}
}

func TestPostSendsTheMessageOnce(t *testing.T) {
	h := newHook(t)
	var s sleeps
	attempts, err := New(h.url(t), s.options).Post(context.Background(), message())
	if err != nil || attempts != 1 {
		t.Fatalf("Post = %d, %v; want 1 attempt, no error", attempts, err)
	}
	var got struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	}
	if err := json.Unmarshal(h.bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	if got.Text != "hello" || len(got.Blocks) != 1 || got.Blocks[0]["type"] != "section" {
		t.Errorf("webhook body = %s", h.bodies[0])
	}
	if len(s.d) != 0 {
		t.Errorf("slept %v on success", s.d)
	}
}

func TestPostHonoursRetryAfterOn429(t *testing.T) {
	h := newHook(t, status(429, "Retry-After", "7"), status(429, "Retry-After", "3"))
	var s sleeps
	log, buf := logs()
	attempts, err := New(h.url(t), s.options, func(o *Options) { o.Log = log }).Post(context.Background(), message())
	if err != nil || attempts != 3 {
		t.Fatalf("Post = %d, %v; want success on attempt 3", attempts, err)
	}
	if want := []time.Duration{7 * time.Second, 3 * time.Second}; fmt.Sprint(s.d) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want the Retry-After values %v", s.d, want)
	}
	if !strings.Contains(buf.String(), "HTTP 429") {
		t.Errorf("retries not logged:\n%s", buf)
	}
	assertNoSecret(t, "logs", buf.String())
}

func TestPostBacksOffExponentiallyOn5xxThenFails(t *testing.T) {
	h := newHook(t, status(500), status(502), status(503), status(500), status(500))
	var s sleeps
	log, buf := logs()
	attempts, err := New(h.url(t), s.options, func(o *Options) { o.Log = log }).Post(context.Background(), message())
	if attempts != DefaultMaxAttempts || h.requests() != DefaultMaxAttempts {
		t.Errorf("attempts = %d, requests = %d; want %d", attempts, h.requests(), DefaultMaxAttempts)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; fmt.Sprint(s.d) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want %v", s.d, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Status != 500 || !e.Retryable || e.Attempts != 4 {
		t.Fatalf("error = %#v", err)
	}
	if want := "post to Slack webhook: HTTP 500 Internal Server Error (4 attempts)"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	assertNoSecret(t, "error", err.Error())
	assertNoSecret(t, "logs", buf.String())
}

func TestBackoffIsCapped(t *testing.T) {
	h := newHook(t, status(500), status(500), status(500), status(500), status(500), status(500))
	var s sleeps
	_, err := New(h.url(t), s.options, func(o *Options) { o.MaxAttempts, o.BaseDelay, o.MaxDelay = 6, 5*time.Second, 12*time.Second }).Post(context.Background(), message())
	if err == nil {
		t.Fatal("no error after six 500s")
	}
	if want := []time.Duration{5 * time.Second, 10 * time.Second, 12 * time.Second, 12 * time.Second, 12 * time.Second}; fmt.Sprint(s.d) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want %v", s.d, want)
	}
}

// Zero options take the defaults (the default logger included); a
// negative attempt count means one attempt.
func TestOptionsDefaults(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	h := newHook(t, status(500), status(500), status(500), status(500))
	var s sleeps
	attempts, err := New(h.url(t), s.options, func(o *Options) { o.Log = nil }).Post(context.Background(), message())
	if err == nil || attempts != DefaultMaxAttempts {
		t.Errorf("Post = %d, %v; want %d failed attempts", attempts, err, DefaultMaxAttempts)
	}
	if got, want := strings.Count(buf.String(), "Slack webhook attempt failed, retrying"), DefaultMaxAttempts-1; got != want {
		t.Errorf("default logger got %d retry lines, want %d:\n%s", got, want, buf.String())
	}
	assertNoSecret(t, "logs", buf.String())

	h = newHook(t, status(500))
	attempts, err = New(h.url(t), s.options, func(o *Options) { o.MaxAttempts = -3 }).Post(context.Background(), message())
	if err == nil || attempts != 1 || h.requests() != 1 {
		t.Errorf("MaxAttempts -3: Post = %d, %v after %d requests; want one failed attempt", attempts, err, h.requests())
	}
}

func TestPostDoesNotRetryRejectedPayloadOrRevokedHook(t *testing.T) {
	for _, code := range []int{400, 403, 404, 410} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			h := newHook(t, status(code))
			var s sleeps
			attempts, err := New(h.url(t), s.options).Post(context.Background(), message())
			var e *Error
			if attempts != 1 || !errors.As(err, &e) || e.Retryable || e.Status != code {
				t.Fatalf("Post = %d, %#v; want one attempt and a permanent error", attempts, err)
			}
			if code != 400 && !strings.Contains(err.Error(), "replace the secret") {
				t.Errorf("error does not say what to do: %v", err)
			}
		})
	}
}

func TestPostTimeoutKeepsTheURLOutOfErrorsAndLogs(t *testing.T) {
	release := make(chan struct{})
	blocked := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	h := newHook(t, blocked, blocked)
	defer close(release)
	var s sleeps
	log, buf := logs()
	c := New(h.url(t), s.options, func(o *Options) {
		o.Log, o.MaxAttempts = log, 2
		o.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
	})
	attempts, err := c.Post(context.Background(), message())
	var e *Error
	if attempts != 2 || !errors.As(err, &e) || !e.Timeout || !e.Retryable || e.Status != 0 {
		t.Fatalf("Post = %d, %#v; want 2 timed-out attempts", attempts, err)
	}
	if !strings.Contains(err.Error(), "request timed out") {
		t.Errorf("error does not say it timed out: %v", err)
	}
	assertNoSecret(t, "error", err.Error())
	assertNoSecret(t, "error (%+v)", fmt.Sprintf("%+v %#v", err, err))
	assertNoSecret(t, "logs", buf.String())
	if !strings.Contains(buf.String(), "timed out") {
		t.Errorf("the retry was not logged:\n%s", buf)
	}
}

func TestPostConnectionRefusedKeepsTheURLOut(t *testing.T) {
	h := newHook(t)
	u := h.url(t)
	h.srv.Close()
	var s sleeps
	attempts, err := New(u, s.options, func(o *Options) { o.MaxAttempts = 2 }).Post(context.Background(), message())
	if attempts != 2 || err == nil {
		t.Fatalf("Post = %d, %v; want 2 failed attempts", attempts, err)
	}
	assertNoSecret(t, "error", err.Error())
}

func TestPostGivesUpWhenRetryAfterPassesTheDeadline(t *testing.T) {
	h := newHook(t, status(429, "Retry-After", "3600"))
	var s sleeps
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	attempts, err := New(h.url(t), s.options).Post(ctx, message())
	if attempts != 1 || err == nil || len(s.d) != 0 {
		t.Fatalf("Post = %d, %v after waits %v; want to give up at once", attempts, err, s.d)
	}
	if !strings.Contains(err.Error(), "would pass the deadline") {
		t.Errorf("error = %v", err)
	}
}

func TestURLNeverPrints(t *testing.T) {
	u, err := ParseURL("https://hooks.slack.com" + secretPath)
	if err != nil {
		t.Fatal(err)
	}
	log, buf := logs()
	log.Info("x", "url", u)
	j, _ := json.Marshal(struct{ U URL }{u})
	for what, s := range map[string]string{
		//lint:ignore S1025 the test checks what each fmt verb prints, not String
		"%v": fmt.Sprintf("%v", u), "%s": fmt.Sprintf("%s", u), "%+v": fmt.Sprintf("%+v", u), "%#v": fmt.Sprintf("%#v", u),
		"slog": buf.String(), "json": string(j),
	} {
		assertNoSecret(t, what, s)
		if !strings.Contains(s, Redacted) {
			t.Errorf("%s = %q, want the placeholder", what, s)
		}
	}
	if _, err := ParseURL("ftp://x" + secretPath); err == nil {
		t.Error("ParseURL accepted ftp")
	} else {
		assertNoSecret(t, "ParseURL error", err.Error())
	}
}

func TestScrubCatchesEscapedForms(t *testing.T) {
	u, _ := ParseURL("https://hooks.slack.com" + secretPath)
	for _, s := range []string{
		"Post \"https://hooks.slack.com" + secretPath + "\": EOF",
		"path " + secretPath,
		"escaped https%3A%2F%2Fhooks.slack.com%2Fservices%2FT0FAKE%2FB0FAKE%2FxoxsecretTOKEN123",
		"token alone: xoxsecretTOKEN123",
	} {
		assertNoSecret(t, "scrubbed", u.scrub(s))
	}
}

// A webhook that hangs: each attempt runs to its timeout. An attempt that
// could not end before the deadline (less the reserve) is not started, and
// Post returns its own error while the context is still live.
func TestPostStartsNoAttemptThatWouldOutlastTheDeadline(t *testing.T) {
	release := make(chan struct{})
	blocked := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	h := newHook(t, blocked, blocked, blocked, blocked)
	defer close(release)
	// 1s to the deadline, 100ms attempts, 50ms reserve, waits of 250ms then
	// 500ms: attempt 1 at 0, attempt 2 at ~350ms (0.9s left >= 0.4s), then
	// ~0.55s left: enough for the 500ms wait, not for it and an attempt
	// (0.65s), so no third attempt, which would have been cut by the deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c := New(h.url(t), func(o *Options) {
		o.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
		o.Reserve, o.BaseDelay, o.MaxDelay = 50*time.Millisecond, 250*time.Millisecond, time.Second
	})
	attempts, err := c.Post(ctx, message())
	if ctx.Err() != nil {
		t.Fatalf("Post returned after the deadline (%v): %v", ctx.Err(), err)
	}
	var e *Error
	if !errors.As(err, &e) || !e.Deadline || !e.Timeout || e.Attempts != 2 || attempts != 2 || h.requests() != 2 {
		t.Fatalf("Post = %d, %v (%#v), %d requests; want 2 timed-out attempts, then a deadline stop", attempts, err, err, h.requests())
	}
	if !strings.Contains(err.Error(), "would pass the deadline") {
		t.Errorf("error = %v", err)
	}
	assertNoSecret(t, "error", err.Error())

	// With less left than one attempt needs, none is made.
	short, cancel2 := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel2()
	attempts, err = c.Post(short, message())
	if !errors.As(err, &e) || !e.Deadline || attempts != 0 || h.requests() != 2 || !strings.Contains(err.Error(), "not attempted") {
		t.Errorf("Post = %d, %v, %d requests; want no attempt", attempts, err, h.requests())
	}
}
