package stack

import (
	"regexp"
	"slices"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/families"
)

// Org is the organization mode (docs/organizations.md): this stack is the
// central one, and a member stack in every member account and member region
// forwards the events to its central bus.
type Org struct {
	// ID is the organization's ID (o-...).
	ID string
	// OUs are the organizational units (or the root) the member StackSet
	// deploys to; none means no StackSet (per-account deployment only).
	OUs []string
	// Regions are the member regions, the IAM events' region among them.
	Regions []string
	// Accounts get one standalone member stack per member region, for
	// `cdk deploy` where StackSets cannot be used.
	Accounts []string
	// RoleName is the remediation role's name in every member account.
	RoleName string
	// CallAs is the StackSet's CallAs: DELEGATED_ADMIN or SELF.
	CallAs string
}

var (
	orgIDRE    = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	ouIDRE     = regexp.MustCompile(`^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$`)
	roleNameRE = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
)

// orgSettings are the settings that only mean something with organizationId.
var orgSettings = []string{"memberOrganizationalUnits", "memberRegions", "memberAccounts", "remediationRoleName", "stackSetCallAs"}

// resolveOrg reads the organization settings: nil when none is set.
func resolveOrg(cfg Config, val func(string) string, bad func(key, format string, args ...any)) *Org {
	id := val("organizationId")
	vals := map[string]string{}
	for _, k := range orgSettings {
		vals[k] = val(k)
	}
	if id == "" {
		for _, k := range orgSettings {
			if vals[k] != "" {
				bad(k, "only applies to an organization deployment; set organizationId as well")
			}
		}
		return nil
	}
	o := &Org{ID: id, OUs: list(vals["memberOrganizationalUnits"]), Accounts: list(vals["memberAccounts"]),
		RoleName: or(vals["remediationRoleName"], assume.DefaultRoleName), CallAs: or(vals["stackSetCallAs"], "DELEGATED_ADMIN")}
	if !orgIDRE.MatchString(id) {
		bad("organizationId", "%q is not an AWS Organizations ID (o- and 10 to 32 lower-case letters or digits)", id)
	}
	if cfg.Account == "" {
		bad("account", "organizationId is set: the central account must be given, since every member stack names its event bus and function roles")
	}
	for _, ou := range o.OUs {
		if !ouIDRE.MatchString(ou) {
			bad("memberOrganizationalUnits", "%q is not an organizational unit ID (ou-...) or root ID (r-...)", ou)
		}
	}
	for _, a := range o.Accounts {
		if !accountRE.MatchString(a) {
			bad("memberAccounts", "%q is not a 12-digit account ID", a)
		}
	}
	if len(o.OUs) == 0 && len(o.Accounts) == 0 {
		bad("memberOrganizationalUnits", "organizationId is set but neither memberOrganizationalUnits nor memberAccounts names a member to guard")
	}
	o.Regions = list(vals["memberRegions"])
	if len(o.Regions) == 0 {
		o.Regions = []string{cfg.Region}
	}
	for _, r := range o.Regions {
		if !regionRE.MatchString(r) {
			bad("memberRegions", "%q is not an AWS region name", r)
		}
	}
	// IAM events reach EventBridge only in the global region.
	for _, f := range families.All() {
		if f.GlobalRegion != "" && !slices.Contains(o.Regions, f.GlobalRegion) {
			o.Regions = append(o.Regions, f.GlobalRegion)
		}
	}
	if !roleNameRE.MatchString(o.RoleName) {
		bad("remediationRoleName", "%q is not an IAM role name (1 to 64 of letters, digits and +=,.@_-)", o.RoleName)
	}
	if o.CallAs != "DELEGATED_ADMIN" && o.CallAs != "SELF" {
		bad("stackSetCallAs", "%q: want DELEGATED_ADMIN or SELF", o.CallAs)
	}
	for _, fn := range FunctionNames() {
		if fn == NotifierName {
			continue
		}
		if n := len(functionRoleName(cfg.StackName, fn, cfg.Region)); n > 64 {
			bad("stackName", "%q is too long for organization mode: the %s function's role would be named %q (%d characters; IAM allows 64)",
				cfg.StackName, fn, functionRoleName(cfg.StackName, fn, cfg.Region), n)
		}
	}
	return o
}

// functionRoleName is a family function's role name in organization mode:
// fixed, so that every member stack can name it in its remediation role's
// trust without a cross-account reference.
func functionRoleName(stackName, fn, region string) string {
	return stackName + "-" + fn + "-" + region
}

// CentralBusName is the central event bus's name.
func CentralBusName(stackName string) string { return stackName + "-org" }

// MemberStackSetName is the member StackSet's name.
func MemberStackSetName(stackName string) string { return stackName + "-member" }

// MemberStackName names the standalone member stack of an account and region.
func MemberStackName(stackName, account, region string) string {
	return stackName + "-member-" + account + "-" + region
}

// orgPolicy fills in, in organization mode, the organization's accounts the
// settings and the policy list, which the rules trust besides the event's
// own account when the policy has no trusted list.
func orgPolicy(cfg Config) {
	if cfg.Org == nil {
		return
	}
	accts := append([]string{cfg.Account}, cfg.Org.Accounts...)
	for _, a := range cfg.Policy.ListedAccounts() {
		if !slices.Contains(accts, a) {
			accts = append(accts, a)
		}
	}
	slices.Sort(accts)
	cfg.Policy.Accounts.Organization = slices.Compact(accts)
}
