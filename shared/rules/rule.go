// Package rules is the catalogue of what eksguard flags. Each rule is a
// value with a pure evaluation over (event, policy); the registry is an
// explicit list, with no init-time side effects.
package rules

import (
	"slices"
	"sync"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

// Rule is one check.
type Rule struct {
	ID        string
	Title     string
	Severity  finding.Severity
	Rationale string
	// Fix says what eksguard (or a person) does about it.
	Fix string
	// Events are the CloudTrail event names the rule looks at.
	Events []string
	// Actions are the IAM actions the rule's plans may call; the stack grants
	// them only when the rule is in remediate mode.
	Actions []string
	// Eval returns the rule's findings for one event. It is pure: no I/O, no
	// clock, no globals. Assess fills in the common fields (event, actor,
	// mode) afterwards; Eval sets what is specific to the rule. A finding's
	// Severity is the rule's unless Eval sets another (above info).
	Eval func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding
}

// All returns the catalogue in a stable order.
func All() []Rule {
	return []Rule{
		ClusterAdminGranted,
		PrivilegedGroupGranted,
		ForeignPrincipalGranted,
		IAMUserGranted,
		ProtectedAccessRemoved,
		AccessChangeDenied,
		PublicEndpointOpened,
		PrivateEndpointDisabled,
		ControlPlaneLoggingDisabled,
		AuthenticationModeChanged,
		ClusterCreatedInsecure,
		RequiredPolicyDetached,
		AdminPolicyAttachedToEKSRole,
		EKSRoleTrustChanged,
		EKSRoleInlinePolicyChanged,
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
		for _, name := range r.Events {
			src := sourceOf(name)
			if idx[src] == nil {
				idx[src] = map[string][]Rule{}
			}
			idx[src][name] = append(idx[src][name], r)
		}
	}
	return idx
}

// sourceOf finds the CloudTrail eventSource of an in-scope event name.
func sourceOf(eventName string) string {
	for _, f := range families.All() {
		if slices.Contains(f.EventNames, eventName) {
			return f.EventSource
		}
	}
	return ""
}

// Engine assesses events against a policy with a fixed catalogue.
type Engine struct {
	policy *policy.Policy
	rules  index
}

// NewEngine prepares the catalogue for a policy.
func NewEngine(p *policy.Policy, rs []Rule) *Engine {
	return &Engine{policy: p, rules: buildIndex(rs)}
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
	if len(candidates) == 0 || e.policy.IsAutomation(&r.UserIdentity) {
		return nil
	}
	var out []finding.Finding
	for i := range candidates {
		rule := &candidates[i]
		mode := e.policy.ModeFor(rule.ID)
		if mode == finding.ModeOff {
			continue
		}
		for _, f := range rule.Eval(r, e.policy) {
			if e.policy.Allowed(rule.ID, f.Principal) {
				continue
			}
			fill(&f, rule, r, mode)
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

// EventNames lists every event name some rule looks at, sorted.
func EventNames(rs []Rule) []string {
	var out []string
	for _, r := range rs {
		for _, e := range r.Events {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	slices.Sort(out)
	return out
}
