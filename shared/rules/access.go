package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/cloudtrail"
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
		name, ok := accessPolicyName(ap.PolicyARN)
		if !ok {
			return nil
		}
		clusterScope := ap.AccessScope == nil || !strings.EqualFold(ap.AccessScope.Type, "namespace")
		if name != clusterAdminPolicy && (name != adminPolicy || !clusterScope) {
			return nil
		}
		if p.IsAdmin(ap.PrincipalARN) {
			return nil
		}
		f := finding.Finding{
			Cluster:   ap.Cluster(),
			Principal: ap.PrincipalARN,
			Summary:   fmt.Sprintf("%s was granted %s on cluster %s (cluster scope) and is not a listed admin", ap.PrincipalARN, name, ap.Cluster()),
			After:     name + " at cluster scope",
			Plan: &finding.Plan{
				Action: finding.ActionDisassociateAccessPolicy, Cluster: ap.Cluster(),
				PrincipalARN: ap.PrincipalARN, PolicyARN: ap.PolicyARN,
				Reason: "removes the admin access policy; the access entry itself stays",
			},
		}
		if !clusterScope {
			// Full control of everything in those namespaces, RBAC and secrets
			// included: admin-class there, cluster-wide when a namespace is
			// kube-system or a pattern that takes every namespace.
			ns := ap.AccessScope.Namespaces
			f.Severity = finding.High
			scope := "namespace scope: " + strings.Join(ns, ", ")
			if slices.ContainsFunc(ns, func(n string) bool { return n == "kube-system" || strings.Trim(n, "*") == "" }) {
				f.Severity = finding.Critical
				scope += "; that takes in kube-system, whose service accounts control the cluster"
			}
			f.Summary = fmt.Sprintf("%s was granted %s on cluster %s (%s) and is not a listed admin", ap.PrincipalARN, name, ap.Cluster(), scope)
			f.After = name + " at namespace scope (" + strings.Join(ns, ", ") + ")"
		}
		return []finding.Finding{f}
	}, "AssociateAccessPolicy")},
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
		if !standardEntry(ae.Type) || p.IsAdmin(ae.PrincipalARN) {
			return nil
		}
		var bad, keep []string
		for _, g := range ae.KubernetesGroups {
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
			Action: finding.ActionUpdateAccessEntry, Cluster: ae.Cluster(), PrincipalARN: ae.PrincipalARN,
			KubernetesGroups: keep, Reason: "keeps the entry with its other groups",
		}
		if r.EventName == "CreateAccessEntry" && len(keep) == 0 {
			plan = &finding.Plan{
				Action: finding.ActionDeleteAccessEntry, Cluster: ae.Cluster(), PrincipalARN: ae.PrincipalARN,
				Reason: "the entry was created only for the privileged groups",
			}
		}
		return []finding.Finding{{
			Cluster:   ae.Cluster(),
			Principal: ae.PrincipalARN,
			Summary: fmt.Sprintf("%s was put in privileged Kubernetes group(s) %s on cluster %s",
				ae.PrincipalARN, strings.Join(bad, ", "), ae.Cluster()),
			After: "groups: " + strings.Join(ae.KubernetesGroups, ", "),
			Plan:  plan,
		}}
	}, "CreateAccessEntry", "UpdateAccessEntry")},
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
		acct := identity.Account(ae.PrincipalARN)
		var unknown string
		switch {
		case acct == "":
			unknown = fmt.Sprintf("principal %q names no account", ae.PrincipalARN)
		case len(p.Accounts.Trusted) == 0 && r.Account() == "":
			unknown = "the policy trusts only the event's own account (accounts.trusted is empty) and the record names no account"
		}
		if unknown != "" {
			return []finding.Finding{{
				Severity:   finding.Medium,
				Cluster:    ae.Cluster(),
				Principal:  ae.PrincipalARN,
				Summary:    fmt.Sprintf("access entry on cluster %s created for %s: whether its account is trusted could not be judged", ae.Cluster(), orUnknown(ae.PrincipalARN)),
				NeedsCheck: unknown + "; check the principal's account by hand",
			}}
		}
		if p.TrustedAccount(acct, r.Account()) {
			return nil
		}
		return []finding.Finding{{
			Cluster:   ae.Cluster(),
			Principal: ae.PrincipalARN,
			Summary:   fmt.Sprintf("access entry on cluster %s created for %s from untrusted account %s", ae.Cluster(), ae.PrincipalARN, acct),
			After:     "access entry for account " + acct,
			Plan: &finding.Plan{
				Action: finding.ActionDeleteAccessEntry, Cluster: ae.Cluster(), PrincipalARN: ae.PrincipalARN,
				Reason: "removes the foreign principal's way into the cluster",
			},
		}}
	}, "CreateAccessEntry")},
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
		if !identity.IsIAMUser(ae.PrincipalARN) {
			return nil
		}
		return []finding.Finding{{
			Cluster:   ae.Cluster(),
			Principal: ae.PrincipalARN,
			Summary:   fmt.Sprintf("access entry on cluster %s created for IAM user %s", ae.Cluster(), ae.PrincipalARN),
		}}
	}, "CreateAccessEntry")},
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
			return protectedAccessRemoved(p, ae.Cluster(), ae.PrincipalARN, "access entry deleted")
		}, "DeleteAccessEntry"),
		On(EKS, func(r *cloudtrail.Record, ap *cloudtrail.AccessPolicyParams, p *policy.Policy) []finding.Finding {
			return protectedAccessRemoved(p, ap.Cluster(), ap.PrincipalARN, identity.Name(ap.PolicyARN)+" disassociated")
		}, "DisassociateAccessPolicy"),
	},
}

func protectedAccessRemoved(p *policy.Policy, cluster, principal, what string) []finding.Finding {
	if !p.IsProtected(principal) {
		return nil
	}
	return []finding.Finding{{
		Cluster:   cluster,
		Principal: principal,
		Summary:   fmt.Sprintf("protected principal %s lost access on cluster %s: %s", principal, cluster, what),
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
		typ := strings.ToUpper(ae.Type)
		if !slices.Contains(nodeEntryTypes, typ) {
			return nil
		}
		name := identity.Name(ae.PrincipalARN)
		if strings.Contains(ae.PrincipalARN, ":role/") && p.IsNodeRole(name) {
			return nil
		}
		return []finding.Finding{{
			Cluster:   ae.Cluster(),
			Principal: ae.PrincipalARN,
			Summary: fmt.Sprintf("%s access entry on cluster %s created for %s, which matches no roles.node pattern: it joins system:nodes",
				typ, ae.Cluster(), ae.PrincipalARN),
			After: "access entry type " + typ,
			Plan: &finding.Plan{
				Action: finding.ActionDeleteAccessEntry, Cluster: ae.Cluster(), PrincipalARN: ae.PrincipalARN,
				Reason: "removes the node identity from a role that is not a node role",
			},
		}}
	}, "CreateAccessEntry")},
}
