package rules

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/correlation"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/policy"
)

// Correlation is how a rule reads several grants and removals of cluster
// access together: the marks (correlation.Mark) of one principal within
// the policy's correlation window. Its judgement is pure like a single
// event's: the store that remembers the marks is the caller's (in memory
// in a replay, the DynamoDB table in the access function).
type Correlation struct {
	// Events are the events whose marks the rule reads (of correlation.Events).
	Events []string
	judge  func(m *correlation.Mark, recent []correlation.Mark, p *policy.Policy) []finding.Finding
	// Sequences are runs of calls the rule is shown on; one test replays
	// each through a correlation.Memory.
	Sequences []Sequence
}

// Sequence is a run of calls by the example actor a correlation rule fires
// on, or stays quiet on, at its last call.
type Sequence struct {
	Name  string
	Steps []Step
	Fires bool
}

// Step is one call of a sequence, At after the first.
type Step struct {
	At     time.Duration
	Event  string
	Params string
}

// MarkOf is the mark a record leaves: a successful CreateAccessEntry,
// DeleteAccessEntry, AssociateAccessPolicy or DisassociateAccessPolicy of
// a named principal, by a caller that is not one of the policy's
// automation identities (whose changes give no findings). ok is false for
// every other record.
func MarkOf(r *cloudtrail.Record, p *policy.Policy) (m correlation.Mark, ok bool) {
	if r.EventSource != EKS || !slices.Contains(correlation.Events, r.EventName) || r.Failed() || p.IsAutomation(&r.UserIdentity) {
		return m, false
	}
	m = correlation.Mark{
		EventID: r.EventID, Time: r.EventTime.UTC(), Event: r.EventName,
		Account: r.Account(), Region: r.AWSRegion, Actor: r.UserIdentity.ARN,
	}
	switch params := r.Params.(type) {
	case *cloudtrail.AccessEntryParams:
		m.Principal, m.Cluster = params.PrincipalARN, params.Cluster()
	case *cloudtrail.AccessPolicyParams:
		m.Principal, m.Cluster, m.Policy = params.PrincipalARN, params.Cluster(), params.PolicyARN
	}
	if m.Principal == "" || m.EventID == "" || m.Time.IsZero() {
		return correlation.Mark{}, false
	}
	return m, true
}

// AccessGrantedThenRemoved flags access given and taken away again within
// the window: an entry created and deleted, or a policy associated and
// disassociated, for the same principal on the same cluster.
var AccessGrantedThenRemoved = Rule{
	ID:       "access-granted-then-removed",
	Title:    "Cluster access granted and removed again within the correlation window",
	Severity: finding.Medium,
	Rationale: "Access that exists for minutes is how someone uses a cluster and covers their tracks: an access entry " +
		"created and deleted, or an access policy associated and disassociated, for the same principal on the same " +
		"cluster within correlation.window (1h by default). Each call alone looks routine.",
	Fix: "Find out what the principal did while it had access (the cluster's audit log for that time) and who gave it.",
	Correlate: &Correlation{
		Events: correlation.Events[:],
		judge:  grantedThenRemoved,
		Sequences: []Sequence{
			{Name: "entry created, deleted 20 minutes later", Fires: true, Steps: []Step{
				{0, "CreateAccessEntry", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`},
				{20 * time.Minute, "DeleteAccessEntry", `{"name":"prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team"}`},
			}},
			{Name: "admin policy associated, disassociated 5 minutes later", Fires: true, Steps: []Step{
				{0, "AssociateAccessPolicy", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy","accessScope":{"type":"cluster"}}`},
				{5 * time.Minute, "DisassociateAccessPolicy", `{"name":"prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team","policyArn":"arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSViewPolicy"}`},
			}},
			{Name: "entry deleted two hours after it was created", Fires: false, Steps: []Step{
				{0, "CreateAccessEntry", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`},
				{2 * time.Hour, "DeleteAccessEntry", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`},
			}},
			{Name: "entry deleted on another cluster", Fires: false, Steps: []Step{
				{0, "CreateAccessEntry", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`},
				{10 * time.Minute, "DeleteAccessEntry", `{"name":"staging","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`},
			}},
			{Name: "another policy disassociated", Fires: false, Steps: []Step{
				{0, "AssociateAccessPolicy", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy","accessScope":{"type":"cluster"}}`},
				{10 * time.Minute, "DisassociateAccessPolicy", `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"}`},
			}},
		},
	},
}

// grantedThenRemoved pairs m with the marks that undo it or that it undoes.
func grantedThenRemoved(m *correlation.Mark, recent []correlation.Mark, p *policy.Policy) []finding.Finding {
	var out []finding.Finding
	for i := range recent {
		x := &recent[i]
		grant, removal := x, m
		if m.Grant() {
			grant, removal = m, x
		}
		if !undoes(removal, grant) || removal.Time.Before(grant.Time) {
			continue
		}
		what := "access entry"
		if grant.Event == correlation.AssociateAccessPolicy {
			what = "access policy " + identity.Name(grant.Policy)
		}
		lived := removal.Time.Sub(grant.Time).Round(time.Second)
		out = append(out, finding.Finding{
			Cluster:   m.Cluster,
			Principal: m.Principal,
			Summary: fmt.Sprintf("%s for %s on cluster %s lasted %s: %s at %s by %s, %s at %s by %s",
				what, m.Principal, m.Cluster, span(lived), grant.Event, stamp(grant.Time), orUnknown(grant.Actor),
				removal.Event, stamp(removal.Time), orUnknown(removal.Actor)),
			After:      what + " removed " + span(lived) + " after it was granted",
			NeedsCheck: fmt.Sprintf("read the cluster's audit log from %s to %s for what %s did", stamp(grant.Time), stamp(removal.Time), m.Principal),
		})
	}
	return out
}

// undoes reports whether removal takes back grant: the same principal and
// cluster, an entry deleted after its creation or the same policy
// disassociated after its association.
func undoes(removal, grant *correlation.Mark) bool {
	if removal.Grant() || !grant.Grant() || removal.ClusterKey() != grant.ClusterKey() || removal.Principal != grant.Principal {
		return false
	}
	switch removal.Event {
	case correlation.DeleteAccessEntry:
		return grant.Event == correlation.CreateAccessEntry
	case correlation.DisassociateAccessPolicy:
		return grant.Event == correlation.AssociateAccessPolicy && strings.EqualFold(grant.Policy, removal.Policy)
	}
	return false
}

// PrincipalGrantedManyClusters flags one principal given access on many
// clusters within the window.
var PrincipalGrantedManyClusters = Rule{
	ID:       "principal-granted-many-clusters",
	Title:    "One principal given access on many clusters within the correlation window",
	Severity: finding.High,
	Rationale: "Access entries and access policies for one principal on correlation.clusters (5 by default) or more " +
		"clusters within correlation.window (1h) is a fleet being opened to one identity, the way an intruder spreads " +
		"from a stolen admin session; rollouts by infrastructure code come from the policy's automation identities.",
	Fix: "Check who gave the access and why; remove the entries that were not asked for.",
	Correlate: &Correlation{
		Events: []string{correlation.CreateAccessEntry, correlation.AssociateAccessPolicy},
		judge:  grantedManyClusters,
		Sequences: []Sequence{
			{Name: "entries on five clusters in 40 minutes", Fires: true, Steps: fleet(5, 10*time.Minute)},
			{Name: "entries on four clusters", Fires: false, Steps: fleet(4, 10*time.Minute)},
			{Name: "entries on five clusters over two hours", Fires: false, Steps: fleet(5, 30*time.Minute)},
			{Name: "five grants on the same cluster", Fires: false, Steps: []Step{
				{0, "CreateAccessEntry", `{"name":"c1","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`},
				{time.Minute, "AssociateAccessPolicy", `{"name":"c1","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy","accessScope":{"type":"cluster"}}`},
				{2 * time.Minute, "AssociateAccessPolicy", `{"name":"c1","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy","accessScope":{"type":"cluster"}}`},
				{3 * time.Minute, "AssociateAccessPolicy", `{"name":"c1","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy","accessScope":{"type":"namespace","namespaces":["a"]}}`},
				{4 * time.Minute, "AssociateAccessPolicy", `{"name":"c1","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy","accessScope":{"type":"namespace","namespaces":["b"]}}`},
			}},
		},
	},
}

// fleet is n access entries for dev-team on clusters c1..cn, every gap.
func fleet(n int, gap time.Duration) []Step {
	steps := make([]Step, n)
	for i := range steps {
		steps[i] = Step{time.Duration(i) * gap, "CreateAccessEntry",
			fmt.Sprintf(`{"name":"c%d","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`, i+1)}
	}
	return steps
}

// grantedManyClusters fires on the grant that brings the clusters the
// principal was given access on, within the window before it, to the
// policy's count; and on each further cluster.
func grantedManyClusters(m *correlation.Mark, recent []correlation.Mark, p *policy.Policy) []finding.Finding {
	if !m.Grant() {
		return nil
	}
	window := p.Correlation.Window.Duration
	var clusters []string
	for _, x := range recent {
		if !x.Grant() || x.Time.After(m.Time) || m.Time.Sub(x.Time) > window || x.ClusterKey() == m.ClusterKey() {
			continue
		}
		if !slices.Contains(clusters, x.ClusterKey()) {
			clusters = append(clusters, x.ClusterKey())
		}
	}
	if len(clusters)+1 < p.Correlation.Clusters {
		return nil
	}
	names := make([]string, 0, len(clusters)+1)
	for _, c := range append(clusters, m.ClusterKey()) {
		names = append(names, c[strings.LastIndexByte(c, '/')+1:])
	}
	return []finding.Finding{{
		Cluster:   m.Cluster,
		Principal: m.Principal,
		Summary: fmt.Sprintf("%s was given access on %d clusters within %s (%s): %s", m.Principal, len(names), span(window),
			strings.Join(names, ", "), m.Event+" on "+m.Cluster+" was the last"),
		After: fmt.Sprintf("access on %d clusters", len(names)),
	}}
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// span writes a duration without zero tails: 1h, 30m, 14m7s.
func span(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// correlated are the catalogue's correlation rules.
func correlated(rs []Rule) []Rule {
	var out []Rule
	for _, r := range rs {
		if r.Correlate != nil {
			out = append(out, r)
		}
	}
	return out
}

// Correlate runs the correlation rules over a mark and the principal's
// other marks within the window (what a correlation.Store returned), with
// the common fields filled in from rec, the record that left m. Rules in
// mode off, and principals their allow list exempts, give none.
func (e *Engine) Correlate(m *correlation.Mark, recent []correlation.Mark, rec *cloudtrail.Record) []finding.Finding {
	var out []finding.Finding
	for i := range e.correlated {
		rule := &e.correlated[i]
		mode := e.policy.ModeFor(rule.ID)
		if mode == finding.ModeOff || !slices.Contains(rule.Correlate.Events, m.Event) {
			continue
		}
		for _, f := range rule.Correlate.judge(m, recent, e.policy) {
			if e.policy.Allowed(rule.ID, f.Principal) {
				continue
			}
			fill(&f, rule, rec, mode)
			out = append(out, f)
		}
	}
	return out
}

// Correlating reports whether some correlation rule is on: whether marks
// are worth recording.
func (e *Engine) Correlating() bool {
	for _, r := range e.correlated {
		if e.policy.ModeFor(r.ID) != finding.ModeOff {
			return true
		}
	}
	return false
}

// Correlating is Engine.Correlating with the whole catalogue.
func Correlating(p *policy.Policy) bool {
	e := Engine{policy: p, correlated: correlatedCatalogue()}
	return e.Correlating()
}

// Correlate is Engine.Correlate with the whole catalogue, for callers whose
// policy changes from event to event.
func Correlate(m *correlation.Mark, recent []correlation.Mark, rec *cloudtrail.Record, p *policy.Policy) []finding.Finding {
	e := Engine{policy: p, rules: catalogue(), correlated: correlatedCatalogue()}
	return e.Correlate(m, recent, rec)
}

var correlatedCatalogue = sync.OnceValue(func() []Rule { return correlated(All()) })

// MarkOf is MarkOf under the engine's policy; ok is false as well when
// every correlation rule is off.
func (e *Engine) MarkOf(r *cloudtrail.Record) (correlation.Mark, bool) {
	if !e.Correlating() {
		return correlation.Mark{}, false
	}
	return MarkOf(r, e.policy)
}

// CorrelateInOrder judges the records that leave marks the way a replay
// does, whatever order they were read in: sorted by event time (then event
// ID), each against the marks before it, held in a correlation.Memory.
// It returns the findings of each record, by index in recs.
func (e *Engine) CorrelateInOrder(recs []*cloudtrail.Record) [][]finding.Finding {
	type marked struct {
		m correlation.Mark
		i int
	}
	var ms []marked
	for i, r := range recs {
		if m, ok := e.MarkOf(r); ok {
			ms = append(ms, marked{m, i})
		}
	}
	slices.SortStableFunc(ms, func(a, b marked) int {
		if c := a.m.Time.Compare(b.m.Time); c != 0 {
			return c
		}
		return strings.Compare(a.m.EventID, b.m.EventID)
	})
	out := make([][]finding.Finding, len(recs))
	var mem correlation.Memory
	window := e.policy.Correlation.Window.Duration
	for _, x := range ms {
		recent, _ := mem.Record(context.Background(), x.m, window) // memory never fails
		out[x.i] = append(out[x.i], e.Correlate(&x.m, recent, recs[x.i])...)
	}
	return out
}
