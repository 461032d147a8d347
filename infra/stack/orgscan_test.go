package stack

import (
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/config"
)

// In organization mode the scan function is told the member role and
// regions, has a fixed role name the member roles trust, and may assume
// the member role as the family functions may (the same statement).
func TestOrgScanFunction(t *testing.T) {
	s := orgFixture(t)
	fn := s.mainJSON.resource(s.functionID(ScanFunctionName))
	vars := at(fn, "Properties", "Environment", "Variables").(map[string]any)
	if vars[config.EnvMemberRoleName] != assume.DefaultRoleName || ref(vars[config.EnvAccount]) != "AWS::AccountId" || vars[config.EnvMemberRegions] != "eu-west-1,us-east-1" {
		t.Errorf("scan function: got %s=%v %s=%v %s=%v; want %s, the account, eu-west-1,us-east-1", config.EnvMemberRoleName, vars[config.EnvMemberRoleName],
			config.EnvAccount, vars[config.EnvAccount], config.EnvMemberRegions, vars[config.EnvMemberRegions], assume.DefaultRoleName)
	}
	role := s.mainJSON.resource(getAtt(at(fn, "Properties", "Role"), "Arn"))
	if got, want := at(role, "Properties", "RoleName"), functionRoleName("eksguard", ScanFunctionName, "eu-west-1"); got != want {
		t.Errorf("scan role name: got %v, want %s", got, want)
	}
	var assumes []map[string]any
	for _, st := range s.roleStatements(t, ScanFunctionName) {
		if slices.Contains(asList(st["Action"]), any("sts:AssumeRole")) {
			assumes = append(assumes, st)
		}
	}
	want := map[string]any{
		"Action": "sts:AssumeRole", "Effect": "Allow", "Sid": "AssumeMemberRemediationRole",
		"Resource":  map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/" + assume.DefaultRoleName},
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": orgID}},
	}
	if len(assumes) != 1 || !jsonEqual(t, assumes[0], want) {
		t.Errorf("scan assume statements: got %s, want only %s", canonical(t, assumes), canonical(t, want))
	}
}

// The member remediation role, in the StackSet's template and in the
// global region's standalone stack, holds the scan's reads in the member
// regions and the member account.
func TestOrgMemberRoleHoldsTheScanReads(t *testing.T) {
	s := orgFixture(t)
	reads, err := ScanReadGrants([]string{"eu-west-1", "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, region := range []string{"", "us-east-1"} {
		tm := s.memberTemplates()[region]
		var got []any
		for _, p := range tm.resources("AWS::IAM::Policy") {
			got = append(got, asList(at(p, "PolicyDocument", "Statement"))...)
		}
		for _, r := range reads {
			i := slices.IndexFunc(got, func(st any) bool { return at(st, "Sid") == r.Sid })
			if i < 0 {
				t.Errorf("member %q: no statement %s (%v)", region, r.Sid, r.Actions)
				continue
			}
			st := got[i]
			for _, a := range r.Actions {
				if !slices.Contains(asList(at(st, "Action")), any(a)) {
					t.Errorf("member %q: %s lacks %s", region, r.Sid, a)
				}
			}
			for _, res := range asList(at(st, "Resource")) {
				c := canonical(t, res)
				if strings.Contains(c, ":eks:") && !strings.Contains(c, "${AWS::AccountId}") {
					t.Errorf("member %q: %s resource %s is not the member account's", region, r.Sid, c)
				}
			}
		}
	}
}

// With the scan off the member role neither trusts a scan role nor holds
// its grants.
func TestOrgScanOffGrantsTheMemberRoleNothing(t *testing.T) {
	cfg, err := Resolve(settings(map[string]string{
		"assetDir": fakeAssets(t), "account": orgCentral, "region": "eu-west-1",
		"organizationId": orgID, "memberAccounts": orgMember, "scanSchedule": ScanOff,
	}))
	if err != nil {
		t.Fatal(err)
	}
	grants, err := memberGrants(cfg, cfg.Policy.Variants())
	if err != nil {
		t.Fatal(err)
	}
	if g := grants[ScanFunctionName]; g != nil || slices.Contains(memberRoleUsers(cfg), ScanFunctionName) {
		t.Errorf("scan off: got scan grants %v, role users %v; want none and no scan", g, memberRoleUsers(cfg))
	}
	cfg.ScanSchedule = DefaultScanSchedule
	if grants, err = memberGrants(cfg, cfg.Policy.Variants()); err != nil || len(grants[ScanFunctionName]) == 0 || !slices.Contains(memberRoleUsers(cfg), ScanFunctionName) {
		t.Errorf("scan on: got scan grants %v (error %v), role users %v; want the scan's", grants[ScanFunctionName], err, memberRoleUsers(cfg))
	}
}
