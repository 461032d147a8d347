// Package rules is the catalogue of what eksguard flags, and the one source
// of what eksguard watches: the events each family's function is routed
// (EventNames, Pattern), the decoders that must exist for them, the IAM
// actions the stack may grant, and the docs all follow from it.
//
// Each rule is a value with pure judgements over (event, policy); the
// registry is an explicit list, with no init-time side effects.
package rules

import (
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

// CloudTrail event sources the catalogue reads.
const (
	EKS = "eks.amazonaws.com"
	IAM = "iam.amazonaws.com"
)

// Rule is one check.
type Rule struct {
	ID        string
	Title     string
	Severity  finding.Severity
	Rationale string
	// Fix says what eksguard (or a person) does about it.
	Fix string
	// Actions are the IAM actions the rule's plans may call; the stack grants
	// them only when the rule is in remediate mode.
	Actions []string
	// Judge says how the rule reads each kind of event it looks at.
	Judge []Judgement
	// Correlate, for a rule that reads several events together instead,
	// says which and how (correlate.go); such a rule has no Judge and
	// shows itself in Correlate.Sequences instead of Examples.
	Correlate *Correlation
	// Audit, for a rule of the kubernetes family, says how it reads
	// Kubernetes audit events (audit.go); such a rule has no Judge.
	Audit []AuditJudgement
	// Examples are events that fire the rule and events that stay quiet,
	// judged against ExamplePolicy; one test runs every rule's examples.
	Examples []Example
	// State, for a rule that can also judge what a scan reads, says how
	// (state.go); a rule without one is listed in NoState with the reason.
	State *StateForm
}

// Calls selects which calls of an event a judgement reads.
type Calls int

const (
	// Succeeded calls carry no errorCode.
	Succeeded Calls = iota
	// Denied calls were rejected for lack of permission.
	Denied
)

// Judgement is how a rule reads events whose request parameters decode to
// one type. The framework checks the call's outcome and the parameter type,
// so a judgement's body is only the rule's reasoning.
type Judgement struct {
	source string
	events []string
	calls  Calls
	params reflect.Type
	eval   func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding
}

// On judges the successful calls of the named events of a CloudTrail event
// source, whose request parameters decode to *P.
func On[P any](source string, judge func(r *cloudtrail.Record, params *P, p *policy.Policy) []finding.Finding, events ...string) Judgement {
	return bind(source, Succeeded, judge, events)
}

// OnDenied judges the calls of the named events that were denied. Their
// parameters may be missing (failed IAM calls carry none): judge then sees
// a zero *P.
func OnDenied[P any](source string, judge func(r *cloudtrail.Record, params *P, p *policy.Policy) []finding.Finding, events ...string) Judgement {
	return bind(source, Denied, judge, events)
}

func bind[P any](source string, calls Calls, judge func(*cloudtrail.Record, *P, *policy.Policy) []finding.Finding, events []string) Judgement {
	return Judgement{
		source: source, events: events, calls: calls, params: reflect.TypeFor[*P](),
		eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
			switch calls {
			case Succeeded:
				if r.Failed() {
					return nil
				}
			case Denied:
				if !r.Denied() {
					return nil
				}
			}
			if r.Params == nil {
				if calls == Succeeded {
					// A successful call without parameters states nothing to judge.
					return nil
				}
				return judge(r, new(P), p)
			}
			params, ok := r.Params.(*P)
			if !ok {
				// The catalogue test makes this unreachable; the guard turns the
				// panic into an error, so the event ends in the dead-letter queue.
				panic(fmt.Sprintf("%s %s: decoded parameters are %T, the rule reads %v", r.EventSource, r.EventName, r.Params, reflect.TypeFor[*P]()))
			}
			return judge(r, params, p)
		},
	}
}

// Source is the CloudTrail event source the judgement reads.
func (j Judgement) Source() string { return j.source }

// Events are the event names the judgement reads.
func (j Judgement) Events() []string { return slices.Clone(j.events) }

// Params is the request parameter type the judgement reads (a pointer type).
func (j Judgement) Params() reflect.Type { return j.params }

// Calls is which calls the judgement reads.
func (j Judgement) Calls() Calls { return j.calls }

// Events lists the event names the rule looks at, in catalogue order.
func (r *Rule) Events() []string {
	var out []string
	for _, j := range r.Judge {
		for _, e := range j.events {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	if r.Correlate != nil {
		for _, e := range r.Correlate.Events {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	for _, j := range r.Audit {
		if e := j.match.String(); !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// Eval returns the rule's findings for one event. It is pure: no I/O, no
// clock, no globals. Assess fills in the common fields (event, actor, mode)
// afterwards; a judgement sets what is specific to the rule. A finding's
// Severity is the rule's unless the judgement sets another.
func (r *Rule) Eval(rec *cloudtrail.Record, p *policy.Policy) []finding.Finding {
	var out []finding.Finding
	for _, j := range r.Judge {
		if j.source == rec.EventSource && slices.Contains(j.events, rec.EventName) {
			out = append(out, j.eval(rec, p)...)
		}
	}
	return out
}

// All returns the catalogue in a stable order.
func All() []Rule {
	return []Rule{
		ClusterAdminGranted,
		PrivilegedGroupGranted,
		ForeignPrincipalGranted,
		IAMUserGranted,
		NodeEntryForNonNodeRole,
		ProtectedAccessRemoved,
		AccessChangeDenied,
		ConfigChangeDenied,
		PublicEndpointOpened,
		PrivateEndpointDisabled,
		ControlPlaneLoggingDisabled,
		AuthenticationModeChanged,
		ClusterCreatedInsecure,
		DeletionProtectionDisabled,
		ClusterDeleted,
		ClusterNetworkChanged,
		AutoModeNodeRoleChanged,
		NodegroupSSHOpen,
		IdentityProviderAssociated,
		PodIdentityEscalation,
		RequiredPolicyDetached,
		AdminPolicyAttachedToEKSRole,
		EKSRoleTrustChanged,
		EKSRoleInlinePolicyChanged,
		TrailLoggingStopped,
		EksguardTampered,
		RemediationSwitchedOff,
		AccessGrantedThenRemoved,
		PrincipalGrantedManyClusters,
		AWSAuthAdminMapped,
		AWSAuthChanged,
		ClusterAdminBound,
		AnonymousAccessBound,
		ImpersonationUsed,
	}
}

// IDs returns every rule ID, for policy validation.
func IDs() []string {
	all := All()
	ids := make([]string, len(all))
	for i, r := range all {
		ids[i] = r.ID
	}
	return ids
}

// ByID finds a rule.
func ByID(id string) (Rule, bool) {
	for _, r := range All() {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// index maps eventSource, then eventName, to the rules that look at the event.
type index map[string]map[string][]Rule

func buildIndex(rs []Rule) index {
	idx := index{}
	for _, r := range rs {
		for _, j := range r.Judge {
			if idx[j.source] == nil {
				idx[j.source] = map[string][]Rule{}
			}
			for _, name := range j.events {
				if !slices.ContainsFunc(idx[j.source][name], func(x Rule) bool { return x.ID == r.ID }) {
					idx[j.source][name] = append(idx[j.source][name], r)
				}
			}
		}
		// A correlation rule's events are routed and in scope like any
		// other's; Assess finds no judgement of it to run.
		if r.Correlate != nil {
			if idx[EKS] == nil {
				idx[EKS] = map[string][]Rule{}
			}
			for _, name := range r.Correlate.Events {
				if !slices.ContainsFunc(idx[EKS][name], func(x Rule) bool { return x.ID == r.ID }) {
					idx[EKS][name] = append(idx[EKS][name], r)
				}
			}
		}
	}
	return idx
}

// Engine assesses events against a policy with a fixed catalogue.
type Engine struct {
	policy     *policy.Policy
	rules      index
	correlated []Rule
	audit      []Rule
}

// NewEngine prepares the catalogue for a policy.
func NewEngine(p *policy.Policy, rs []Rule) *Engine {
	e := &Engine{policy: p, rules: buildIndex(rs), correlated: correlated(rs)}
	for _, r := range rs {
		if len(r.Audit) > 0 {
			e.audit = append(e.audit, r)
		}
	}
	return e
}

// Policy is the engine's policy.
func (e *Engine) Policy() *policy.Policy { return e.policy }

// Relevant reports whether any rule looks at the event. It takes bytes so
// that a replay can skip records before decoding them, without allocating.
func (e *Engine) Relevant(eventSource, eventName []byte) bool {
	return len(e.rules[string(eventSource)][string(eventName)]) > 0
}

// Assess runs every rule that looks at the event and returns its findings,
// with the common fields filled in. Changes made by the policy's automation
// identities, and rules in mode off, give none.
func (e *Engine) Assess(r *cloudtrail.Record) []finding.Finding {
	candidates := e.rules[r.EventSource][r.EventName]
	pol := e.policy.For(r.Account()) // the account's overrides applied
	if len(candidates) == 0 || pol.IsAutomation(&r.UserIdentity) {
		return nil
	}
	return judge(candidates, pol,
		func(rule *Rule) []finding.Finding { return rule.Eval(r, pol) },
		func(f *finding.Finding, rule *Rule, mode finding.Mode) { fill(f, rule, r, mode) })
}

// judge runs each rule's judgement (eval) under the policy: rules in mode
// off give nothing, allow-listed principals are dropped, and fill completes
// each finding with the rule and the mode. CloudTrail records and audit
// events share it.
func judge(rs []Rule, pol *policy.Policy, eval func(*Rule) []finding.Finding, fill func(*finding.Finding, *Rule, finding.Mode)) []finding.Finding {
	var out []finding.Finding
	for i := range rs {
		rule := &rs[i]
		mode := pol.ModeFor(rule.ID)
		if mode == finding.ModeOff {
			continue
		}
		for _, f := range eval(rule) {
			if pol.Allowed(rule.ID, f.Principal) {
				continue
			}
			fill(&f, rule, mode)
			out = append(out, f)
		}
	}
	return out
}

// catalogue is the index of All(), built once: it does not depend on the policy.
var catalogue = sync.OnceValue(func() index { return buildIndex(All()) })

// Assess is Engine.Assess with the whole catalogue, for callers whose policy
// changes from event to event.
func Assess(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
	e := Engine{policy: p, rules: catalogue()}
	return e.Assess(r)
}

func fill(f *finding.Finding, rule *Rule, r *cloudtrail.Record, mode finding.Mode) {
	f.Rule = rule.ID
	f.Source = finding.SourceEvent
	if f.Severity == 0 && rule.Severity != 0 {
		f.Severity = rule.Severity
	}
	f.Title = rule.Title
	f.EventID = r.EventID
	f.EventName = r.EventName
	if !r.EventTime.IsZero() {
		f.EventTime = r.EventTime.UTC().Format("2006-01-02T15:04:05Z")
	}
	f.Account = r.Account()
	f.Region = r.AWSRegion
	f.Actor = finding.Actor{
		ARN:       r.UserIdentity.ARN,
		Type:      r.UserIdentity.Type,
		Role:      r.UserIdentity.ActorRole(),
		AccountID: r.UserIdentity.AccountID,
		SourceIP:  r.SourceIPAddress,
		UserAgent: r.UserAgent,
		InvokedBy: r.UserIdentity.InvokedBy,
		MFA:       r.UserIdentity.MFA(),
		Console:   r.Console(),
	}
	f.Mode = mode
}

// InScope reports whether some rule of the catalogue reads the event.
func InScope(eventSource, eventName string) bool {
	return len(catalogue()[eventSource][eventName]) > 0
}

// EventNames lists, sorted, the event names of the family's services that
// some rule reads and the family owns: the events its function is routed.
func EventNames(fam families.Family) []string {
	var out []string
	for _, s := range fam.Services {
		for _, name := range ServiceEventNames(fam, s.EventSource) {
			if !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// ServiceEventNames lists, sorted, the event names of one CloudTrail event
// source that some rule reads and the family owns.
func ServiceEventNames(fam families.Family, eventSource string) []string {
	var out []string
	for name := range catalogue()[eventSource] {
		if fam.Owns(eventSource, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Handles reports whether the family's function is routed the event.
func Handles(fam families.Family, eventSource, eventName string) bool {
	return fam.Owns(eventSource, eventName) && InScope(eventSource, eventName)
}

// Pattern is the EventBridge event pattern that routes the family's events,
// as the JSON-shaped value the stack deploys. A family of one service
// matches its eventSource and eventNames; a family of several matches one
// of them ("$or"), each with its own event names, so that no event name of
// one service is routed for another.
func Pattern(fam families.Family) map[string]any {
	var sources []string
	var branches []any
	for _, s := range fam.Services {
		names := ServiceEventNames(fam, s.EventSource)
		if len(names) == 0 {
			continue
		}
		sources = append(sources, s.Source)
		branches = append(branches, map[string]any{
			"eventSource": []string{s.EventSource},
			"eventName":   names,
		})
	}
	var detail map[string]any
	switch len(branches) {
	case 0:
		detail = map[string]any{}
	case 1:
		detail = branches[0].(map[string]any)
	default:
		detail = map[string]any{"$or": branches}
	}
	return map[string]any{
		"source":      sources,
		"detail-type": []string{families.DetailType},
		"detail":      detail,
	}
}

// ReadsFor reports whether the rule reads some event the family's function
// is routed: whether that function runs the rule (and may need its Actions).
func (r *Rule) ReadsFor(fam families.Family) bool {
	for _, j := range r.Judge {
		for _, e := range j.events {
			if fam.Owns(j.source, e) {
				return true
			}
		}
	}
	if r.Correlate != nil {
		for _, e := range r.Correlate.Events {
			if fam.Owns(EKS, e) {
				return true
			}
		}
	}
	return false
}
