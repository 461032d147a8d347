// Package remediate turns a finding's Plan into AWS API calls. Every plan
// is checked against the live state first (Prepare) and applied only when
// the violation is still there (Action.Apply); what the check found and the
// exact call made are kept for the finding's outcome.
//
// The checks are deliberately narrow, so that eksguard never undoes more
// than the change it saw:
//   - eks:DisassociateAccessPolicy only when ListAssociatedAccessPolicies
//     still shows the policy;
//   - eks:DeleteAccessEntry only when DescribeAccessEntry still finds the entry;
//   - eks:UpdateAccessEntry only removes groups: the new list is the current
//     groups that the plan allows, so groups revoked since are not re-granted;
//   - eks:UpdateClusterConfig (logging) enables only the types still disabled;
//   - eks:UpdateClusterConfig (deletion protection) turns it on only when
//     DescribeCluster shows it off, and never turns it off;
//   - eks:UpdateClusterConfig (endpoint) acts only when the public endpoint is
//     on with a CIDR outside the approved set; it keeps the current CIDRs that
//     are approved, or sets the approved set when none is; it turns the public
//     endpoint off only while private access is on (otherwise the nodes and
//     every user outside the VPC would lose the cluster: UnsafeRemediation),
//     and narrows it while private access is off only when the plan says the
//     approved CIDRs hold the nodes' egress addresses (otherwise nodes that
//     reach the API server from their NAT addresses would be cut off);
//   - eks:DisassociateIdentityProviderConfig only when
//     DescribeIdentityProviderConfig still finds the config with the issuer
//     the event added (another issuer means someone changed it since: held);
//   - eks:DeletePodIdentityAssociation only when
//     DescribePodIdentityAssociation still finds it giving the same role;
//   - iam:AttachRolePolicy only when ListAttachedRolePolicies lacks the policy;
//   - iam:DetachRolePolicy only when it still lists it;
//   - cloudtrail:StartLogging only when GetTrailStatus says the trail is not
//     logging (trail.go).
package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/eksguard/eksguard/shared/finding"
)

// EKS is the part of the EKS client remediation uses.
type EKS interface {
	DescribeAccessEntry(ctx context.Context, params *eks.DescribeAccessEntryInput, optFns ...func(*eks.Options)) (*eks.DescribeAccessEntryOutput, error)
	DeleteAccessEntry(ctx context.Context, params *eks.DeleteAccessEntryInput, optFns ...func(*eks.Options)) (*eks.DeleteAccessEntryOutput, error)
	UpdateAccessEntry(ctx context.Context, params *eks.UpdateAccessEntryInput, optFns ...func(*eks.Options)) (*eks.UpdateAccessEntryOutput, error)
	ListAssociatedAccessPolicies(ctx context.Context, params *eks.ListAssociatedAccessPoliciesInput, optFns ...func(*eks.Options)) (*eks.ListAssociatedAccessPoliciesOutput, error)
	DisassociateAccessPolicy(ctx context.Context, params *eks.DisassociateAccessPolicyInput, optFns ...func(*eks.Options)) (*eks.DisassociateAccessPolicyOutput, error)
	DescribeCluster(ctx context.Context, params *eks.DescribeClusterInput, optFns ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
	UpdateClusterConfig(ctx context.Context, params *eks.UpdateClusterConfigInput, optFns ...func(*eks.Options)) (*eks.UpdateClusterConfigOutput, error)
	DescribeIdentityProviderConfig(ctx context.Context, params *eks.DescribeIdentityProviderConfigInput, optFns ...func(*eks.Options)) (*eks.DescribeIdentityProviderConfigOutput, error)
	DisassociateIdentityProviderConfig(ctx context.Context, params *eks.DisassociateIdentityProviderConfigInput, optFns ...func(*eks.Options)) (*eks.DisassociateIdentityProviderConfigOutput, error)
	DescribePodIdentityAssociation(ctx context.Context, params *eks.DescribePodIdentityAssociationInput, optFns ...func(*eks.Options)) (*eks.DescribePodIdentityAssociationOutput, error)
	DeletePodIdentityAssociation(ctx context.Context, params *eks.DeletePodIdentityAssociationInput, optFns ...func(*eks.Options)) (*eks.DeletePodIdentityAssociationOutput, error)
}

// IAM is the part of the IAM client remediation uses.
type IAM interface {
	ListAttachedRolePolicies(ctx context.Context, params *iam.ListAttachedRolePoliciesInput, optFns ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	AttachRolePolicy(ctx context.Context, params *iam.AttachRolePolicyInput, optFns ...func(*iam.Options)) (*iam.AttachRolePolicyOutput, error)
	DetachRolePolicy(ctx context.Context, params *iam.DetachRolePolicyInput, optFns ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error)
}

var (
	_ EKS = (*eks.Client)(nil)
	_ IAM = (*iam.Client)(nil)
)

// Executor runs plans.
type Executor struct {
	// EKS returns the EKS client for a region (EKS plans act in the
	// finding's region); required for EKS plans.
	EKS func(region string) EKS
	// IAM is the (global) IAM client; required for IAM plans.
	IAM IAM
	// CloudTrail is the CloudTrail client; its calls name the finding's
	// region. Required for CloudTrail plans.
	CloudTrail CloudTrail
	// RoleScope, when set, is the set of roles the function's IAM grants
	// cover: an IAM plan on any other role fails with *ScopeError before
	// any call.
	RoleScope *RoleScope
}

// Action is a checked plan, ready to apply.
type Action struct {
	// Needed is false when the violation is gone (already compliant).
	Needed bool
	// Found says what the pre-check saw.
	Found string
	// Call is the exact call Apply makes: action and request as JSON.
	Call  string
	apply func(ctx context.Context) error
}

// ErrAlreadyCompliant is returned (wrapped) by Apply when the thing to
// remove vanished between the check and the call.
var ErrAlreadyCompliant = errors.New("already compliant")

// PlanError is a plan eksguard cannot run (a catalogue bug, not an AWS error).
type PlanError struct{ Msg string }

func (e *PlanError) Error() string { return "invalid plan: " + e.Msg }

// UnsafeError is a fix eksguard will not make because it could do more
// harm than the change it undoes.
type UnsafeError struct{ Msg string }

func (e *UnsafeError) Error() string { return "not safe to fix automatically: " + e.Msg }

// Apply makes the call. It is an error to apply an action that is not needed.
func (a *Action) Apply(ctx context.Context) error {
	if !a.Needed || a.apply == nil {
		return errors.New("apply: nothing to do")
	}
	return a.apply(ctx)
}

// ErrorCode is the AWS error code of err ("InvalidPlan" for a bad plan,
// "UnsafeRemediation" for a fix refused as unsafe, "OutsideGrants" for an
// IAM fix on a role outside the RoleScope, "" when err is not an AWS API
// error).
func ErrorCode(err error) string {
	var pe *PlanError
	if errors.As(err, &pe) {
		return "InvalidPlan"
	}
	var ue *UnsafeError
	if errors.As(err, &ue) {
		return "UnsafeRemediation"
	}
	var se *ScopeError
	if errors.As(err, &se) {
		return "OutsideGrants"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Busy reports whether err says the cluster is running another update
// (EKS allows one at a time): the fix must wait, not fail.
func Busy(err error) bool { return ErrorCode(err) == "ResourceInUseException" }

// notFound reports whether err says the resource does not exist.
func notFound(err error) bool {
	switch ErrorCode(err) {
	case "ResourceNotFoundException", "NoSuchEntity", "NotFoundException":
		return true
	}
	return false
}

// Prepare checks the plan against the live state. token is used as the
// ClientRequestToken of EKS update calls, so that a call repeated with the
// same token is not applied twice.
func (e *Executor) Prepare(ctx context.Context, region string, p *finding.Plan, token string) (*Action, error) {
	if p == nil {
		return nil, &PlanError{"no plan"}
	}
	needEKS := strings.HasPrefix(p.Action, "eks:")
	if needEKS {
		if p.Cluster == "" {
			return nil, &PlanError{p.Action + " without a cluster"}
		}
		if e.EKS == nil {
			return nil, &PlanError{"no EKS client for " + p.Action}
		}
	} else if strings.HasPrefix(p.Action, "iam:") && e.IAM == nil {
		return nil, &PlanError{"no IAM client for " + p.Action}
	}
	switch p.Action {
	case finding.ActionDisassociateAccessPolicy:
		if p.PrincipalARN == "" || p.PolicyARN == "" {
			return nil, &PlanError{p.Action + " needs principalArn and policyArn"}
		}
		return disassociate(ctx, e.EKS(region), p)
	case finding.ActionDeleteAccessEntry:
		if p.PrincipalARN == "" {
			return nil, &PlanError{p.Action + " needs principalArn"}
		}
		return deleteEntry(ctx, e.EKS(region), p)
	case finding.ActionUpdateAccessEntry:
		if p.PrincipalARN == "" {
			return nil, &PlanError{p.Action + " needs principalArn"}
		}
		return updateEntry(ctx, e.EKS(region), p, token)
	case finding.ActionUpdateClusterConfig:
		endpoint := p.EndpointPublicAccess != nil || len(p.PublicAccessCIDRs) > 0
		switch {
		case p.DeletionProtection != nil && (endpoint || len(p.EnableLogTypes) > 0):
			return nil, &PlanError{"deletion protection, logging and endpoint fixes must be separate updates"}
		case p.DeletionProtection != nil && !*p.DeletionProtection:
			return nil, &PlanError{"eksguard only turns deletion protection on"}
		case p.DeletionProtection != nil:
			return protectDeletion(ctx, e.EKS(region), p, token)
		case len(p.EnableLogTypes) > 0 && endpoint:
			return nil, &PlanError{"logging and endpoint fixes must be separate updates"}
		case len(p.EnableLogTypes) > 0:
			return enableLogging(ctx, e.EKS(region), p, token)
		case endpoint:
			return restrictEndpoint(ctx, e.EKS(region), p, token)
		}
		return nil, &PlanError{p.Action + " with neither logging nor endpoint settings"}
	case finding.ActionDisassociateIdentityProviderConfig:
		if p.IdentityProviderConfig == "" || p.IssuerURL == "" {
			return nil, &PlanError{p.Action + " needs identityProviderConfig and issuerUrl"}
		}
		return disassociateIdentityProvider(ctx, e.EKS(region), p, token)
	case finding.ActionDeletePodIdentityAssociation:
		if p.AssociationID == "" || p.RoleARN == "" {
			return nil, &PlanError{p.Action + " needs associationId and roleArn"}
		}
		return deletePodIdentity(ctx, e.EKS(region), p)
	case finding.ActionAttachRolePolicy, finding.ActionDetachRolePolicy:
		if p.RoleName == "" || p.PolicyARN == "" {
			return nil, &PlanError{p.Action + " needs roleName and policyArn"}
		}
		if err := e.InScope(p); err != nil {
			return nil, err
		}
		return rolePolicy(ctx, e.IAM, p)
	case finding.ActionStartLogging:
		if p.Trail == "" || e.CloudTrail == nil {
			return nil, &PlanError{p.Action + " needs a trail and a CloudTrail client"}
		}
		return startLogging(ctx, e.CloudTrail, region, p)
	}
	return nil, &PlanError{fmt.Sprintf("unsupported action %q", p.Action)}
}

func compliant(format string, args ...any) *Action {
	return &Action{Found: fmt.Sprintf(format, args...)}
}

// call renders the exact request for the outcome: `action {json}`.
func call(action string, req any) string {
	b, err := json.Marshal(req)
	if err != nil {
		return action
	}
	return action + " " + string(b)
}

func disassociate(ctx context.Context, c EKS, p *finding.Plan) (*Action, error) {
	pg := eks.NewListAssociatedAccessPoliciesPaginator(c, &eks.ListAssociatedAccessPoliciesInput{
		ClusterName: aws.String(p.Cluster), PrincipalArn: aws.String(p.PrincipalARN),
	})
	found := false
	for pg.HasMorePages() && !found {
		out, err := pg.NextPage(ctx)
		if notFound(err) {
			return compliant("the access entry of %s on %s no longer exists", p.PrincipalARN, p.Cluster), nil
		}
		if err != nil {
			return nil, fmt.Errorf("list access policies of %s on %s: %w", p.PrincipalARN, p.Cluster, err)
		}
		for _, ap := range out.AssociatedAccessPolicies {
			if aws.ToString(ap.PolicyArn) == p.PolicyARN {
				found = true
			}
		}
	}
	if !found {
		return compliant("%s is no longer associated with %s on %s", p.PolicyARN, p.PrincipalARN, p.Cluster), nil
	}
	in := &eks.DisassociateAccessPolicyInput{ClusterName: aws.String(p.Cluster), PrincipalArn: aws.String(p.PrincipalARN), PolicyArn: aws.String(p.PolicyARN)}
	return &Action{
		Needed: true,
		Found:  fmt.Sprintf("%s is still associated with %s on %s", p.PolicyARN, p.PrincipalARN, p.Cluster),
		Call:   call(p.Action, map[string]string{"clusterName": p.Cluster, "principalArn": p.PrincipalARN, "policyArn": p.PolicyARN}),
		apply: func(ctx context.Context) error {
			_, err := c.DisassociateAccessPolicy(ctx, in)
			return gone(err, "disassociate %s from %s on %s", p.PolicyARN, p.PrincipalARN, p.Cluster)
		},
	}, nil
}

// gone wraps an apply error, turning "not found" into ErrAlreadyCompliant.
func gone(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if notFound(err) {
		return fmt.Errorf("%s: %w (%w)", what, ErrAlreadyCompliant, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func describeEntry(ctx context.Context, c EKS, p *finding.Plan) (*ekstypes.AccessEntry, error) {
	out, err := c.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{ClusterName: aws.String(p.Cluster), PrincipalArn: aws.String(p.PrincipalARN)})
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe the access entry of %s on %s: %w", p.PrincipalARN, p.Cluster, err)
	}
	if out.AccessEntry == nil {
		return nil, fmt.Errorf("describe the access entry of %s on %s: empty response", p.PrincipalARN, p.Cluster)
	}
	return out.AccessEntry, nil
}

func deleteEntry(ctx context.Context, c EKS, p *finding.Plan) (*Action, error) {
	ent, err := describeEntry(ctx, c, p)
	if err != nil {
		return nil, err
	}
	if ent == nil {
		return compliant("the access entry of %s on %s no longer exists", p.PrincipalARN, p.Cluster), nil
	}
	in := &eks.DeleteAccessEntryInput{ClusterName: aws.String(p.Cluster), PrincipalArn: aws.String(p.PrincipalARN)}
	return &Action{
		Needed: true,
		Found:  fmt.Sprintf("the access entry of %s on %s still exists (type %s, groups [%s])", p.PrincipalARN, p.Cluster, aws.ToString(ent.Type), strings.Join(ent.KubernetesGroups, ", ")),
		Call:   call(p.Action, map[string]string{"clusterName": p.Cluster, "principalArn": p.PrincipalARN}),
		apply: func(ctx context.Context) error {
			_, err := c.DeleteAccessEntry(ctx, in)
			return gone(err, "delete the access entry of %s on %s", p.PrincipalARN, p.Cluster)
		},
	}, nil
}

func updateEntry(ctx context.Context, c EKS, p *finding.Plan, token string) (*Action, error) {
	ent, err := describeEntry(ctx, c, p)
	if err != nil {
		return nil, err
	}
	if ent == nil {
		return compliant("the access entry of %s on %s no longer exists", p.PrincipalARN, p.Cluster), nil
	}
	keep := make([]string, 0, len(ent.KubernetesGroups))
	var extra []string
	for _, g := range ent.KubernetesGroups {
		if slices.Contains(p.KubernetesGroups, g) {
			keep = append(keep, g)
		} else {
			extra = append(extra, g)
		}
	}
	if len(extra) == 0 {
		return compliant("the groups of %s on %s are [%s], none beyond the allowed [%s]", p.PrincipalARN, p.Cluster,
			strings.Join(ent.KubernetesGroups, ", "), strings.Join(p.KubernetesGroups, ", ")), nil
	}
	in := &eks.UpdateAccessEntryInput{ClusterName: aws.String(p.Cluster), PrincipalArn: aws.String(p.PrincipalARN), KubernetesGroups: keep}
	if token != "" {
		in.ClientRequestToken = aws.String(token)
	}
	return &Action{
		Needed: true,
		Found:  fmt.Sprintf("%s still has groups [%s] on %s", p.PrincipalARN, strings.Join(extra, ", "), p.Cluster),
		Call:   call(p.Action, map[string]any{"clusterName": p.Cluster, "principalArn": p.PrincipalARN, "kubernetesGroups": keep}),
		apply: func(ctx context.Context) error {
			_, err := c.UpdateAccessEntry(ctx, in)
			return gone(err, "update the groups of %s on %s", p.PrincipalARN, p.Cluster)
		},
	}, nil
}

func describeCluster(ctx context.Context, c EKS, name string) (*ekstypes.Cluster, error) {
	out, err := c.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(name)})
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe cluster %s: %w", name, err)
	}
	if out.Cluster == nil {
		return nil, fmt.Errorf("describe cluster %s: empty response", name)
	}
	return out.Cluster, nil
}

func enableLogging(ctx context.Context, c EKS, p *finding.Plan, token string) (*Action, error) {
	cl, err := describeCluster(ctx, c, p.Cluster)
	if err != nil {
		return nil, err
	}
	if cl == nil {
		return compliant("cluster %s no longer exists", p.Cluster), nil
	}
	enabled := map[string]bool{}
	if cl.Logging != nil {
		for _, s := range cl.Logging.ClusterLogging {
			for _, t := range s.Types {
				enabled[string(t)] = aws.ToBool(s.Enabled)
			}
		}
	}
	var missing []string
	for _, t := range p.EnableLogTypes {
		if !enabled[t] && !slices.Contains(missing, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return compliant("%s logging is enabled on %s", strings.Join(p.EnableLogTypes, ", "), p.Cluster), nil
	}
	types := make([]ekstypes.LogType, len(missing))
	for i, t := range missing {
		types[i] = ekstypes.LogType(t)
	}
	in := &eks.UpdateClusterConfigInput{
		Name:    aws.String(p.Cluster),
		Logging: &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{{Types: types, Enabled: aws.Bool(true)}}},
	}
	if token != "" {
		in.ClientRequestToken = aws.String(token)
	}
	return &Action{
		Needed: true,
		Found:  fmt.Sprintf("%s logging is disabled on %s", strings.Join(missing, ", "), p.Cluster),
		Call: call(p.Action, map[string]any{"name": p.Cluster, "logging": map[string]any{
			"clusterLogging": []map[string]any{{"types": missing, "enabled": true}}}}),
		apply: func(ctx context.Context) error {
			_, err := c.UpdateClusterConfig(ctx, in)
			return gone(err, "enable %s logging on %s", strings.Join(missing, ", "), p.Cluster)
		},
	}, nil
}

func protectDeletion(ctx context.Context, c EKS, p *finding.Plan, token string) (*Action, error) {
	cl, err := describeCluster(ctx, c, p.Cluster)
	if err != nil {
		return nil, err
	}
	if cl == nil {
		return compliant("cluster %s no longer exists", p.Cluster), nil
	}
	if aws.ToBool(cl.DeletionProtection) {
		return compliant("deletion protection of %s is on", p.Cluster), nil
	}
	in := &eks.UpdateClusterConfigInput{Name: aws.String(p.Cluster), DeletionProtection: aws.Bool(true)}
	if token != "" {
		in.ClientRequestToken = aws.String(token)
	}
	return &Action{
		Needed: true,
		Found:  fmt.Sprintf("deletion protection of %s is off", p.Cluster),
		Call:   call(p.Action, map[string]any{"name": p.Cluster, "deletionProtection": true}),
		apply: func(ctx context.Context) error {
			_, err := c.UpdateClusterConfig(ctx, in)
			return gone(err, "turn on deletion protection of %s", p.Cluster)
		},
	}, nil
}

func disassociateIdentityProvider(ctx context.Context, c EKS, p *finding.Plan, token string) (*Action, error) {
	ref := &ekstypes.IdentityProviderConfig{Type: aws.String("oidc"), Name: aws.String(p.IdentityProviderConfig)}
	out, err := c.DescribeIdentityProviderConfig(ctx, &eks.DescribeIdentityProviderConfigInput{ClusterName: aws.String(p.Cluster), IdentityProviderConfig: ref})
	if notFound(err) {
		return compliant("identity provider config %s is no longer associated with %s", p.IdentityProviderConfig, p.Cluster), nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe identity provider config %s of %s: %w", p.IdentityProviderConfig, p.Cluster, err)
	}
	if out.IdentityProviderConfig == nil || out.IdentityProviderConfig.Oidc == nil {
		return nil, fmt.Errorf("describe identity provider config %s of %s: no OIDC config in the response", p.IdentityProviderConfig, p.Cluster)
	}
	oidc := out.IdentityProviderConfig.Oidc
	if issuer := aws.ToString(oidc.IssuerUrl); issuer != p.IssuerURL {
		return nil, &UnsafeError{fmt.Sprintf("identity provider config %s of %s now trusts issuer %s, not %s as the event set: it changed since, so this needs a person",
			p.IdentityProviderConfig, p.Cluster, issuer, p.IssuerURL)}
	}
	in := &eks.DisassociateIdentityProviderConfigInput{ClusterName: aws.String(p.Cluster), IdentityProviderConfig: ref}
	if token != "" {
		in.ClientRequestToken = aws.String(token)
	}
	return &Action{
		Needed: true,
		Found:  fmt.Sprintf("identity provider config %s of %s trusts issuer %s (status %s)", p.IdentityProviderConfig, p.Cluster, p.IssuerURL, oidc.Status),
		Call: call(p.Action, map[string]any{"clusterName": p.Cluster,
			"identityProviderConfig": map[string]string{"type": "oidc", "name": p.IdentityProviderConfig}}),
		apply: func(ctx context.Context) error {
			_, err := c.DisassociateIdentityProviderConfig(ctx, in)
			return gone(err, "disassociate identity provider config %s from %s", p.IdentityProviderConfig, p.Cluster)
		},
	}, nil
}

func deletePodIdentity(ctx context.Context, c EKS, p *finding.Plan) (*Action, error) {
	out, err := c.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String(p.Cluster), AssociationId: aws.String(p.AssociationID)})
	if notFound(err) {
		return compliant("pod identity association %s on %s no longer exists", p.AssociationID, p.Cluster), nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe pod identity association %s on %s: %w", p.AssociationID, p.Cluster, err)
	}
	if out.Association == nil {
		return nil, fmt.Errorf("describe pod identity association %s on %s: empty response", p.AssociationID, p.Cluster)
	}
	a := out.Association
	if role := aws.ToString(a.RoleArn); role != p.RoleARN {
		return nil, &UnsafeError{fmt.Sprintf("pod identity association %s on %s now gives %s, not %s as the event set: it changed since, so this needs a person",
			p.AssociationID, p.Cluster, role, p.RoleARN)}
	}
	in := &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String(p.Cluster), AssociationId: aws.String(p.AssociationID)}
	return &Action{
		Needed: true,
		Found: fmt.Sprintf("pod identity association %s on %s still gives %s/%s role %s", p.AssociationID, p.Cluster,
			aws.ToString(a.Namespace), aws.ToString(a.ServiceAccount), p.RoleARN),
		Call: call(p.Action, map[string]string{"clusterName": p.Cluster, "associationId": p.AssociationID}),
		apply: func(ctx context.Context) error {
			_, err := c.DeletePodIdentityAssociation(ctx, in)
			return gone(err, "delete pod identity association %s on %s", p.AssociationID, p.Cluster)
		},
	}, nil
}

func restrictEndpoint(ctx context.Context, c EKS, p *finding.Plan, token string) (*Action, error) {
	turnOff := p.EndpointPublicAccess != nil && !*p.EndpointPublicAccess
	var approved []netip.Prefix
	if !turnOff {
		for _, s := range p.PublicAccessCIDRs {
			pf, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, &PlanError{fmt.Sprintf("approved CIDR %q: %v", s, err)}
			}
			approved = append(approved, pf.Masked())
		}
		if len(approved) == 0 {
			return nil, &PlanError{"public endpoint kept on without approved CIDRs"}
		}
	}
	cl, err := describeCluster(ctx, c, p.Cluster)
	if err != nil {
		return nil, err
	}
	if cl == nil {
		return compliant("cluster %s no longer exists", p.Cluster), nil
	}
	vpc := cl.ResourcesVpcConfig
	if vpc == nil || !vpc.EndpointPublicAccess {
		return compliant("the public endpoint of %s is off", p.Cluster), nil
	}
	current := vpc.PublicAccessCidrs
	if len(current) == 0 {
		current = []string{"0.0.0.0/0"}
	}
	req := map[string]any{}
	in := &eks.UpdateClusterConfigInput{Name: aws.String(p.Cluster), ResourcesVpcConfig: &ekstypes.VpcConfigRequest{}}
	var found string
	if turnOff {
		if !vpc.EndpointPrivateAccess {
			return nil, &UnsafeError{fmt.Sprintf("the public endpoint of %s is its only endpoint (private access is off): "+
				"turning it off would cut off the nodes and everyone outside the VPC, so this needs a person", p.Cluster)}
		}
		found = fmt.Sprintf("the public endpoint of %s is on, open to %s", p.Cluster, strings.Join(current, ", "))
		in.ResourcesVpcConfig.EndpointPublicAccess = aws.Bool(false)
		req["endpointPublicAccess"] = false
	} else {
		var keep, outside []string
		for _, s := range current {
			if within(s, approved) {
				keep = append(keep, s)
			} else {
				outside = append(outside, s)
			}
		}
		if len(outside) == 0 {
			return compliant("the public endpoint of %s is open only to approved CIDRs (%s)", p.Cluster, strings.Join(current, ", ")), nil
		}
		if !vpc.EndpointPrivateAccess && !p.NodeEgressApproved {
			return nil, &UnsafeError{fmt.Sprintf("the public endpoint of %s is its only endpoint (private access is off), so its nodes "+
				"reach the API server from their NAT egress addresses; narrowing it to the approved CIDRs could cut every node off "+
				"unless those hold the egress addresses (say so with endpoint.approvedIncludesNodeEgress: true), so this needs a person", p.Cluster)}
		}
		found = fmt.Sprintf("the public endpoint of %s is open to %s, outside the approved CIDRs", p.Cluster, strings.Join(outside, ", "))
		if len(keep) == 0 {
			keep = slices.Clone(p.PublicAccessCIDRs)
		}
		in.ResourcesVpcConfig.PublicAccessCidrs = keep
		req["publicAccessCidrs"] = keep
	}
	if token != "" {
		in.ClientRequestToken = aws.String(token)
	}
	return &Action{
		Needed: true,
		Found:  found,
		Call:   call(p.Action, map[string]any{"name": p.Cluster, "resourcesVpcConfig": req}),
		apply: func(ctx context.Context) error {
			_, err := c.UpdateClusterConfig(ctx, in)
			return gone(err, "update the endpoint of %s", p.Cluster)
		},
	}, nil
}

// within reports whether the CIDR lies inside one of the approved prefixes.
func within(cidr string, approved []netip.Prefix) bool {
	pf, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	if err != nil {
		return false
	}
	for _, a := range approved {
		if a.Bits() <= pf.Bits() && a.Contains(pf.Addr()) {
			return true
		}
	}
	return false
}

func rolePolicy(ctx context.Context, c IAM, p *finding.Plan) (*Action, error) {
	attach := p.Action == finding.ActionAttachRolePolicy
	attached, err := isAttached(ctx, c, p.RoleName, p.PolicyARN)
	if notFound(err) && !attach {
		return compliant("role %s no longer exists", p.RoleName), nil
	}
	if err != nil {
		return nil, err
	}
	req := map[string]string{"roleName": p.RoleName, "policyArn": p.PolicyARN}
	if attach {
		if attached {
			return compliant("%s is attached to role %s", p.PolicyARN, p.RoleName), nil
		}
		return &Action{
			Needed: true,
			Found:  fmt.Sprintf("%s is not attached to role %s", p.PolicyARN, p.RoleName),
			Call:   call(p.Action, req),
			apply: func(ctx context.Context) error {
				_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(p.RoleName), PolicyArn: aws.String(p.PolicyARN)})
				if err != nil {
					return fmt.Errorf("attach %s to role %s: %w", p.PolicyARN, p.RoleName, err)
				}
				return nil
			},
		}, nil
	}
	if !attached {
		return compliant("%s is not attached to role %s", p.PolicyARN, p.RoleName), nil
	}
	return &Action{
		Needed: true,
		Found:  fmt.Sprintf("%s is still attached to role %s", p.PolicyARN, p.RoleName),
		Call:   call(p.Action, req),
		apply: func(ctx context.Context) error {
			_, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(p.RoleName), PolicyArn: aws.String(p.PolicyARN)})
			return gone(err, "detach %s from role %s", p.PolicyARN, p.RoleName)
		},
	}, nil
}

func isAttached(ctx context.Context, c IAM, role, policyARN string) (bool, error) {
	pg := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return false, fmt.Errorf("list policies attached to role %s: %w", role, err)
		}
		for _, ap := range out.AttachedPolicies {
			if aws.ToString(ap.PolicyArn) == policyARN {
				return true, nil
			}
		}
	}
	return false, nil
}
