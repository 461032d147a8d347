package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/policy"
)

// Access policies that amount to cluster administration.
const (
	clusterAdminPolicy = "AmazonEKSClusterAdminPolicy"
	adminPolicy        = "AmazonEKSAdminPolicy"
)

// ClusterAdminGranted flags cluster-admin access given to a principal that
// the policy does not list as an admin.
var ClusterAdminGranted = Rule{
	ID:       "cluster-admin-granted",
	Title:    "Cluster-admin access granted to a non-admin principal",
	Severity: finding.Critical,
	Rationale: "AmazonEKSClusterAdminPolicy (or AmazonEKSAdminPolicy at cluster scope) gives full control of every " +
		"Kubernetes object, including secrets and RBAC. Only the principals the policy names as admins should hold it. " +
		"At namespace scope it still controls everything in those namespaces (high; critical when they take in kube-system).",
	Fix:     "Disassociate the access policy from the principal.",
	Actions: []string{finding.ActionDisassociateAccessPolicy},
	Examples: []Example{
		{Name: "cluster admin policy to a dev role", Event: "AssociateAccessPolicy", Params: `{"name":"prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy","accessScope":{"type":"cluster"}}`, Fires: true},
		{Name: "cluster admin policy at namespace scope", Event: "AssociateAccessPolicy", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy","accessScope":{"type":"namespace","namespaces":["team-a"]}}`, Fires: true},
		{Name: "admin policy at namespace scope", Event: "AssociateAccessPolicy", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy","accessScope":{"type":"namespace","namespaces":["team-a"]}}`, Fires: false},
		{Name: "cluster admin policy to a listed admin", Event: "AssociateAccessPolicy", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/platform-admins","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy","accessScope":{"type":"cluster"}}`, Fires: false},
		{Name: "view policy", Event: "AssociateAccessPolicy", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy","accessScope":{"type":"cluster"}}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, ap *cloudtrail.AccessPolicyParams, p *policy.Policy) []finding.Finding {
		scope := ""
		var ns []string
		if ap.AccessScope != nil {
			scope, ns = ap.AccessScope.Type, ap.AccessScope.Namespaces
		}
		return clusterAdmin(p, ap.Cluster(), ap.PrincipalARN, ap.PolicyARN, scope, ns, "was granted")
	}, "AssociateAccessPolicy")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		var out []finding.Finding
		for _, e := range s.AccessEntries {
			for _, ap := range e.Policies {
				for _, f := range clusterAdmin(p, s.Name, e.PrincipalARN, ap.PolicyARN, ap.ScopeType, ap.Namespaces, "holds") {
					f.Resource = "access-policy/" + identity.Name(ap.PolicyARN)
					out = append(out, f)
				}
			}
		}
		return out
	}},
}

// clusterAdmin judges an admin access policy held by a principal, at the
// given scope; verb says whether it was just granted or is held.
func clusterAdmin(p *policy.Policy, cluster, principal, policyARN, scopeType string, namespaces []string, verb string) []finding.Finding {
	name, ok := accessPolicyName(policyARN)
	if !ok {
		return nil
	}
	clusterScope := !strings.EqualFold(scopeType, "namespace")
	if name != clusterAdminPolicy && (name != adminPolicy || !clusterScope) {
		return nil
	}
	if p.IsAdmin(principal) {
		return nil
	}
	f := finding.Finding{
		Cluster:   cluster,
		Principal: principal,
		Summary:   fmt.Sprintf("%s %s %s on cluster %s (cluster scope) and is not a listed admin", principal, verb, name, cluster),
		After:     name + " at cluster scope",
		Plan: &finding.Plan{
			Action: finding.ActionDisassociateAccessPolicy, Cluster: cluster,
			PrincipalARN: principal, PolicyARN: policyARN,
			Reason: "removes the admin access policy; the access entry itself stays",
		},
	}
	if !clusterScope {
		// Full control of everything in those namespaces, RBAC and secrets
		// included: admin-class there, cluster-wide when a namespace is
		// kube-system or a pattern that takes every namespace.
		ns := namespaces
		f.Severity = finding.High
		scope := "namespace scope: " + strings.Join(ns, ", ")
		if slices.ContainsFunc(ns, func(n string) bool { return n == "kube-system" || strings.Trim(n, "*") == "" }) {
			f.Severity = finding.Critical
			scope += "; that takes in kube-system, whose service accounts control the cluster"
		}
		f.Summary = fmt.Sprintf("%s %s %s on cluster %s (%s) and is not a listed admin", principal, verb, name, cluster, scope)
		f.After = name + " at namespace scope (" + strings.Join(ns, ", ") + ")"
	}
	return []finding.Finding{f}
}

// PrivilegedGroupGranted flags an access entry that puts a non-admin
// principal in a Kubernetes group bound to admin-level RBAC.
var PrivilegedGroupGranted = Rule{
	ID:       "privileged-group-granted",
	Title:    "Non-admin principal added to a privileged Kubernetes group",
	Severity: finding.High,
	Rationale: "Kubernetes groups on an access entry are bound through RBAC; a group such as cluster-admin grants " +
		"the same power as the admin access policy without showing up as one.",
	Fix:     "Update the access entry without the privileged groups (or delete an entry created only for them).",
	Actions: []string{finding.ActionUpdateAccessEntry, finding.ActionDeleteAccessEntry},
	Examples: []Example{
		{Name: "entry in cluster-admin group", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","kubernetesGroups":["cluster-admin"]}`, Fires: true},
		{Name: "entry in an ordinary group", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","kubernetesGroups":["developers"]}`, Fires: false},
		{Name: "admin put in cluster-admin group", Event: "UpdateAccessEntry", Params: `{"name":"prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fplatform-admins","kubernetesGroups":["cluster-admin"]}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, ae *cloudtrail.AccessEntryParams, p *policy.Policy) []finding.Finding {
		return privilegedGroups(p, ae.Cluster(), ae.PrincipalARN, ae.Type, ae.KubernetesGroups, "was put in", r.EventName == "CreateAccessEntry")
	}, "CreateAccessEntry", "UpdateAccessEntry")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		var out []finding.Finding
		for _, e := range s.AccessEntries {
			out = append(out, privilegedGroups(p, s.Name, e.PrincipalARN, e.Type, e.KubernetesGroups, "is in", false)...)
		}
		return out
	}},
}

// privilegedGroups judges the Kubernetes groups of an access entry. An entry
// just created only for the privileged groups is deleted rather than kept empty.
func privilegedGroups(p *policy.Policy, cluster, principal, typ string, groups []string, verb string, created bool) []finding.Finding {
	if !standardEntry(typ) || p.IsAdmin(principal) {
		return nil
	}
	var bad, keep []string
	for _, g := range groups {
		if slices.Contains(p.Kubernetes.PrivilegedGroups, g) {
			bad = append(bad, g)
		} else {
			keep = append(keep, g)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	plan := &finding.Plan{
		Action: finding.ActionUpdateAccessEntry, Cluster: cluster, PrincipalARN: principal,
		KubernetesGroups: keep, Reason: "keeps the entry with its other groups",
	}
	if created && len(keep) == 0 {
		plan = &finding.Plan{
			Action: finding.ActionDeleteAccessEntry, Cluster: cluster, PrincipalARN: principal,
			Reason: "the entry was created only for the privileged groups",
		}
	}
	return []finding.Finding{{
		Cluster:   cluster,
		Principal: principal,
		Summary: fmt.Sprintf("%s %s privileged Kubernetes group(s) %s on cluster %s",
			principal, verb, strings.Join(bad, ", "), cluster),
		After: "groups: " + strings.Join(groups, ", "),
		Plan:  plan,
	}}
}

// ForeignPrincipalGranted flags an access entry for a principal of an
// account the policy does not trust.
var ForeignPrincipalGranted = Rule{
	ID:       "foreign-principal-granted",
	Title:    "Access entry created for a principal of an untrusted account",
	Severity: finding.High,
	Rationale: "An access entry lets the principal authenticate to the cluster. A principal from another account is " +
		"controlled by whoever runs that account.",
	Fix:     "Delete the access entry.",
	Actions: []string{finding.ActionDeleteAccessEntry},
	Examples: []Example{
		{Name: "entry for another account", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::444455556666:role/vendor"}`, Fires: true},
		{Name: "entry for a trusted account", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, ae *cloudtrail.AccessEntryParams, p *policy.Policy) []finding.Finding {
		return foreignPrincipal(p, ae.Cluster(), ae.PrincipalARN, r.Account(), "created for")
	}, "CreateAccessEntry")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		var out []finding.Finding
		for _, e := range s.AccessEntries {
			out = append(out, foreignPrincipal(p, s.Name, e.PrincipalARN, s.Account, "for")...)
		}
		return out
	}},
}

// foreignPrincipal judges the account of an access entry's principal;
// ownAccount is the cluster's account, empty when not known.
func foreignPrincipal(p *policy.Policy, cluster, principal, ownAccount, verb string) []finding.Finding {
	acct := identity.Account(principal)
	var unknown string
	switch {
	case acct == "":
		unknown = fmt.Sprintf("principal %q names no account", principal)
	case len(p.Accounts.Trusted) == 0 && ownAccount == "":
		unknown = "the policy trusts only the event's own account (accounts.trusted is empty) and the record names no account"
	}
	if unknown != "" {
		return []finding.Finding{{
			Severity:   finding.Medium,
			Cluster:    cluster,
			Principal:  principal,
			Summary:    fmt.Sprintf("access entry on cluster %s %s %s: whether its account is trusted could not be judged", cluster, verb, orUnknown(principal)),
			NeedsCheck: unknown + "; check the principal's account by hand",
		}}
	}
	if p.TrustedAccount(acct, ownAccount) {
		return nil
	}
	return []finding.Finding{{
		Cluster:   cluster,
		Principal: principal,
		Summary:   fmt.Sprintf("access entry on cluster %s %s %s from untrusted account %s", cluster, verb, principal, acct),
		After:     "access entry for account " + acct,
		Plan: &finding.Plan{
			Action: finding.ActionDeleteAccessEntry, Cluster: cluster, PrincipalARN: principal,
			Reason: "removes the foreign principal's way into the cluster",
		},
	}}
}

// IAMUserGranted flags an access entry for an IAM user.
var IAMUserGranted = Rule{
	ID:       "iam-user-granted",
	Title:    "Access entry created for an IAM user",
	Severity: finding.Medium,
	Rationale: "IAM users carry long-lived access keys; cluster access should go to roles assumed with short-lived " +
		"credentials.",
	Fix: "Replace the entry with one for a role the user can assume.",
	Examples: []Example{
		{Name: "entry for an IAM user", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:user/alice"}`, Fires: true},
		{Name: "entry for a role", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, ae *cloudtrail.AccessEntryParams, p *policy.Policy) []finding.Finding {
		return iamUser(ae.Cluster(), ae.PrincipalARN, "created for")
	}, "CreateAccessEntry")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		var out []finding.Finding
		for _, e := range s.AccessEntries {
			out = append(out, iamUser(s.Name, e.PrincipalARN, "for")...)
		}
		return out
	}},
}

func iamUser(cluster, principal, verb string) []finding.Finding {
	if !identity.IsIAMUser(principal) {
		return nil
	}
	return []finding.Finding{{
		Cluster:   cluster,
		Principal: principal,
		Summary:   fmt.Sprintf("access entry on cluster %s %s IAM user %s", cluster, verb, principal),
	}}
}

// ProtectedAccessRemoved flags removal of access from a protected principal
// (break-glass roles and the like).
var ProtectedAccessRemoved = Rule{
	ID:       "protected-access-removed",
	Title:    "Access removed from a protected principal",
	Severity: finding.High,
	Rationale: "Break-glass and platform roles are how people get back into a cluster in an incident; removing " +
		"their access is either a mistake or a step in locking defenders out.",
	Fix: "Restore the access entry and its policies from your infrastructure code.",
	Examples: []Example{
		{Name: "break-glass entry deleted", Event: "DeleteAccessEntry", Params: `{"name":"prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fbreak-glass"}`, Fires: true},
		{Name: "break-glass policy disassociated", Event: "DisassociateAccessPolicy", Params: `{"name":"prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fbreak-glass","policyArn":"arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSClusterAdminPolicy"}`, Fires: true},
		{Name: "ordinary entry deleted", Event: "DeleteAccessEntry", Params: `{"name":"prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team"}`, Fires: false},
	},
	Judge: []Judgement{
		On(EKS, func(r *cloudtrail.Record, ae *cloudtrail.AccessEntryParams, p *policy.Policy) []finding.Finding {
			return protectedAccessRemoved(p, ae.Cluster(), ae.PrincipalARN, "lost access", "access entry deleted")
		}, "DeleteAccessEntry"),
		On(EKS, func(r *cloudtrail.Record, ap *cloudtrail.AccessPolicyParams, p *policy.Policy) []finding.Finding {
			return protectedAccessRemoved(p, ap.Cluster(), ap.PrincipalARN, "lost access", identity.Name(ap.PolicyARN)+" disassociated")
		}, "DisassociateAccessPolicy"),
	},
	// In state only a protected principal with no access entry at all can
	// be told: which policies it should hold is the infrastructure code's.
	// A principal is looked for when the policy names it without a wildcard,
	// in the cluster's account, and the cluster takes access entries.
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		if strings.EqualFold(s.AuthenticationMode, "CONFIG_MAP") {
			return nil
		}
		var out []finding.Finding
		for _, principal := range p.Principals.Protected {
			if strings.ContainsAny(principal, "*?") || identity.Account(principal) != s.Account || s.HasEntry(principal) {
				continue
			}
			out = append(out, protectedAccessRemoved(p, s.Name, principal, "has no access", "no access entry")...)
		}
		return out
	}},
}

func protectedAccessRemoved(p *policy.Policy, cluster, principal, lost, what string) []finding.Finding {
	if !p.IsProtected(principal) {
		return nil
	}
	return []finding.Finding{{
		Cluster:   cluster,
		Principal: principal,
		Summary:   fmt.Sprintf("protected principal %s %s on cluster %s: %s", principal, lost, cluster, what),
		After:     what,
	}}
}

// AccessChangeDenied flags failed attempts to grant access: someone without
// permission is probing.
var AccessChangeDenied = Rule{
	ID:       "access-change-denied",
	Title:    "Denied attempt to change cluster access",
	Severity: finding.Low,
	Rationale: "A denied CreateAccessEntry, UpdateAccessEntry or AssociateAccessPolicy means an identity tried to " +
		"grant cluster access it is not allowed to; a denied DeleteAccessEntry or DisassociateAccessPolicy, to take " +
		"someone's access away (a step in locking defenders out). Repeated attempts suggest probing with stolen credentials.",
	Fix: "Check who the actor is and whether the attempt was expected.",
	Examples: []Example{
		{Name: "denied admin association", Event: "AssociateAccessPolicy", Params: `{"name":"prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team","policyArn":"arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy","accessScope":{"type":"cluster"}}`, ErrorCode: "AccessDeniedException", Fires: true},
		{Name: "denied entry creation", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`, ErrorCode: "AccessDeniedException", Fires: true},
		{Name: "denied removal of the break-glass entry", Event: "DeleteAccessEntry", Params: `{"name":"prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fbreak-glass"}`, ErrorCode: "AccessDeniedException", Fires: true},
		{Name: "denied disassociation", Event: "DisassociateAccessPolicy", Params: `{"name":"prod","principalArn":"arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team","policyArn":"arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSViewPolicy"}`, ErrorCode: "AccessDeniedException", Fires: true},
		{Name: "entry that already exists", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team"}`, ErrorCode: "ResourceInUseException", Fires: false},
	},
	Judge: []Judgement{
		OnDenied(EKS, func(r *cloudtrail.Record, ae *cloudtrail.AccessEntryParams, p *policy.Policy) []finding.Finding {
			return accessChangeDenied(r, finding.Low, ae.Cluster(), ae.PrincipalARN, "")
		}, "CreateAccessEntry", "UpdateAccessEntry"),
		OnDenied(EKS, func(r *cloudtrail.Record, ae *cloudtrail.AccessEntryParams, p *policy.Policy) []finding.Finding {
			return accessChangeDenied(r, removalSeverity(p, ae.PrincipalARN), ae.Cluster(), ae.PrincipalARN, "")
		}, "DeleteAccessEntry"),
		OnDenied(EKS, func(r *cloudtrail.Record, ap *cloudtrail.AccessPolicyParams, p *policy.Policy) []finding.Finding {
			what := ""
			if name, ok := accessPolicyName(ap.PolicyARN); ok {
				what = " of " + name
			}
			return accessChangeDenied(r, removalSeverity(p, ap.PrincipalARN), ap.Cluster(), ap.PrincipalARN, what)
		}, "DisassociateAccessPolicy"),
		OnDenied(EKS, func(r *cloudtrail.Record, ap *cloudtrail.AccessPolicyParams, p *policy.Policy) []finding.Finding {
			sev, what := finding.Low, ""
			if name, ok := accessPolicyName(ap.PolicyARN); ok {
				what = " of " + name
				if name == clusterAdminPolicy || name == adminPolicy {
					sev = finding.Medium // an attempt at admin is worth a closer look
				}
			}
			return accessChangeDenied(r, sev, ap.Cluster(), ap.PrincipalARN, what)
		}, "AssociateAccessPolicy"),
	},
}

// removalSeverity: an attempt to remove a protected principal's access is
// worth a closer look.
func removalSeverity(p *policy.Policy, principal string) finding.Severity {
	if p.IsProtected(principal) {
		return finding.Medium
	}
	return finding.Low
}

func accessChangeDenied(r *cloudtrail.Record, sev finding.Severity, cluster, principal, what string) []finding.Finding {
	target := ""
	if principal != "" {
		target = " for " + principal
	}
	return []finding.Finding{{
		Severity:  sev,
		Cluster:   cluster,
		Principal: principal,
		Summary: fmt.Sprintf("%s was denied %s%s%s on cluster %s (%s)", r.UserIdentity.ARN, r.EventName, what, target,
			orUnknown(cluster), r.ErrorCode),
	}}
}

// standardEntry reports whether an access entry type takes groups and policies.
func standardEntry(t string) bool { return t == "" || strings.EqualFold(t, "STANDARD") }

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// Access entry types that make the principal a node: EKS puts it in the
// system:nodes group (and system:bootstrappers), with the node authorizer's
// rights.
var nodeEntryTypes = []string{"EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX"}

// NodeEntryForNonNodeRole flags a node-type access entry for a role that is
// not a node role.
var NodeEntryForNonNodeRole = Rule{
	ID:       "node-entry-for-non-node-role",
	Title:    "Node access entry created for a role that is not a node role",
	Severity: finding.High,
	Rationale: "An access entry of type EC2_LINUX, EC2_WINDOWS, EC2, HYBRID_LINUX or HYPERPOD_LINUX makes its principal " +
		"a node: it joins system:nodes and can read the secrets and service-account tokens of pods scheduled to it, " +
		"or register nodes that attract workloads. Only node roles should have one.",
	Fix:     "Delete the access entry.",
	Actions: []string{finding.ActionDeleteAccessEntry},
	Examples: []Example{
		{Name: "EC2_LINUX entry for a dev role", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","type":"EC2_LINUX"}`, Fires: true},
		{Name: "EC2_LINUX entry for the node role", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/prod-node-role","type":"EC2_LINUX"}`, Fires: false},
		{Name: "standard entry", Event: "CreateAccessEntry", Params: `{"name":"prod","principalArn":"arn:aws:iam::111122223333:role/dev-team","type":"STANDARD"}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, ae *cloudtrail.AccessEntryParams, p *policy.Policy) []finding.Finding {
		return nodeEntry(p, ae.Cluster(), ae.PrincipalARN, ae.Type, "created for")
	}, "CreateAccessEntry")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		var out []finding.Finding
		for _, e := range s.AccessEntries {
			out = append(out, nodeEntry(p, s.Name, e.PrincipalARN, e.Type, "for")...)
		}
		return out
	}},
}

func nodeEntry(p *policy.Policy, cluster, principal, typ, verb string) []finding.Finding {
	typ = strings.ToUpper(typ)
	if !slices.Contains(nodeEntryTypes, typ) {
		return nil
	}
	name := identity.Name(principal)
	if strings.Contains(principal, ":role/") && p.IsNodeRole(name) {
		return nil
	}
	return []finding.Finding{{
		Cluster:   cluster,
		Principal: principal,
		Summary: fmt.Sprintf("%s access entry on cluster %s %s %s, which matches no roles.node pattern: it joins system:nodes",
			typ, cluster, verb, principal),
		After: "access entry type " + typ,
		Plan: &finding.Plan{
			Action: finding.ActionDeleteAccessEntry, Cluster: cluster, PrincipalARN: principal,
			Reason: "removes the node identity from a role that is not a node role",
		},
	}}
}
