package slackalert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/slack-go/slack"

	"github.com/eksguard/eksguard/shared/dedup"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/slackhook"
)

// Metric names, in the "eksguard" CloudWatch namespace, emitted as Embedded
// Metric Format log lines with the dimension Function=notifier.
const (
	MetricNamespace           = "eksguard"
	MetricNotificationFailure = "NotificationFailures"
	// MetricNotConfigured counts findings not posted because the webhook
	// secret has no value yet (a deliberate state, so not a failure).
	MetricNotConfigured = "SlackNotConfigured"
	MetricFunction      = "notifier"
)

// Poster delivers a Slack message; it returns the attempts made.
type Poster interface {
	Post(ctx context.Context, msg *slack.WebhookMessage) (int, error)
}

// Deduper decides whether an occurrence is posted or folded, and takes
// back the claim of one whose alert could not be delivered.
type Deduper interface {
	Observe(ctx context.Context, key, state, messageID string) (dedup.Seen, error)
	Release(ctx context.Context, key, messageID string, seen dedup.Seen) error
}

// Notifier is the Slack notifier Lambda's handler: it receives the SNS
// topic's messages, applies the Slack threshold and the dedup window, and
// posts Block Kit messages. FromEnv builds it as the Lambda runs it.
type Notifier struct {
	// Policy gives the Slack threshold and the dedup window (required).
	Policy *policy.Policy
	// Slack posts the messages (required).
	Slack Poster
	// Dedup folds repeats; nil posts every finding.
	Dedup Deduper
	// Log is the logger (slog.Default() when nil).
	Log *slog.Logger
	// Metrics receives Embedded Metric Format lines (os.Stdout in Lambda);
	// nil emits none.
	Metrics io.Writer
	// Now stamps metrics (time.Now when nil).
	Now func() time.Time
	// Actions, when set (setting slackActions), keeps each actionable
	// finding (Actionable) for the interaction function and puts the Apply
	// fix and Expected change buttons on its message; nil posts none.
	Actions FindingKeeper
}

// FindingKeeper keeps a finding for the buttons and returns its reference
// (slackref.Store).
type FindingKeeper interface {
	Put(ctx context.Context, f *finding.Finding) (string, error)
}

func (n *Notifier) log() *slog.Logger {
	if n.Log != nil {
		return n.Log
	}
	return slog.Default()
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

// Handle processes one SNS delivery. An error makes Lambda retry the event
// and, after its last retry, send it to the dead-letter queue.
func (n *Notifier) Handle(ctx context.Context, ev events.SNSEvent) error {
	var errs []error
	for _, rec := range ev.Records {
		if err := n.handle(ctx, rec.SNS); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (n *Notifier) handle(ctx context.Context, msg events.SNSEntity) error {
	log := n.log().With("snsMessageId", msg.MessageID)
	if a, ok := decodeAlarm(msg.Message); ok {
		return n.postAlarm(ctx, log, a)
	}
	f, err := notify.DecodeMessage(msg.Message)
	if err != nil {
		log.ErrorContext(ctx, "cannot read the SNS message", "error", err)
		n.failure(log, "decode", nil)
		return fmt.Errorf("SNS message %s: %w", msg.MessageID, err)
	}
	log = log.With("rule", f.Rule, "severity", f.Severity.String(), "resource", f.Key(), "eventID", f.EventID)
	if f.Severity < n.Policy.Notify.Slack.MinSeverity {
		log.InfoContext(ctx, "below the Slack threshold, not posted", "minSeverity", n.Policy.Notify.Slack.MinSeverity.String())
		return nil
	}
	var fold *Fold
	var claim *dedup.Seen // the dedup claim this message holds while it posts
	key := dedup.Key(f.Rule, f.Key())
	if n.Dedup != nil {
		seen, err := n.Dedup.Observe(ctx, key, notify.OutcomeLabel(f), msg.MessageID)
		switch {
		case err != nil:
			// A duplicate is better than silence: post without folding.
			log.WarnContext(ctx, "dedup window unavailable, posting without folding", "error", err)
		case !seen.Post:
			log.InfoContext(ctx, "folded into an earlier alert", "count", seen.Count, "windowStart", seen.WindowStart)
			return nil
		default:
			claim = &seen
			fold = &Fold{Count: seen.Count, Folded: seen.Folded, Since: seen.WindowStart, Window: n.Policy.Notify.DedupWindow.Duration,
				Changed: seen.Reason == dedup.Changed}
			if p := seen.Previous; p != nil {
				fold.PreviousStart, fold.PreviousEnd, fold.PreviousFolded = p.Start, p.End, p.Folded
			}
		}
	}
	attempts, err := n.Slack.Post(ctx, n.message(ctx, log, f, fold))
	if err != nil && claim != nil {
		// Only a delivered alert may fold its repeats: give the claim back.
		if rerr := n.Dedup.Release(ctx, key, msg.MessageID, *claim); rerr != nil {
			log.ErrorContext(ctx, "cannot release the dedup claim of an undelivered alert; repeats in its window may be folded", "error", rerr)
		}
	}
	if errors.Is(err, slackhook.ErrNotConfigured) {
		// A deliberate state (the stack creates the secret empty): retrying
		// cannot help, and the finding has reached the topic's other subscribers.
		log.WarnContext(ctx, "Slack alerts are off until the webhook secret is set (see docs/deploy.md); finding not posted", "error", err)
		n.metric(log, MetricNotConfigured, "not-configured", f)
		return nil
	}
	if err != nil {
		stage := "slack"
		var herr *slackhook.Error
		if errors.As(err, &herr) && herr.Deadline {
			stage = "slack-deadline"
		}
		log.ErrorContext(ctx, "Slack delivery failed", "error", err, "attempts", attempts, "stage", stage)
		n.failure(log, stage, f)
		return fmt.Errorf("notify %s on %s (event %s): %w", f.Rule, notify.Resource(f), f.EventID, err)
	}
	count := 1
	if fold != nil {
		count = fold.Count
	}
	log.InfoContext(ctx, "posted to Slack", "attempts", attempts, "count", count)
	return nil
}

// message is the finding's Slack message, with the buttons when they are
// on and the finding is actionable. A finding that cannot be kept is posted
// without them.
func (n *Notifier) message(ctx context.Context, log *slog.Logger, f *finding.Finding, fold *Fold) *slack.WebhookMessage {
	msg := SlackMessage(f, fold)
	if n.Actions == nil || !Actionable(f) {
		return msg
	}
	ref, err := n.Actions.Put(ctx, f)
	if err != nil {
		log.WarnContext(ctx, "cannot keep the finding for its Slack buttons; posting without them", "error", err)
		return msg
	}
	return WithActions(msg, f, ref)
}

// failure emits one NotificationFailures data point as an EMF log line.
func (n *Notifier) failure(log *slog.Logger, stage string, f *finding.Finding) {
	n.metric(log, MetricNotificationFailure, stage, f)
}

// metric emits one data point of the named count as an EMF log line.
func (n *Notifier) metric(log *slog.Logger, name, stage string, f *finding.Finding) {
	if n.Metrics == nil {
		return
	}
	doc := map[string]any{
		"_aws": map[string]any{
			"Timestamp": n.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  MetricNamespace,
				"Dimensions": [][]string{{"Function"}},
				"Metrics":    []any{map[string]string{"Name": name, "Unit": "Count"}},
			}},
		},
		"Function": MetricFunction,
		name:       1,
		"stage":    stage,
	}
	if f != nil {
		doc["rule"], doc["eventID"] = f.Rule, f.EventID
	}
	b, err := json.Marshal(doc)
	if err == nil {
		_, err = n.Metrics.Write(append(b, '\n'))
	}
	if err != nil {
		log.Error("cannot write the metric", "metric", name, "error", err)
	}
}

// postAlarm posts an alarm's change of state. CloudWatch sends one message
// per change, so nothing is folded; a failed post is retried by Lambda like
// a finding's.
func (n *Notifier) postAlarm(ctx context.Context, log *slog.Logger, a Alarm) error {
	log = log.With("alarm", a.AlarmName, "state", a.NewStateValue)
	attempts, err := n.Slack.Post(ctx, AlarmMessage(a))
	if errors.Is(err, slackhook.ErrNotConfigured) {
		log.WarnContext(ctx, "Slack alerts are off until the webhook secret is set (see docs/deploy.md); alarm not posted", "error", err)
		return nil
	}
	if err != nil {
		log.ErrorContext(ctx, "cannot post the alarm to Slack", "attempts", attempts, "error", err)
		n.failure(log, "slack-alarm", nil)
		return fmt.Errorf("notify alarm %s: %w", a.AlarmName, err)
	}
	log.InfoContext(ctx, "alarm posted to Slack", "attempts", attempts)
	return nil
}
