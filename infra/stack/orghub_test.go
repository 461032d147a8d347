package stack

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
)

var (
	orgHubOnce sync.Once
	orgHubFix  *orgSynth
)

// orgHubFixture is an organization deployment with securityHub on: central
// eu-west-1, member region eu-central-1 (us-east-1 added), an OU and an
// account.
func orgHubFixture(t *testing.T) *orgSynth {
	t.Helper()
	orgHubOnce.Do(func() {
		orgHubFix = buildOrgSynth(t, "org-hub-build", map[string]string{
			"account": orgCentral, "region": "eu-west-1", "securityHub": "on",
			"organizationId": orgID, "memberOrganizationalUnits": orgOU,
			"memberRegions": "eu-central-1", "memberAccounts": orgMember,
		})
	})
	if orgHubFix == nil {
		t.Fatal("organization fixture with securityHub failed to build")
	}
	return orgHubFix
}

func TestOrgHubFunctionAssumesTheMemberRole(t *testing.T) {
	s := orgHubFixture(t)
	fn := s.mainJSON.resource(s.functionID(HubName))
	vars := at(fn, "Properties", "Environment", "Variables").(map[string]any)
	if vars[config.EnvMemberRoleName] != assume.DefaultRoleName || ref(vars[config.EnvAccount]) != "AWS::AccountId" ||
		vars[config.EnvMemberRegions] != "eu-central-1,us-east-1" {
		t.Errorf("hub environment: %s=%v %s=%v %s=%v, want %s, the account, eu-central-1,us-east-1",
			config.EnvMemberRoleName, vars[config.EnvMemberRoleName], config.EnvAccount, vars[config.EnvAccount],
			config.EnvMemberRegions, vars[config.EnvMemberRegions], assume.DefaultRoleName)
	}
	role := s.mainJSON.resource(getAtt(at(fn, "Properties", "Role"), "Arn"))
	if got, want := at(role, "Properties", "RoleName"), functionRoleName("eksguard", HubName, "eu-west-1"); got != want {
		t.Errorf("hub role name %v, want %s (the member roles trust it by name)", got, want)
	}
	var assumes, imports []map[string]any
	for _, st := range s.roleStatements(t, HubName) {
		acts := asList(st["Action"])
		if slices.Contains(acts, any("sts:AssumeRole")) {
			assumes = append(assumes, st)
		}
		if slices.Contains(acts, any("securityhub:BatchImportFindings")) {
			imports = append(imports, st)
		}
	}
	want := map[string]any{
		"Action": "sts:AssumeRole", "Effect": "Allow", "Sid": "AssumeMemberRemediationRole",
		"Resource":  map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/" + assume.DefaultRoleName},
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": orgID}},
	}
	if len(assumes) != 1 || !jsonEqual(t, assumes[0], want) {
		t.Errorf("hub assume statements %s, want only %s", canonical(t, assumes), canonical(t, want))
	}
	// Its own account's findings: the central product only, as without organizations.
	if len(imports) != 1 || at(imports[0]["Resource"], "Fn::Sub") != ProductARNTemplate {
		t.Errorf("hub import statements %s, want one on %s", canonical(t, imports), ProductARNTemplate)
	}
	// No invocation before the role may assume the member roles.
	deps := asList(fn["DependsOn"])
	found := false
	for id, p := range s.mainJSON.resources("AWS::IAM::Policy") {
		if strings.HasPrefix(id, "HubAssumeMemberRolePolicy") && slices.Contains(refs(p["Roles"]), getAtt(at(fn, "Properties", "Role"), "Arn")) {
			found = slices.Contains(deps, any(id))
		}
	}
	if !found {
		t.Errorf("hub function depends on %v, want its AssumeMemberRolePolicy among them", deps)
	}
}

func TestOrgMemberRoleImportsIntoItsOwnProduct(t *testing.T) {
	s := orgHubFixture(t)
	wantProducts := []any{}
	for _, r := range []string{"eu-central-1", "eu-west-1", "us-east-1"} {
		wantProducts = append(wantProducts, map[string]any{"Fn::Sub": "arn:${AWS::Partition}:securityhub:" + r + ":${AWS::AccountId}:product/${AWS::AccountId}/default"})
	}
	var trusted []any
	for _, fam := range families.All() {
		trusted = append(trusted, map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::" + orgCentral + ":role/" + functionRoleName("eksguard", fam.Name, "eu-west-1")})
	}
	trusted = append(trusted, map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::" + orgCentral + ":role/eksguard-hub-eu-west-1"},
		map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::" + orgCentral + ":role/eksguard-scan-eu-west-1"})

	roles := 0
	for region, tm := range s.memberTemplates() {
		role, roleID := remediationRoleIn(tm)
		if role == nil {
			continue
		}
		roles++
		trust := asList(at(role, "Properties", "AssumeRolePolicyDocument", "Statement"))
		if len(trust) != 1 || !sameSet(t, asList(at(trust[0], "Condition", "ArnEquals", "aws:PrincipalArn")), trusted) {
			t.Errorf("member %q: trusted roles %s, want the family, hub and scan functions' %s", region, canonical(t, trust), canonical(t, trusted))
		}
		var imports []map[string]any
		for _, st := range policyStatementsOf(tm, roleID) {
			for _, a := range asList(st["Action"]) {
				if strings.HasPrefix(a.(string), "securityhub:") {
					imports = append(imports, st)
				}
			}
		}
		if len(imports) != 1 {
			t.Errorf("member %q: %d securityhub statements, want 1: %s", region, len(imports), canonical(t, imports))
			continue
		}
		st := imports[0]
		if a := asList(st["Action"]); len(a) != 1 || a[0] != "securityhub:BatchImportFindings" || st["Condition"] != nil {
			t.Errorf("member %q: securityhub statement %s, want BatchImportFindings alone", region, canonical(t, st))
		}
		if !sameSet(t, asList(st["Resource"]), wantProducts) {
			t.Errorf("member %q: import resources %s, want the account's default product in %s", region, canonical(t, st["Resource"]), canonical(t, wantProducts))
		}
	}
	// The StackSet's template and the standalone us-east-1 member stack.
	if roles != 2 {
		t.Errorf("remediation roles in the member templates: got %d, want 2", roles)
	}
}

// Without securityHub the member role grants no Security Hub action and
// does not trust a hub role.
func TestOrgMemberRoleWithoutSecurityHub(t *testing.T) {
	s := orgFixture(t)
	for region, tm := range s.memberTemplates() {
		for id, r := range tm["Resources"].(map[string]any) {
			rm := r.(map[string]any)
			if c := canonical(t, rm); strings.Contains(c, "securityhub:") || strings.Contains(c, "eksguard-hub-") {
				t.Errorf("member %q: %s names Security Hub or the hub role with securityHub off", region, id)
			}
		}
	}
}

func TestOrgHubCDKNagAwsSolutionsHasNoErrors(t *testing.T) {
	s := orgHubFixture(t)
	stacks := append([]awscdk.Stack{s.dep.Main, s.dep.StackSetMember}, s.dep.Members...)
	for _, st := range stacks {
		for _, e := range nagErrors(t, s.app, st) {
			t.Errorf("%s: %s", *st.StackName(), e)
		}
	}
}
