package remediate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/glob"
	"github.com/eksguard/eksguard/shared/policy"
)

// RoleScope is the set of IAM roles whose managed policies eksguard may
// read and change: the roles the policy's roles.cluster and roles.node
// patterns match. The stack grants iam:ListAttachedRolePolicies,
// iam:AttachRolePolicy and iam:DetachRolePolicy on exactly these roles (it
// renders the resource ARNs with ARNs), and the function derives the same
// scope from the same policy, so that it never makes an IAM call its
// grants do not allow.
type RoleScope struct {
	Cluster, Node []string
}

// RoleScopeOf is the scope a policy's role patterns give.
func RoleScopeOf(pol *policy.Policy) RoleScope {
	return RoleScope{Cluster: slices.Clone(pol.Roles.Cluster), Node: slices.Clone(pol.Roles.Node)}
}

// ARNs renders the scope as role ARN patterns after prefix (for example
// "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"): each pattern, and
// the same under any IAM path unless it already starts with a wildcard or
// names a path. The cluster patterns come first; duplicates are dropped.
func (s RoleScope) ARNs(prefix string) []string {
	var out []string
	for _, p := range slices.Concat(s.Cluster, s.Node) {
		arns := []string{prefix + p}
		if !strings.HasPrefix(p, "*") && !strings.Contains(p, "/") {
			arns = append(arns, prefix+"*/"+p)
		}
		for _, a := range arns {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

// Covers reports whether a role, by name, is inside the scope: whether its
// ARN matches one of the scope's ARN patterns (IAM's wildcards are the
// glob package's).
func (s RoleScope) Covers(roleName string) bool {
	const prefix = "arn:aws:iam::000000000000:role/"
	return glob.Any(s.ARNs(prefix), prefix+roleName)
}

// ScopeError is an IAM fix on a role outside the function's grants: the
// call would be AccessDenied, so it is not made.
type ScopeError struct {
	Action string
	Role   string
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("role %s is outside eksguard's IAM grants: no roles.cluster or roles.node pattern matches it, "+
		"and the stack grants %s and its pre-check only on the roles they match", e.Role, e.Action)
}

// InScope returns a *ScopeError when the plan changes a role outside the
// executor's RoleScope, and nil otherwise (EKS plans, no scope set).
func (e *Executor) InScope(p *finding.Plan) error {
	if e.RoleScope == nil || p == nil || (p.Action != finding.ActionAttachRolePolicy && p.Action != finding.ActionDetachRolePolicy) {
		return nil
	}
	if e.RoleScope.Covers(p.RoleName) {
		return nil
	}
	return &ScopeError{Action: p.Action, Role: p.RoleName}
}
