package policy

import (
	"regexp"
	"slices"
	"sort"
	"strconv"

	"github.com/eksguard/eksguard/shared/finding"
)

// SlackChannel is the Slack channel's settings: the common ones and who may
// act on its messages' buttons.
type SlackChannel struct {
	Channel `yaml:",inline"`
	// Approvers may click Apply fix and Expected change (setting slackActions).
	Approvers Approvers `yaml:"approvers" json:"approvers,omitzero"`
}

// Approvers are Slack user IDs allowed to approve fixes and state expected
// changes: Users for every finding, Rules per rule ID, Severities per
// severity name (the finding's own severity).
type Approvers struct {
	Users      []string            `yaml:"users" json:"users,omitempty"`
	Rules      map[string][]string `yaml:"rules" json:"rules,omitempty"`
	Severities map[string][]string `yaml:"severities" json:"severities,omitempty"`
}

// slackUserRE is a Slack user ID: U or W, then upper-case letters and digits.
var slackUserRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// MayApprove reports whether a Slack user may act on a finding of a rule
// and severity.
func (p *Policy) MayApprove(user, rule string, sev finding.Severity) bool {
	a := p.Notify.Slack.Approvers
	return user != "" && (slices.Contains(a.Users, user) || slices.Contains(a.Rules[rule], user) || slices.Contains(a.Severities[sev.String()], user))
}

// HasApprovers reports whether anyone may act on Slack buttons.
func (p *Policy) HasApprovers() bool {
	a := p.Notify.Slack.Approvers
	return len(a.Users) > 0 || len(a.Rules) > 0 || len(a.Severities) > 0
}

func (v *validator) approvers(a *Approvers, knownRules []string) {
	users := func(path string, ids []string) {
		for i, id := range ids {
			if !slackUserRE.MatchString(id) {
				v.errorf(path+"["+strconv.Itoa(i)+"]", "%q is not a Slack user ID (U or W, then capitals and digits, e.g. U012AB3CD)", id)
			}
		}
	}
	users("notify.slack.approvers.users", a.Users)
	for _, rule := range sortedKeys(a.Rules) {
		path := "notify.slack.approvers.rules." + rule
		if knownRules != nil && !slices.Contains(knownRules, rule) {
			v.errorf(path, "unknown rule %q", rule)
		}
		users(path, a.Rules[rule])
	}
	for _, sev := range sortedKeys(a.Severities) {
		path := "notify.slack.approvers.severities." + sev
		if s, err := finding.ParseSeverity(sev); err != nil || s.String() != sev {
			v.errorf(path, "unknown severity %q (want info, low, medium, high or critical)", sev)
		}
		users(path, a.Severities[sev])
	}
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
