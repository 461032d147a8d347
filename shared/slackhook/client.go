package slackhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// Defaults for delivery.
const (
	DefaultMaxAttempts = 4
	DefaultBaseDelay   = time.Second
	DefaultMaxDelay    = 20 * time.Second
	DefaultTimeout     = 10 * time.Second
	// DefaultReserve is the time left before the invocation's deadline
	// for what follows a failed post: the log line, the metric, the dedup
	// release, the error answer.
	DefaultReserve = time.Second
)

// Client posts to one webhook.
type Client struct {
	url         URL
	http        *http.Client
	sleep       func(ctx context.Context, d time.Duration) error
	maxAttempts int
	baseDelay   time.Duration
	maxDelay    time.Duration
	reserve     time.Duration
	log         *slog.Logger
}

// Options tune a Client. Each zero field has a default.
type Options struct {
	// HTTPClient sends the requests; its Timeout (DefaultTimeout when it
	// has none) bounds each attempt. Nil: a client with DefaultTimeout.
	HTTPClient *http.Client
	// Sleep waits between attempts (a timer that ends early with the
	// context when nil); tests record the waits instead.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxAttempts bounds the attempts per message (DefaultMaxAttempts when
	// zero, 1 when negative).
	MaxAttempts int
	// BaseDelay is the first wait of the exponential backoff
	// (DefaultBaseDelay when zero).
	BaseDelay time.Duration
	// MaxDelay caps the backoff (DefaultMaxDelay when zero).
	MaxDelay time.Duration
	// Reserve is the time kept free before the context's deadline: an
	// attempt (or a wait and an attempt) that would end later is not
	// started (DefaultReserve when zero, none when negative).
	Reserve time.Duration
	// Log receives each failed attempt, with the URL redacted
	// (slog.Default() when nil).
	Log *slog.Logger
}

// New returns a client for the webhook; optFns change the Options.
func New(u URL, optFns ...func(*Options)) *Client {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	c := &Client{
		url:         u,
		http:        o.HTTPClient,
		sleep:       o.Sleep,
		maxAttempts: o.MaxAttempts,
		baseDelay:   o.BaseDelay,
		maxDelay:    o.MaxDelay,
		reserve:     o.Reserve,
		log:         o.Log,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	if c.sleep == nil {
		c.sleep = sleepContext
	}
	switch {
	case c.maxAttempts == 0:
		c.maxAttempts = DefaultMaxAttempts
	case c.maxAttempts < 0:
		c.maxAttempts = 1
	}
	if c.baseDelay <= 0 {
		c.baseDelay = DefaultBaseDelay
	}
	if c.maxDelay <= 0 {
		c.maxDelay = DefaultMaxDelay
	}
	switch {
	case c.reserve == 0:
		c.reserve = DefaultReserve
	case c.reserve < 0:
		c.reserve = 0
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

// Error is a delivery failure. Its text never contains the webhook URL,
// and it does not wrap the HTTP library's error (which would).
type Error struct {
	// Attempts is how many requests were made.
	Attempts int
	// Status is the last HTTP status, 0 when no response came back.
	Status int
	// Timeout says the last attempt timed out.
	Timeout bool
	// Retryable says a later try might succeed (5xx, 429, network).
	Retryable bool
	// Deadline says the client stopped because the next attempt could not
	// have ended before the context's deadline.
	Deadline bool
	msg      string
}

func (e *Error) Error() string { return e.msg }

// attemptError is one attempt's failure, already scrubbed.
type attemptError struct {
	status     int
	timeout    bool
	retryable  bool
	retryAfter time.Duration // from a 429
	text       string
}

// Post sends the message, retrying transient failures with exponential
// backoff; a 429 waits exactly the Retry-After Slack asks for. An attempt
// whose timeout would end past the context's deadline (less the reserve)
// is not started: Post returns before the deadline with an *Error whose
// Deadline is set, rather than be cut off by it. It returns the number of
// attempts made. A failure is an *Error.
func (c *Client) Post(ctx context.Context, msg *slack.WebhookMessage) (int, error) {
	if c.url.v == "" {
		return 0, &Error{msg: "post to Slack webhook: no webhook URL configured"}
	}
	timeout := c.attemptTimeout()
	if left, ok := c.left(ctx); ok && left < timeout+c.reserve {
		return 0, &Error{Deadline: true, Retryable: true, msg: fmt.Sprintf(
			"post to Slack webhook: not attempted: %s left before the invocation's deadline, and an attempt may take %s (plus %s reserved)",
			left.Round(time.Millisecond), timeout, c.reserve)}
	}
	var last attemptError
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		err := slack.PostWebhookCustomHTTPContext(actx, c.url.v, c.http, msg)
		cancel()
		if err == nil {
			return attempt, nil
		}
		last = c.classify(ctx, err)
		if !last.retryable || attempt >= c.maxAttempts {
			return attempt, c.fail(attempt, last, "")
		}
		wait := last.retryAfter
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		if left, ok := c.left(ctx); ok && left < wait+timeout+c.reserve {
			e := c.fail(attempt, last, fmt.Sprintf("; gave up: the next try (in %s, taking up to %s) would pass the deadline (%s left)",
				wait, timeout, left.Round(time.Millisecond)))
			e.Deadline = true
			return attempt, e
		}
		c.log.WarnContext(ctx, "Slack webhook attempt failed, retrying",
			"attempt", attempt, "status", last.status, "error", last.text, "wait", wait.String())
		if err := c.sleep(ctx, wait); err != nil {
			return attempt, c.fail(attempt, last, "; gave up while waiting: "+c.url.scrub(err.Error()))
		}
	}
}

// attemptTimeout bounds one attempt: the HTTP client's timeout, or DefaultTimeout.
func (c *Client) attemptTimeout() time.Duration {
	if c.http != nil && c.http.Timeout > 0 {
		return c.http.Timeout
	}
	return DefaultTimeout
}

// left is the time until the context's deadline, if it has one.
func (c *Client) left(ctx context.Context) (time.Duration, bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return time.Until(dl), true
}

func (c *Client) fail(attempts int, last attemptError, extra string) *Error {
	noun := "attempts"
	if attempts == 1 {
		noun = "attempt"
	}
	msg := fmt.Sprintf("post to Slack webhook: %s (%d %s)%s", last.text, attempts, noun, extra)
	return &Error{Attempts: attempts, Status: last.status, Timeout: last.timeout, Retryable: last.retryable, msg: c.url.scrub(msg)}
}

// backoff is base * 2^(attempt-1), capped.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.baseDelay
	for i := 1; i < attempt && d < c.maxDelay; i++ {
		d *= 2
	}
	return min(d, c.maxDelay)
}

// classify turns slack-go's and net/http's errors into a scrubbed verdict.
func (c *Client) classify(ctx context.Context, err error) attemptError {
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var ue *url.Error
	var ne *strconv.NumError
	switch {
	case errors.As(err, &rl):
		return attemptError{status: http.StatusTooManyRequests, retryable: true, retryAfter: rl.RetryAfter,
			text: fmt.Sprintf("HTTP 429 rate limited (Retry-After %s)", rl.RetryAfter)}
	case errors.As(err, &sc):
		return attemptError{status: sc.Code, retryable: retryableStatus(sc.Code), text: describeStatus(sc.Code)}
	case errors.As(err, &ne):
		// A 429 whose Retry-After is not a number of seconds.
		return attemptError{status: http.StatusTooManyRequests, retryable: true,
			text: "HTTP 429 rate limited (unreadable Retry-After)"}
	case errors.As(err, &ue):
		timeout := ue.Timeout()
		text := "request failed: " + c.url.scrub(ue.Err.Error())
		if timeout {
			text = "request timed out: " + c.url.scrub(ue.Err.Error())
		}
		// A cancelled invocation cannot be retried here; Lambda retries it.
		return attemptError{timeout: timeout, retryable: ctx.Err() == nil, text: text}
	}
	return attemptError{text: c.url.scrub(err.Error())}
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

func describeStatus(code int) string {
	text := fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))
	switch code {
	case http.StatusBadRequest:
		text += " (Slack rejected the payload)"
	case http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		text += " (the webhook was revoked, or its channel archived or deleted: replace the secret)"
	}
	return text
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
