package guard

import (
	"context"
	"fmt"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/idempotency"
)

// HandleScanFinding handles one finding of a scheduled scan the way an
// event's findings are handled: claimed under key in the idempotency table
// (a retry of the same scan repeats nothing), then mode, kill switch,
// pre-check, circuit breaker, the fix or its deferral, the outcome and the
// publication. key names the finding in this scan run (its ID and the
// run), and the fix's request tokens derive from it. The caller sets
// f.Mode (policy.ScanMode): remediate only where scan.remediate says so.
func (g *Guard) HandleScanFinding(ctx context.Context, f *finding.Finding, key string) error {
	log := g.log().With("scanFinding", f.ID, "rule", f.Rule, "function", g.Family.Name)
	claim, state, claimErr := g.Events.Claim(ctx, key)
	switch {
	case claimErr != nil:
		log.ErrorContext(ctx, "cannot claim the scan finding; it is published without remediation", "error", claimErr)
	case state == idempotency.Done:
		log.InfoContext(ctx, "scan finding already handled by an earlier invocation")
		return nil
	case state == idempotency.Busy:
		return fmt.Errorf("eksguard scan: finding %s: %w", f.ID, idempotency.ErrBusy)
	}
	// In an organization deployment a member account's finding is fixed in
	// that account, through its remediation role, under its policy.
	run := &eventRun{g: g, pol: g.Policy.For(f.Account), cl: g.clientsFor(f.Account), claim: claim, claimErr: claimErr, log: log}
	if err := run.handle(ctx, f, key); err != nil {
		g.release(ctx, claim, log)
		return fmt.Errorf("eksguard scan: finding %s: %w", f.ID, err)
	}
	if claim != nil {
		if err := claim.Complete(ctx); err != nil {
			log.WarnContext(ctx, "cannot mark the scan finding completed", "error", err)
		}
	}
	return nil
}
