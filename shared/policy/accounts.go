package policy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
)

// Override changes the rules and principals for some accounts: those it
// names, and those accounts.organizationalUnits lists under the OUs it
// names. A rule's entry replaces the policy's entry for that rule; the
// principals are added to the policy's. Overrides apply in order.
type Override struct {
	Accounts            []string              `yaml:"accounts" json:"accounts,omitempty"`
	OrganizationalUnits []string              `yaml:"organizationalUnits" json:"organizationalUnits,omitempty"`
	Rules               map[string]RuleConfig `yaml:"rules" json:"rules,omitempty"`
	Principals          Principals            `yaml:"principals" json:"principals"`
}

var ouRE = regexp.MustCompile(`^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$`)

// Applies reports whether the override is for the account.
func (o *Override) Applies(account string, units map[string][]string) bool {
	if slices.Contains(o.Accounts, account) {
		return true
	}
	for _, ou := range o.OrganizationalUnits {
		if slices.Contains(units[ou], account) {
			return true
		}
	}
	return false
}

// For is the policy as it applies to an account's events: p itself when
// no override is for the account, else a copy with the overrides applied.
func (p *Policy) For(account string) *Policy {
	out := p
	for i := range p.Overrides {
		o := &p.Overrides[i]
		if o.Applies(account, p.Accounts.OrganizationalUnits) {
			if out == p {
				out = p.clone()
			}
			out.apply(o)
		}
	}
	return out
}

// Variants are the policy and, for each override, the policy with that
// override applied: every rule mode any account's policy can have is in
// one of them (the stack grants what the union of them needs).
func (p *Policy) Variants() []*Policy {
	out := []*Policy{p}
	for i := range p.Overrides {
		c := p.clone()
		c.apply(&p.Overrides[i])
		out = append(out, c)
	}
	return out
}

func (p *Policy) clone() *Policy {
	c := *p
	c.Rules = maps.Clone(p.Rules)
	c.Principals = Principals{
		Admins:     slices.Clone(p.Principals.Admins),
		Protected:  slices.Clone(p.Principals.Protected),
		Automation: slices.Clone(p.Principals.Automation),
	}
	return &c
}

func (p *Policy) apply(o *Override) {
	if p.Rules == nil {
		p.Rules = map[string]RuleConfig{}
	}
	maps.Copy(p.Rules, o.Rules)
	p.Principals.Admins = append(p.Principals.Admins, o.Principals.Admins...)
	p.Principals.Protected = append(p.Principals.Protected, o.Principals.Protected...)
	p.Principals.Automation = append(p.Principals.Automation, o.Principals.Automation...)
}

// AccountName is the account's display name from accounts.names, or "".
func (p *Policy) AccountName(account string) string { return p.Accounts.Names[account] }

// ListedAccounts are the accounts the policy names anywhere: trusted,
// named, in an OU, or overridden; sorted.
func (p *Policy) ListedAccounts() []string {
	var out []string
	add := func(as ...string) {
		for _, a := range as {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	add(p.Accounts.Trusted...)
	add(slices.Collect(maps.Keys(p.Accounts.Names))...)
	for _, as := range p.Accounts.OrganizationalUnits {
		add(as...)
	}
	for _, o := range p.Overrides {
		add(o.Accounts...)
	}
	slices.Sort(out)
	return out
}

// accounts checks accounts.names, accounts.organizationalUnits and the overrides.
func (v *validator) accounts(p *Policy, knownRules []string) {
	for _, a := range slices.Sorted(maps.Keys(p.Accounts.Names)) {
		path := "accounts.names." + a
		if !accountRE.MatchString(a) {
			v.errorf(path, "%q is not a 12-digit account ID", a)
		}
		if p.Accounts.Names[a] == "" {
			v.errorf(path, "empty display name")
		}
	}
	for _, ou := range slices.Sorted(maps.Keys(p.Accounts.OrganizationalUnits)) {
		path := "accounts.organizationalUnits." + ou
		if !ouRE.MatchString(ou) {
			v.errorf(path, "%q is not an organizational unit ID (ou-...) or root ID (r-...)", ou)
		}
		for i, a := range p.Accounts.OrganizationalUnits[ou] {
			if !accountRE.MatchString(a) {
				v.errorf(fmt.Sprintf("%s[%d]", path, i), "%q is not a 12-digit account ID", a)
			}
		}
	}
	for i := range p.Overrides {
		o := &p.Overrides[i]
		at := fmt.Sprintf("overrides[%d]", i)
		if len(o.Accounts) == 0 && len(o.OrganizationalUnits) == 0 {
			v.errorf(at, "names no accounts and no organizationalUnits: it would apply to nothing")
		}
		for j, a := range o.Accounts {
			if !accountRE.MatchString(a) {
				v.errorf(fmt.Sprintf("%s.accounts[%d]", at, j), "%q is not a 12-digit account ID", a)
			}
		}
		for j, ou := range o.OrganizationalUnits {
			path := fmt.Sprintf("%s.organizationalUnits[%d]", at, j)
			switch {
			case !ouRE.MatchString(ou):
				v.errorf(path, "%q is not an organizational unit ID (ou-...) or root ID (r-...)", ou)
			case len(p.Accounts.OrganizationalUnits[ou]) == 0:
				v.errorf(path, "%s lists no accounts under accounts.organizationalUnits, so eksguard cannot tell which events it is for", ou)
			}
		}
		v.rules(at+".rules", o.Rules, knownRules)
		v.arnPatterns(at+".principals.admins", o.Principals.Admins)
		v.arnPatterns(at+".principals.protected", o.Principals.Protected)
		v.arnPatterns(at+".principals.automation", o.Principals.Automation)
		applied := p.clone()
		applied.apply(o)
		v.adminsForRemediation(at+".", applied, knownRules)
	}
}
