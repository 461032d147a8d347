package guard

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/deferral"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/idempotency"
)

// HandleSQS applies deferred fixes from the defer queue. Each message is
// handled on its own; the ones that fail are reported in the partial batch
// response so that SQS redelivers only them (and, after the queue's
// maxReceiveCount, moves them to its dead-letter queue).
func (g *Guard) HandleSQS(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, m := range ev.Records {
		if err := g.retryMessage(ctx, m); err != nil {
			g.log().ErrorContext(ctx, "deferred fix not handled; SQS will deliver it again", "messageId", m.MessageId, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

func (g *Guard) retryMessage(ctx context.Context, m events.SQSMessage) error {
	dm, err := deferral.Decode(m.Body)
	if err != nil {
		return fmt.Errorf("message %s: %w", m.MessageId, err)
	}
	f := dm.Finding
	ctx = assume.WithEventID(ctx, f.EventID)
	log := g.log().With("eventID", f.EventID, "rule", f.Rule, "attempt", dm.Attempt, "messageId", m.MessageId, "function", g.Family.Name)
	claim, state, err := g.Events.Claim(ctx, fmt.Sprintf("%s#%s#a%d", f.EventID, dm.Step, dm.Attempt))
	switch {
	case err != nil:
		return fmt.Errorf("message %s: %w", m.MessageId, err)
	case state == idempotency.Done:
		log.InfoContext(ctx, "duplicate delivery of a handled deferred fix: nothing to do")
		return nil
	case state == idempotency.Busy:
		return fmt.Errorf("message %s: %w", m.MessageId, idempotency.ErrBusy)
	}
	run := &eventRun{g: g, claim: claim, log: log}
	var rec stepRecord
	if v, ok := claim.Step("fix"); ok && json.Unmarshal([]byte(v), &rec) == nil {
		log.InfoContext(ctx, "outcome recorded by an earlier invocation", "outcome", rec.Outcome.Status)
	} else {
		rec = g.retryDecide(ctx, run, &f, dm)
		run.record(ctx, "fix", rec)
	}
	o := rec.Outcome
	f.Outcome = &o
	logOutcome(ctx, log, &f)
	// Deferred again: the next message carries on; nothing to tell yet.
	if o.Status != finding.StatusDeferred {
		if err := run.publish(ctx, &f, "fix.sent"); err != nil {
			g.release(ctx, claim, log)
			return fmt.Errorf("message %s: %w", m.MessageId, err)
		}
	}
	if err := claim.Complete(ctx); err != nil {
		log.WarnContext(ctx, "cannot mark the deferred fix completed", "error", err)
	}
	return nil
}

// retryDecide re-checks the mode and the kill switch (either may have
// changed while the fix waited) and tries again.
func (g *Guard) retryDecide(ctx context.Context, run *eventRun, f *finding.Finding, dm deferral.Message) stepRecord {
	if mode := g.Policy.For(f.Account).ModeFor(f.Rule); mode != finding.ModeRemediate {
		rec := outcome(finding.StatusSkippedMode, "", "rule %s is now in %s mode, so the deferred fix was dropped; it would be: %s", f.Rule, mode, f.Plan.CLI(f.Region))
		rec.Outcome.Attempts = dm.Attempt
		return rec
	}
	if ks := run.killState(ctx); ks.Off {
		rec := outcome(finding.StatusSkippedKill, "", "remediation is switched off (%s), so the deferred fix was dropped; it would be: %s", ks.Reason, f.Plan.CLI(f.Region))
		rec.Outcome.Attempts = dm.Attempt
		return rec
	}
	return g.fix(ctx, g.clientsFor(f.Account).Exec, f, dm.Step, dm.Attempt, dm.Counted, run.log)
}
