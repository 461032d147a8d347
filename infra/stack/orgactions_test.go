package stack

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/config"
)

var (
	orgActionsOnce sync.Once
	orgActionsFix  *orgSynth
)

// orgActionsFixture is an organization deployment with slackActions on and
// a notify-only policy naming an approver.
func orgActionsFixture(t *testing.T) *orgSynth {
	t.Helper()
	orgActionsOnce.Do(func() {
		orgActionsFix = buildOrgSynth(t, "org-actions-build", map[string]string{
			"account": orgCentral, "region": "eu-west-1", "slackActions": "on",
			"policyFile":     writeFile(t, "approvers.yaml", approversPolicy),
			"organizationId": orgID, "memberOrganizationalUnits": orgOU,
			"memberRegions": "eu-central-1", "memberAccounts": orgMember,
		})
	})
	if orgActionsFix == nil {
		t.Fatal("organization fixture with slackActions failed to build")
	}
	return orgActionsFix
}

// An approved fix of a member account's finding runs through that account's
// remediation role: the interaction function may assume it, the role
// trusts the interaction function's role and holds the fixes a person may
// approve (every rule as if in remediate mode, though the policy only
// notifies).
func TestOrgInteractionFixesThroughTheMemberRole(t *testing.T) {
	s := orgActionsFixture(t)
	fn := s.mainJSON.resource(s.functionID(InteractionName))
	vars := at(fn, "Properties", "Environment", "Variables").(map[string]any)
	if vars[config.EnvMemberRoleName] != assume.DefaultRoleName || ref(vars[config.EnvAccount]) != "AWS::AccountId" {
		t.Errorf("interaction environment: %s=%v %s=%v, want %s and the account", config.EnvMemberRoleName, vars[config.EnvMemberRoleName],
			config.EnvAccount, vars[config.EnvAccount], assume.DefaultRoleName)
	}
	roleName := functionRoleName("eksguard", InteractionName, "eu-west-1")
	role := s.mainJSON.resource(getAtt(at(fn, "Properties", "Role"), "Arn"))
	if got := at(role, "Properties", "RoleName"); got != roleName {
		t.Errorf("interaction role name %v, want %s (the member roles trust it by name)", got, roleName)
	}
	assumes := 0
	for _, st := range s.roleStatements(t, InteractionName) {
		if slices.Contains(asList(st["Action"]), any("sts:AssumeRole")) {
			assumes++
		}
	}
	if assumes != 1 {
		t.Errorf("interaction role: %d sts:AssumeRole statements, want 1", assumes)
	}

	roles := 0
	for region, tm := range s.memberTemplates() {
		role, roleID := remediationRoleIn(tm)
		if role == nil {
			continue
		}
		trust := asList(at(role, "Properties", "AssumeRolePolicyDocument", "Statement"))
		roles++
		if len(trust) != 1 || !strings.Contains(canonical(t, trust[0]), ":role/"+roleName) {
			t.Errorf("member %q: trust %s does not name the interaction role %s", region, canonical(t, trust), roleName)
		}
		var actions []string
		for _, st := range policyStatementsOf(tm, roleID) {
			for _, a := range asList(st["Action"]) {
				actions = append(actions, a.(string))
			}
		}
		for _, want := range []string{"eks:DisassociateAccessPolicy", "eks:DeleteAccessEntry", "eks:UpdateClusterConfig"} {
			if !slices.Contains(actions, want) {
				t.Errorf("member %q: the remediation role may not %s, which an approved fix calls", region, want)
			}
		}
		if slices.Contains(actions, "*") {
			t.Errorf("member %q: a statement allows every action", region)
		}
	}
	if roles != 2 {
		t.Errorf("remediation roles in the member templates: got %d, want 2 (the StackSet's and the standalone us-east-1 one)", roles)
	}
}

func TestOrgActionsCDKNagAwsSolutionsHasNoErrors(t *testing.T) {
	s := orgActionsFixture(t)
	stacks := append([]awscdk.Stack{s.dep.Main, s.dep.StackSetMember}, s.dep.Members...)
	for _, st := range stacks {
		for _, e := range nagErrors(t, s.app, st) {
			t.Errorf("%s: %s", *st.StackName(), e)
		}
	}
}
