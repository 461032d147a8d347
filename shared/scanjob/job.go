// Package scanjob is the scheduled scan: it reads the clusters of the
// account in each region (shared/scan), judges them with the rules' state
// forms, and compares what it finds with what the previous scan found
// (State, in the eksguard table): a new finding goes through the same path
// as an event's (guard.HandleScanFinding: mode, kill switch, pre-check,
// breaker, idempotency, publication), one already reported is not alerted
// again, one that is gone is published as resolved.
package scanjob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/scan"
)

// Input is what the schedule sends each run.
type Input struct {
	// Account is the account to scan (the stack's own); in organization
	// mode the members (Job.Members) are scanned after it.
	Account string `json:"account"`
	// Regions, when set, replace the function's configured regions (and,
	// in organization mode, the member regions).
	Regions []string `json:"regions,omitempty"`
	// ScheduledTime is the run's scheduled time (EventBridge Scheduler's
	// <aws.scheduler.scheduled-time>): a retry of the run keeps it, so its
	// findings' fixes are not run twice.
	ScheduledTime string `json:"scheduledTime,omitempty"`
}

// FindingHandler handles a new finding (guard.Guard).
type FindingHandler interface {
	HandleScanFinding(ctx context.Context, f *finding.Finding, key string) error
}

// Publisher publishes a resolved finding (notify.SNSPublisher).
type Publisher interface {
	Publish(ctx context.Context, f *finding.Finding) error
}

// AuditSubscriber puts eksguard's subscription filter on a cluster's
// audit log when it is not there (auditsub.Subscriber).
type AuditSubscriber interface {
	Ensure(ctx context.Context, account, region, cluster string, log *slog.Logger) (bool, error)
}

// Job is the scheduled scan.
type Job struct {
	Policy *policy.Policy
	// Reader makes the reader of an account and region.
	Reader func(account, region string) *scan.Reader
	// Regions are scanned when the input names none.
	Regions []string
	// Members are, in organization mode, the member accounts scanned after
	// the input's account (MemberAccounts), each in MemberRegions (Regions
	// when empty) with the readers Reader makes on its role's credentials.
	Members       []string
	MemberRegions []string
	// Assume, when set, gets a member account's credentials before its
	// regions are read: a member whose role cannot be assumed is reported
	// and skipped, its findings kept open.
	Assume    func(ctx context.Context, account string) error
	State     *State
	Findings  FindingHandler
	Publisher Publisher
	Now       func() time.Time
	Log       *slog.Logger
	// Reserve is the time kept, before the invocation's deadline, to record
	// the state and publish (DefaultReserve when zero): reads still running
	// then are cut off, and their clusters count as unreadable, so their
	// findings stay open instead of the whole run being lost to a timeout.
	Reserve time.Duration
	// Audit, when set, makes sure every cluster read with its audit log on
	// sends it to the kubernetes function: clusters whose audit log was on
	// before eksguard was deployed, whose event was missed, or whose
	// filter was removed.
	Audit AuditSubscriber
}

// DefaultReserve is Job.Reserve's default.
const DefaultReserve = time.Minute

// Report counts what a run did.
type Report struct {
	Clusters  int `json:"clusters"`
	New       int `json:"new"`
	Unchanged int `json:"unchanged"`
	Resolved  int `json:"resolved"`
	// Unreadable counts clusters and regions that could not be read; their
	// findings stay open as they were.
	Unreadable int `json:"unreadable"`
	// Accounts counts the accounts scanned; Unreachable the member
	// accounts whose role could not be assumed (their findings stay open).
	Accounts    int `json:"accounts"`
	Unreachable int `json:"unreachable"`
	// AuditSubscribed counts the audit logs subscribed by this run;
	// AuditUnsubscribed those that could not be (logged with the reason).
	// Neither fails the run: the next one tries again.
	AuditSubscribed   int `json:"auditSubscribed"`
	AuditUnsubscribed int `json:"auditUnsubscribed"`
}

func (j *Job) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

func (j *Job) log() *slog.Logger {
	if j.Log != nil {
		return j.Log
	}
	return slog.Default()
}

// Run scans every region of the input's account. It returns an error,
// after doing all it can, when something could not be read or a finding
// could not be published.
func (j *Job) Run(ctx context.Context, in Input) (Report, error) {
	var rep Report
	if in.Account == "" {
		return rep, errors.New("eksguard scan: the input names no account")
	}
	regions := in.Regions
	if len(regions) == 0 {
		regions = j.Regions
	}
	run := in.ScheduledTime
	if run == "" {
		run = j.now().UTC().Truncate(time.Minute).Format(time.RFC3339)
	}
	readCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		reserve := j.Reserve
		if reserve <= 0 {
			reserve = DefaultReserve
		}
		var cancel context.CancelFunc
		readCtx, cancel = context.WithDeadline(ctx, deadline.Add(-reserve))
		defer cancel()
	}
	// A member role's sessions, first and renewed, are named after the run.
	readCtx = assume.WithEventID(readCtx, "scan-"+run)
	var errs []error
	for _, account := range j.accounts(in.Account) {
		regions := regions
		if account != in.Account {
			if len(in.Regions) == 0 && len(j.MemberRegions) > 0 {
				regions = j.MemberRegions
			}
			if j.Assume != nil {
				if err := j.Assume(readCtx, account); err != nil {
					rep.Unreachable++
					j.log().ErrorContext(ctx, "cannot assume the member role; the account is not scanned and its findings stay as they were",
						"account", account, "accountName", j.Policy.AccountName(account), "code", errorCode(err), "error", err)
					errs = append(errs, fmt.Errorf("eksguard scan: account %s: %w", account, err))
					continue
				}
			}
		}
		rep.Accounts++
		for _, region := range regions {
			if err := j.region(ctx, readCtx, account, region, run, &rep); err != nil {
				errs = append(errs, err)
			}
		}
	}
	j.log().InfoContext(ctx, "scan done", "account", in.Account, "regions", regions, "accounts", rep.Accounts, "unreachable", rep.Unreachable,
		"clusters", rep.Clusters, "new", rep.New, "unchanged", rep.Unchanged, "resolved", rep.Resolved, "unreadable", rep.Unreadable,
		"auditSubscribed", rep.AuditSubscribed, "auditUnsubscribed", rep.AuditUnsubscribed)
	return rep, errors.Join(errs...)
}

// region scans one region: reads under readCtx, which ends before ctx
// to leave time to record and publish.
func (j *Job) region(ctx, readCtx context.Context, account, region, run string, rep *Report) error {
	log := j.log().With("account", account, "region", region)
	// A member account's overrides apply to its findings.
	pol := j.Policy.For(account)
	r := j.Reader(account, region)
	names, err := r.List(readCtx)
	if err != nil {
		rep.Unreadable++
		log.ErrorContext(ctx, "cannot list the clusters; the region's findings stay as they were", "error", err)
		return err
	}
	prev, err := j.State.Open(ctx, account, region)
	if err != nil {
		log.ErrorContext(ctx, "cannot read the last scan; nothing is published for this region", "error", err)
		return err
	}
	var errs []error
	unreadable := map[string]bool{}
	var found []finding.Finding
	var audited []string
	r.Read(readCtx, names, func(c *clusterstate.Cluster, err error) {
		var ce *scan.ClusterError
		switch {
		case errors.Is(err, scan.ErrGone):
			log.InfoContext(ctx, "cluster deleted while the scan ran", "error", err)
		case errors.As(err, &ce):
			rep.Unreadable++
			unreadable[ce.Cluster] = true
			log.ErrorContext(ctx, "cannot read the cluster; its findings stay as they were", "cluster", ce.Cluster, "error", err)
			errs = append(errs, err)
		case err != nil:
			errs = append(errs, err)
		default:
			rep.Clusters++
			found = append(found, rules.AssessState(c, pol)...)
			if c.LogTypes["audit"] {
				audited = append(audited, c.Name)
			}
		}
	})
	j.subscribe(readCtx, account, region, audited, rep, log)
	open := map[string]string{}
	for i := range found {
		f := &found[i]
		f.AccountName = pol.AccountName(f.Account)
		if _, twice := open[f.ID]; twice {
			continue // a role several clusters share
		}
		if _, seen := prev[f.ID]; seen {
			rep.Unchanged++
			open[f.ID] = f.Cluster
			continue
		}
		if err := j.Findings.HandleScanFinding(ctx, f, "scan#"+f.ID+"#"+run); err != nil {
			// Not recorded as open: the next run reports it again.
			log.ErrorContext(ctx, "cannot handle a new scan finding", "id", f.ID, "error", err)
			errs = append(errs, err)
			continue
		}
		rep.New++
		open[f.ID] = f.Cluster
		if err := j.State.Remember(ctx, f); err != nil {
			log.WarnContext(ctx, "cannot keep the finding for its resolution message", "id", f.ID, "error", err)
		}
	}
	for id, cluster := range prev {
		if _, still := open[id]; still {
			continue
		}
		// Not read this time: still open as far as we know. A finding about
		// a role (no cluster) may come from any cluster of the region.
		if unreadable[cluster] || (cluster == "" && len(unreadable) > 0) {
			open[id] = cluster
			continue
		}
		if err := j.resolve(ctx, account, region, id, cluster); err != nil {
			log.ErrorContext(ctx, "cannot publish a resolved finding", "id", id, "error", err)
			errs = append(errs, err)
			open[id] = cluster // published by the next run
			continue
		}
		rep.Resolved++
	}
	if err := j.State.SetOpen(ctx, account, region, open); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// subscribe makes sure the audit logs of the clusters send to the
// kubernetes function.
func (j *Job) subscribe(ctx context.Context, account, region string, clusters []string, rep *Report, log *slog.Logger) {
	if j.Audit == nil {
		return
	}
	for _, c := range clusters {
		put, err := j.Audit.Ensure(ctx, account, region, c, log)
		switch {
		case err != nil:
			rep.AuditUnsubscribed++
		case put:
			rep.AuditSubscribed++
		}
	}
}

// resolve publishes that a finding of the previous scan is gone.
func (j *Job) resolve(ctx context.Context, account, region, id, cluster string) error {
	f, ok, err := j.State.Recall(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		rule := id
		if i := strings.LastIndex(id, "-"); i > 0 {
			rule = id[:i]
		}
		f = &finding.Finding{Rule: rule, ID: id, Source: finding.SourceScan, Account: account, Region: region, Cluster: cluster,
			Severity: finding.Info, Summary: "finding " + id}
		if r, found := rules.ByID(rule); found {
			f.Title, f.Severity = r.Title, r.Severity
		}
	}
	res := *f
	res.Title = "Resolved: " + f.Title
	res.Summary = "no longer found by the scheduled scan: " + f.Summary
	res.Plan, res.NeedsCheck, res.Mode = nil, "", finding.ModeNotify
	res.Outcome = &finding.Outcome{Status: finding.StatusResolved, Message: fmt.Sprintf("resolved: the scan of %s no longer finds it", j.now().UTC().Format(time.RFC3339))}
	return j.Publisher.Publish(ctx, &res)
}

// accounts are the input's account, then the members but it.
func (j *Job) accounts(own string) []string {
	out := []string{own}
	for _, a := range j.Members {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// MemberAccounts are, in organization mode, the accounts the scheduled
// scan covers besides the central one: those the stack listed in the
// policy (accounts.organization: the memberAccounts setting and every
// account the policy names) and those the policy names itself, sorted.
func MemberAccounts(p *policy.Policy, central string) []string {
	var out []string
	for _, a := range append(slices.Clone(p.Accounts.Organization), p.ListedAccounts()...) {
		if a != central && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// errorCode is the AWS error code in err ("" when it has none).
func errorCode(err error) string {
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		return ae.ErrorCode()
	}
	return ""
}
