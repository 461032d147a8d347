// Package slackaction is the interaction function: Slack's requests for
// the Apply fix and Expected change buttons, behind a Lambda function URL
// (auth type NONE, as Slack cannot sign with SigV4: the function checks
// Slack's own signature), verified, deduplicated, checked against the
// policy's approvers and acted on.
package slackaction

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxAge is how far a request's timestamp may be from now.
const MaxAge = 5 * time.Minute

// Why a request's signature is refused.
var (
	ErrUnsigned     = errors.New("request is not signed: X-Slack-Signature or X-Slack-Request-Timestamp is missing")
	ErrBadSignature = errors.New("request signature does not match")
	ErrStale        = errors.New("request timestamp is more than five minutes from now")
)

// Sign is the X-Slack-Signature of a body sent at a timestamp: v0= and the
// hex HMAC-SHA256, keyed by the signing secret, of "v0:<timestamp>:<body>".
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a request's signature against the signing secret, in
// constant time, and that its timestamp is within MaxAge of now.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time) error {
	if timestamp == "" || signature == "" {
		return ErrUnsigned
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: X-Slack-Request-Timestamp is not a number", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxAge || d < -MaxAge {
		return ErrStale
	}
	if !strings.HasPrefix(signature, "v0=") {
		return fmt.Errorf("%w: not a v0 signature", ErrBadSignature)
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, timestamp, body))) {
		return ErrBadSignature
	}
	return nil
}
