// Package report writes a replay as one self-contained HTML page: what
// eksguard would have flagged, who by, what remediate mode would have
// changed, and how the counts move with the policy. The page needs no
// network when opened (inline SVG charts, no script) and carries a
// Content-Security-Policy that allows no external source.
//
// Aggregates are kept in full; per-finding lists are capped, with the count
// of the rest, so a quarter of an organization's trail stays a page of a
// few hundred kilobytes. Only the CLI links this package.
package report

import (
	"cmp"
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

// Limits cap what the page lists one by one; every count stays exact.
type Limits struct {
	PerRule      int // findings listed under each rule
	Remediations int // entries of the would-be remediation list
	Errors       int // unreadable inputs listed
	Top          int // rows of the top clusters, accounts and actors tables
}

// DefaultLimits keep a report of hundreds of thousands of findings under a megabyte.
var DefaultLimits = Limits{PerRule: 25, Remediations: 250, Errors: 50, Top: 10}

// Counts are what the replay read, as its summary line gives them.
type Counts struct {
	Files, Bytes, Records, InScope, Unreadable int64
	// Outside are the records skipped as outside --since/--until.
	Outside int64
	// Selection says which records the replay read when it was told to
	// read only some (--since, --until, --account, --region); "" for all.
	Selection string
}

// Builder collects findings and unreadable inputs as a replay delivers
// them. It is not safe for concurrent use: replay calls back from one goroutine.
type Builder struct {
	pol    *policy.Policy
	inputs []string
	lim    Limits

	seq      int64
	total    int64
	bySev    [finding.Critical + 1]int64
	rules    map[string]*ruleAgg
	clusters map[clusterKey]int64
	accounts map[string]int64
	actors   map[actorKey]map[string]int64 // actor -> rule -> findings
	hours    map[int64]*hourAgg            // unix hour -> counts
	untimed  int64
	first    time.Time
	last     time.Time
	plans    int64
	remedy   capped
	errs     []string
	nerrs    int64
}

type ruleAgg struct {
	n          int64
	plans      int64
	principals map[string]int64
	list       capped
}

type clusterKey struct{ Name, Account, Region string }

// actorKey is an actor as the policy's automation list matches it: the
// role behind the call, and the caller's own ARN.
type actorKey struct{ Role, ARN string }

// name is how the report names an actor: its role, or its ARN for callers
// that are not role sessions.
func (a actorKey) name() string { return cmp.Or(a.Role, a.ARN) }

type hourAgg struct {
	sev  [finding.Critical + 1]int64
	rule map[string]int64
}

// New starts a report of a replay of inputs (the paths as given) under pol.
func New(pol *policy.Policy, inputs []string, lim Limits) *Builder {
	return &Builder{
		pol: pol, inputs: slices.Clone(inputs), lim: lim,
		rules:    map[string]*ruleAgg{},
		clusters: map[clusterKey]int64{},
		accounts: map[string]int64{},
		actors:   map[actorKey]map[string]int64{},
		hours:    map[int64]*hourAgg{},
		remedy:   capped{max: lim.Remediations},
	}
}

// Add counts one finding.
func (b *Builder) Add(f *finding.Finding) {
	b.seq++
	b.total++
	sev := min(max(f.Severity, finding.Info), finding.Critical)
	b.bySev[sev]++
	ra := b.rules[f.Rule]
	if ra == nil {
		ra = &ruleAgg{principals: map[string]int64{}, list: capped{max: b.lim.PerRule}}
		b.rules[f.Rule] = ra
	}
	ra.n++
	ra.principals[f.Principal]++
	b.clusters[clusterKey{f.Cluster, f.Account, f.Region}]++
	b.accounts[f.Account]++
	ak := actorKey{f.Actor.Role, f.Actor.ARN}
	if b.actors[ak] == nil {
		b.actors[ak] = map[string]int64{}
	}
	b.actors[ak][f.Rule]++

	t, err := time.Parse(time.RFC3339, f.EventTime)
	if err != nil {
		b.untimed++
	} else {
		t = t.UTC()
		if b.first.IsZero() || t.Before(b.first) {
			b.first = t
		}
		if t.After(b.last) {
			b.last = t
		}
		h := t.Unix() / 3600
		ha := b.hours[h]
		if ha == nil {
			ha = &hourAgg{rule: map[string]int64{}}
			b.hours[h] = ha
		}
		ha.sev[sev]++
		ha.rule[f.Rule]++
	}
	if f.Plan != nil {
		b.plans++
		ra.plans++
		b.remedy.offer(t, b.seq, f)
	}
	ra.list.offer(t, b.seq, f)
}

// AddError records an input that could not be read.
func (b *Builder) AddError(err error) {
	b.nerrs++
	if len(b.errs) < b.lim.Errors {
		b.errs = append(b.errs, err.Error())
	}
}

// item is a finding in a capped list, ordered by event time, then by the
// order replay delivered it (findings without a time last).
type item struct {
	t   time.Time
	seq int64
	row *row
}

func (a item) before(b item) bool {
	switch {
	case a.t.IsZero() != b.t.IsZero():
		return !a.t.IsZero()
	case !a.t.Equal(b.t):
		return a.t.Before(b.t)
	}
	return a.seq < b.seq
}

// capped keeps the earliest max items of what it is offered, and counts the rest.
type capped struct {
	max   int
	items maxHeap
	n     int64
}

// offer counts f and keeps a copy of what the page shows of it if f is
// among the earliest max; the finding itself is not retained.
func (c *capped) offer(t time.Time, seq int64, f *finding.Finding) {
	c.n++
	if c.max <= 0 {
		return
	}
	it := item{t: t, seq: seq}
	if len(c.items) < c.max {
		it.row = newRow(f)
		heap.Push(&c.items, it)
		return
	}
	if it.before(c.items[0]) {
		it.row = newRow(f)
		c.items[0] = it
		heap.Fix(&c.items, 0)
	}
}

// sorted returns the kept items earliest first.
func (c *capped) sorted() []*row {
	items := slices.Clone(c.items)
	slices.SortFunc(items, func(a, b item) int {
		if a.before(b) {
			return -1
		}
		return 1
	})
	out := make([]*row, len(items))
	for i, it := range items {
		out[i] = it.row
	}
	return out
}

// maxHeap has the latest item at the root, the one to drop first.
type maxHeap []item

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[j].before(h[i]) }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(item)) }
func (h *maxHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// row is a finding as the page lists it: a copy of the fields shown, so
// the replay's finding is not retained.
type row struct {
	Time, Rule, Severity, Summary, Where, Actor, UserAgent, Principal, Event, EventID string
	NeedsCheck, Mode                                                                  string
	PlanSummary, APICall, CLI, ByHand                                                 string
}

func newRow(f *finding.Finding) *row {
	where := strings.TrimSpace(f.Account + " " + f.Region)
	if f.Cluster != "" {
		where = f.Cluster + " (" + where + ")"
	}
	r := &row{
		Time: f.EventTime, Rule: f.Rule, Severity: f.Severity.String(), Summary: f.Summary, Where: where,
		Actor: f.Actor.ARN, UserAgent: f.Actor.UserAgent, Principal: f.Principal, Event: f.EventName, EventID: f.EventID,
		NeedsCheck: f.NeedsCheck, Mode: string(f.Mode),
	}
	if f.Plan == nil {
		if rule, ok := rules.ByID(f.Rule); ok {
			r.ByHand = rule.Fix
		}
		if f.Command != "" {
			r.ByHand = f.Command
		}
		return r
	}
	r.PlanSummary = f.Plan.Summary()
	r.CLI = f.Plan.CLI(f.Region)
	args, err := json.Marshal(f.Plan)
	if err != nil {
		args = []byte(fmt.Sprintf("%q", err.Error()))
	}
	r.APICall = f.Plan.Action + " " + string(args)
	return r
}

// Digest is the SHA-256 of the policy's JSON form, the document the stack
// gives the functions: two replays under the same digest judged alike.
func Digest(pol *policy.Policy) string {
	b, err := json.Marshal(pol)
	if err != nil {
		return "unavailable: " + err.Error()
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// removedByAutomation counts the findings of rule ("" for every rule) that
// adding entry to principals.automation would remove: the engine drops an
// event when the entry matches the actor's role or its ARN
// (policy.IsAutomation), with the same matcher.
func (b *Builder) removedByAutomation(entry, rule string) int64 {
	var n int64
	pats := []string{entry}
	may := prefilter(entry)
	for a, byRule := range b.actors {
		if !may(a.Role) && !may(a.ARN) {
			continue
		}
		if !identity.Matches(pats, a.Role) && !identity.Matches(pats, a.ARN) {
			continue
		}
		for r, c := range byRule {
			if rule == "" || r == rule {
				n += c
			}
		}
	}
	return n
}

// removedByAllow counts the findings of rule that adding entry to
// rules.<rule>.allow would remove, judged by policy.Allowed on a copy of
// the policy that allows only entry.
func (b *Builder) removedByAllow(rule, entry string) int64 {
	what := *b.pol
	what.Rules = map[string]policy.RuleConfig{rule: {Allow: []string{entry}}}
	var n int64
	may := prefilter(entry)
	for p, c := range b.rules[rule].principals {
		if may(p) && what.Allowed(rule, p) {
			n += c
		}
	}
	return n
}

// prefilter is a quick necessary condition for entry to match a principal,
// so the exact matcher runs on few of a large replay's distinct principals.
// An entry without wildcards matches (identity.Matches, Policy.Allowed) a
// principal equal to it, a session of the role it names, the role with a
// path, or a role of that name: each holds the entry's last name segment.
func prefilter(entry string) func(string) bool {
	if strings.ContainsAny(entry, "*?") {
		return func(string) bool { return true }
	}
	name := identity.Name(entry)
	return func(s string) bool { return strings.Contains(s, name) }
}
