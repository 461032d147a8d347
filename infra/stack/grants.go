package stack

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/remediate"
	"github.com/eksguard/eksguard/shared/rules"
)

// Statement is one Allow statement as plain data, so that the grants can be
// computed and checked without synthesizing. Resources and condition values
// are CloudFormation Fn::Sub templates over ${AWS::Partition},
// ${AWS::Region} and ${AWS::AccountId}.
type Statement struct {
	Sid       string
	Actions   []string
	Resources []string
	// Condition is operator -> condition key -> values.
	Condition map[string]map[string][]string
	// Why justifies the statement's wildcards (it becomes the cdk-nag
	// AwsSolutions-IAM5 suppression reason).
	Why string
}

// scope is the kind of resource an action is scoped to.
type scope int

const (
	clusters scope = iota
	accessEntries
	nodegroups
	identityProviderConfigs
	podIdentityAssociations
	roles
	// trails are the account's CloudTrail trails in the stack's region.
	trails
	// anyResource is for actions without resource-level permissions.
	anyResource
)

// write is what one remediation action needs.
type write struct {
	on scope
	// reads are the pre-check calls made before the action.
	reads []string
	// policyARNs limits iam:PolicyARN (IAM attach/detach only).
	policyARNs []string
}

// writes maps each remediation action (finding.Plan.Action) to its scope and
// the reads its pre-check makes (shared/remediate). An action a rule names
// but this table lacks fails the synth.
var writes = map[string]write{
	finding.ActionDisassociateAccessPolicy:           {on: accessEntries, reads: []string{"eks:ListAssociatedAccessPolicies"}},
	finding.ActionDeleteAccessEntry:                  {on: accessEntries, reads: []string{"eks:DescribeAccessEntry"}},
	finding.ActionUpdateAccessEntry:                  {on: accessEntries, reads: []string{"eks:DescribeAccessEntry"}},
	finding.ActionUpdateClusterConfig:                {on: clusters, reads: []string{"eks:DescribeCluster"}},
	finding.ActionDisassociateIdentityProviderConfig: {on: identityProviderConfigs, reads: []string{"eks:DescribeIdentityProviderConfig"}},
	finding.ActionDeletePodIdentityAssociation:       {on: podIdentityAssociations, reads: []string{"eks:DescribePodIdentityAssociation"}},
	finding.ActionAttachRolePolicy:                   {on: roles, reads: []string{"iam:ListAttachedRolePolicies"}, policyARNs: EKSManagedPolicies},
	finding.ActionDetachRolePolicy:                   {on: roles, reads: []string{"iam:ListAttachedRolePolicies"}, policyARNs: AdminPolicies},
	finding.ActionStartLogging:                       {on: trails, reads: []string{"cloudtrail:GetTrailStatus"}},
}

// detectionReads are the reads a family's function makes on every event,
// whatever the rules' modes: the IAM function lists the clusters and node
// groups of the cluster regions to tell whether a role it sees is a cluster
// or node role (shared/remediate.Roles); the cluster function lists the
// managed policies attached to a pod identity association's role in this
// account, to tell whether it holds an admin policy (shared/guard).
var detectionReads = map[string][]string{
	families.IAM.Name:     {"eks:ListClusters", "eks:DescribeCluster", "eks:ListNodegroups", "eks:DescribeNodegroup"},
	families.Cluster.Name: {"iam:ListAttachedRolePolicies"},
}

// accountRoles are all of this account's roles: a pod identity
// association may name any of them.
const accountRoles = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"

// ReadsClusterRegions reports whether the family's function reads the
// clusters of the cluster regions on every event (and so is told them).
func ReadsClusterRegions(fam families.Family) bool {
	return slices.ContainsFunc(detectionReads[fam.Name], func(a string) bool { return strings.HasPrefix(a, "eks:") })
}

// readScopes scopes every read action.
var readScopes = map[string]scope{
	"eks:DescribeAccessEntry":            accessEntries,
	"eks:ListAssociatedAccessPolicies":   accessEntries,
	"eks:DescribeCluster":                clusters,
	"eks:ListNodegroups":                 clusters,
	"eks:DescribeNodegroup":              nodegroups,
	"eks:DescribeIdentityProviderConfig": identityProviderConfigs,
	"eks:DescribePodIdentityAssociation": podIdentityAssociations,
	"eks:ListClusters":                   anyResource,
	"eks:ListAccessEntries":              clusters,
	"eks:ListPodIdentityAssociations":    clusters,
	"eks:ListIdentityProviderConfigs":    clusters,
	"iam:ListAttachedRolePolicies":       roles,
	"iam:ListRolePolicies":               roles,
	"iam:GetRole":                        roles,
	"cloudtrail:GetTrailStatus":          trails,
}

// EKSManagedPolicies are the AWS managed policies eksguard may re-attach to
// an EKS cluster or node role: exactly those the rules' plans can name.
var EKSManagedPolicies = rules.ReattachablePolicies()

// AdminPolicies are the AWS managed policies eksguard may detach from an EKS role.
var AdminPolicies = rules.AdminPolicyNames()

// ManagedPolicyARN is the Fn::Sub template of an AWS managed policy's ARN.
func ManagedPolicyARN(name string) string { return "arn:${AWS::Partition}:iam::aws:policy/" + name }

// RemediatingRules are the catalogue's rules that the family's function
// handles (some of the rule's events are the family's) and that the policy
// puts in remediate mode.
func RemediatingRules(fam families.Family, pol *policy.Policy, catalogue []rules.Rule) []rules.Rule {
	var out []rules.Rule
	for _, r := range catalogue {
		if pol.ModeFor(r.ID) != finding.ModeRemediate || len(r.Actions) == 0 {
			continue
		}
		if r.ReadsFor(fam) {
			out = append(out, r)
		}
	}
	return out
}

// RemediationActions are the write actions the family's function needs, sorted.
func RemediationActions(fam families.Family, pol *policy.Policy, catalogue []rules.Rule) []string {
	var out []string
	for _, r := range RemediatingRules(fam, pol, catalogue) {
		for _, a := range r.Actions {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}

// DetectionGrants are the read-only statements the family's function needs
// whatever the policy says: every cluster of the account in the cluster
// regions (the stack's own region when none are given), and every role of
// the account. They are not limited by clusterNames or the role patterns:
// one denied cluster would blind the whole region's lookup, and a pod
// identity role that matches no pattern is the one worth looking at.
func DetectionGrants(fam families.Family, clusterRegions []string) []Statement {
	reads := detectionReads[fam.Name]
	if len(reads) == 0 {
		return nil
	}
	regions := clusterRegions
	if len(regions) == 0 {
		regions = []string{"${AWS::Region}"}
	}
	by := map[scope][]string{}
	for _, a := range reads {
		by[readScopes[a]] = append(by[readScopes[a]], a)
	}
	var out []Statement
	for _, sc := range []scope{clusters, nodegroups, roles, anyResource} {
		if len(by[sc]) == 0 {
			continue
		}
		if sc == roles {
			out = append(out, Statement{Sid: "DetectAccountRoles", Actions: sorted(by[sc]), Resources: []string{accountRoles},
				Why: "a pod identity association's role is named at runtime from the event and may be any role; scoped to this account's roles, read-only"})
			continue
		}
		var res []string
		for _, r := range regions {
			res = append(res, eksResources(r, nil)[sc]...)
		}
		if sc == anyResource {
			res = []string{"*"}
		}
		out = append(out, Statement{Sid: "Detect" + scopeNames[sc], Actions: sorted(by[sc]), Resources: res, Why: scopeWhy[sc]})
	}
	return out
}

// RemediationGrants are the EKS and IAM statements that only remediation
// needs: nothing when none of the family's rules remediates, otherwise each
// action its remediating rules name plus the reads their pre-checks make,
// scoped to the account's clusters in the stack's region (or clusterNames)
// and to the policy's EKS role patterns.
func RemediationGrants(fam families.Family, pol *policy.Policy, catalogue []rules.Rule, clusterNames []string) ([]Statement, error) {
	return RemediationGrantsIn(fam, pol, catalogue, clusterNames, nil)
}

// RemediationGrantsIn are RemediationGrants for the resources of the given
// regions of the account the statements are deployed in (${AWS::AccountId}):
// a member account's remediation role acts on every member region from one.
// No regions means the stack's own (${AWS::Region}).
func RemediationGrantsIn(fam families.Family, pol *policy.Policy, catalogue []rules.Rule, clusterNames, regions []string) ([]Statement, error) {
	return actionGrants("family "+fam.Name, RemediationActions(fam, pol, catalogue), pol, clusterNames, regions,
		func(a string) []string { return rulesNaming(fam, pol, catalogue, a) })
}

// actionGrants are the statements remediation actions need in the given
// regions (RemediationGrantsIn). who names the function and naming the
// rules behind an action, for errors.
func actionGrants(who string, actions []string, pol *policy.Policy, clusterNames, regions []string, naming func(action string) []string) ([]Statement, error) {
	if len(actions) == 0 {
		return nil, nil
	}
	if len(regions) == 0 {
		regions = []string{"${AWS::Region}"}
	}
	res := map[scope][]string{}
	for _, r := range regions {
		for sc, arns := range eksResources(r, clusterNames) {
			res[sc] = append(res[sc], arns...)
		}
		res[trails] = append(res[trails], "arn:${AWS::Partition}:cloudtrail:"+r+":${AWS::AccountId}:trail/*")
	}
	res[anyResource] = []string{"*"}
	res[roles] = roleResources(pol)

	var out []Statement
	readsBy := map[scope][]string{}
	writesBy := map[scope][]string{}
	for _, a := range actions {
		w, ok := writes[a]
		if !ok {
			return nil, fmt.Errorf("%s: remediation action %s (rules %s) has no resource scope in infra/stack/grants.go; add it before deploying",
				who, a, strings.Join(naming(a), ", "))
		}
		for _, r := range w.reads {
			sc := readScopes[r]
			if !slices.Contains(readsBy[sc], r) {
				readsBy[sc] = append(readsBy[sc], r)
			}
		}
		if len(w.policyARNs) > 0 {
			arns := make([]string, len(w.policyARNs))
			for i, n := range w.policyARNs {
				arns[i] = ManagedPolicyARN(n)
			}
			out = append(out, Statement{
				Sid:       sid(a),
				Actions:   []string{a},
				Resources: res[w.on],
				Condition: map[string]map[string][]string{"ArnEquals": {"iam:PolicyARN": arns}},
				Why:       "role-name patterns from the policy's roles.cluster and roles.node; the iam:PolicyARN condition limits the call to the listed AWS managed policies",
			})
			continue
		}
		writesBy[w.on] = append(writesBy[w.on], a)
	}
	for _, sc := range []scope{accessEntries, clusters, identityProviderConfigs, podIdentityAssociations, trails} {
		if len(writesBy[sc]) > 0 {
			out = append(out, Statement{Sid: "Remediate" + scopeNames[sc], Actions: sorted(writesBy[sc]), Resources: res[sc], Why: scopeWhy[sc]})
		}
	}
	for _, sc := range []scope{accessEntries, clusters, identityProviderConfigs, podIdentityAssociations, roles, trails} {
		if len(readsBy[sc]) > 0 {
			out = append(out, Statement{Sid: "Check" + scopeNames[sc], Actions: sorted(readsBy[sc]), Resources: res[sc], Why: scopeWhy[sc]})
		}
	}
	for _, st := range out {
		if len(st.Resources) == 0 {
			return nil, fmt.Errorf("%s: %s needs EKS role-name patterns, but the policy's roles.cluster and roles.node are empty",
				who, strings.Join(st.Actions, ", "))
		}
	}
	slices.SortFunc(out, func(a, b Statement) int { return strings.Compare(a.Sid, b.Sid) })
	return out, nil
}

var scopeNames = map[scope]string{
	clusters: "Clusters", accessEntries: "AccessEntries", nodegroups: "Nodegroups", roles: "EKSRoles", trails: "Trails", anyResource: "Unscoped",
	identityProviderConfigs: "IdentityProviderConfigs", podIdentityAssociations: "PodIdentityAssociations",
}

var scopeWhy = map[scope]string{
	clusters:                "clusters are named at runtime from the event; scoped to this account and region (or to clusterNames)",
	accessEntries:           "access-entry ARNs end in principal type, account, name and a generated ID known only at runtime; scoped to this account's clusters (or clusterNames)",
	nodegroups:              "node-group ARNs end in a generated ID known only at runtime; scoped to this account's clusters (or clusterNames)",
	identityProviderConfigs: "identity-provider-config ARNs end in the config's name and a generated ID known only at runtime; scoped to this account's clusters (or clusterNames)",
	podIdentityAssociations: "pod-identity-association IDs are generated by EKS and known only at runtime; scoped to this account's clusters (or clusterNames)",
	roles:                   "role-name patterns from the policy's roles.cluster and roles.node",
	trails:                  "the stopped trail is named at runtime from the event; scoped to this account's trails in this region",
	anyResource:             "eks:ListClusters has no resource-level permissions",
}

// eksResources renders the EKS scopes' ARN templates in one region, for the
// named clusters or all of them.
func eksResources(region string, clusterNames []string) map[scope][]string {
	names := clusterNames
	if len(names) == 0 {
		names = []string{"*"}
	}
	eks := "arn:${AWS::Partition}:eks:" + region + ":${AWS::AccountId}:"
	res := map[scope][]string{anyResource: {"*"}}
	for _, n := range names {
		res[clusters] = append(res[clusters], eks+"cluster/"+n)
		res[accessEntries] = append(res[accessEntries], eks+"access-entry/"+n+"/*")
		res[nodegroups] = append(res[nodegroups], eks+"nodegroup/"+n+"/*")
		res[identityProviderConfigs] = append(res[identityProviderConfigs], eks+"identityproviderconfig/"+n+"/*")
		res[podIdentityAssociations] = append(res[podIdentityAssociations], eks+"podidentityassociation/"+n+"/*")
	}
	return res
}

// roleResources renders the policy's EKS role-name patterns as role ARNs:
// the role scope the iam function checks its IAM fixes against
// (shared/remediate.RoleScope), so that the grants and the function agree.
func roleResources(pol *policy.Policy) []string {
	return remediate.RoleScopeOf(pol).ARNs("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/")
}

func rulesNaming(fam families.Family, pol *policy.Policy, catalogue []rules.Rule, action string) []string {
	var ids []string
	for _, r := range RemediatingRules(fam, pol, catalogue) {
		if slices.Contains(r.Actions, action) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// sid turns "iam:AttachRolePolicy" into "IamAttachRolePolicy".
func sid(action string) string {
	svc, name, _ := strings.Cut(action, ":")
	return strings.ToUpper(svc[:1]) + svc[1:] + name
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
