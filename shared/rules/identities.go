package rules

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/policy"
)

// IdentityProviderAssociated flags an OIDC identity provider associated
// with a cluster, from an issuer the policy does not allow.
var IdentityProviderAssociated = Rule{
	ID:       "identity-provider-associated",
	Title:    "OIDC identity provider associated with a cluster",
	Severity: finding.High,
	Rationale: "An associated OIDC identity provider is a sign-in path beside IAM: whoever the issuer signs a token for " +
		"authenticates to the cluster, with the groups its groups claim names. IAM, access entries and CloudTrail's " +
		"identity fields never see those users.",
	Fix:     "Disassociate the identity provider config, or add its issuer to identityProviders.allowed.",
	Actions: []string{finding.ActionDisassociateIdentityProviderConfig},
	Examples: []Example{
		{Name: "unknown issuer", Event: "AssociateIdentityProviderConfig", Params: `{"clusterName":"prod","oidc":{"identityProviderConfigName":"sso","issuerUrl":"https://idp.example.net","clientId":"kubernetes","groupsClaim":"groups"}}`, Fires: true},
		{Name: "denied association", Event: "AssociateIdentityProviderConfig", Params: `{"clusterName":"prod","oidc":{"identityProviderConfigName":"sso","issuerUrl":"https://idp.example.net","clientId":"kubernetes"}}`, ErrorCode: "AccessDeniedException", Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, ip *cloudtrail.IdentityProviderParams, p *policy.Policy) []finding.Finding {
		o := ip.OIDC
		if o == nil {
			o = &cloudtrail.OIDCConfig{}
		}
		return identityProvider(p, ip.Cluster(), o, "associated with")
	}, "AssociateIdentityProviderConfig")},
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		var out []finding.Finding
		for _, idp := range s.IdentityProviders {
			if !strings.EqualFold(idp.Type, "oidc") {
				continue
			}
			o := &cloudtrail.OIDCConfig{Name: idp.Name, IssuerURL: idp.IssuerURL, ClientID: idp.ClientID,
				UsernameClaim: idp.UsernameClaim, GroupsClaim: idp.GroupsClaim, GroupsPrefix: idp.GroupsPrefix}
			for _, f := range identityProvider(p, s.Name, o, "is associated with") {
				f.Resource = "identity-provider/" + idp.Name
				out = append(out, f)
			}
		}
		return out
	}},
}

func identityProvider(p *policy.Policy, cluster string, o *cloudtrail.OIDCConfig, verb string) []finding.Finding {
	if o.IssuerURL != "" && p.AllowedIssuer(o.IssuerURL) {
		return nil
	}
	groups := "no groups claim"
	if o.GroupsClaim != "" {
		groups = "groups claim " + o.GroupsClaim
		if o.GroupsPrefix != "" {
			groups += " (prefix " + o.GroupsPrefix + ")"
		}
	}
	user := "username claim sub"
	if o.UsernameClaim != "" {
		user = "username claim " + o.UsernameClaim
	}
	f := finding.Finding{
		Cluster: cluster,
		Summary: fmt.Sprintf("OIDC identity provider %s %s cluster %s: issuer %s, client ID %s, %s, %s; "+
			"whoever that issuer signs a token for can sign in, unseen by IAM and access entries",
			orUnknown(o.Name), verb, cluster, orUnknown(o.IssuerURL), orUnknown(o.ClientID), groups, user),
		After: "OIDC issuer " + o.IssuerURL,
	}
	if len(p.IdentityProviders.Allowed) > 0 {
		f.Summary += " (issuer not in identityProviders.allowed)"
	}
	if o.Name != "" {
		f.Plan = &finding.Plan{Action: finding.ActionDisassociateIdentityProviderConfig, Cluster: cluster,
			IdentityProviderConfig: o.Name, IssuerURL: o.IssuerURL,
			Reason: "removes the sign-in path; only while the config still has the issuer the event added"}
	}
	return []finding.Finding{f}
}

// PodIdentityEscalation flags a pod identity association that hands a pod
// a role it should not have: a role of an untrusted account, an EKS cluster
// or node role, a role that holds an admin policy (as the cluster function
// looks it up through IAM), or any role for a kube-system service account.
var PodIdentityEscalation = Rule{
	ID:       "pod-identity-escalation",
	Title:    "Pod identity association gives a pod a privileged or foreign role",
	Severity: finding.High,
	Rationale: "EKS Pod Identity hands the role's credentials to every pod that runs as the service account; whoever " +
		"can create such a pod gets the role. A cluster or node role, a role in an untrusted account, a role holding an " +
		"admin policy, or a role for a kube-system service account (whose pods run with cluster-wide rights) turns that " +
		"into an escalation path.",
	Fix: "Delete the association (or update it back to the intended role).",
	// The role's own permissions are not in the event: the cluster function
	// lists the attached managed policies of this account's roles through
	// IAM (policy.Found); a replay judges what the event and the policy say.
	Actions: []string{finding.ActionDeletePodIdentityAssociation},
	Examples: []Example{
		{Name: "node role to an app", Event: "CreatePodIdentityAssociation", Params: `{"clusterName":"prod","namespace":"shop","serviceAccount":"web","roleArn":"arn:aws:iam::111122223333:role/prod-node-role"}`, Fires: true},
		{Name: "target role in another account", Event: "CreatePodIdentityAssociation", Params: `{"clusterName":"prod","namespace":"shop","serviceAccount":"web","roleArn":"arn:aws:iam::111122223333:role/shop-web","targetRoleArn":"arn:aws:iam::444455556666:role/data"}`, Fires: true},
		{Name: "a kube-system service account", Event: "CreatePodIdentityAssociation", Params: `{"clusterName":"prod","namespace":"kube-system","serviceAccount":"coredns","roleArn":"arn:aws:iam::111122223333:role/dns"}`, Fires: true},
		{Name: "an app role", Event: "CreatePodIdentityAssociation", Params: `{"clusterName":"prod","namespace":"shop","serviceAccount":"web","roleArn":"arn:aws:iam::111122223333:role/shop-web"}`, Fires: false},
		{Name: "an admin-named role, not looked up (replay)", Event: "CreatePodIdentityAssociation", Params: `{"clusterName":"prod","namespace":"shop","serviceAccount":"web","roleArn":"arn:aws:iam::111122223333:role/shop-admin"}`, Fires: false},
	},
	Judge: []Judgement{On(EKS, func(r *cloudtrail.Record, pi *cloudtrail.PodIdentityParams, p *policy.Policy) []finding.Finding {
		got := podIdentityResult(r)
		a := clusterstate.PodIdentity{
			AssociationID: first(pi.AssociationID, got.AssociationID), Namespace: first(pi.Namespace, got.Namespace),
			ServiceAccount: first(pi.ServiceAccount, got.ServiceAccount), RoleARN: first(pi.RoleARN, got.RoleARN),
			TargetRoleARN: pi.TargetRoleARN,
		}
		// The judgement reads the roles the call named; the finding names
		// the role the association gives.
		named := []string{pi.RoleARN, pi.TargetRoleARN}
		return podIdentityJudged(p, pi.Cluster(), a, named, r.Account(), p.AdminPoliciesOf, p.UnlistedRole, r.EventName == "UpdatePodIdentityAssociation")
	}, "CreatePodIdentityAssociation", "UpdatePodIdentityAssociation")},
	// In state the roles' attached policies are the ones the scan listed.
	State: &StateForm{Judge: func(s *clusterstate.Cluster, p *policy.Policy) []finding.Finding {
		admin := func(role string) []string {
			var out []string
			if r := s.Roles[role]; r != nil {
				for _, a := range r.AttachedPolicies {
					if AdminPolicy(a) {
						out = append(out, a)
					}
				}
			}
			return out
		}
		unlisted := func(role string) string {
			if s.Roles[role] == nil && identity.Account(role) == s.Account {
				return "the scan did not read it"
			}
			return ""
		}
		var out []finding.Finding
		for _, a := range s.PodIdentities {
			for _, f := range podIdentityJudged(p, s.Name, a, []string{a.RoleARN, a.TargetRoleARN}, s.Account, admin, unlisted, false) {
				f.Resource = "pod-identity-association/" + a.AssociationID
				out = append(out, f)
			}
		}
		return out
	}},
}

// podIdentityJudged judges a pod identity association: the roles it names, the
// policies attached to them (adminOf, unlisted say what IAM listed) and
// its service account. updated says an update changed an existing one.
func podIdentityJudged(p *policy.Policy, cluster string, a clusterstate.PodIdentity, roles []string, ownAccount string,
	adminOf func(string) []string, unlisted func(string) string, updated bool) []finding.Finding {
	var why, notListed []string
	for _, role := range roles {
		if role == "" {
			continue
		}
		if acct := identity.Account(role); acct == "" || !p.TrustedAccount(acct, ownAccount) {
			why = append(why, fmt.Sprintf("%s is in untrusted account %s", role, orUnknown(acct)))
		}
		if kind := eksRole(p, identity.Name(role)); kind != "" {
			why = append(why, fmt.Sprintf("%s is an EKS %s role", role, kind))
		}
		if admin := adminOf(role); len(admin) > 0 {
			names := make([]string, len(admin))
			for i, a := range admin {
				names[i] = identity.Name(a)
			}
			why = append(why, fmt.Sprintf("%s holds admin policy %s", role, strings.Join(names, ", ")))
		}
		if msg := unlisted(role); msg != "" {
			notListed = append(notListed, fmt.Sprintf("the policies attached to %s could not be listed (%s); check whether it holds an admin policy", role, msg))
		}
	}
	if a.Namespace == "kube-system" {
		why = append(why, fmt.Sprintf("service account kube-system/%s runs with cluster-wide rights", a.ServiceAccount))
	}
	if len(why) == 0 {
		return nil
	}
	role := a.RoleARN
	f := finding.Finding{
		Cluster:   cluster,
		Principal: role,
		Summary: fmt.Sprintf("pod identity association %s on cluster %s gives service account %s/%s %s: %s",
			orUnknown(a.AssociationID), cluster, orUnknown(a.Namespace), orUnknown(a.ServiceAccount), orUnknown(role), strings.Join(why, "; ")),
		After: "role " + role,
	}
	if a.TargetRoleARN != "" {
		f.After += ", target role " + a.TargetRoleARN
	}
	switch {
	case updated:
		f.NeedsCheck = "an update changed an existing association; deleting it would remove more than the change, so update it back to the intended role by hand"
	case a.AssociationID == "" || role == "":
		f.NeedsCheck = "the record does not give the association's ID, so it cannot be deleted automatically; find it with aws eks list-pod-identity-associations"
	default:
		f.Plan = &finding.Plan{Action: finding.ActionDeletePodIdentityAssociation, Cluster: cluster, AssociationID: a.AssociationID, RoleARN: role,
			Reason: "removes the association the event created; only while it still gives the same role"}
	}
	if len(notListed) > 0 {
		if f.NeedsCheck != "" {
			notListed = append(notListed, f.NeedsCheck)
		}
		f.NeedsCheck = strings.Join(notListed, "; ")
	}
	return []finding.Finding{f}
}

// podIdentity is the association CloudTrail records in responseElements.
type podIdentity struct {
	AssociationID  string `json:"associationId"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	RoleARN        string `json:"roleArn"`
}

// podIdentityResult reads the association from the response, which an
// update needs for the namespace and service account it does not restate.
// A response that does not parse leaves the fields empty: the finding then
// says what it could not tell.
func podIdentityResult(r *cloudtrail.Record) podIdentity {
	var out struct {
		Association podIdentity `json:"association"`
	}
	if len(r.ResponseElements) > 0 {
		_ = json.Unmarshal(r.ResponseElements, &out)
	}
	return out.Association
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
