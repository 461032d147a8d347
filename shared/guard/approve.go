package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/idempotency"
)

// ErrApprovalBusy is returned when another approval of the same finding is
// being applied right now.
var ErrApprovalBusy = errors.New("this fix is being applied by another approval")

// Approval is what became of a person's approval of a finding's fix.
type Approval struct {
	// Finding is the finding as published: its outcome and approver set.
	Finding finding.Finding
	// Repeat says the fix was approved before and is not run again (a
	// double click, or Slack retrying); Finding then has no outcome.
	Repeat bool
}

// Approve runs a finding's plan because approver (a Slack user ID) asked
// for it, through the automatic path whatever the rule's mode: kill switch,
// the policy's holds, pre-check, circuit breaker, the call, deferral. It
// runs once per key (the finding's): the idempotency record
// "event#approved#<key>" holds the progress, so a double click or a retry
// neither fixes twice nor publishes twice. The outcome is published, with
// the approver, like any other.
func (g *Guard) Approve(ctx context.Context, f finding.Finding, key, approver string) (Approval, error) {
	if f.Plan == nil {
		return Approval{}, fmt.Errorf("approve %s on %s: the finding has no plan", f.Rule, f.Key())
	}
	log := g.log().With("rule", f.Rule, "eventID", f.EventID, "approvedBy", approver, "function", g.Family.Name)
	f.ApprovedBy = approver
	f.Outcome = nil
	claim, state, err := g.Events.Claim(ctx, "approved#"+key)
	switch {
	case err != nil:
		o := outcome(finding.StatusFailed, "", "not applied: the approval could not be recorded, so the fix might run twice: %v", err).Outcome
		f.Outcome = &o
		return Approval{Finding: f}, nil
	case state == idempotency.Done:
		log.InfoContext(ctx, "approved fix already applied: not run again")
		return Approval{Finding: f, Repeat: true}, nil
	case state == idempotency.Busy:
		return Approval{}, ErrApprovalBusy
	}
	// In an organization deployment the fix runs in the finding's account,
	// through its remediation role, under that account's policy.
	run := &eventRun{g: g, pol: g.Policy.For(f.Account), cl: g.clientsFor(f.Account), claim: claim, log: log}
	var rec stepRecord
	if v, ok := run.step("fix"); ok && json.Unmarshal([]byte(v), &rec) == nil {
		log.InfoContext(ctx, "outcome recorded by an earlier invocation", "outcome", rec.Outcome.Status)
	} else {
		rec = run.remediate(ctx, &f, "fix")
		run.record(ctx, "fix", rec)
	}
	o := rec.Outcome
	f.Outcome = &o
	logOutcome(ctx, log, &f)
	var errs []error
	if err := run.publish(ctx, &f, "fix.sent"); err != nil {
		errs = append(errs, err)
	}
	if s := rec.Suppressed; s != nil {
		logOutcome(ctx, log, s)
		if err := run.publish(ctx, s, "fix.suppressed.sent"); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		g.release(ctx, claim, log)
		return Approval{Finding: f}, fmt.Errorf("approve %s on %s: %w", f.Rule, f.Key(), errors.Join(errs...))
	}
	if err := claim.Complete(ctx); err != nil {
		log.WarnContext(ctx, "cannot mark the approval completed", "error", err)
	}
	return Approval{Finding: f}, nil
}
