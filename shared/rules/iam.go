package rules

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/policy"
)

// AWS managed policies an EKS cluster role needs (the Auto Mode ones only in
// Auto Mode clusters).
var clusterRolePolicies = []string{
	"AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController",
	"AmazonEKSComputePolicy", "AmazonEKSBlockStoragePolicy", "AmazonEKSLoadBalancingPolicy", "AmazonEKSNetworkingPolicy",
}

// AWS managed policies an EKS node role needs.
var nodeRolePolicies = []string{
	"AmazonEKSWorkerNodePolicy", "AmazonEKSWorkerNodeMinimalPolicy", "AmazonEKS_CNI_Policy",
	"AmazonEC2ContainerRegistryReadOnly", "AmazonEC2ContainerRegistryPullOnly",
}

// Required policies whose removal can be deliberate, with what to check.
var movable = map[string]string{
	"AmazonEKS_CNI_Policy": "expected if the VPC CNI now gets its permissions from IRSA or EKS Pod Identity " +
		"(aws-node service account); otherwise pods on this role's nodes lose networking",
	"AmazonEC2ContainerRegistryReadOnly": "expected if AmazonEC2ContainerRegistryPullOnly replaced it; " +
		"otherwise nodes can no longer pull images from ECR",
}

// AWS managed policies that make any role an administrator.
var adminPolicies = []string{"AdministratorAccess", "PowerUserAccess", "IAMFullAccess"}

// RequiredEKSPolicy reports whether the ARN is an AWS managed policy an EKS
// cluster or node role needs, and which kind of role needs it.
func RequiredEKSPolicy(arn string) (kind string, ok bool) {
	name, ok := managedPolicyName(arn)
	switch {
	case !ok:
		return "", false
	case slices.Contains(clusterRolePolicies, name):
		return "cluster", true
	case slices.Contains(nodeRolePolicies, name):
		return "node", true
	}
	return "", false
}

// AdminPolicy reports whether the ARN is one of the AWS managed admin policies.
func AdminPolicy(arn string) bool {
	name, ok := managedPolicyName(arn)
	return ok && slices.Contains(adminPolicies, name)
}

// ReattachablePolicies names the AWS managed policies a required-policy-detached
// plan may attach again: the required ones whose removal is never expected.
func ReattachablePolicies() []string {
	var out []string
	for _, n := range slices.Concat(clusterRolePolicies, nodeRolePolicies) {
		if movable[n] == "" {
			out = append(out, n)
		}
	}
	return out
}

// AdminPolicyNames names the AWS managed policies admin-policy-attached-to-eks-role
// plans may detach.
func AdminPolicyNames() []string { return slices.Clone(adminPolicies) }

// eksRole says which kind of EKS role the policy's patterns make of a role name.
func eksRole(p *policy.Policy, roleName string) string {
	switch {
	case p.IsClusterRole(roleName):
		return "cluster"
	case p.IsNodeRole(roleName):
		return "node"
	}
	return ""
}

// RequiredPolicyDetached flags an EKS-required managed policy detached from a role.
var RequiredPolicyDetached = Rule{
	ID:       "required-policy-detached",
	Title:    "Policy an EKS role needs is missing",
	Severity: finding.High,
	Rationale: "Cluster and node roles need their AWS managed policies: without AmazonEKSClusterPolicy or " +
		"AmazonEKSVPCResourceController the control plane cannot manage networking and security groups for pods; " +
		"without the worker-node and CNI policies nodes stop joining and pods lose networking.",
	Fix:     "Attach the policy to the role again.",
	Actions: []string{finding.ActionAttachRolePolicy},
	Examples: []Example{
		{Name: "cluster policy detached from the cluster role", Event: "DetachRolePolicy", Params: `{"roleName":"prod-cluster-role","policyArn":"arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}`, Fires: true},
		{Name: "unrelated policy detached", Event: "DetachRolePolicy", Params: `{"roleName":"prod-cluster-role","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"}`, Fires: false},
		{Name: "denied detach", Event: "DetachRolePolicy", Params: `null`, ErrorCode: "AccessDenied", Fires: false},
	},
	Judge: []Judgement{On(IAM, func(r *cloudtrail.Record, rp *cloudtrail.RolePolicyParams, p *policy.Policy) []finding.Finding {
		f, ok := requiredPolicy(p, identity.RoleARN(r.AWSRegion, r.Account(), rp.RoleName), rp.RoleName, rp.PolicyARN, eksRole(p, rp.RoleName), "detached from")
		if !ok {
			return nil
		}
		f.Before = identity.Name(rp.PolicyARN) + " attached"
		return []finding.Finding{f}
	}, "DetachRolePolicy")},
	// In state a role is an EKS role by how its cluster uses it; it misses
	// a required policy when none of the policies that serve its need is
	// attached (the plan attaches the first of them).
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		var out []finding.Finding
		for _, use := range s.RoleUses() {
			role := s.Roles[use.ARN]
			if role == nil {
				continue
			}
			for _, need := range requiredFor(s, use) {
				if slices.ContainsFunc(role.AttachedPolicies, func(a string) bool {
					n, ok := managedPolicyName(a)
					return ok && slices.Contains(need, n)
				}) {
					continue
				}
				arn := managedPolicyARN(use.ARN, need[0])
				if f, ok := requiredPolicy(p, use.ARN, role.Name, arn, use.Kind, "missing from"); ok {
					f.Resource = "policy/" + need[0]
					out = append(out, f)
				}
			}
		}
		return out
	}},
}

// requiredFor lists what a role the cluster uses needs, each need as the
// managed policies that serve it, preferred first.
func requiredFor(s *clusterstate.Cluster, use clusterstate.RoleUse) [][]string {
	if use.Kind == clusterstate.ClusterRole {
		need := [][]string{{"AmazonEKSClusterPolicy"}}
		if s.AutoMode {
			need = append(need, []string{"AmazonEKSComputePolicy"}, []string{"AmazonEKSBlockStoragePolicy"},
				[]string{"AmazonEKSLoadBalancingPolicy"}, []string{"AmazonEKSNetworkingPolicy"})
		}
		return need
	}
	managed := slices.ContainsFunc(s.Nodegroups, func(ng clusterstate.Nodegroup) bool { return ng.NodeRoleARN == use.ARN })
	if !managed {
		// Auto Mode nodes: the minimal worker policy and image pulls.
		return [][]string{
			{"AmazonEKSWorkerNodeMinimalPolicy", "AmazonEKSWorkerNodePolicy"},
			{"AmazonEC2ContainerRegistryPullOnly", "AmazonEC2ContainerRegistryReadOnly"},
		}
	}
	return [][]string{
		{"AmazonEKSWorkerNodePolicy", "AmazonEKSWorkerNodeMinimalPolicy"},
		{"AmazonEC2ContainerRegistryPullOnly", "AmazonEC2ContainerRegistryReadOnly"},
		{"AmazonEKS_CNI_Policy"},
	}
}

// requiredPolicy judges a required managed policy gone from a role; role
// is the kind of EKS role it is, empty when not known; verb says whether
// it was just detached or is missing.
func requiredPolicy(p *policy.Policy, roleARN, roleName, policyARN, role, verb string) (finding.Finding, bool) {
	kind, ok := RequiredEKSPolicy(policyARN)
	if !ok {
		return finding.Finding{}, false
	}
	state := strings.TrimSuffix(verb, " from")
	f := finding.Finding{
		Principal: roleARN,
		After:     identity.Name(policyARN) + " " + state,
		Plan: &finding.Plan{Action: finding.ActionAttachRolePolicy, RoleName: roleName, PolicyARN: policyARN,
			Reason: "puts back the managed policy the role needs"},
	}
	name, _ := managedPolicyName(policyARN)
	if movable[name] != "" {
		// Detaching these is sometimes the recommended change, not a mistake.
		f.Severity = finding.Medium
		f.Plan = nil
		f.Summary = fmt.Sprintf("%s %s role %s", name, verb, roleName)
		f.NeedsCheck = movable[name]
		return f, true
	}
	if role != "" {
		f.Summary = fmt.Sprintf("%s %s EKS %s role %s", identity.Name(policyARN), verb, role, roleName)
	} else {
		f.Severity = finding.Medium
		f.Summary = fmt.Sprintf("%s (needed by EKS %s roles) %s role %s", identity.Name(policyARN), kind, verb, roleName)
		f.NeedsCheck = fmt.Sprintf("role %s matches no roles.%s pattern in the policy; confirm whether it is an EKS %s role", roleName, kind, kind)
	}
	return f, true
}

// AdminPolicyAttachedToEKSRole flags an admin managed policy attached to a cluster or node role.
var AdminPolicyAttachedToEKSRole = Rule{
	ID:       "admin-policy-attached-to-eks-role",
	Title:    "Admin policy attached to an EKS cluster or node role",
	Severity: finding.Critical,
	Rationale: "Every pod on a node can obtain the node role's credentials from the instance metadata service; an " +
		"admin policy on that role makes any compromised pod an account administrator.",
	Fix:     "Detach the policy from the role.",
	Actions: []string{finding.ActionDetachRolePolicy},
	Examples: []Example{
		{Name: "AdministratorAccess on a node role", Event: "AttachRolePolicy", Params: `{"roleName":"prod-node-role","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, Fires: true},
		{Name: "AdministratorAccess on another role", Event: "AttachRolePolicy", Params: `{"roleName":"ops","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, Fires: false},
		{Name: "by the automation role", Event: "AttachRolePolicy", Params: `{"roleName":"prod-node-role","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}`, Actor: "arn:aws:sts::111122223333:assumed-role/terraform-deployer/ci", Fires: false},
	},
	Judge: []Judgement{On(IAM, func(r *cloudtrail.Record, rp *cloudtrail.RolePolicyParams, p *policy.Policy) []finding.Finding {
		return adminPolicyOnRole(identity.RoleARN(r.AWSRegion, r.Account(), rp.RoleName), rp.RoleName, rp.PolicyARN, eksRole(p, rp.RoleName), "attached to")
	}, "AttachRolePolicy")},
	// In state a role is an EKS role by how its cluster uses it.
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		var out []finding.Finding
		for _, use := range s.RoleUses() {
			role := s.Roles[use.ARN]
			if role == nil {
				continue
			}
			for _, a := range role.AttachedPolicies {
				for _, f := range adminPolicyOnRole(use.ARN, role.Name, a, use.Kind, "is attached to") {
					f.Resource = "policy/" + identity.Name(a)
					out = append(out, f)
				}
			}
		}
		return out
	}},
}

func adminPolicyOnRole(roleARN, roleName, policyARN, role, verb string) []finding.Finding {
	if !AdminPolicy(policyARN) || role == "" {
		return nil
	}
	return []finding.Finding{{
		Principal: roleARN,
		Summary:   fmt.Sprintf("%s %s EKS %s role %s", identity.Name(policyARN), verb, role, roleName),
		After:     identity.Name(policyARN) + " attached",
		Plan: &finding.Plan{Action: finding.ActionDetachRolePolicy, RoleName: roleName, PolicyARN: policyARN,
			Reason: "removes account-wide admin rights from a role every pod on a node can use"},
	}}
}

// EKSRoleTrustChanged flags a changed trust policy on a cluster or node role.
var EKSRoleTrustChanged = Rule{
	ID:       "eks-role-trust-changed",
	Title:    "Trust policy of an EKS role changed",
	Severity: finding.High,
	Rationale: "The trust policy decides who can assume the role; adding a principal lets it act as the cluster or " +
		"its nodes.",
	Fix: "Compare the new trust policy with your infrastructure code and revert unexpected principals.",
	Examples: []Example{
		{Name: "trust of the cluster role changed", Event: "UpdateAssumeRolePolicy", Params: `{"roleName":"prod-cluster-role","policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::444455556666:root\"},\"Action\":\"sts:AssumeRole\"}]}"}`, Fires: true},
		{Name: "trust of another role changed", Event: "UpdateAssumeRolePolicy", Params: `{"roleName":"ops","policyDocument":"{}"}`, Fires: false},
	},
	Judge: []Judgement{On(IAM, func(r *cloudtrail.Record, tp *cloudtrail.TrustPolicyParams, p *policy.Policy) []finding.Finding {
		role := eksRole(p, tp.RoleName)
		if role == "" {
			return nil
		}
		return []finding.Finding{{
			Principal: identity.RoleARN(r.AWSRegion, r.Account(), tp.RoleName),
			Summary:   fmt.Sprintf("trust policy of EKS %s role %s changed", role, tp.RoleName),
			After:     trustedPrincipals(tp.PolicyDocument),
		}}
	}, "UpdateAssumeRolePolicy")},
}

// EKSRoleInlinePolicyChanged flags an inline policy put on or deleted from a cluster or node role.
var EKSRoleInlinePolicyChanged = Rule{
	ID:       "eks-role-inline-policy-changed",
	Title:    "Inline policy of an EKS role changed",
	Severity: finding.Medium,
	Rationale: "Inline policies on cluster and node roles add permissions every pod on a node can use, out of sight " +
		"of reviews that look at managed policies.",
	Fix: "Review the inline policy and move needed permissions to pod identities or IRSA roles.",
	Examples: []Example{
		{Name: "inline policy put on a node role", Event: "PutRolePolicy", Params: `{"roleName":"prod-node-role","policyName":"extra","policyDocument":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"}`, Fires: true},
		{Name: "inline policy deleted from a cluster role", Event: "DeleteRolePolicy", Params: `{"roleName":"prod-cluster-role","policyName":"extra"}`, Fires: true},
		{Name: "inline policy on another role", Event: "PutRolePolicy", Params: `{"roleName":"ops","policyName":"extra","policyDocument":"{}"}`, Fires: false},
	},
	Judge: []Judgement{On(IAM, func(r *cloudtrail.Record, ip *cloudtrail.InlinePolicyParams, p *policy.Policy) []finding.Finding {
		role := eksRole(p, ip.RoleName)
		if role == "" {
			return nil
		}
		verb := "put on"
		if r.EventName == "DeleteRolePolicy" {
			verb = "deleted from"
		}
		f := finding.Finding{
			Principal: identity.RoleARN(r.AWSRegion, r.Account(), ip.RoleName),
			Summary:   fmt.Sprintf("inline policy %s %s EKS %s role %s", ip.PolicyName, verb, role, ip.RoleName),
		}
		if ip.PolicyDocument != "" {
			f.After = truncate(compactJSON(ip.PolicyDocument), 300)
		}
		return []finding.Finding{f}
	}, "PutRolePolicy", "DeleteRolePolicy")},
}

// trustedPrincipals summarises who a trust policy lets assume the role.
func trustedPrincipals(doc string) string {
	var tp struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if json.Unmarshal([]byte(doc), &tp) != nil {
		return truncate(compactJSON(doc), 300)
	}
	type stmt struct {
		Effect    string          `json:"Effect"`
		Principal json.RawMessage `json:"Principal"`
	}
	var stmts []stmt
	if json.Unmarshal(tp.Statement, &stmts) != nil {
		var one stmt
		if json.Unmarshal(tp.Statement, &one) != nil {
			return truncate(compactJSON(doc), 300)
		}
		stmts = []stmt{one}
	}
	var parts []string
	for _, s := range stmts {
		if s.Effect == "Allow" {
			parts = append(parts, compactJSON(string(s.Principal)))
		}
	}
	return truncate("trusted principals: "+strings.Join(parts, "; "), 300)
}

func compactJSON(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return s
	}
	return string(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
