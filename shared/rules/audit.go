package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/policy"
)

// AuditMatch selects the Kubernetes audit events a judgement reads.
type AuditMatch struct {
	// Resources are objectRef.resource values (any when empty).
	Resources []string
	// Namespace and Name narrow to one object (any when empty).
	Namespace, Name string
	// Verbs are the request verbs (any when empty).
	Verbs []string
	// Impersonated reads only requests made through impersonation.
	Impersonated bool
}

func (m AuditMatch) matches(ev *k8saudit.Event) bool {
	if len(m.Verbs) > 0 && !slices.Contains(m.Verbs, ev.Verb) {
		return false
	}
	if m.Impersonated && ev.ImpersonatedUser == nil {
		return false
	}
	if len(m.Resources) == 0 && m.Namespace == "" && m.Name == "" {
		return true
	}
	o := ev.ObjectRef
	if o == nil || o.Subresource != "" {
		return false
	}
	return (len(m.Resources) == 0 || slices.Contains(m.Resources, o.Resource)) &&
		(m.Namespace == "" || o.Namespace == m.Namespace) &&
		(m.Name == "" || o.Name == m.Name || (o.Name == "" && ev.Verb == "deletecollection"))
}

// String is how the catalogue shows what the judgement reads, e.g.
// "k8s:update,patch configmaps kube-system/aws-auth".
func (m AuditMatch) String() string {
	s := "k8s:" + strings.Join(m.Verbs, ",")
	if len(m.Verbs) == 0 {
		s = "k8s:any request"
	}
	if len(m.Resources) > 0 {
		s += " " + strings.Join(m.Resources, ",")
	}
	if m.Name != "" {
		s += " " + m.Namespace + "/" + m.Name
	}
	if m.Impersonated {
		s += " impersonated"
	}
	return s
}

// AuditJudgement is how a rule reads Kubernetes audit events (the
// kubernetes family's input), as Judgement is for CloudTrail records.
type AuditJudgement struct {
	match AuditMatch
	calls Calls
	eval  func(ev *k8saudit.Event, p *policy.Policy) []finding.Finding
}

// OnAudit judges the completed, successful (2xx/3xx) requests the match selects.
func OnAudit(m AuditMatch, judge func(ev *k8saudit.Event, p *policy.Policy) []finding.Finding) AuditJudgement {
	return AuditJudgement{match: m, calls: Succeeded, eval: judge}
}

// OnAuditDenied judges the requests the match selects that the API
// server's authorizer refused (403).
func OnAuditDenied(m AuditMatch, judge func(ev *k8saudit.Event, p *policy.Policy) []finding.Finding) AuditJudgement {
	return AuditJudgement{match: m, calls: Denied, eval: judge}
}

// Match is what the judgement reads.
func (j AuditJudgement) Match() AuditMatch { return j.match }

func (j AuditJudgement) judge(ev *k8saudit.Event, p *policy.Policy) []finding.Finding {
	if !ev.Complete() || !j.match.matches(ev) {
		return nil
	}
	switch j.calls {
	case Succeeded:
		if ev.Failed() {
			return nil
		}
	case Denied:
		if !ev.Denied() {
			return nil
		}
	}
	return j.eval(ev, p)
}

// EvalAudit is Eval for a Kubernetes audit event: pure, the common fields
// left to AssessAudit.
func (r *Rule) EvalAudit(ev *k8saudit.Event, p *policy.Policy) []finding.Finding {
	var out []finding.Finding
	for _, j := range r.Audit {
		out = append(out, j.judge(ev, p)...)
	}
	return out
}

// AssessAudit runs the engine's rules that read Kubernetes audit events
// over one, with the common fields filled in. Requests of the policy's
// automation identities, and rules in mode off, give none.
func (e *Engine) AssessAudit(ev *k8saudit.Event) []finding.Finding {
	return assessAudit(ev, e.policy, e.audit)
}

// AssessAudit is Engine.AssessAudit with the whole catalogue.
func AssessAudit(ev *k8saudit.Event, p *policy.Policy) []finding.Finding {
	return assessAudit(ev, p, auditRules())
}

func auditRules() []Rule {
	var out []Rule
	for _, r := range All() {
		if len(r.Audit) > 0 {
			out = append(out, r)
		}
	}
	return out
}

func assessAudit(ev *k8saudit.Event, p *policy.Policy, rs []Rule) []finding.Finding {
	pol := p.For(ev.Account) // the cluster's account's overrides applied
	if isAutomation(pol, &ev.User) {
		return nil
	}
	return judge(rs, pol,
		func(rule *Rule) []finding.Finding { return rule.EvalAudit(ev, pol) },
		func(f *finding.Finding, rule *Rule, mode finding.Mode) { fillAudit(f, rule, ev, mode) })
}

// isAutomation reports whether the caller's IAM principal is one of the
// policy's automation identities.
func isAutomation(p *policy.Policy, u *k8saudit.UserInfo) bool {
	a := p.Principals.Automation
	return len(a) > 0 && (identity.Matches(a, u.CanonicalARN()) || identity.Matches(a, u.ARN()))
}

// isAdminCaller reports whether the caller's IAM principal is a listed admin.
func isAdminCaller(p *policy.Policy, u *k8saudit.UserInfo) bool {
	return (u.CanonicalARN() != "" && p.IsAdmin(u.CanonicalARN())) || (u.ARN() != "" && p.IsAdmin(u.ARN()))
}

func fillAudit(f *finding.Finding, rule *Rule, ev *k8saudit.Event, mode finding.Mode) {
	f.Rule = rule.ID
	f.Source = finding.SourceEvent
	if f.Severity == 0 && rule.Severity != 0 {
		f.Severity = rule.Severity
	}
	f.Title = rule.Title
	f.EventID = ev.AuditID
	f.EventName = ev.Verb
	if ev.ObjectRef != nil && ev.ObjectRef.Resource != "" {
		f.EventName += " " + ev.ObjectRef.Resource
	}
	t := ev.StageTimestamp
	if t.IsZero() {
		t = ev.RequestReceivedTimestamp
	}
	if !t.IsZero() {
		f.EventTime = t.UTC().Format("2006-01-02T15:04:05Z")
	}
	f.Account = ev.Account
	f.Region = ev.Region
	if f.Cluster == "" {
		f.Cluster = ev.Cluster
	}
	f.Actor = auditActor(ev)
	f.Mode = mode
}

// auditActor is the IAM principal behind the Kubernetes user, as EKS's
// authenticator recorded it in user.extra; a user not mapped from IAM
// (a service account, a certificate user) is named by its user name.
func auditActor(ev *k8saudit.Event) finding.Actor {
	u := &ev.User
	a := finding.Actor{ARN: u.ARN(), Role: u.CanonicalARN(), UserAgent: ev.UserAgent, KubernetesUser: u.Username}
	if len(ev.SourceIPs) > 0 {
		a.SourceIP = ev.SourceIPs[0]
	}
	switch {
	case a.ARN == "":
		a.ARN = u.Username
		a.Type = "Kubernetes"
	case strings.Contains(a.ARN, ":assumed-role/"):
		a.Type = "AssumedRole"
	case identity.IsIAMUser(a.ARN):
		a.Type = "IAMUser"
	}
	if a.Role != "" {
		a.AccountID = identity.Account(a.Role)
	}
	return a
}

// AuditFilterPattern is the CloudWatch Logs filter pattern of the audit
// log subscription: a JSON pattern that matches the requests some rule
// reads, so that the kubernetes function is not invoked for the rest (every
// get, list and watch). Built from the catalogue.
func AuditFilterPattern() string {
	var ms []AuditMatch
	for _, r := range auditRules() {
		for _, j := range r.Audit {
			// A match another takes in (same object, fewer verbs) adds nothing.
			if slices.ContainsFunc(ms, func(o AuditMatch) bool { return covers(o, j.match) }) {
				continue
			}
			ms = slices.DeleteFunc(ms, func(o AuditMatch) bool { return covers(j.match, o) })
			ms = append(ms, j.match)
		}
	}
	clauses := make([]string, len(ms))
	for i, m := range ms {
		clauses[i] = filterClause(m)
	}
	return "{ " + strings.Join(clauses, " || ") + " }"
}

// covers reports whether every request b selects, a selects too.
func covers(a, b AuditMatch) bool {
	if !slices.Equal(a.Resources, b.Resources) || a.Namespace != b.Namespace || a.Name != b.Name || (a.Impersonated && !b.Impersonated) {
		return false
	}
	if len(a.Verbs) == 0 {
		return true
	}
	return len(b.Verbs) > 0 && !slices.ContainsFunc(b.Verbs, func(v string) bool { return !slices.Contains(a.Verbs, v) })
}

func filterClause(m AuditMatch) string {
	var parts []string
	alt := func(field string, values []string) {
		if len(values) == 0 {
			return
		}
		vs := make([]string, len(values))
		for i, v := range values {
			vs[i] = fmt.Sprintf("%s = %q", field, v)
		}
		parts = append(parts, "("+strings.Join(vs, " || ")+")")
	}
	alt("$.objectRef.resource", m.Resources)
	if m.Namespace != "" {
		parts = append(parts, fmt.Sprintf("($.objectRef.namespace = %q)", m.Namespace))
	}
	if m.Name != "" {
		// deletecollection names no object.
		parts = append(parts, fmt.Sprintf("($.objectRef.name = %q || $.verb = \"deletecollection\")", m.Name))
	}
	alt("$.verb", m.Verbs)
	if m.Impersonated {
		parts = append(parts, `($.impersonatedUser.username = "*")`)
	}
	return "(" + strings.Join(parts, " && ") + ")"
}

// auditObject decodes the object a write left: the response when it is
// the object (RequestResponse level), else the request when it is the
// object and not a patch.
func auditObject(ev *k8saudit.Event, kind string) []byte {
	for _, raw := range [][]byte{ev.ResponseObject, ev.RequestObject} {
		if objectKind(raw) == kind {
			return raw
		}
	}
	return nil
}

// ReadsAudit reports whether some judgement of the rule reads the audit
// event (whatever its outcome).
func (r *Rule) ReadsAudit(ev *k8saudit.Event) bool {
	return slices.ContainsFunc(r.Audit, func(j AuditJudgement) bool { return j.match.matches(ev) })
}

// ReadsAudit reports whether some rule of the engine reads the audit event.
func (e *Engine) ReadsAudit(ev *k8saudit.Event) bool {
	return slices.ContainsFunc(e.audit, func(r Rule) bool { return r.ReadsAudit(ev) })
}
