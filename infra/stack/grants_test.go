package stack

import (
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/glob"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/remediate"
	"github.com/eksguard/eksguard/shared/rules"
)

func parsePolicy(t testing.TB, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc), "test.yaml", rules.IDs())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func grantsFor(t testing.TB, fam families.Family, p *policy.Policy, clusters ...string) []Statement {
	t.Helper()
	g, err := RemediationGrants(fam, p, rules.All(), clusters)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// writeActions are the statements' actions that change something.
func writeActions(stmts []Statement) []string {
	var out []string
	for _, s := range stmts {
		for _, a := range s.Actions {
			if _, ok := writes[a]; ok && !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestNotifyPolicyGrantsNoEKSOrIAMPermission(t *testing.T) {
	for _, fam := range families.All() {
		if g := grantsFor(t, fam, policy.Default()); g != nil {
			t.Errorf("family %s gets %+v under a notify-only policy", fam.Name, g)
		}
	}
}

// Each family's function gets exactly the actions of the rules it handles.
func TestRemediateAllGrantsEachFamilyItsRulesActions(t *testing.T) {
	p := parsePolicy(t, remediateAllPolicy)
	want := map[string][]string{}
	for _, r := range rules.All() {
		for _, e := range r.Events() {
			for _, fam := range families.All() {
				if !slices.Contains(rules.EventNames(fam), e) {
					continue
				}
				for _, a := range r.Actions {
					if !slices.Contains(want[fam.Name], a) {
						want[fam.Name] = append(want[fam.Name], a)
					}
				}
			}
		}
	}
	total := 0
	for _, fam := range families.All() {
		slices.Sort(want[fam.Name])
		got := writeActions(grantsFor(t, fam, p))
		if !slices.Equal(got, want[fam.Name]) {
			t.Errorf("family %s writes %v, want %v", fam.Name, got, want[fam.Name])
		}
		total += len(got)
	}
	if total == 0 {
		t.Fatal("no rule in the catalogue names an action; nothing was checked")
	}
	// The IAM family re-attaches EKS policies and detaches admin ones; the
	// EKS families never touch IAM, and IAM never touches EKS.
	if got := writeActions(grantsFor(t, families.IAM, p)); !slices.Equal(got, []string{finding.ActionAttachRolePolicy, finding.ActionDetachRolePolicy}) {
		t.Errorf("iam family writes %v", got)
	}
	for _, fam := range []families.Family{families.Access, families.Cluster} {
		for _, a := range writeActions(grantsFor(t, fam, p)) {
			if !strings.HasPrefix(a, "eks:") {
				t.Errorf("family %s gets %s", fam.Name, a)
			}
		}
	}
}

func TestOnlyRulesInRemediateModeGetWriteActions(t *testing.T) {
	p := parsePolicy(t, `version: 1
rules:
  admin-policy-attached-to-eks-role: {mode: remediate}
  required-policy-detached: {mode: notify}
  public-endpoint-opened: {mode: off}
`)
	got := grantsFor(t, families.IAM, p)
	if w := writeActions(got); !slices.Equal(w, []string{finding.ActionDetachRolePolicy}) {
		t.Errorf("iam family writes %v, want only iam:DetachRolePolicy", w)
	}
	for _, fam := range []families.Family{families.Access, families.Cluster} {
		if g := grantsFor(t, fam, p); g != nil {
			t.Errorf("family %s has no remediating rule but gets %+v", fam.Name, g)
		}
	}
	var reads []string
	for _, s := range got {
		if strings.HasPrefix(s.Sid, "Check") {
			reads = append(reads, s.Actions...)
		}
	}
	if want := []string{"iam:ListAttachedRolePolicies"}; !slices.Equal(reads, want) {
		t.Errorf("iam pre-check reads %v, want %v", reads, want)
	}
}

// No "*" action anywhere, and a "*" resource only for actions that have no
// resource-level permissions.
func TestGrantsHaveNoWildcardActionsAndScopedResources(t *testing.T) {
	p := parsePolicy(t, remediateAllPolicy)
	for _, fam := range families.All() {
		for _, s := range append(grantsFor(t, fam, p), DetectionGrants(fam, nil)...) {
			for _, a := range s.Actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s/%s: wildcard action %s", fam.Name, s.Sid, a)
				}
			}
			for _, r := range s.Resources {
				if r == "*" && !slices.Equal(s.Actions, []string{"eks:ListClusters"}) {
					t.Errorf("%s/%s: resource * for %v", fam.Name, s.Sid, s.Actions)
				}
				if r != "*" && !strings.HasPrefix(r, "arn:${AWS::Partition}:") {
					t.Errorf("%s/%s: resource %s is not an ARN template", fam.Name, s.Sid, r)
				}
				if strings.HasPrefix(r, "arn:${AWS::Partition}:eks:") && !strings.Contains(r, ":${AWS::Region}:${AWS::AccountId}:") {
					t.Errorf("%s/%s: EKS resource %s is not scoped to the stack's account and region", fam.Name, s.Sid, r)
				}
			}
		}
	}
}

// iam:AttachRolePolicy may only attach the EKS managed policies the rules
// call required, and iam:DetachRolePolicy only detach the admin policies.
func TestIAMWritesAreLimitedByPolicyARN(t *testing.T) {
	p := parsePolicy(t, remediateAllPolicy)
	conds := map[string][]string{}
	for _, s := range grantsFor(t, families.IAM, p) {
		if len(s.Actions) == 1 && strings.HasPrefix(s.Actions[0], "iam:") && strings.HasSuffix(s.Actions[0], "RolePolicy") {
			conds[s.Actions[0]] = s.Condition["ArnEquals"]["iam:PolicyARN"]
			if len(s.Condition) != 1 {
				t.Errorf("%s: conditions %v, want only ArnEquals iam:PolicyARN", s.Sid, s.Condition)
			}
		}
	}
	check := func(action string, accept func(string) bool, want []string) {
		got := conds[action]
		if len(got) != len(want) {
			t.Errorf("%s limited to %v, want the %d policies %v", action, got, len(want), want)
		}
		for _, tmpl := range got {
			arn := strings.ReplaceAll(tmpl, "${AWS::Partition}", "aws")
			if !accept(arn) {
				t.Errorf("%s may touch %s, which the rules do not accept", action, arn)
			}
		}
	}
	check(finding.ActionAttachRolePolicy, func(arn string) bool { _, ok := rules.RequiredEKSPolicy(arn); return ok }, EKSManagedPolicies)
	check(finding.ActionDetachRolePolicy, rules.AdminPolicy, AdminPolicies)
	for _, arn := range []string{"arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/AmazonS3FullAccess"} {
		if slices.Contains(conds[finding.ActionAttachRolePolicy], strings.Replace(arn, "arn:aws:", "arn:${AWS::Partition}:", 1)) {
			t.Errorf("iam:AttachRolePolicy may attach %s", arn)
		}
	}
}

func TestGrantsAreScopedToClusterNamesAndRolePatterns(t *testing.T) {
	p := parsePolicy(t, remediateAllPolicy+`roles:
  cluster: ["eks-cluster-*"]
  node: ["*-nodes", "platform/eks-node-*"]
`)
	for _, fam := range families.All() {
		for _, s := range grantsFor(t, fam, p, "prod") {
			for _, r := range s.Resources {
				switch {
				case r == "*":
				case strings.Contains(r, ":eks:"):
					if !strings.Contains(r, ":cluster/prod") && !strings.Contains(r, ":access-entry/prod/") && !strings.Contains(r, ":nodegroup/prod/") &&
						!strings.Contains(r, ":identityproviderconfig/prod/") && !strings.Contains(r, ":podidentityassociation/prod/") {
						t.Errorf("%s/%s: %s is outside cluster prod", fam.Name, s.Sid, r)
					}
				case strings.Contains(r, ":iam::"):
				case fam.Name == families.Tamper.Name && strings.HasSuffix(r, ":cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/*"):
				default:
					t.Errorf("%s/%s: unexpected resource %s", fam.Name, s.Sid, r)
				}
			}
		}
	}
	var roleARNs []string
	for _, s := range grantsFor(t, families.IAM, p) {
		if s.Sid == "IamDetachRolePolicy" {
			roleARNs = s.Resources
		}
	}
	const role = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
	want := []string{role + "eks-cluster-*", role + "*/eks-cluster-*", role + "*-nodes", role + "platform/eks-node-*"}
	if !slices.Equal(roleARNs, want) {
		t.Errorf("role resources %v, want %v", roleARNs, want)
	}
}

func TestUnknownRemediationActionFailsTheSynth(t *testing.T) {
	p := parsePolicy(t, remediateAllPolicy)
	rogue := rules.PublicEndpointOpened // reads UpdateClusterConfig, a cluster family event
	rogue.ID, rogue.Actions = "delete-the-cluster", []string{"eks:DeleteCluster"}
	_, err := RemediationGrants(families.Cluster, p, append(rules.All(), rogue), nil)
	if err == nil || !strings.Contains(err.Error(), "eks:DeleteCluster") || !strings.Contains(err.Error(), "delete-the-cluster") {
		t.Fatalf("got %v, want an error naming the action and the rule", err)
	}
}

func TestIAMRemediationWithoutRolePatternsFails(t *testing.T) {
	p := parsePolicy(t, remediateAllPolicy+"roles:\n  cluster: []\n  node: []\n")
	_, err := RemediationGrants(families.IAM, p, rules.All(), nil)
	if err == nil || !strings.Contains(err.Error(), "roles.cluster and roles.node are empty") {
		t.Fatalf("got %v, want an error about the empty role patterns", err)
	}
}

func TestWildcardsNameNagFindings(t *testing.T) {
	s := Statement{
		Actions:   []string{"eks:DescribeCluster", "kms:GenerateDataKey*"},
		Resources: []string{"arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/*", "arn:aws:sns:eu-west-1:1:t"},
	}
	want := []string{"Action::kms:GenerateDataKey*", "Resource::arn:<AWS::Partition>:eks:<AWS::Region>:<AWS::AccountId>:cluster/*"}
	if got := wildcards(s); !slices.Equal(got, want) {
		t.Errorf("wildcards = %v, want %v", got, want)
	}
}

// The IAM function reads (only) the clusters and node groups of its cluster
// regions on every event; the cluster function (only) the attached policies
// of this account's roles; the access function nothing unless it remediates.
func TestDetectionGrants(t *testing.T) {
	if g := DetectionGrants(families.Access, nil); g != nil {
		t.Errorf("family access reads %+v on every event", g)
	}
	cluster := DetectionGrants(families.Cluster, []string{"eu-west-1", "us-east-2"})
	if len(cluster) != 1 || !slices.Equal(cluster[0].Actions, []string{"iam:ListAttachedRolePolicies"}) ||
		!slices.Equal(cluster[0].Resources, []string{"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"}) || cluster[0].Condition != nil {
		t.Errorf("cluster detection grants %+v, want exactly iam:ListAttachedRolePolicies on arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*", cluster)
	}
	if ReadsClusterRegions(families.Cluster) || ReadsClusterRegions(families.Access) || !ReadsClusterRegions(families.IAM) {
		t.Errorf("ReadsClusterRegions: cluster %v, access %v, iam %v; want false, false, true",
			ReadsClusterRegions(families.Cluster), ReadsClusterRegions(families.Access), ReadsClusterRegions(families.IAM))
	}
	got := DetectionGrants(families.IAM, []string{"eu-west-1", "us-east-2"})
	var actions, resources []string
	for _, s := range got {
		actions = append(actions, s.Actions...)
		resources = append(resources, s.Resources...)
		for _, a := range s.Actions {
			if _, write := writes[a]; write || !(strings.Contains(a, ":Describe") || strings.Contains(a, ":List")) {
				t.Errorf("%s: %s is not a read", s.Sid, a)
			}
		}
	}
	slices.Sort(actions)
	if want := []string{"eks:DescribeCluster", "eks:DescribeNodegroup", "eks:ListClusters", "eks:ListNodegroups"}; !slices.Equal(actions, want) {
		t.Errorf("iam detection reads %v, want %v", actions, want)
	}
	const eks = "arn:${AWS::Partition}:eks:"
	for _, want := range []string{
		eks + "eu-west-1:${AWS::AccountId}:cluster/*", eks + "us-east-2:${AWS::AccountId}:cluster/*",
		eks + "eu-west-1:${AWS::AccountId}:nodegroup/*/*", eks + "us-east-2:${AWS::AccountId}:nodegroup/*/*", "*",
	} {
		if !slices.Contains(resources, want) {
			t.Errorf("iam detection resources %v lack %s", resources, want)
		}
	}
	for _, s := range DetectionGrants(families.IAM, nil) {
		for _, r := range s.Resources {
			if r != "*" && !strings.Contains(r, ":${AWS::Region}:") {
				t.Errorf("without cluster regions, %s is not the stack's region", r)
			}
		}
	}
}

// The iam function decides which IAM fixes it may make from the same role
// scope the stack grants: for any role, the function's RoleScope covers it
// exactly when every IAM statement of the iam function's grants names it.
func TestIAMGrantsAreTheFunctionsRoleScope(t *testing.T) {
	p := parsePolicy(t, remediateAllPolicy+`roles:
  cluster: ["eks-cluster-*", "AmazonEKSAutoClusterRole*"]
  node: ["*-nodes"]
`)
	scope := remediate.RoleScopeOf(p)
	const prefix = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/"
	var iamStatements int
	for _, s := range grantsFor(t, families.IAM, p) {
		if !strings.HasPrefix(s.Actions[0], "iam:") {
			continue
		}
		iamStatements++
		for _, role := range []string{"eks-cluster-prod", "AmazonEKSAutoClusterRole", "payments-nodes", "legacy-workers", "payments-control-plane", "eks-cluster"} {
			if got, want := glob.Any(s.Resources, prefix+role), scope.Covers(role); got != want {
				t.Errorf("%s: the grant names role %s: %v; the function's scope covers it: %v", s.Sid, role, got, want)
			}
		}
	}
	if iamStatements != 3 {
		t.Errorf("got %d IAM statements, want 3 (check, attach, detach)", iamStatements)
	}
}

// The tamper function may restart trails and read their status, on trail
// ARNs of this account and region, and nothing else; only while
// trail-logging-stopped remediates.
func TestTamperGrantsAreStartLoggingOnTrails(t *testing.T) {
	p := parsePolicy(t, "version: 1\nrules:\n  trail-logging-stopped: {mode: remediate}\n")
	got := grantsFor(t, families.Tamper, p)
	trails := []string{"arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/*"}
	want := []Statement{
		{Sid: "CheckTrails", Actions: []string{"cloudtrail:GetTrailStatus"}, Resources: trails},
		{Sid: "RemediateTrails", Actions: []string{finding.ActionStartLogging}, Resources: trails},
	}
	if len(got) != len(want) {
		t.Fatalf("tamper grants %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Sid != want[i].Sid || !slices.Equal(got[i].Actions, want[i].Actions) || !slices.Equal(got[i].Resources, want[i].Resources) || got[i].Condition != nil {
			t.Errorf("tamper grant %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, fam := range []families.Family{families.Access, families.Cluster, families.IAM} {
		if g := grantsFor(t, fam, p); g != nil {
			t.Errorf("family %s gets %+v for the trail rule", fam.Name, g)
		}
	}
	if g := grantsFor(t, families.Tamper, policy.Default()); g != nil {
		t.Errorf("tamper grants %+v under a notify-only policy", g)
	}
}
