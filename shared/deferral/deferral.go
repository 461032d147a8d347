// Package deferral queues fixes that must wait: EKS runs one update per
// cluster at a time, so an UpdateClusterConfig that meets the user's own
// update still running (ResourceInUseException) is sent to an SQS queue
// with a delay and tried again when the message comes back, instead of
// sleeping in the Lambda. The cluster function consumes the queue.
package deferral

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/eksguard/eksguard/shared/finding"
)

// SQS is the part of the SQS client the queue uses.
type SQS interface {
	SendMessage(ctx context.Context, params *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ SQS = (*sqs.Client)(nil)

// MaxDelay is the longest delay SQS accepts (15 minutes).
const MaxDelay = 900 * time.Second

// Defaults for the retry schedule.
const (
	DefaultDelay       = 2 * time.Minute
	DefaultMaxAttempts = 8
)

// Version is the message format version.
const Version = 1

// Message is a deferred fix: the finding (with its plan) and where it stands.
type Message struct {
	Version int             `json:"version"`
	Finding finding.Finding `json:"finding"`
	// Step names the finding within its event (for idempotency records).
	Step string `json:"step"`
	// Attempt is the number of the attempt this message asks for (the first
	// deferred retry is attempt 2: attempt 1 met the busy cluster).
	Attempt int `json:"attempt"`
	// Counted says the circuit breaker already counted this remediation.
	Counted bool `json:"counted"`
}

// Queue sends deferred fixes to an SQS queue.
type Queue struct {
	// SQS is the client (required).
	SQS SQS
	// URL is the queue; a nil Queue or an empty URL fails every Send.
	URL string
}

// Send queues the message, delivered after delay (capped at MaxDelay).
func (q *Queue) Send(ctx context.Context, m Message, delay time.Duration) error {
	if q == nil || q.URL == "" {
		return errors.New("defer fix: no queue configured (EKSGUARD_DEFER_QUEUE_URL)")
	}
	m.Version = Version
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("defer fix: encode message: %w", err)
	}
	delay = min(max(delay, 0), MaxDelay)
	_, err = q.SQS.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(q.URL),
		MessageBody:  aws.String(string(body)),
		DelaySeconds: int32(delay / time.Second),
	})
	if err != nil {
		return fmt.Errorf("defer fix of event %s to %s: %w", m.Finding.EventID, q.URL, err)
	}
	return nil
}

// Decode reads a message body, checking that it can be acted on.
func Decode(body string) (Message, error) {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return m, fmt.Errorf("decode deferred fix: %w", err)
	}
	switch {
	case m.Version != Version:
		return m, fmt.Errorf("decode deferred fix: version %d, want %d", m.Version, Version)
	case m.Finding.EventID == "" || m.Step == "":
		return m, errors.New("decode deferred fix: no event ID or step")
	case m.Finding.Plan == nil:
		return m, fmt.Errorf("decode deferred fix of event %s: no plan", m.Finding.EventID)
	case m.Attempt < 2:
		return m, fmt.Errorf("decode deferred fix of event %s: attempt %d", m.Finding.EventID, m.Attempt)
	}
	return m, nil
}

// Delay is the wait before the given attempt: base doubled for each
// attempt after the second, capped at MaxDelay.
func Delay(base time.Duration, attempt int) time.Duration {
	if base <= 0 {
		base = DefaultDelay
	}
	d := base
	for i := 2; i < attempt && d < MaxDelay; i++ {
		d *= 2
	}
	return min(d, MaxDelay)
}
