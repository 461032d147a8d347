package finding

import (
	"fmt"
	"strings"

	"github.com/eksguard/eksguard/shared/identity"
)

// The remediation actions a plan can name, as IAM action names.
const (
	ActionDisassociateAccessPolicy = "eks:DisassociateAccessPolicy"
	ActionDeleteAccessEntry        = "eks:DeleteAccessEntry"
	ActionUpdateAccessEntry        = "eks:UpdateAccessEntry"
	ActionUpdateClusterConfig      = "eks:UpdateClusterConfig"
	ActionAttachRolePolicy         = "iam:AttachRolePolicy"
	ActionDetachRolePolicy         = "iam:DetachRolePolicy"

	ActionDisassociateIdentityProviderConfig = "eks:DisassociateIdentityProviderConfig"
	ActionDeletePodIdentityAssociation       = "eks:DeletePodIdentityAssociation"
	ActionStartLogging                       = "cloudtrail:StartLogging"
)

// Plan is the AWS API call that would undo a change, as data. Only the
// fields its Action uses are set.
type Plan struct {
	Action       string `json:"action"`
	Cluster      string `json:"cluster,omitempty"`
	PrincipalARN string `json:"principalArn,omitempty"`
	PolicyARN    string `json:"policyArn,omitempty"`
	RoleName     string `json:"roleName,omitempty"`
	// Trail is the name of the trail StartLogging restarts, in the finding's region.
	Trail string `json:"trail,omitempty"`
	// KubernetesGroups is the full group list UpdateAccessEntry sets.
	KubernetesGroups []string `json:"kubernetesGroups,omitempty"`
	// EnableLogTypes are the control-plane log types UpdateClusterConfig re-enables.
	EnableLogTypes []string `json:"enableLogTypes,omitempty"`
	// EndpointPublicAccess and PublicAccessCIDRs set the public endpoint.
	EndpointPublicAccess *bool    `json:"endpointPublicAccess,omitempty"`
	PublicAccessCIDRs    []string `json:"publicAccessCidrs,omitempty"`
	// NodeEgressApproved says the policy states that the approved CIDRs hold
	// the nodes' egress addresses, so narrowing the public endpoint is safe
	// even while private access is off.
	NodeEgressApproved bool `json:"nodeEgressApproved,omitempty"`
	// IdentityProviderConfig and IssuerURL name the OIDC identity provider
	// config DisassociateIdentityProviderConfig removes, and the issuer it
	// must still have.
	IdentityProviderConfig string `json:"identityProviderConfig,omitempty"`
	IssuerURL              string `json:"issuerUrl,omitempty"`
	// AssociationID and RoleARN name the pod identity association
	// DeletePodIdentityAssociation removes, and the role it must still give.
	AssociationID string `json:"associationId,omitempty"`
	RoleARN       string `json:"roleArn,omitempty"`
	// DeletionProtection is the deletion protection UpdateClusterConfig sets
	// (only ever true: eksguard does not remove protection).
	DeletionProtection *bool `json:"deletionProtection,omitempty"`
	// Reason says in a few words why this call undoes the change.
	Reason string `json:"reason,omitempty"`
}

// CLI renders the plan as an AWS CLI command, for people who
// want to undo the change by hand.
func (p *Plan) CLI(region string) string {
	if p == nil {
		return ""
	}
	reg := ""
	if region != "" {
		reg = " --region " + region
	}
	switch p.Action {
	case ActionDisassociateAccessPolicy:
		return fmt.Sprintf("aws eks disassociate-access-policy --cluster-name %s --principal-arn %s --policy-arn %s%s",
			q(p.Cluster), q(p.PrincipalARN), q(p.PolicyARN), reg)
	case ActionDeleteAccessEntry:
		return fmt.Sprintf("aws eks delete-access-entry --cluster-name %s --principal-arn %s%s",
			q(p.Cluster), q(p.PrincipalARN), reg)
	case ActionUpdateAccessEntry:
		groups := "--kubernetes-groups"
		if len(p.KubernetesGroups) == 0 {
			groups += " '[]'"
		}
		for _, g := range p.KubernetesGroups {
			groups += " " + q(g)
		}
		return fmt.Sprintf("aws eks update-access-entry --cluster-name %s --principal-arn %s %s%s",
			q(p.Cluster), q(p.PrincipalARN), groups, reg)
	case ActionUpdateClusterConfig:
		if p.DeletionProtection != nil {
			flag := "--deletion-protection"
			if !*p.DeletionProtection {
				flag = "--no-deletion-protection"
			}
			return fmt.Sprintf("aws eks update-cluster-config --name %s %s%s", q(p.Cluster), flag, reg)
		}
		if len(p.EnableLogTypes) > 0 {
			return fmt.Sprintf("aws eks update-cluster-config --name %s --logging '{\"clusterLogging\":[{\"types\":[%s],\"enabled\":true}]}'%s",
				q(p.Cluster), quoteJSONList(p.EnableLogTypes), reg)
		}
		vpc := ""
		if p.EndpointPublicAccess != nil {
			vpc = fmt.Sprintf("endpointPublicAccess=%t", *p.EndpointPublicAccess)
		}
		if len(p.PublicAccessCIDRs) > 0 {
			if vpc != "" {
				vpc += ","
			}
			vpc += "publicAccessCidrs=" + q(strings.Join(p.PublicAccessCIDRs, ","))
		}
		return fmt.Sprintf("aws eks update-cluster-config --name %s --resources-vpc-config %s%s", q(p.Cluster), vpc, reg)
	case ActionDisassociateIdentityProviderConfig:
		return fmt.Sprintf("aws eks disassociate-identity-provider-config --cluster-name %s --identity-provider-config %s%s",
			q(p.Cluster), q("type=oidc,name="+p.IdentityProviderConfig), reg)
	case ActionDeletePodIdentityAssociation:
		return fmt.Sprintf("aws eks delete-pod-identity-association --cluster-name %s --association-id %s%s",
			q(p.Cluster), q(p.AssociationID), reg)
	case ActionAttachRolePolicy:
		return fmt.Sprintf("aws iam attach-role-policy --role-name %s --policy-arn %s", q(p.RoleName), q(p.PolicyARN))
	case ActionDetachRolePolicy:
		return fmt.Sprintf("aws iam detach-role-policy --role-name %s --policy-arn %s", q(p.RoleName), q(p.PolicyARN))
	case ActionStartLogging:
		return fmt.Sprintf("aws cloudtrail start-logging --name %s%s", q(p.Trail), reg)
	}
	return ""
}

// Summary is a short human description of the plan.
func (p *Plan) Summary() string {
	if p == nil {
		return "no automatic fix"
	}
	switch p.Action {
	case ActionDisassociateAccessPolicy:
		return fmt.Sprintf("disassociate %s from %s on %s", identity.Name(p.PolicyARN), p.PrincipalARN, p.Cluster)
	case ActionDeleteAccessEntry:
		return fmt.Sprintf("delete the access entry of %s on %s", p.PrincipalARN, p.Cluster)
	case ActionUpdateAccessEntry:
		return fmt.Sprintf("set the Kubernetes groups of %s on %s to [%s]", p.PrincipalARN, p.Cluster, strings.Join(p.KubernetesGroups, ", "))
	case ActionUpdateClusterConfig:
		if p.DeletionProtection != nil {
			return fmt.Sprintf("turn deletion protection of %s back on", p.Cluster)
		}
		if len(p.EnableLogTypes) > 0 {
			return fmt.Sprintf("re-enable %s logging on %s", strings.Join(p.EnableLogTypes, ", "), p.Cluster)
		}
		if p.EndpointPublicAccess != nil && !*p.EndpointPublicAccess {
			return fmt.Sprintf("turn off the public endpoint of %s", p.Cluster)
		}
		return fmt.Sprintf("restrict the public endpoint of %s to %s", p.Cluster, strings.Join(p.PublicAccessCIDRs, ", "))
	case ActionDisassociateIdentityProviderConfig:
		return fmt.Sprintf("disassociate OIDC identity provider %s (%s) from %s", p.IdentityProviderConfig, p.IssuerURL, p.Cluster)
	case ActionDeletePodIdentityAssociation:
		return fmt.Sprintf("delete pod identity association %s (%s) on %s", p.AssociationID, p.RoleARN, p.Cluster)
	case ActionAttachRolePolicy:
		return fmt.Sprintf("re-attach %s to role %s", identity.Name(p.PolicyARN), p.RoleName)
	case ActionDetachRolePolicy:
		return fmt.Sprintf("detach %s from role %s", identity.Name(p.PolicyARN), p.RoleName)
	case ActionStartLogging:
		return "start logging on trail " + p.Trail
	}
	return p.Action
}

// q quotes a shell word when it needs it.
func q(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$`\\*?[]{}()<>|&;!#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func quoteJSONList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = `"` + s + `"`
	}
	return strings.Join(out, ",")
}
