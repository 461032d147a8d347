package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/eksguard/eksguard/shared/breaker"
	"github.com/eksguard/eksguard/shared/deferral"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/idempotency"
	"github.com/eksguard/eksguard/shared/killswitch"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/remediate"
)

// stepRecord is what the idempotency record keeps about one finding, so a
// retry after a partial failure reuses it instead of acting again.
type stepRecord struct {
	Outcome finding.Outcome `json:"outcome"`
	// Suppressed is the remediation-suppressed finding raised with it.
	Suppressed *finding.Finding `json:"suppressed,omitempty"`
}

// eventRun is the handling of one event's findings.
type eventRun struct {
	g        *Guard
	pol      *policy.Policy     // the policy the event was assessed with (enriched)
	cl       *Clients           // the event's account's clients
	claim    *idempotency.Claim // nil when the claim failed
	claimErr error
	log      *slog.Logger
	kill     *killswitch.State
	fixed    []fixedPlan
}

// fixedPlan remembers an outcome, so that two findings of one event with
// the same plan (two rules, one fix) are not acted on twice.
type fixedPlan struct {
	plan    string
	rule    string
	outcome finding.Outcome
}

// acted reports whether the outcome comes from running a fix (pre-check
// included), as opposed to a decision not to try.
func acted(st finding.Status) bool {
	switch st {
	case finding.StatusRemediated, finding.StatusAlreadyCompliant, finding.StatusDeferred, finding.StatusSuppressed, finding.StatusFailed:
		return true
	}
	return false
}

func outcome(st finding.Status, code, format string, args ...any) stepRecord {
	return stepRecord{Outcome: finding.Outcome{Status: st, ErrorCode: code, Message: fmt.Sprintf(format, args...)}}
}

// handle decides (or recalls) one finding's outcome and publishes it.
func (r *eventRun) handle(ctx context.Context, f *finding.Finding, step string) error {
	if r.suppressed(ctx, f) {
		return nil
	}
	var rec stepRecord
	if v, ok := r.step(step); ok && json.Unmarshal([]byte(v), &rec) == nil {
		r.log.InfoContext(ctx, "outcome recorded by an earlier invocation", "rule", f.Rule, "outcome", rec.Outcome.Status)
	} else {
		rec = r.decide(ctx, f, step)
		r.record(ctx, step, rec)
	}
	if f.Plan != nil && acted(rec.Outcome.Status) {
		pj, _ := json.Marshal(f.Plan)
		r.fixed = append(r.fixed, fixedPlan{plan: string(pj), rule: f.Rule, outcome: rec.Outcome})
	}
	o := rec.Outcome
	f.Outcome = &o
	logOutcome(ctx, r.log, f)
	var errs []error
	if err := r.publish(ctx, f, step+".sent"); err != nil {
		errs = append(errs, err)
	}
	if s := rec.Suppressed; s != nil {
		logOutcome(ctx, r.log, s)
		if err := r.publish(ctx, s, step+".suppressed.sent"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// suppressed reports, and logs, a finding under an expected change. When
// the suppressions cannot be read the finding is handled: an alert too
// many is better than one lost.
func (r *eventRun) suppressed(ctx context.Context, f *finding.Finding) bool {
	if r.g.Suppressions == nil {
		return false
	}
	sup, ok, err := r.g.Suppressions.Active(ctx, f.Rule, f.Key())
	if err != nil {
		r.log.WarnContext(ctx, "cannot read expected changes; the finding is handled", "rule", f.Rule, "error", err)
		return false
	}
	if ok {
		r.log.InfoContext(ctx, "finding suppressed by an expected change: not alerted", "rule", f.Rule, "severity", f.Severity.String(),
			"resource", f.Key(), "until", sup.Until.Format(time.RFC3339), "by", sup.Who, "reason", sup.Why)
	}
	return ok
}

func (r *eventRun) step(name string) (string, bool) {
	if r.claim == nil {
		return "", false
	}
	return r.claim.Step(name)
}

func (r *eventRun) record(ctx context.Context, name string, rec any) {
	if r.claim == nil {
		return
	}
	v, ok := rec.(string)
	if !ok {
		b, err := json.Marshal(rec)
		if err != nil {
			r.log.ErrorContext(ctx, "cannot encode the step record", "step", name, "error", err)
			return
		}
		v = string(b)
	}
	if err := r.claim.Record(ctx, name, v); err != nil {
		r.log.WarnContext(ctx, "cannot record progress; a retry may repeat this step", "step", name, "error", err)
	}
}

// publish sends a finding on once per event, even across retries.
func (r *eventRun) publish(ctx context.Context, f *finding.Finding, step string) error {
	if _, done := r.step(step); done {
		return nil
	}
	if err := r.g.Publisher.Publish(ctx, f); err != nil {
		r.log.ErrorContext(ctx, "cannot publish the finding", "rule", f.Rule, "error", err)
		return err
	}
	r.record(ctx, step, "1")
	return nil
}

func logOutcome(ctx context.Context, log *slog.Logger, f *finding.Finding) {
	level := slog.LevelInfo
	if f.Outcome != nil && (f.Outcome.Status == finding.StatusFailed || f.Outcome.Status == finding.StatusSuppressed) {
		level = slog.LevelWarn
	}
	attrs := []any{"rule", f.Rule, "severity", f.Severity.String(), "resource", f.Key(), "mode", f.Mode}
	if o := f.Outcome; o != nil {
		attrs = append(attrs, "outcome", o.Status, "message", o.Message)
		if o.ErrorCode != "" {
			attrs = append(attrs, "errorCode", o.ErrorCode)
		}
		if o.Attempts > 0 {
			attrs = append(attrs, "attempts", o.Attempts)
		}
	}
	log.Log(ctx, level, "finding", attrs...)
}

func (r *eventRun) killState(ctx context.Context) killswitch.State {
	if r.kill == nil {
		st := killswitch.State{}
		if r.g.Kill != nil {
			st = r.g.Kill.State(ctx)
		}
		r.kill = &st
	}
	return *r.kill
}

// decide works out what to do about a finding and does it.
func (r *eventRun) decide(ctx context.Context, f *finding.Finding, step string) stepRecord {
	if f.Plan == nil {
		return outcome(finding.StatusNoPlan, "", "no automatic fix for this finding")
	}
	mode := f.Mode
	if mode == "" {
		mode = r.g.Policy.For(f.Account).ModeFor(f.Rule)
	}
	if mode != finding.ModeRemediate {
		return outcome(finding.StatusSkippedMode, "", "rule %s is in %s mode, so nothing was changed; the fix would be: %s", f.Rule, mode, f.Plan.CLI(f.Region))
	}
	return r.remediate(ctx, f, step)
}

// remediate runs a plan that is to be applied (remediate mode, or a
// person's approval): kill switch, the policy's holds, the idempotency
// record, then fix.
func (r *eventRun) remediate(ctx context.Context, f *finding.Finding, step string) stepRecord {
	if ks := r.killState(ctx); ks.Off {
		return outcome(finding.StatusSkippedKill, "", "remediation is switched off (%s); the fix would be: %s", ks.Reason, f.Plan.CLI(f.Region))
	}
	if p := f.Plan; p.Action == finding.ActionAttachRolePolicy && r.pol != nil && !r.pol.IsClusterRole(p.RoleName) && !r.pol.IsNodeRole(p.RoleName) {
		// Never grant a policy to a role that is not known to be an EKS role.
		return outcome(finding.StatusNeedsReview, "",
			"not remediated: role %s matches no roles.cluster or roles.node pattern and EKS does not list it as a cluster or node role; if it is one, the fix is: %s",
			p.RoleName, p.CLI(f.Region))
	}
	if rec, held := r.outsideGrants(f); held {
		return rec
	}
	if r.claimErr != nil {
		return outcome(finding.StatusFailed, remediate.ErrorCode(r.claimErr),
			"not remediated: the event could not be recorded in the idempotency table, so the fix might run twice: %v", r.claimErr)
	}
	if pj, err := json.Marshal(f.Plan); err == nil {
		for _, done := range r.fixed {
			if done.plan == string(pj) {
				o := done.outcome
				o.Message = fmt.Sprintf("same fix as finding %s: %s", done.rule, o.Message)
				return stepRecord{Outcome: o}
			}
		}
	}
	return r.g.fix(ctx, r.cl.Exec, f, step, 1, false, r.log)
}

// fix runs a plan in remediate mode: pre-check, circuit breaker (unless
// this remediation was counted already), the call, and deferral when the
// cluster is busy.
func (g *Guard) fix(ctx context.Context, exec *remediate.Executor, f *finding.Finding, step string, attempt int, counted bool, log *slog.Logger) stepRecord {
	withAttempts := func(rec stepRecord) stepRecord {
		rec.Outcome.Attempts = attempt
		return rec
	}
	act, err := exec.Prepare(ctx, f.Region, f.Plan, requestToken(f.EventID, step, attempt))
	var unsafe *remediate.UnsafeError
	if errors.As(err, &unsafe) {
		return withAttempts(outcome(finding.StatusNeedsReview, "", "nothing was changed: %v", err))
	}
	if err != nil {
		return withAttempts(outcome(finding.StatusFailed, remediate.ErrorCode(err), "pre-check failed, nothing was changed: %v", err))
	}
	if !act.Needed {
		return withAttempts(outcome(finding.StatusAlreadyCompliant, "", "%s; nothing to undo", act.Found))
	}
	if !counted {
		v, err := g.Breaker.Take(ctx, f.Key())
		if err != nil {
			return withAttempts(outcome(finding.StatusFailed, remediate.ErrorCode(err),
				"not remediated: the circuit breaker could not count the remediation: %v", err))
		}
		if !v.Allowed {
			rec := outcome(finding.StatusSuppressed, "",
				"circuit breaker: %d remediations of this resource in the hour %s UTC exceed the limit of %d, so nothing was changed (%s); the fix would be: %s",
				v.Count, v.Window, v.Max, act.Found, f.Plan.CLI(f.Region))
			if v.Tripped {
				rec.Suppressed = suppressedFinding(f, v, act)
			}
			return withAttempts(rec)
		}
	}
	err = act.Apply(ctx)
	switch {
	case err == nil:
		return withAttempts(outcome(finding.StatusRemediated, "", "%s; called %s", act.Found, act.Call))
	case errors.Is(err, remediate.ErrAlreadyCompliant):
		return withAttempts(outcome(finding.StatusAlreadyCompliant, "", "undone by someone else meanwhile: %v", err))
	case remediate.Busy(err) && f.Plan.Action == finding.ActionUpdateClusterConfig:
		return withAttempts(g.deferFix(ctx, f, step, attempt, err, log))
	}
	return withAttempts(outcome(finding.StatusFailed, remediate.ErrorCode(err), "remediation failed: %v", err))
}

// deferFix queues the next attempt of a fix that met a running cluster update.
func (g *Guard) deferFix(ctx context.Context, f *finding.Finding, step string, attempt int, busy error, log *slog.Logger) stepRecord {
	max := g.maxAttempts()
	if attempt >= max {
		return outcome(finding.StatusFailed, remediate.ErrorCode(busy),
			"gave up after %d attempts: cluster %s was still busy with another update: %v", attempt, f.Cluster, busy)
	}
	delay := deferral.Delay(g.DeferDelay, attempt+1)
	msg := deferral.Message{Finding: *f, Step: step, Attempt: attempt + 1, Counted: true}
	msg.Finding.Outcome = nil
	if err := g.Defer.Send(ctx, msg, delay); err != nil {
		return outcome(finding.StatusFailed, remediate.ErrorCode(busy),
			"cluster %s is busy with another update and the retry could not be queued: %v", f.Plan.Cluster, err)
	}
	log.InfoContext(ctx, "cluster busy: fix deferred", "rule", f.Rule, "cluster", f.Plan.Cluster, "nextAttempt", attempt+1, "delay", delay.String())
	return outcome(finding.StatusDeferred, "",
		"cluster %s is busy with another update (EKS runs one at a time); trying again in %s (attempt %d of %d)",
		f.Plan.Cluster, delay, attempt+1, max)
}

// suppressedFinding asks a human to look at a resource eksguard keeps
// remediating.
func suppressedFinding(f *finding.Finding, v breaker.Verdict, act *remediate.Action) *finding.Finding {
	s := *f
	s.Rule = RuleRemediationSuppressed
	s.Severity = finding.High
	s.Title = "Remediation suppressed: something keeps re-applying a change eksguard undoes"
	s.Summary = fmt.Sprintf("eksguard already remediated this resource %d times in the hour %s UTC (limit %d) and has stopped. "+
		"Finding %s (%s) was not remediated. Find out what keeps making the change before fixing it by hand.",
		v.Max, v.Window, v.Max, f.Rule, f.Summary)
	s.NeedsCheck = act.Found
	s.Mode = finding.ModeNotify
	s.Plan = f.Plan
	s.Outcome = &finding.Outcome{Status: finding.StatusSuppressed,
		Message: fmt.Sprintf("circuit breaker tripped at %d remediations per resource per hour", v.Max)}
	return &s
}

// outsideGrants holds an IAM fix on a role the function's grants do not
// cover (a role recognised only through EKS): in AWS its pre-check and its
// call would be AccessDenied, so neither is made. The outcome names the
// role and the policy list to add it to.
func (r *eventRun) outsideGrants(f *finding.Finding) (stepRecord, bool) {
	if r.cl.Exec == nil {
		return stepRecord{}, false
	}
	err := r.cl.Exec.InScope(f.Plan)
	if err == nil {
		return stepRecord{}, false
	}
	p := f.Plan
	list, kind := "roles.cluster or roles.node", "an EKS role"
	switch {
	case r.pol != nil && r.pol.IsClusterRole(p.RoleName):
		list, kind = "roles.cluster", "a cluster role"
	case r.pol != nil && r.pol.IsNodeRole(p.RoleName):
		list, kind = "roles.node", "a node role"
	}
	return outcome(finding.StatusNeedsReview, "",
		"not remediated: %v (EKS lists it as %s). Add %q to %s in the policy and redeploy so that the stack grants the fix; until then run it by hand: %s",
		err, kind, p.RoleName, list, p.CLI(f.Region)), true
}
