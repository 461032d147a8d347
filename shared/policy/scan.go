package policy

import (
	"slices"

	"github.com/eksguard/eksguard/shared/finding"
)

// Scan settings: what the scheduled scan does with what it finds.
type Scan struct {
	// Remediate lists the rules whose scan findings are remediated (through
	// the same pre-check, circuit breaker, kill switch and idempotency as
	// event fixes). Every other scan finding is notified only, whatever the
	// rule's mode: remediating state is off unless turned on per rule.
	Remediate []string `yaml:"remediate" json:"remediate,omitempty"`
}

// ScanMode is the mode a scan finding of the rule is handled in: off when
// the rule is off, remediate when scan.remediate lists it, else notify.
func (p *Policy) ScanMode(ruleID string) finding.Mode {
	switch {
	case p.ModeFor(ruleID) == finding.ModeOff:
		return finding.ModeOff
	case slices.Contains(p.Scan.Remediate, ruleID):
		return finding.ModeRemediate
	}
	return finding.ModeNotify
}
