// Package policy reads and validates the eksguard policy: the one YAML file
// that says which accounts and principals are trusted, what the cluster
// settings must be, and what eksguard does about each rule.
package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/glob"
	"github.com/eksguard/eksguard/shared/identity"
)

// Policy is a parsed, validated policy file.
type Policy struct {
	Version    int        `yaml:"version" json:"version"`
	Defaults   Defaults   `yaml:"defaults" json:"defaults"`
	Accounts   Accounts   `yaml:"accounts" json:"accounts"`
	Principals Principals `yaml:"principals" json:"principals"`
	Kubernetes Kubernetes `yaml:"kubernetes" json:"kubernetes"`
	Endpoint   Endpoint   `yaml:"endpoint" json:"endpoint"`
	Clusters   Clusters   `yaml:"clusters" json:"clusters"`
	// IdentityProviders are the OIDC identity providers clusters may trust.
	IdentityProviders IdentityProviders     `yaml:"identityProviders" json:"identityProviders"`
	Logging           Logging               `yaml:"logging" json:"logging"`
	Roles             Roles                 `yaml:"roles" json:"roles"`
	Rules             map[string]RuleConfig `yaml:"rules" json:"rules"`
	Notify            Notify                `yaml:"notify" json:"notify"`
	Remediation       Remediation           `yaml:"remediation" json:"remediation"`
	Self              Self                  `yaml:"self" json:"self"`
	// Correlation bounds the rules that read several events together.
	Correlation Correlation `yaml:"correlation" json:"correlation"`
	// Overrides change rules and principals for some accounts (accounts.go).
	Overrides []Override `yaml:"overrides" json:"overrides,omitempty"`
	// Scan says what the scheduled scan may do beyond notifying (scan.go).
	Scan Scan `yaml:"scan" json:"scan,omitzero"`
	// Found is what a function learned through AWS about the event at hand.
	// Only the guard sets it, on a copy of the policy for that one event;
	// no policy file can (yaml:"-", json:"-"), and a replay never does.
	Found      Found `yaml:"-" json:"-"`
	sourceName string
}

// Found is what a function looked up through AWS for one event.
type Found struct {
	// AdminPolicies maps a role ARN to the admin-class managed policies
	// (ARNs) IAM lists as attached to it.
	AdminPolicies map[string][]string
	// Unlisted maps a role ARN to why its attached policies could not be
	// listed.
	Unlisted map[string]string
}

// Defaults apply to every rule that does not say otherwise.
type Defaults struct {
	Mode finding.Mode `yaml:"mode" json:"mode"`
}

// Accounts lists the accounts whose principals are trusted. Empty means the
// event's own account only.
type Accounts struct {
	Trusted []string `yaml:"trusted" json:"trusted"`
	// Names are display names by account ID, for findings and alerts.
	Names map[string]string `yaml:"names" json:"names,omitempty"`
	// OrganizationalUnits lists, by OU (or root) ID, the accounts in it
	// that overrides naming the OU apply to (accounts.go).
	OrganizationalUnits map[string][]string `yaml:"organizationalUnits" json:"organizationalUnits,omitempty"`
	// Organization are, in an organization deployment, the organization's
	// accounts the settings and the policy list: with no trusted list they
	// are trusted as well as the event's own account. Only the stack sets
	// it (no YAML key).
	Organization []string `yaml:"-" json:"organization,omitempty"`
}

// Principals are ARN glob lists. An actor matches through its role: an
// assumed-role session matches the role it came from.
type Principals struct {
	// Admins may hold cluster-admin access.
	Admins []string `yaml:"admins" json:"admins"`
	// Protected principals' access must not be removed.
	Protected []string `yaml:"protected" json:"protected"`
	// Automation identities (IaC pipelines) are trusted: their changes give no findings.
	Automation []string `yaml:"automation" json:"automation"`
}

// Kubernetes settings.
type Kubernetes struct {
	// PrivilegedGroups are Kubernetes groups bound to admin-level RBAC.
	PrivilegedGroups []string `yaml:"privilegedGroups" json:"privilegedGroups"`
	// PrivilegedClusterRoles are ClusterRoles that count as cluster-admin
	// when bound (cluster-admin always does).
	PrivilegedClusterRoles []string `yaml:"privilegedClusterRoles" json:"privilegedClusterRoles"`
}

// Endpoint settings for the cluster API endpoint.
type Endpoint struct {
	// PublicAccessCIDRs are the only CIDRs a public endpoint may allow.
	PublicAccessCIDRs []string `yaml:"publicAccessCidrs" json:"publicAccessCidrs"`
	// ApprovedIncludesNodeEgress states that the approved CIDRs hold the
	// egress (NAT) addresses of the nodes and in-VPC tools. Only then may
	// eksguard narrow the public endpoint of a cluster whose private
	// endpoint is off: without it, nodes that reach the API server through
	// the public endpoint could be cut off, so the fix is held for review.
	ApprovedIncludesNodeEgress bool `yaml:"approvedIncludesNodeEgress" json:"approvedIncludesNodeEgress,omitempty"`
}

// Clusters settings.
type Clusters struct {
	// Protected are cluster-name globs whose deletion is critical.
	Protected []string `yaml:"protected" json:"protected,omitempty"`
}

// IdentityProviders settings.
type IdentityProviders struct {
	// Allowed are OIDC issuer URL globs clusters may trust for sign-in.
	Allowed []string `yaml:"allowed" json:"allowed,omitempty"`
}

// Logging settings for the control plane.
type Logging struct {
	Required []string `yaml:"required" json:"required"`
}

// Roles are IAM role-name globs that identify EKS cluster and node roles.
type Roles struct {
	Cluster []string `yaml:"cluster" json:"cluster"`
	Node    []string `yaml:"node" json:"node"`
}

// RuleConfig overrides a rule's defaults.
type RuleConfig struct {
	Mode finding.Mode `yaml:"mode" json:"mode,omitempty"`
	// Allow lists principal ARN globs (or role names for IAM rules) the rule
	// does not fire for.
	Allow []string `yaml:"allow" json:"allow,omitempty"`
}

// Notify says where findings go and from which severity.
type Notify struct {
	Slack SlackChannel `yaml:"slack" json:"slack"`
	SNS   Channel      `yaml:"sns" json:"sns"`
	// DedupWindow folds the same rule on the same resource into one message.
	DedupWindow Duration `yaml:"dedupWindow" json:"dedupWindow"`
}

// Channel is one notification channel.
type Channel struct {
	MinSeverity finding.Severity `yaml:"minSeverity" json:"minSeverity"`
	// Format is "json" (default) or, for SNS routed through AWS Chatbot, "chatbot".
	Format string `yaml:"format" json:"format,omitempty"`
}

// Remediation limits.
type Remediation struct {
	// MaxPerResourcePerHour is the circuit breaker: past it, eksguard stops
	// and asks a human.
	MaxPerResourcePerHour int `yaml:"maxPerResourcePerHour" json:"maxPerResourcePerHour"`
}

// Self names eksguard's own deployment, whose resources the tamper rules
// guard.
type Self struct {
	// StackName is the CloudFormation stack eksguard is deployed as; the
	// resources CloudFormation names for it start with "<StackName>-", the
	// kill switch parameter with "/<StackName>/". Empty means
	// DefaultStackName.
	StackName string `yaml:"stackName" json:"stackName,omitempty"`
}

// Correlation settings: how far back the rules that read several events
// together look, and how many clusters make a spree.
type Correlation struct {
	// Window is how long a grant or removal is remembered (1h when zero).
	Window Duration `yaml:"window" json:"window"`
	// Clusters is how many distinct clusters one principal must be given
	// access on within Window for principal-granted-many-clusters (5 when
	// zero).
	Clusters int `yaml:"clusters" json:"clusters"`
}

// Correlation defaults.
const (
	DefaultCorrelationWindow   = time.Hour
	DefaultCorrelationClusters = 5
	// MaxCorrelationWindow bounds the window: the state of a correlation is
	// kept that long, in the table and in a replay's memory.
	MaxCorrelationWindow = 24 * time.Hour
)

// DefaultStackName is the stack name when the policy does not give one.
const DefaultStackName = "eksguard"

// StackName is the name of the stack eksguard is deployed as.
func (p *Policy) StackName() string {
	if p.Self.StackName == "" {
		return DefaultStackName
	}
	return p.Self.StackName
}

// Duration is a time.Duration written as "15m".
type Duration struct{ time.Duration }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default is the built-in policy: every rule notifies, nothing remediates,
// the event's own account is the only trusted one, and nobody is an admin.
func Default() *Policy {
	p := &Policy{Version: 1, sourceName: "built-in defaults"}
	p.Notify.Slack.MinSeverity = DefaultSlackSeverity
	p.Notify.SNS.MinSeverity = DefaultSNSSeverity
	p.applyDefaults()
	return p
}

// Source names where the policy came from (a file name or "built-in defaults").
func (p *Policy) Source() string { return p.sourceName }

// DefaultPrivilegedGroups, DefaultRequiredLogs and the default role patterns
// apply when the policy leaves them out.
var (
	DefaultSlackSeverity    = finding.Medium
	DefaultSNSSeverity      = finding.High
	DefaultPrivilegedGroups = []string{"cluster-admin", "system:masters"}
	DefaultRequiredLogs     = []string{"api", "audit", "authenticator"}
	// Role-name patterns of the common cluster-building tools (eksctl,
	// Terraform modules, the EKS console's suggested names).
	DefaultClusterRoles = []string{"*-cluster-role", "*ClusterRole*", "*cluster-role*", "eksctl-*-cluster-ServiceRole-*", "AmazonEKSAutoClusterRole*", "*-eks-cluster-*"}
	DefaultNodeRoles    = []string{"*-node-role", "*NodeRole*", "*node-role*", "eksctl-*-nodegroup-*-NodeInstanceRole-*", "AmazonEKSAutoNodeRole*", "*-eks-node-*", "*NodeInstanceRole*"}
)

func (p *Policy) applyDefaults() {
	if p.Defaults.Mode == "" {
		p.Defaults.Mode = finding.ModeNotify
	}
	if p.Kubernetes.PrivilegedGroups == nil {
		p.Kubernetes.PrivilegedGroups = DefaultPrivilegedGroups
	}
	if p.Logging.Required == nil {
		p.Logging.Required = DefaultRequiredLogs
	}
	if p.Roles.Cluster == nil {
		p.Roles.Cluster = DefaultClusterRoles
	}
	if p.Roles.Node == nil {
		p.Roles.Node = DefaultNodeRoles
	}
	if p.Notify.DedupWindow.Duration == 0 {
		p.Notify.DedupWindow.Duration = 15 * time.Minute
	}
	if p.Notify.Slack.Format == "" {
		p.Notify.Slack.Format = "blocks"
	}
	if p.Notify.SNS.Format == "" {
		p.Notify.SNS.Format = "json"
	}
	if p.Remediation.MaxPerResourcePerHour == 0 {
		p.Remediation.MaxPerResourcePerHour = 3
	}
	if p.Rules == nil {
		p.Rules = map[string]RuleConfig{}
	}
	if p.Correlation.Window.Duration == 0 {
		p.Correlation.Window.Duration = DefaultCorrelationWindow
	}
	if p.Correlation.Clusters == 0 {
		p.Correlation.Clusters = DefaultCorrelationClusters
	}
}

// ModeFor is the mode the policy gives a rule.
func (p *Policy) ModeFor(ruleID string) finding.Mode {
	if rc, ok := p.Rules[ruleID]; ok && rc.Mode != "" {
		return rc.Mode
	}
	return p.Defaults.Mode
}

// Allowed reports whether the rule's allow list exempts the principal. Allow
// entries are ARN globs, or role-name globs that match the role's name.
func (p *Policy) Allowed(ruleID, principal string) bool {
	rc, ok := p.Rules[ruleID]
	if !ok || len(rc.Allow) == 0 {
		return false
	}
	if identity.Matches(rc.Allow, principal) {
		return true
	}
	if strings.Contains(principal, ":role/") {
		return glob.Any(rc.Allow, identity.Name(principal))
	}
	return false
}

// TrustedAccount reports whether principals of the account are trusted;
// with no list, only the event's own account is (and, in an organization
// deployment, the organization's listed accounts).
func (p *Policy) TrustedAccount(account, eventAccount string) bool {
	if len(p.Accounts.Trusted) == 0 {
		return account == eventAccount || slices.Contains(p.Accounts.Organization, account)
	}
	for _, a := range p.Accounts.Trusted {
		if a == account {
			return true
		}
	}
	return false
}

// IsAdmin reports whether the principal may hold cluster-admin.
func (p *Policy) IsAdmin(principal string) bool {
	return identity.Matches(p.Principals.Admins, principal)
}

// IsProtected reports whether the principal's access must not be removed.
func (p *Policy) IsProtected(principal string) bool {
	return identity.Matches(p.Principals.Protected, principal)
}

// IsAutomation reports whether the call was made by a trusted automation identity.
func (p *Policy) IsAutomation(id *cloudtrail.Identity) bool {
	if len(p.Principals.Automation) == 0 {
		return false
	}
	return identity.Matches(p.Principals.Automation, id.ActorRole()) || identity.Matches(p.Principals.Automation, id.ARN)
}

// IsPrivilegedGroup reports whether a Kubernetes group is admin-level:
// system:masters, or one of kubernetes.privilegedGroups.
func (p *Policy) IsPrivilegedGroup(group string) bool {
	return group == "system:masters" || slices.Contains(p.Kubernetes.PrivilegedGroups, group)
}

// IsPrivilegedClusterRole reports whether binding the ClusterRole grants
// admin-level power: cluster-admin, or one of kubernetes.privilegedClusterRoles.
func (p *Policy) IsPrivilegedClusterRole(name string) bool {
	return name == "cluster-admin" || glob.Any(p.Kubernetes.PrivilegedClusterRoles, name)
}

// IsProtectedCluster reports whether the cluster name matches clusters.protected.
func (p *Policy) IsProtectedCluster(name string) bool { return glob.Any(p.Clusters.Protected, name) }

// AllowedIssuer reports whether the OIDC issuer URL matches identityProviders.allowed.
func (p *Policy) AllowedIssuer(issuer string) bool {
	return glob.Any(p.IdentityProviders.Allowed, strings.TrimSuffix(issuer, "/"))
}

// AdminPoliciesOf are the admin-class managed policies (ARNs) the role
// (by ARN) was found to hold through IAM; none when it was not looked up.
func (p *Policy) AdminPoliciesOf(roleARN string) []string { return p.Found.AdminPolicies[roleARN] }

// UnlistedRole says why the role's (by ARN) attached policies could not be
// listed; empty when they were, or were not asked for.
func (p *Policy) UnlistedRole(roleARN string) string { return p.Found.Unlisted[roleARN] }

// IsClusterRole reports whether the role name matches the cluster-role patterns.
func (p *Policy) IsClusterRole(roleName string) bool { return glob.Any(p.Roles.Cluster, roleName) }

// IsNodeRole reports whether the role name matches the node-role patterns.
func (p *Policy) IsNodeRole(roleName string) bool { return glob.Any(p.Roles.Node, roleName) }
