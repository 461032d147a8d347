package stack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

const (
	orgCentral = "111122223333"
	orgMember  = "444455556666"
	orgID      = "o-a1b2c3d4e5"
	orgOU      = "ou-ab12-11111111"
)

// orgSynth is the organization fixture: central eu-west-1, every rule
// remediating, member regions eu-west-1 (us-east-1 added), one OU for the
// StackSet and one account for per-account deployment.
type orgSynth struct {
	*synthesized
	stackSet template            // the StackSet's inlined member template
	members  map[string]template // standalone member stacks by region
}

var (
	orgOnce sync.Once
	orgFix  *orgSynth
)

func orgFixture(t *testing.T) *orgSynth {
	t.Helper()
	orgOnce.Do(func() {
		orgFix = buildOrgSynth(t, "org-build", map[string]string{
			"account": orgCentral, "region": "eu-west-1",
			"policyFile":     writeFile(t, "policy.yaml", remediateAllPolicy),
			"organizationId": orgID, "memberOrganizationalUnits": orgOU,
			"memberRegions": "eu-west-1", "memberAccounts": orgMember,
		})
	})
	if orgFix == nil {
		t.Fatal("organization fixture failed to build")
	}
	return orgFix
}

// buildOrgSynth synthesizes an organization deployment with the settings
// (assets in a directory of that name) and reads its main, member and
// StackSet templates.
func buildOrgSynth(t *testing.T, assetsName string, settings map[string]string) *orgSynth {
	t.Helper()
	assets := filepath.Join(tmpRoot, assetsName)
	if err := os.Rename(fakeAssets(t), assets); err != nil {
		t.Fatal(err)
	}
	ctx := map[string]string{"assetDir": assets}
	for k, v := range settings {
		ctx[k] = v
	}
	app := newApp(t, ctx)
	cfg, err := Resolve(AppLookup(app, func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	dep, err := New(app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &orgSynth{synthesized: &synthesized{app: app, cfg: cfg, dep: dep}, members: map[string]template{}}
	failOnValidation(t, app, func() {
		s.main = assertions.Template_FromStack(dep.Main, nil)
		s.mainJSON = toTemplate(t, s.main)
		for _, m := range dep.Members {
			s.members[*m.Region()] = toTemplate(t, assertions.Template_FromStack(m, nil))
		}
	})
	for _, ss := range s.mainJSON.resources("AWS::CloudFormation::StackSet") {
		if err := json.Unmarshal([]byte(ss["TemplateBody"].(string)), &s.stackSet); err != nil {
			t.Fatalf("StackSet TemplateBody: %v", err)
		}
	}
	return s
}

func TestResolveOrgSettings(t *testing.T) {
	cfg, err := Resolve(settings(map[string]string{
		"assetDir": fakeAssets(t), "account": orgCentral, "region": "eu-west-1",
		"organizationId": orgID, "memberOrganizationalUnits": orgOU + ",r-ab12",
		"memberRegions": "eu-west-1,eu-central-1", "memberAccounts": orgMember,
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := &Org{ID: orgID, OUs: []string{orgOU, "r-ab12"}, Regions: []string{"eu-west-1", "eu-central-1", "us-east-1"},
		Accounts: []string{orgMember}, RoleName: assume.DefaultRoleName, CallAs: "DELEGATED_ADMIN"}
	if g, w := jsonOf(t, cfg.Org), jsonOf(t, want); g != w {
		t.Errorf("org settings\n%s\nwant\n%s", g, w)
	}
	plain, err := Resolve(settings(map[string]string{"assetDir": fakeAssets(t)}))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Org != nil {
		t.Errorf("no organization settings gave organization mode %+v", plain.Org)
	}
}

func TestResolveRejectsBadOrgSettings(t *testing.T) {
	assets := fakeAssets(t)
	base := map[string]string{"assetDir": assets, "account": orgCentral, "organizationId": orgID, "memberOrganizationalUnits": orgOU}
	for _, tc := range []struct {
		key, value, want string
		without          string // a base setting to leave out
	}{
		{"organizationId", "o-short", "not an AWS Organizations ID", ""},
		{"organizationId", "org-a1b2c3d4e5", "not an AWS Organizations ID", ""},
		{"memberOrganizationalUnits", "ou-ab12", "not an organizational unit ID", ""},
		{"memberOrganizationalUnits", "", "neither memberOrganizationalUnits nor memberAccounts", ""},
		{"memberRegions", "eu-west-1,mars-1", `"mars-1" is not an AWS region`, ""},
		{"memberAccounts", "4444", "not a 12-digit account ID", ""},
		{"remediationRoleName", "bad role", "not an IAM role name", ""},
		{"stackSetCallAs", "ADMIN", "want DELEGATED_ADMIN or SELF", ""},
		{"account", "", "the central account must be given", "account"},
		{"stackName", "eksguard-with-a-name-long-enough-to-overflow-iam", "too long for organization mode", ""},
		{"memberRegions", "eu-west-1", "set organizationId as well", "organizationId"},
		{"remediationRoleName", "guard", "set organizationId as well", "organizationId"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range base {
				if k != tc.without {
					m[k] = v
				}
			}
			m[tc.key] = tc.value
			_, err := Resolve(settings(m))
			if err == nil {
				t.Fatalf("%s=%q accepted", tc.key, tc.value)
			}
			if !strings.Contains(err.Error(), "setting "+tc.key) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name setting %s and %q", err, tc.key, tc.want)
			}
		})
	}
}

// Without organization settings the app is the single-account one: none
// of the organization mode's resources, names or variables.
func TestNoOrgSettingsAddNothing(t *testing.T) {
	for _, name := range []string{"eu-remediate", "us-notify"} {
		s := fixture(t, name)
		if len(s.dep.Members) != 0 || s.dep.StackSetMember != nil {
			t.Errorf("%s: member stacks without organization settings", name)
		}
		for _, typ := range []string{"AWS::Events::EventBus", "AWS::Events::EventBusPolicy", "AWS::CloudFormation::StackSet"} {
			if n := len(s.mainJSON.resources(typ)); n != 0 {
				t.Errorf("%s: %d %s resources, want none", name, n, typ)
			}
		}
		for id, r := range s.mainJSON.resources("AWS::IAM::Role") {
			if r["RoleName"] != nil {
				t.Errorf("%s: role %s has the fixed name %v", name, id, r["RoleName"])
			}
		}
		for id, fn := range s.mainJSON.resources("AWS::Lambda::Function") {
			vars, _ := at(fn, "Environment", "Variables").(map[string]any)
			for _, v := range []string{config.EnvAccount, config.EnvMemberRoleName} {
				if _, ok := vars[v]; ok {
					t.Errorf("%s: function %s has %s", name, id, v)
				}
			}
			if strings.Contains(canonical(t, vars[config.EnvRemediationRoleARN]), "iam::*:") {
				t.Errorf("%s: function %s ignores a role in every account: %s", name, id, canonical(t, vars[config.EnvRemediationRoleARN]))
			}
		}
	}
}

func TestOrgStackSet(t *testing.T) {
	s := orgFixture(t)
	sets := s.mainJSON.resources("AWS::CloudFormation::StackSet")
	if len(sets) != 1 {
		t.Fatalf("%d StackSets, want 1", len(sets))
	}
	for _, ss := range sets {
		for k, want := range map[string]any{
			"PermissionModel": "SERVICE_MANAGED",
			"StackSetName":    MemberStackSetName("eksguard"),
			"CallAs":          "DELEGATED_ADMIN",
			"AutoDeployment":  map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false},
			"Capabilities":    []any{"CAPABILITY_NAMED_IAM"},
			"StackInstancesGroup": []any{map[string]any{
				"DeploymentTargets": map[string]any{"OrganizationalUnitIds": []any{orgOU}, "Accounts": []any{orgCentral}, "AccountFilterType": "DIFFERENCE"},
				"Regions":           []any{"eu-west-1", "us-east-1"},
			}},
		} {
			if !jsonEqual(t, ss[k], want) {
				t.Errorf("StackSet %s = %s, want %s", k, canonical(t, ss[k]), canonical(t, want))
			}
		}
		// CloudFormation takes a TemplateBody of at most 51,200 bytes.
		if n := len(ss["TemplateBody"].(string)); n > 51200 {
			t.Errorf("member template is %d bytes; TemplateBody allows 51200", n)
		}
	}
	if s.stackSet == nil {
		t.Fatal("no member template inlined")
	}
	if p := s.stackSet["Parameters"]; p != nil {
		t.Errorf("member template has parameters %s: the StackSet passes none", canonical(t, p))
	}
}

func TestOrgCentralBus(t *testing.T) {
	s := orgFixture(t)
	buses := s.mainJSON.resources("AWS::Events::EventBus")
	if len(buses) != 1 {
		t.Fatalf("%d event buses, want 1", len(buses))
	}
	var busID string
	for id, b := range buses {
		busID = id
		if b["Name"] != CentralBusName("eksguard") {
			t.Errorf("bus name %v, want %s", b["Name"], CentralBusName("eksguard"))
		}
	}
	pols := s.mainJSON.resources("AWS::Events::EventBusPolicy")
	if len(pols) != 1 {
		t.Fatalf("%d bus policies, want 1", len(pols))
	}
	for _, p := range pols {
		st := p["Statement"].(map[string]any)
		want := map[string]any{
			"Action": "events:PutEvents", "Effect": "Allow", "Principal": map[string]any{"AWS": "*"},
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": orgID}},
			"Resource":  map[string]any{"Fn::GetAtt": []any{busID, "Arn"}},
		}
		delete(st, "Sid")
		if !jsonEqual(t, st, want) {
			t.Errorf("bus policy %s, want %s", canonical(t, st), canonical(t, want))
		}
	}
	// One rule per family on the central bus, with the family's pattern,
	// targeting its function with retries and the undelivered queue.
	onBus := map[string]map[string]any{}
	for _, r := range s.mainJSON.resources("AWS::Events::Rule") {
		if ref(r["EventBusName"]) == busID {
			onBus[getAtt(at(r["Targets"].([]any)[0], "Arn"), "Arn")] = r
		}
	}
	if len(onBus) != len(families.All()) {
		t.Errorf("%d rules on the central bus, want %d", len(onBus), len(families.All()))
	}
	for _, fam := range families.All() {
		r := onBus[s.functionID(fam.Name)]
		if r == nil {
			t.Errorf("no central-bus rule targets the %s function", fam.Name)
			continue
		}
		if !jsonEqual(t, r["EventPattern"], rules.Pattern(fam)) {
			t.Errorf("%s central rule pattern %s, want %s", fam.Name, canonical(t, r["EventPattern"]), canonical(t, rules.Pattern(fam)))
		}
		if getAtt(at(r["Targets"].([]any)[0], "DeadLetterConfig", "Arn"), "Arn") == "" {
			t.Errorf("%s central rule target has no dead-letter queue", fam.Name)
		}
	}
}

// The family functions have fixed role names, may assume the member role
// only within the organization, and ignore what that role does anywhere.
func TestOrgFunctions(t *testing.T) {
	s := orgFixture(t)
	for _, fam := range families.All() {
		fn := s.mainJSON.resource(s.functionID(fam.Name))
		vars := at(fn, "Properties", "Environment", "Variables").(map[string]any)
		if vars[config.EnvMemberRoleName] != assume.DefaultRoleName || ref(vars[config.EnvAccount]) != "AWS::AccountId" {
			t.Errorf("%s: %s=%v %s=%v, want %s and the account", fam.Name, config.EnvMemberRoleName, vars[config.EnvMemberRoleName],
				config.EnvAccount, vars[config.EnvAccount], assume.DefaultRoleName)
		}
		if self := canonical(t, vars[config.EnvRemediationRoleARN]); !strings.Contains(self, `"arn:*:iam::*:role/`+assume.DefaultRoleName+`"`) {
			t.Errorf("%s: loop guard roles %s lack the member role in every account", fam.Name, self)
		}
		wantRegions := any(nil)
		if ReadsClusterRegions(fam) {
			wantRegions = "eu-west-1,us-east-1"
		}
		if got := vars[config.EnvMemberRegions]; got != wantRegions {
			t.Errorf("%s: %s=%v, want %v", fam.Name, config.EnvMemberRegions, got, wantRegions)
		}
		role := s.mainJSON.resource(getAtt(at(fn, "Properties", "Role"), "Arn"))
		if got, want := at(role, "Properties", "RoleName"), functionRoleName("eksguard", fam.Name, "eu-west-1"); got != want {
			t.Errorf("%s role name %v, want %s", fam.Name, got, want)
		}
		var assumes []map[string]any
		for _, st := range s.roleStatements(t, fam.Name) {
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
			t.Errorf("%s assume statements %s, want only %s", fam.Name, canonical(t, assumes), canonical(t, want))
		}
	}
}

// memberTemplates are the StackSet's template (any region, "") and the
// standalone member stacks by region.
// remediationRoleIn is a member template's remediation role and its
// logical ID, nil when the template has none.
func remediationRoleIn(tm template) (role map[string]any, id string) {
	for rid, r := range tm["Resources"].(map[string]any) {
		rm := r.(map[string]any)
		if rm["Type"] == "AWS::IAM::Role" && at(rm, "Properties", "RoleName") == assume.DefaultRoleName {
			return rm, rid
		}
	}
	return nil, ""
}

// policyStatementsOf are the statements of a template's IAM policies
// attached to the role with the logical ID roleID.
func policyStatementsOf(tm template, roleID string) []map[string]any {
	var out []map[string]any
	for _, r := range tm["Resources"].(map[string]any) {
		rm := r.(map[string]any)
		if rm["Type"] != "AWS::IAM::Policy" || !slices.Contains(refs(at(rm, "Properties", "Roles")), roleID) {
			continue
		}
		for _, st := range asList(at(rm, "Properties", "PolicyDocument", "Statement")) {
			out = append(out, st.(map[string]any))
		}
	}
	return out
}

func (s *orgSynth) memberTemplates() map[string]template {
	out := map[string]template{"": s.stackSet}
	for r, tm := range s.members {
		out[r] = tm
	}
	return out
}

func TestOrgMemberRulesForwardToTheCentralBus(t *testing.T) {
	s := orgFixture(t)
	if got := slices.Sorted(func(yield func(string) bool) {
		for r := range s.members {
			if !yield(r) {
				return
			}
		}
	}); !slices.Equal(got, []string{"eu-west-1", "us-east-1"}) {
		t.Fatalf("standalone member stacks in %v, want eu-west-1 and us-east-1", got)
	}
	for _, m := range s.dep.Members {
		if *m.Account() != orgMember {
			t.Errorf("member stack %s in account %s, want %s", *m.StackName(), *m.Account(), orgMember)
		}
	}
	busARN := "arn:${AWS::Partition}:events:eu-west-1:" + orgCentral + ":event-bus/" + CentralBusName("eksguard")
	for region, tm := range s.memberTemplates() {
		rulesOf := map[string]map[string]any{}
		conds := map[string]any{}
		for id, r := range tm["Resources"].(map[string]any) {
			rm := r.(map[string]any)
			if rm["Type"] != "AWS::Events::Rule" {
				continue
			}
			props := rm["Properties"].(map[string]any)
			for _, fam := range families.All() {
				if jsonEqual(t, props["EventPattern"], rules.Pattern(fam)) {
					rulesOf[fam.Name] = props
					conds[fam.Name] = rm["Condition"]
				}
			}
			_ = id
		}
		for _, fam := range families.All() {
			r, ok := rulesOf[fam.Name]
			wantRule := fam.GlobalRegion == "" || region == "" || region == fam.GlobalRegion
			if ok != wantRule {
				t.Errorf("member %q: %s rule present %v, want %v", region, fam.Name, ok, wantRule)
				continue
			}
			if !ok {
				continue
			}
			if wantCond := fam.GlobalRegion != "" && region == ""; (conds[fam.Name] != nil) != wantCond {
				t.Errorf("member %q: %s rule condition %v, want a condition: %v", region, fam.Name, conds[fam.Name], wantCond)
			}
			targets := r["Targets"].([]any)
			if len(targets) != 1 {
				t.Fatalf("member %q: %s rule has %d targets", region, fam.Name, len(targets))
			}
			tg := targets[0].(map[string]any)
			if !jsonEqual(t, tg["Arn"], map[string]any{"Fn::Sub": busARN}) {
				t.Errorf("member %q: %s rule targets %s, want %s", region, fam.Name, canonical(t, tg["Arn"]), busARN)
			}
			if getAtt(at(tg, "DeadLetterConfig", "Arn"), "Arn") == "" || getAtt(tg["RoleArn"], "Arn") == "" {
				t.Errorf("member %q: %s target lacks a dead-letter queue or a role: %s", region, fam.Name, canonical(t, tg))
			}
		}
		// Each forwarding rule has its failure alarm, the queue its own.
		// The global rule has a queue and queue alarm of its own.
		want := len(rulesOf) + 1
		if _, ok := rulesOf[families.IAM.Name]; ok {
			want++
		}
		if n := len(tm.resources("AWS::CloudWatch::Alarm")); n != want {
			t.Errorf("member %q: %d alarms, want %d", region, n, want)
		}
	}
}

func TestOrgMemberRemediationRole(t *testing.T) {
	s := orgFixture(t)
	grants, err := memberGrants(s.cfg, s.cfg.Policy.Variants())
	if err != nil {
		t.Fatal(err)
	}
	for region, tm := range s.memberTemplates() {
		role, roleID := remediationRoleIn(tm)
		if wantRole := region == "" || region == "us-east-1"; (role != nil) != wantRole {
			t.Errorf("member %q: remediation role present %v, want %v", region, role != nil, wantRole)
			continue
		}
		if role == nil {
			continue
		}
		if (role["Condition"] != nil) != (region == "") {
			t.Errorf("member %q: role condition %v", region, role["Condition"])
		}
		var fnRoles []any
		for _, fn := range append(familyNames(), ScanFunctionName) { // the scan is on (daily)
			fnRoles = append(fnRoles, map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::" + orgCentral + ":role/" + functionRoleName("eksguard", fn, "eu-west-1")})
		}
		trust := asList(at(role, "Properties", "AssumeRolePolicyDocument", "Statement"))
		want := map[string]any{
			"Action": "sts:AssumeRole", "Effect": "Allow",
			"Condition": map[string]any{
				"ArnEquals":    map[string]any{"aws:PrincipalArn": fnRoles},
				"StringEquals": map[string]any{"aws:PrincipalOrgID": orgID},
			},
		}
		var principal any
		if len(trust) == 1 {
			principal = at(trust[0], "Principal", "AWS")
			delete(trust[0].(map[string]any), "Principal")
		}
		// The partition is a literal in an environment-specific stack.
		if p := canonical(t, principal); !strings.Contains(p, ":iam::"+orgCentral+":root") {
			t.Errorf("member %q: trusted principal %s, want the central account %s", region, p, orgCentral)
		}
		if len(trust) != 1 || !jsonEqual(t, trust[0], want) {
			t.Errorf("member %q: trust %s, want %s", region, canonical(t, trust), canonical(t, want))
		}
		// The policies are the grants: the same statements, no more.
		var got []any
		for _, r := range tm["Resources"].(map[string]any) {
			rm := r.(map[string]any)
			if rm["Type"] != "AWS::IAM::Policy" || !slices.Contains(refs(at(rm, "Properties", "Roles")), roleID) {
				continue
			}
			got = append(got, asList(at(rm, "Properties", "PolicyDocument", "Statement"))...)
		}
		var wantStmts []any
		if len(grants[ScanFunctionName]) == 0 {
			t.Errorf("no scan grants for the member role with the scan on")
		}
		for _, fn := range append(familyNames(), ScanFunctionName) {
			for _, st := range grants[fn] {
				m := map[string]any{"Sid": st.Sid, "Effect": "Allow", "Action": one(strs(st.Actions)), "Resource": one(subs(st.Resources))}
				if len(st.Condition) > 0 {
					c := map[string]any{}
					for op, keys := range st.Condition {
						km := map[string]any{}
						for k, v := range keys {
							km[k] = one(subs(v))
						}
						c[op] = km
					}
					m["Condition"] = c
				}
				wantStmts = append(wantStmts, m)
			}
		}
		if len(wantStmts) == 0 {
			t.Fatal("no grants computed: the check would compare nothing")
		}
		norm := func(stmts []any) []any {
			out := make([]any, len(stmts))
			for i, st := range stmts {
				out[i] = sortLists(t, st)
			}
			return out
		}
		if !sameSet(t, norm(got), norm(wantStmts)) {
			t.Errorf("member %q: remediation role statements\n%s\nwant the grants\n%s", region, canonical(t, got), canonical(t, wantStmts))
		}
		// Scoped to the member's regions and account, never another's.
		for _, st := range got {
			for _, r := range asList(at(st, "Resource")) {
				res := canonical(t, r)
				// The central destinations are the one exception: the
				// sending account grants the subscription to them.
				if strings.Contains(res, orgCentral) && !strings.HasSuffix(res, ":destination:"+AuditDestinationName("eksguard")+`"}`) {
					t.Errorf("member %q: grant on the central account's resource %s", region, res)
				}
				if strings.Contains(res, ":eks:") && !strings.Contains(res, "eu-west-1") && !strings.Contains(res, "us-east-1") {
					t.Errorf("member %q: EKS grant outside the member regions: %s", region, res)
				}
			}
		}
	}
}

// sortLists sorts every list in v (CDK sorts a statement's resources and
// condition values), so statements compare by content.
func sortLists(t *testing.T, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = sortLists(t, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = sortLists(t, e)
		}
		slices.SortFunc(out, func(a, b any) int { return strings.Compare(canonical(t, a), canonical(t, b)) })
		return out
	}
	return v
}

func one(v []any) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}

func strs(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

func subs(templates []string) []any {
	out := make([]any, len(templates))
	for i, s := range templates {
		if s == "*" {
			out[i] = s
			continue
		}
		out[i] = map[string]any{"Fn::Sub": s}
	}
	return out
}

func TestOrgNoWildcardAction(t *testing.T) {
	s := orgFixture(t)
	tms := s.memberTemplates()
	tms["central"] = s.mainJSON
	for name, tm := range tms {
		for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::Role"} {
			for id, p := range tm.resources(typ) {
				docs := []any{at(p, "PolicyDocument"), at(p, "AssumeRolePolicyDocument")}
				for _, d := range docs {
					if d == nil {
						continue
					}
					for _, st := range asList(at(d, "Statement")) {
						for _, a := range asList(at(st, "Action")) {
							if s, _ := a.(string); s == "*" || strings.HasSuffix(s, ":*") {
								t.Errorf("%s/%s: wildcard action %v", name, id, a)
							}
						}
					}
				}
			}
		}
	}
}

func TestOrgCDKNagAwsSolutionsHasNoErrors(t *testing.T) {
	s := orgFixture(t)
	stacks := append([]awscdk.Stack{s.dep.Main, s.dep.StackSetMember}, s.dep.Members...)
	stacks = append(stacks, s.dep.Forwarders...)
	stacks = append(stacks, s.dep.AuditDestinations...)
	for _, st := range stacks {
		for _, e := range nagErrors(t, s.app, st) {
			t.Errorf("%s: %s", *st.StackName(), e)
		}
	}
}

// An override that puts a rule in remediate mode for one account grants
// its fix to that account's role, and to the StackSet's (which serves
// every account), but not to another account's.
func TestOrgGrantsFollowOverrides(t *testing.T) {
	doc := `version: 1
principals: {admins: ["arn:aws:iam::111122223333:role/platform-admins"]}
overrides:
  - accounts: ["` + orgMember + `"]
    rules: {public-endpoint-opened: {mode: remediate}}
`
	cfg, err := Resolve(settings(map[string]string{
		"assetDir": fakeAssets(t), "account": orgCentral, "region": "eu-west-1", "policyFile": writeFile(t, "policy.yaml", doc),
		"organizationId": orgID, "memberAccounts": orgMember + ",777788889999",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Policy.Accounts.Organization, []string{orgCentral, orgMember, "777788889999"}; !slices.Equal(got, want) {
		t.Errorf("organization accounts in the policy %v, want %v", got, want)
	}
	updates := func(pols ...*policy.Policy) bool {
		g, err := memberGrants(cfg, pols)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range g[families.Cluster.Name] {
			if slices.Contains(st.Actions, "eks:UpdateClusterConfig") {
				return true
			}
		}
		return false
	}
	if !updates(cfg.Policy.For(orgMember)) {
		t.Error("the overridden account's role lacks eks:UpdateClusterConfig")
	}
	if updates(cfg.Policy.For("777788889999")) {
		t.Error("another account's role got eks:UpdateClusterConfig")
	}
	if !updates(cfg.Policy.Variants()...) {
		t.Error("the StackSet's role lacks eks:UpdateClusterConfig")
	}
}

// The StackSet waits for the central bus, its policy and its rules.
func TestOrgStackSetDependsOnTheBusAndRules(t *testing.T) {
	s := orgFixture(t)
	sets := s.mainJSON.resources("AWS::CloudFormation::StackSet")
	if len(sets) != 1 {
		t.Fatalf("%d StackSets, want 1", len(sets))
	}
	for id := range sets {
		deps := asList(s.mainJSON.resource(id)["DependsOn"])
		var want []string
		for polID := range s.mainJSON.resources("AWS::Events::EventBusPolicy") {
			want = append(want, polID)
		}
		for busID := range s.mainJSON.resources("AWS::Events::EventBus") {
			want = append(want, busID)
			for ruleID, r := range s.mainJSON.resources("AWS::Events::Rule") {
				if ref(r["EventBusName"]) == busID {
					want = append(want, ruleID)
				}
			}
		}
		if len(want) != 2+len(families.All()) {
			t.Fatalf("found %v to depend on, want the bus, its policy and %d rules", want, len(families.All()))
		}
		for _, w := range want {
			if !slices.Contains(deps, any(w)) {
				t.Errorf("StackSet depends on %v, not on %s", deps, w)
			}
		}
	}
}

func familyNames() []string {
	var out []string
	for _, fam := range families.All() {
		out = append(out, fam.Name)
	}
	return out
}
