//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/stsfake"
	"github.com/eksguard/eksguard/shared/finding"
)

// The organization deployment (docs/organizations.md): the app synthesized
// with organization settings, the member accounts' events routed by the
// member template the StackSet inlines to the central bus, and by the
// central bus's rules to the central functions, which fix them through
// each account's remediation role.

const (
	orgID       = "o-e2etest0001"
	orgOU       = "ou-e2e0-00000001"
	memberA     = "444455556666"
	memberB     = "777788889999"
	orgRoleName = "eksguard-remediation"
)

func memberRoleARN(acct string) string { return "arn:aws:iam::" + acct + ":role/" + orgRoleName }

// orgStand is what the organization synthesis gives the scenario.
type orgStand struct {
	member  template          // the StackSet's member template
	central template          // the central stack's template
	busARN  string            // the central bus, as deployed
	env     map[string]string // the access function's environment in organization mode
}

func synthOrg(t *testing.T, s *stand) *orgStand {
	t.Helper()
	assembly := synth(t, s.root, writePolicy(t, s.root), filepath.Join(s.root, "build"),
		"organizationId="+orgID, "memberOrganizationalUnits="+orgOU, "memberRegions="+region)
	raw, err := os.ReadFile(filepath.Join(assembly, stackName+".template.json"))
	if err != nil {
		t.Fatal(err)
	}
	o := &orgStand{env: map[string]string{}}
	if err := json.Unmarshal(raw, &o.central); err != nil {
		t.Fatal(err)
	}
	sets := o.central.ids("AWS::CloudFormation::StackSet")
	if len(sets) != 1 {
		t.Fatalf("the central stack has %d StackSets, want 1", len(sets))
	}
	if err := json.Unmarshal([]byte(str(o.central.Resources[sets[0]].Properties["TemplateBody"])), &o.member); err != nil {
		t.Fatalf("StackSet TemplateBody: %v", err)
	}
	for _, id := range o.central.ids("AWS::Events::EventBus") {
		o.busARN = "arn:aws:events:" + region + ":" + account + ":event-bus/" + str(o.central.Resources[id].Properties["Name"])
	}
	o.env = o.envOf(t, s, "access")
	return o
}

// envOf is a central function's environment in organization mode.
func (o *orgStand) envOf(t *testing.T, s *stand, name string) map[string]string {
	t.Helper()
	r := &resolver{tm: o.central, sqsURL: s.world.SQS.URL}
	fn := o.central.Resources[s.dep.Functions[name].LogicalID]
	vars, _ := dig(fn.Properties, "Environment", "Variables")
	env := map[string]string{}
	for k, v := range vars.(map[string]any) {
		env[k] = r.value(t, v)
	}
	return env
}

// route follows a member account's event as EventBridge would: the member
// template's default-bus rules, each forwarding to the central bus, then
// the central bus's rules, each targeting a function. It returns the
// functions reached.
func (o *orgStand) route(t *testing.T, s *stand, raw []byte) []string {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	mr := &resolver{tm: o.member, in: str(ev["account"])}
	forwarded := 0
	for _, id := range o.member.ids("AWS::Events::Rule") {
		p := o.member.Resources[id].Properties
		if ok, err := matchPattern(p["EventPattern"].(map[string]any), ev); err != nil || !ok {
			continue
		}
		for _, tg := range list(p["Targets"]) {
			arn := mr.value(t, tg.(map[string]any)["Arn"])
			if arn != o.busARN {
				t.Errorf("member rule %s forwards to %s, want the central bus %s", id, arn, o.busARN)
			}
			if _, ok := dig(tg, "DeadLetterConfig", "Arn"); !ok {
				t.Errorf("member rule %s has no dead-letter queue", id)
			}
			forwarded++
		}
	}
	if forwarded != 1 {
		t.Fatalf("the member template forwards the event %d times, want once", forwarded)
	}
	byID := map[string]string{}
	for name, fn := range s.dep.Functions {
		byID[fn.LogicalID] = name
	}
	cr := &resolver{tm: o.central}
	var out []string
	for _, id := range o.central.ids("AWS::Events::Rule") {
		p := o.central.Resources[id].Properties
		if p["EventBusName"] == nil {
			continue // the central account's own default bus
		}
		if ok, err := matchPattern(p["EventPattern"].(map[string]any), ev); err != nil || !ok {
			continue
		}
		for _, tg := range list(p["Targets"]) {
			out = append(out, byID[cr.getAttID(tg.(map[string]any)["Arn"], "Arn")])
		}
	}
	return out
}

// inMember moves a sample event into a member account; role, when set, is
// the caller (a session of that role in the account).
func inMember(t *testing.T, raw []byte, acct, id, role string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["account"] = acct
	d := ev["detail"].(map[string]any)
	d["recipientAccountId"], d["eventID"] = acct, id
	ui := d["userIdentity"].(map[string]any)
	ui["accountId"] = acct
	if role != "" {
		name := role[strings.LastIndexByte(role, '/')+1:]
		ui["arn"] = "arn:aws:sts::" + acct + ":assumed-role/" + name + "/eksguard-" + id
		ui["sessionContext"] = map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": role, "accountId": acct, "userName": name}}
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// organization: events from two member accounts reach the access function
// through the synthesized member and central rules; it assumes each
// account's remediation role (a fake STS issues per-account keys, and the
// fakes authorize the role's calls against the member template's grants),
// and every EKS call of a fix is made with that account's key. The role's
// own session is ignored; a refused AssumeRole gives a published failed
// finding; the same event delivered twice is fixed once.
func scenarioOrganization(t *testing.T, s *stand) string {
	o := synthOrg(t, s)
	fake := stsfake.New(t)
	spec := *s.dep.Functions["access"]
	spec.Env = o.env
	if spec.Env["EKSGUARD_MEMBER_ROLE_NAME"] != orgRoleName || spec.Env["EKSGUARD_ACCOUNT"] != account {
		t.Fatalf("organization env: EKSGUARD_MEMBER_ROLE_NAME=%q EKSGUARD_ACCOUNT=%q", spec.Env["EKSGUARD_MEMBER_ROLE_NAME"], spec.Env["EKSGUARD_ACCOUNT"])
	}
	var roleID string
	for _, id := range o.member.ids("AWS::IAM::Role") {
		if str(o.member.Resources[id].Properties["RoleName"]) == orgRoleName {
			roleID = id
		}
	}
	for _, acct := range []string{memberA, memberB} {
		pol := rolePolicy(t, o.member, &resolver{tm: o.member, in: acct}, roleID)
		if err := s.world.Enforce(awsfake.Principal{AccessKey: stsfake.AccessKeyFor(acct), RoleARN: memberRoleARN(acct), Session: "eksguard", Policy: pol}); err != nil {
			t.Fatal(err)
		}
	}
	env := maps.Clone(s.fakeEnv)
	env["AWS_ENDPOINT_URL_STS"] = fake.URL
	fn := startFunction(t, s.rie, s.launch, &spec, env)

	deliver := func(raw []byte) {
		t.Helper()
		if to := o.route(t, s, raw); !slices.Equal(to, []string{"access"}) {
			t.Fatalf("routed to %v, want [access]", to)
		}
		answeredNull(t, "the access function", invoke(t, fn, raw))
	}
	callers := func() []string {
		var out []string
		for _, c := range s.world.Log.Of("eks") {
			out = append(out, c.Caller)
		}
		return out
	}

	// Two member accounts, each fixed with its own role.
	var fixed []string
	for i, acct := range []string{memberA, memberB} {
		s.reset()
		raw := inMember(t, s.event(t, adminGrantEvent), acct, fmt.Sprintf("e2e0rg00-0000-4000-8000-00000000000%d", i+1), "")
		applyChange(t, s.world, raw)
		deliver(raw)
		if w := s.writes(); !slices.Equal(w, []string{"eks:DisassociateAccessPolicy"}) {
			t.Errorf("%s: writes %v, want one eks:DisassociateAccessPolicy", acct, w)
		}
		for _, c := range callers() {
			if c != memberRoleARN(acct) {
				t.Errorf("%s: an EKS call was made as %s, want the account's remediation role", acct, c)
			}
		}
		notes := s.notes(t)
		if len(notes) != 1 || notes[0].F.Account != acct || notes[0].F.Outcome.Status != finding.StatusRemediated {
			t.Fatalf("%s: alerts %v, want one remediated finding of the account", acct, notes)
		}
		fixed = append(fixed, acct)
	}
	calls := fake.Calls()
	if len(calls) != 2 || calls[0].RoleARN != memberRoleARN(memberA) || calls[1].RoleARN != memberRoleARN(memberB) ||
		calls[0].Caller != spec.AccessKey || calls[0].DurationSeconds != 900 || calls[0].RoleSessionName != "eksguard-e2e0rg00-0000-4000-8000-000000000001" {
		t.Fatalf("AssumeRole calls %+v, want one per account by the access function, 900 s, named after the event", calls)
	}

	// The same event again (another delivery path, or a retry): fixed once.
	s.reset()
	dup := inMember(t, s.event(t, adminGrantEvent), memberA, "e2e0rg00-0000-4000-8000-000000000009", "")
	applyChange(t, s.world, dup)
	deliver(dup)
	deliver(dup)
	if w := s.writes(); !slices.Equal(w, []string{"eks:DisassociateAccessPolicy"}) {
		t.Errorf("duplicate delivery: writes %v, want one", w)
	}

	// The remediation role's own session is eksguard's.
	s.reset()
	own := inMember(t, s.event(t, adminGrantEvent), memberA, "e2e0rg00-0000-4000-8000-000000000010", memberRoleARN(memberA))
	applyChange(t, s.world, own)
	deliver(own)
	if ops := s.world.Log.Ops(); len(ops) != 0 {
		t.Errorf("calls for the remediation role's own change: %v, want none", ops)
	}

	// A refused AssumeRole (an account whose role is not deployed yet; the
	// function holds credentials of the two above): the finding is
	// published, failed, with the code.
	s.reset()
	denied := inMember(t, s.event(t, adminGrantEvent), "999900001111", "e2e0rg00-0000-4000-8000-000000000011", "")
	fake.Deny(memberRoleARN("999900001111"))
	applyChange(t, s.world, denied)
	deliver(denied)
	notes := s.notes(t)
	if len(notes) != 1 || notes[0].F.Outcome.Status != finding.StatusFailed || notes[0].F.Outcome.ErrorCode != "AccessDenied" {
		t.Fatalf("alerts %v, want one failed finding with AccessDenied", notes)
	}
	if n := len(s.world.Log.Of("eks")); n != 0 {
		t.Errorf("%d EKS calls without the account's credentials", n)
	}
	return fmt.Sprintf("member accounts %s routed member rule -> central bus -> access, fixed with their own role (%d AssumeRole); duplicate fixed once; role's own session ignored; AssumeRole denied -> failed AccessDenied",
		strings.Join(fixed, ", "), len(calls))
}
