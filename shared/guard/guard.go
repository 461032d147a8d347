// Package guard is the per-event pipeline every family Lambda runs:
//
//	decode the EventBridge envelope -> check the event is the family's ->
//	loop guard (ignore eksguard's own calls) -> enrich (IAM roles through
//	EKS, pod identity roles' admin policies through IAM) -> assess with
//	the rules -> record the correlation mark and run the correlation
//	rules -> stop here when there is no finding ->
//	claim the event ID (idempotency) -> for each finding: mode, kill switch,
//	pre-check, circuit breaker, execute or defer -> record the outcome ->
//	publish -> mark the event completed.
//
// An event without a finding writes nothing, with one exception: a
// successful CreateAccessEntry, DeleteAccessEntry, AssociateAccessPolicy
// or DisassociateAccessPolicy (and only these four) appends its mark to the
// principal's correlation item in the table (Marks), finding or not, since
// the correlation rules judge it together with the principal's later grants
// and removals. A mark that cannot be recorded fails the event after its
// own findings are handled, so that the retry (which finds them completed)
// records it; only when the table takes neither the mark nor the claim is
// the mark given up, logged, rather than the findings published twice.
//
// A remediation that fails never stops the alert: its outcome (with the
// AWS error code) is published like any other. The cluster function also
// consumes the defer queue (Handle accepts both EventBridge events and SQS
// batches) to apply fixes that had to wait for a running cluster update.
package guard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/breaker"
	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/correlation"
	"github.com/eksguard/eksguard/shared/deferral"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/idempotency"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/killswitch"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/remediate"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/suppress"
)

// Publisher sends a finding on to notifications (notify.SNSPublisher).
type Publisher interface {
	Publish(ctx context.Context, f *finding.Finding) error
}

// AuditSubscriber subscribes the kubernetes function to the audit log of
// a cluster whose audit logging the event turns on (auditsub.Subscriber).
type AuditSubscriber interface {
	Subscribe(ctx context.Context, rec *cloudtrail.Record, log *slog.Logger) error
}

// RolePolicyLister is the part of the IAM client the pod identity
// enrichment uses.
type RolePolicyLister interface {
	ListAttachedRolePolicies(ctx context.Context, params *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
}

var _ RolePolicyLister = (*iam.Client)(nil)

// AssessFunc runs the rules over an event (rules.Assess in production).
type AssessFunc func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding

// Guard handles one family's events. New builds it from an AWS
// configuration and the settings; the fields are its dependencies, each
// required unless it says what nil or zero means.
type Guard struct {
	Family families.Family
	Policy *policy.Policy
	// Assess runs the rules (rules.Assess in production).
	Assess AssessFunc
	// SelfRoles are eksguard's own role ARNs (globs allowed): events they
	// cause are ignored. None: every event is acted on.
	SelfRoles []string
	Events    *idempotency.Store
	Breaker   *breaker.Breaker
	Kill      *killswitch.Switch
	Exec      *remediate.Executor
	// Marks, when set, remembers the grants and removals of cluster access
	// the correlation rules read (a correlation/table.Store in the access
	// function); nil runs no correlation rule.
	Marks correlation.Store
	// Roles, when set, looks up through EKS whether an IAM event's role is
	// a cluster or node role that the policy's role patterns do not cover.
	Roles *remediate.Roles
	// RolePolicies, when set, lists the managed policies attached to a pod
	// identity association's roles in this account, so that a role holding
	// an admin policy is judged as one (the cluster function); nil judges
	// by the event and the policy alone.
	RolePolicies RolePolicyLister
	// Defer, when set, queues UpdateClusterConfig fixes that meet a running
	// cluster update; nil reports them failed.
	Defer *deferral.Queue
	// DeferDelay is the wait before the first deferred retry
	// (deferral.DefaultDelay when zero).
	DeferDelay time.Duration
	// MaxAttempts is the attempts in all of a fix that meets a busy cluster
	// (deferral.DefaultMaxAttempts when zero).
	MaxAttempts int
	Publisher   Publisher
	// Log is the logger (slog.Default() when nil).
	Log *slog.Logger
	// Canary, when set, is the heartbeat: what its role does is handled
	// before the loop guard and the rules (heartbeat.go).
	Canary *Canary
	// Account is the account the function runs in. With Accounts set (an
	// organization deployment), an event of any other account is judged
	// and fixed with Accounts(account): Exec, RolePolicies and Roles serve
	// only Account's events.
	Account  string
	Accounts func(account string) *Clients
	// MemberRoles, in an organization deployment, are the member accounts'
	// remediation role credentials Accounts uses, for Options that make
	// clients of their own (auditsub): one cache, one AssumeRole per account.
	MemberRoles *assume.Roles
	// Suppressions, when set, are the expected changes (Slack's Expected
	// change): a finding under one is logged, neither remediated nor
	// published. Nil suppresses nothing.
	Suppressions Suppressions
	// Subscriber, when set, subscribes the kubernetes function to the audit
	// log of a cluster whose audit logging an event turns on (the cluster
	// function: shared/auditsub).
	Subscriber AuditSubscriber
	// Region is the function's: CloudWatch Logs subscription payloads do
	// not name theirs (findings of audit events carry it).
	Region string
}

// Suppressions tells whether a rule's findings on a resource are expected
// for now (suppress.Store).
type Suppressions interface {
	Active(ctx context.Context, rule, resource string) (suppress.Suppression, bool, error)
}

// RuleRemediationSuppressed is the finding raised when the circuit breaker
// stops a remediation. It is not a catalogue rule: it cannot be configured
// and it is always published.
const RuleRemediationSuppressed = "remediation-suppressed"

func (g *Guard) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

func (g *Guard) maxAttempts() int {
	if g.MaxAttempts > 0 {
		return g.MaxAttempts
	}
	return deferral.DefaultMaxAttempts
}

// Handle is the Lambda handler of a function that takes both EventBridge
// events and SQS batches from the defer queue (the cluster function). For
// an SQS batch it returns the partial batch response.
func (g *Guard) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if json.Unmarshal(raw, &probe) == nil && len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs" {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("eksguard %s: decode SQS batch: %w", g.Family.Name, err)
		}
		resp, err := g.HandleSQS(ctx, ev)
		return &resp, err
	}
	return nil, g.HandleEvent(ctx, raw)
}

// HandleEvent handles one EventBridge CloudTrail event. It returns an error
// (so that Lambda retries, then dead-letters) for an event it cannot read,
// one routed to the wrong family, one another invocation is still handling,
// and when a finding could not be published.
func (g *Guard) HandleEvent(ctx context.Context, raw json.RawMessage) (err error) {
	rec, err := cloudtrail.DecodeEvent(raw)
	if err != nil {
		g.log().ErrorContext(ctx, "cannot decode the event", "function", g.Family.Name, "error", err)
		return fmt.Errorf("eksguard %s: %w", g.Family.Name, err)
	}
	if !rules.Handles(g.Family, rec.EventSource, rec.EventName) {
		err := fmt.Errorf("eksguard %s: event %s (%s %s) is not one of this function's events; check the EventBridge rule",
			g.Family.Name, rec.EventID, rec.EventSource, rec.EventName)
		g.log().ErrorContext(ctx, "misrouted event", "error", err)
		return err
	}
	if rec.EventID == "" {
		return fmt.Errorf("eksguard %s: %s event without an eventID", g.Family.Name, rec.EventName)
	}
	ctx = assume.WithEventID(ctx, rec.EventID)
	log := g.log().With("eventID", rec.EventID, "eventName", rec.EventName, "function", g.Family.Name, "account", rec.Account())
	if done, err := g.canary(ctx, rec, log); done {
		return err
	}
	if g.isSelf(&rec.UserIdentity) {
		log.InfoContext(ctx, "event caused by eksguard itself: not acted on", "outcome", finding.StatusIgnored, "actor", rec.UserIdentity.ActorRole())
		return nil
	}
	// Whoever turned the audit log on, automation included, the cluster
	// is watched; a failure fails the event once its findings are handled.
	if g.Subscriber != nil {
		if subErr := g.Subscriber.Subscribe(ctx, rec, log); subErr != nil {
			subErr = fmt.Errorf("eksguard %s: %w", g.Family.Name, subErr)
			defer func() { err = errors.Join(err, subErr) }()
		}
	}

	// Think before writing: an event that gives no finding costs no
	// DynamoDB write. The rules are pure, so assessing again after a
	// redelivery gives the same findings.
	cl := g.clientsFor(rec.Account())
	pol := g.enrich(ctx, rec, g.Policy.For(rec.Account()), cl, log)
	fs, err := g.assess(ctx, rec, pol, log)
	if err != nil {
		return err
	}
	for i := range fs {
		fs[i].AccountName = pol.AccountName(fs[i].Account)
	}
	cs, markErr := g.correlate(ctx, rec, pol, log)
	fs = append(fs, cs...)
	if len(fs) == 0 {
		if markErr != nil {
			return markErr
		}
		log.InfoContext(ctx, "event handled", "findings", 0)
		return nil
	}

	claimFailed, err := g.deliver(ctx, rec.EventID, fs, pol, cl, log)
	if err != nil {
		return err
	}
	if markErr != nil && claimFailed {
		// The table took neither the mark nor the claim: a retry would
		// publish the findings again, so the mark is given up.
		log.ErrorContext(ctx, "correlation mark lost: the table is unavailable", "error", markErr)
		return nil
	}
	// A retry finds the event completed and records only the mark.
	return markErr
}

// deliver handles the findings of one event, whatever its family: claim
// the event ID (idempotency), then for each finding decide its outcome
// (mode, kill switch, pre-check, breaker, fix or defer), record it and
// publish it, and mark the event completed. cl are the clients of the
// account the findings are about (their fixes run with them). It returns an error when
// another invocation holds the event or a finding could not be published
// (the claim is then released, so that a retry publishes what is missing);
// claimFailed reports that the table could not be written, so the
// findings went out without remediation or a record of it.
func (g *Guard) deliver(ctx context.Context, id string, fs []finding.Finding, pol *policy.Policy, cl *Clients, log *slog.Logger) (claimFailed bool, err error) {
	claim, state, claimErr := g.Events.Claim(ctx, id)
	switch {
	case claimErr != nil:
		// Without the idempotency record there is no exactly-once: alert,
		// but do not remediate.
		log.ErrorContext(ctx, "cannot claim the event; findings are published without remediation", "error", claimErr)
	case state == idempotency.Done:
		log.InfoContext(ctx, "duplicate delivery of a completed event: nothing to do")
		return false, nil
	case state == idempotency.Busy:
		log.WarnContext(ctx, "event is being handled by another invocation; asking for a retry")
		return false, fmt.Errorf("eksguard %s: event %s: %w", g.Family.Name, id, idempotency.ErrBusy)
	}
	if claim != nil && claim.Resumed() {
		log.InfoContext(ctx, "resuming an event an earlier invocation did not finish")
	}

	run := &eventRun{g: g, pol: pol, cl: cl, claim: claim, claimErr: claimErr, log: log}
	var pubErrs []error
	for i := range fs {
		if err := run.handle(ctx, &fs[i], fmt.Sprintf("%d:%s", i, fs[i].Rule)); err != nil {
			pubErrs = append(pubErrs, err)
		}
	}
	if len(pubErrs) > 0 {
		g.release(ctx, claim, log)
		return false, fmt.Errorf("eksguard %s: event %s: %w", g.Family.Name, id, errors.Join(pubErrs...))
	}
	if claim != nil {
		if err := claim.Complete(ctx); err != nil {
			// Every step is recorded: a redelivery repeats nothing.
			log.WarnContext(ctx, "cannot mark the event completed", "error", err)
		}
	}
	log.InfoContext(ctx, "event handled", "findings", len(fs))
	return claim == nil, nil
}

// isSelf reports whether the call was made by one of eksguard's roles.
func (g *Guard) isSelf(id *cloudtrail.Identity) bool {
	return identity.Matches(g.SelfRoles, id.ActorRole()) || identity.Matches(g.SelfRoles, id.ARN)
}

func (g *Guard) release(ctx context.Context, claim *idempotency.Claim, log *slog.Logger) {
	if claim == nil {
		return
	}
	if err := claim.Release(ctx); err != nil {
		log.WarnContext(ctx, "cannot release the event claim; a retry waits for the lease to end", "error", err)
	}
}

// assess runs the rules, turning a panicking rule into an error.
func (g *Guard) assess(ctx context.Context, rec *cloudtrail.Record, pol *policy.Policy, log *slog.Logger) (fs []finding.Finding, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("eksguard %s: assessing event %s panicked: %v", g.Family.Name, rec.EventID, r)
			log.ErrorContext(ctx, "rule evaluation panicked", "error", err)
		}
	}()
	return g.Assess(rec, pol), nil
}

// correlate records the event's correlation mark, when it leaves one and a
// correlation rule is on, and runs the correlation rules over it and the
// principal's marks within the window.
func (g *Guard) correlate(ctx context.Context, rec *cloudtrail.Record, pol *policy.Policy, log *slog.Logger) ([]finding.Finding, error) {
	if g.Marks == nil || !rules.Correlating(pol) {
		return nil, nil
	}
	m, ok := rules.MarkOf(rec, pol)
	if !ok {
		return nil, nil
	}
	recent, err := g.Marks.Record(ctx, m, pol.Correlation.Window.Duration)
	if err != nil {
		log.ErrorContext(ctx, "cannot record the correlation mark; the event's own findings are handled, then a retry is asked for", "error", err)
		return nil, fmt.Errorf("eksguard %s: event %s: %w", g.Family.Name, rec.EventID, err)
	}
	return rules.Correlate(&m, recent, rec, pol), nil
}

// enrich returns the policy, extended with what AWS says about the event's
// roles: an IAM event's role as a cluster or node role when EKS says it is
// one and the policy's patterns do not, and the admin policies a pod
// identity association's roles hold.
func (g *Guard) enrich(ctx context.Context, rec *cloudtrail.Record, pol *policy.Policy, cl *Clients, log *slog.Logger) *policy.Policy {
	return g.enrichPodIdentity(ctx, rec, g.enrichEKSRole(ctx, rec, pol, cl, log), cl, log)
}

// enrichPodIdentity lists, through IAM, the managed policies attached to
// the roles (roleArn, targetRoleArn) a successful pod identity association
// call names in this account, and records on a copy of the policy those
// holding an admin-class policy (rules.AdminPolicy) and those that could
// not be listed. A role of another account is not listed: it cannot be,
// and the rule judges its account.
func (g *Guard) enrichPodIdentity(ctx context.Context, rec *cloudtrail.Record, pol *policy.Policy, cl *Clients, log *slog.Logger) *policy.Policy {
	pi, ok := rec.Params.(*cloudtrail.PodIdentityParams)
	if cl.RolePolicies == nil || !ok || rec.Failed() {
		return pol
	}
	var found policy.Found
	for i, role := range []string{pi.RoleARN, pi.TargetRoleARN} {
		if role == "" || identity.Account(role) != rec.Account() || (i == 1 && role == pi.RoleARN) {
			continue
		}
		admin, err := adminPolicies(ctx, cl.RolePolicies, identity.Name(role))
		if err != nil {
			log.WarnContext(ctx, "cannot list the role's attached policies; judging without them", "role", role, "error", err)
			if found.Unlisted == nil {
				found.Unlisted = map[string]string{}
			}
			why := remediate.ErrorCode(err)
			if why == "" {
				why = err.Error()
			}
			found.Unlisted[role] = why
			continue
		}
		if len(admin) > 0 {
			if found.AdminPolicies == nil {
				found.AdminPolicies = map[string][]string{}
			}
			found.AdminPolicies[role] = admin
			log.InfoContext(ctx, "role holds an admin policy, found through IAM", "role", role, "policies", admin)
		}
	}
	if found.AdminPolicies == nil && found.Unlisted == nil {
		return pol
	}
	p := *pol
	p.Found = found
	return &p
}

// adminPolicies are the admin-class managed policies (ARNs) attached to a role.
func adminPolicies(ctx context.Context, lister RolePolicyLister, roleName string) ([]string, error) {
	var out []string
	pg := iam.NewListAttachedRolePoliciesPaginator(lister, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(roleName)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list policies attached to role %s: %w", roleName, err)
		}
		for _, ap := range page.AttachedPolicies {
			if a := aws.ToString(ap.PolicyArn); rules.AdminPolicy(a) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// enrichEKSRole returns the policy, extended with the event's role as a
// cluster or node role when EKS says it is one and the policy's patterns do
// not.
func (g *Guard) enrichEKSRole(ctx context.Context, rec *cloudtrail.Record, pol *policy.Policy, cl *Clients, log *slog.Logger) *policy.Policy {
	role := eventRole(rec)
	if cl.Roles == nil || role == "" || pol.IsClusterRole(role) || pol.IsNodeRole(role) {
		return pol
	}
	use, err := cl.Roles.Lookup(ctx, role)
	if err != nil {
		log.WarnContext(ctx, "cannot list every cluster's roles; judging by the policy's role patterns where they are missing", "role", role, "error", err)
	}
	if !use.Cluster() && !use.Node() {
		return pol
	}
	p := *pol
	if use.Cluster() {
		p.Roles.Cluster = append(slices.Clone(p.Roles.Cluster), role)
	}
	if use.Node() {
		p.Roles.Node = append(slices.Clone(p.Roles.Node), role)
	}
	log.InfoContext(ctx, "role identified through EKS", "role", role, "clusterRoleOf", use.ClusterRoleOf, "nodeRoleOf", use.NodeRoleOf)
	return &p
}

// eventRole is the role an IAM event is about, if any.
func eventRole(rec *cloudtrail.Record) string {
	switch p := rec.Params.(type) {
	case *cloudtrail.RolePolicyParams:
		return p.RoleName
	case *cloudtrail.InlinePolicyParams:
		return p.RoleName
	case *cloudtrail.TrustPolicyParams:
		return p.RoleName
	}
	return ""
}

// requestToken is the ClientRequestToken of a fix's EKS update calls:
// the same event, finding and attempt always give the same token.
func requestToken(eventID, step string, attempt int) string {
	sum := sha256.Sum256([]byte(eventID + "\x00" + step + "\x00" + strconv.Itoa(attempt)))
	return "eksguard-" + hex.EncodeToString(sum[:16])
}
