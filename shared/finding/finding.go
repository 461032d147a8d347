// Package finding holds what eksguard reports: the severity scale, the
// per-rule modes, the remediation plan as data, and the outcome of acting on it.
package finding

import (
	"fmt"
	"strings"
)

// Severity orders findings: info < low < medium < high < critical.
type Severity int

// The severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want one of %s)", s, strings.Join(severityNames[:], ", "))
}

// MarshalText writes the severity name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Mode says what eksguard does with a rule's findings.
type Mode string

// The modes a rule can be in.
const (
	ModeOff       Mode = "off"
	ModeNotify    Mode = "notify"
	ModeRemediate Mode = "remediate"
)

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeOff, ModeNotify, ModeRemediate:
		return m, nil
	}
	return "", fmt.Errorf("unknown mode %q (want off, notify or remediate)", s)
}

// Actor is who made the call, as CloudTrail recorded it.
type Actor struct {
	ARN       string `json:"arn,omitempty"`
	Type      string `json:"type,omitempty"`
	Role      string `json:"role,omitempty"` // the IAM role or user behind the call (a session's issuer)
	AccountID string `json:"accountId,omitempty"`
	SourceIP  string `json:"sourceIp,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
	InvokedBy string `json:"invokedBy,omitempty"`
	MFA       bool   `json:"mfa"`
	Console   bool   `json:"console"`
	// KubernetesUser, for a finding of the Kubernetes audit log, is the
	// user the API server authenticated (ARN is the IAM principal behind
	// it); the audit log does not tell MFA.
	KubernetesUser string `json:"kubernetesUser,omitempty"`
}

// Finding is one rule's verdict on one event.
type Finding struct {
	Rule      string   `json:"rule"`
	Severity  Severity `json:"severity"`
	Title     string   `json:"title"`
	Summary   string   `json:"summary"`
	EventID   string   `json:"eventID"`
	EventName string   `json:"eventName"`
	EventTime string   `json:"eventTime"`
	Account   string   `json:"account"`
	// AccountName is the account's display name from the policy, if any.
	AccountName string `json:"accountName,omitempty"`
	Region      string `json:"region"`
	Cluster     string `json:"cluster,omitempty"`
	// Principal is the IAM principal (or role) whose access or permissions changed.
	Principal string `json:"principal,omitempty"`
	// Resource names what changed when it is neither a cluster nor a
	// principal: a trail, or one of eksguard's own resources.
	Resource string `json:"resource,omitempty"`
	Actor    Actor  `json:"actor"`
	// Before and After describe the change where the event tells it.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// NeedsCheck says the event alone cannot tell the resulting state.
	NeedsCheck string `json:"needsCheck,omitempty"`
	// Command is what a person runs about a finding eksguard has no plan
	// for (the kubectl command for a Kubernetes finding).
	Command string   `json:"command,omitempty"`
	Mode    Mode     `json:"mode"`
	Plan    *Plan    `json:"plan,omitempty"`
	Outcome *Outcome `json:"outcome,omitempty"`
	// ApprovedBy is the Slack user who approved the fix (Apply fix), when
	// a person did.
	ApprovedBy string `json:"approvedBy,omitempty"`
	// Source says how the finding was found: SourceEvent (a CloudTrail
	// event) or SourceScan (the state a scan read).
	Source string `json:"source,omitempty"`
	// ID identifies a scan finding: the same rule on the same resource
	// gives the same ID scan after scan. Event findings have their EventID.
	ID string `json:"id,omitempty"`
}

// AccountLabel is the account ID, with its display name when the policy
// gives one: "444455556666 (payments-prod)".
func (f *Finding) AccountLabel() string {
	if f.AccountName == "" {
		return f.Account
	}
	return f.Account + " (" + f.AccountName + ")"
}

// The sources of a finding.
const (
	SourceEvent = "event"
	SourceScan  = "scan"
)

// Key identifies the resource a finding is about, for dedup windows and
// circuit breakers: account, region, cluster or role, and principal.
func (f *Finding) Key() string {
	k := f.Account + "/" + f.Region + "/" + f.Cluster + "/" + f.Principal
	if f.Resource != "" {
		k += "/" + f.Resource
	}
	return k
}

// Status is what became of a finding's plan.
type Status string

// The outcomes of a plan.
const (
	StatusRemediated       Status = "remediated"
	StatusAlreadyCompliant Status = "already-compliant"
	StatusDeferred         Status = "deferred"
	StatusSuppressed       Status = "suppressed"
	StatusFailed           Status = "failed"
	StatusNeedsReview      Status = "needs-review"        // eksguard held back: the fix could not be confirmed safe
	StatusSkippedMode      Status = "skipped-mode"        // the rule is in notify mode: the plan is what would have run
	StatusSkippedKill      Status = "skipped-kill-switch" // remediation switched off globally
	StatusNoPlan           Status = "no-plan"             // nothing to undo automatically
	StatusIgnored          Status = "ignored"             // caused by eksguard itself
	StatusResolved         Status = "resolved"            // a scan no longer finds it
)

// Outcome records what eksguard did about a finding.
type Outcome struct {
	Status    Status `json:"status"`
	ErrorCode string `json:"errorCode,omitempty"`
	Message   string `json:"message,omitempty"`
	Attempts  int    `json:"attempts,omitempty"`
}
