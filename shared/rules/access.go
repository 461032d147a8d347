package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/finding"
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
		"Kubernetes object, including secrets and RBAC. Only the principals the policy names as admins should hold it.",
	Fix:     "Disassociate the access policy from the principal.",
	Events:  []string{"AssociateAccessPolicy"},
	Actions: []string{finding.ActionDisassociateAccessPolicy},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		ap, ok := r.Params.(*cloudtrail.AccessPolicyParams)
		if !ok || r.Failed() {
			return nil
		}
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
		return []finding.Finding{{
			Cluster:   ap.Cluster(),
			Principal: ap.PrincipalARN,
			Summary:   fmt.Sprintf("%s was granted %s on cluster %s (cluster scope) and is not a listed admin", ap.PrincipalARN, name, ap.Cluster()),
			After:     name + " at cluster scope",
			Plan: &finding.Plan{
				Action: finding.ActionDisassociateAccessPolicy, Cluster: ap.Cluster(),
				PrincipalARN: ap.PrincipalARN, PolicyARN: ap.PolicyARN,
				Reason: "removes the admin access policy; the access entry itself stays",
			},
		}}
	},
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
	Events:  []string{"CreateAccessEntry", "UpdateAccessEntry"},
	Actions: []string{finding.ActionUpdateAccessEntry, finding.ActionDeleteAccessEntry},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		ae, ok := r.Params.(*cloudtrail.AccessEntryParams)
		if !ok || r.Failed() || !standardEntry(ae.Type) || p.IsAdmin(ae.PrincipalARN) {
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
	},
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
	Events:  []string{"CreateAccessEntry"},
	Actions: []string{finding.ActionDeleteAccessEntry},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		ae, ok := r.Params.(*cloudtrail.AccessEntryParams)
		if !ok || r.Failed() {
			return nil
		}
		acct := accountOf(ae.PrincipalARN)
		if acct == "" || p.TrustedAccount(acct, r.Account()) {
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
	},
}

// IAMUserGranted flags an access entry for an IAM user.
var IAMUserGranted = Rule{
	ID:       "iam-user-granted",
	Title:    "Access entry created for an IAM user",
	Severity: finding.Medium,
	Rationale: "IAM users carry long-lived access keys; cluster access should go to roles assumed with short-lived " +
		"credentials.",
	Fix:    "Replace the entry with one for a role the user can assume.",
	Events: []string{"CreateAccessEntry"},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		ae, ok := r.Params.(*cloudtrail.AccessEntryParams)
		if !ok || r.Failed() || !isIAMUser(ae.PrincipalARN) {
			return nil
		}
		return []finding.Finding{{
			Cluster:   ae.Cluster(),
			Principal: ae.PrincipalARN,
			Summary:   fmt.Sprintf("access entry on cluster %s created for IAM user %s", ae.Cluster(), ae.PrincipalARN),
		}}
	},
}

// ProtectedAccessRemoved flags removal of access from a protected principal
// (break-glass roles and the like).
var ProtectedAccessRemoved = Rule{
	ID:       "protected-access-removed",
	Title:    "Access removed from a protected principal",
	Severity: finding.High,
	Rationale: "Break-glass and platform roles are how people get back into a cluster in an incident; removing " +
		"their access is either a mistake or a step in locking defenders out.",
	Fix:    "Restore the access entry and its policies from your infrastructure code.",
	Events: []string{"DeleteAccessEntry", "DisassociateAccessPolicy"},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		if r.Failed() {
			return nil
		}
		var cluster, principal, what string
		switch v := r.Params.(type) {
		case *cloudtrail.AccessEntryParams:
			cluster, principal, what = v.Cluster(), v.PrincipalARN, "access entry deleted"
		case *cloudtrail.AccessPolicyParams:
			cluster, principal, what = v.Cluster(), v.PrincipalARN, shortName(v.PolicyARN)+" disassociated"
		default:
			return nil
		}
		if !p.IsProtected(principal) {
			return nil
		}
		return []finding.Finding{{
			Cluster:   cluster,
			Principal: principal,
			Summary:   fmt.Sprintf("protected principal %s lost access on cluster %s: %s", principal, cluster, what),
			After:     what,
		}}
	},
}

// AccessChangeDenied flags failed attempts to grant access: someone without
// permission is probing.
var AccessChangeDenied = Rule{
	ID:       "access-change-denied",
	Title:    "Denied attempt to change cluster access",
	Severity: finding.Low,
	Rationale: "A denied CreateAccessEntry, UpdateAccessEntry or AssociateAccessPolicy means an identity tried to " +
		"grant cluster access it is not allowed to; repeated attempts suggest probing with stolen credentials.",
	Fix:    "Check who the actor is and whether the attempt was expected.",
	Events: []string{"CreateAccessEntry", "UpdateAccessEntry", "AssociateAccessPolicy"},
	Eval: func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
		if !r.Denied() {
			return nil
		}
		var cluster, principal, what string
		sev := finding.Low
		switch v := r.Params.(type) {
		case *cloudtrail.AccessEntryParams:
			cluster, principal = v.Cluster(), v.PrincipalARN
		case *cloudtrail.AccessPolicyParams:
			cluster, principal = v.Cluster(), v.PrincipalARN
			if name, ok := accessPolicyName(v.PolicyARN); ok {
				what = " of " + name
				if name == clusterAdminPolicy || name == adminPolicy {
					sev = finding.Medium // an attempt at admin is worth a closer look
				}
			}
		}
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
	},
}

// standardEntry reports whether an access entry type takes groups and policies.
func standardEntry(t string) bool { return t == "" || strings.EqualFold(t, "STANDARD") }

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
