package guard_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/stsfake"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
)

const (
	member     = "444455556666"
	memberRole = "arn:aws:iam::" + member + ":role/eksguard-remediation"
	centralFn  = "arn:aws:iam::111122223333:role/eksguard-access-eu-west-1"
	orgPolicy  = remediateAll + "accounts:\n  names: {\"" + member + "\": payments-prod}\n"
)

// orgHarness is the access function of an organization deployment's
// central account, with a fake STS and IAM enforced on every fake: the
// central function's key and the member role's (as the fake STS issues
// it) are told apart.
func orgHarness(t *testing.T) (*harness, *stsfake.STS) {
	t.Helper()
	return orgHarnessOf(t, families.Access, orgPolicy)
}

func orgHarnessOf(t *testing.T, fam families.Family, policyDoc string) (*harness, *stsfake.STS) {
	t.Helper()
	fake := stsfake.New(t)
	h := newHarness(t, fam, policyDoc, map[string]string{
		config.EnvAccount:        "111122223333",
		config.EnvMemberRoleName: "eksguard-remediation",
		"AWS_ENDPOINT_URL_STS":   fake.URL,
	})
	all := []awsfake.Statement{{Effect: "Allow", Actions: []string{"eks:*", "iam:*", "dynamodb:*", "ssm:*", "sns:*", "sqs:*"}, Resources: []string{"*"}}}
	if err := h.w.Enforce(
		awsfake.Principal{AccessKey: "AKIDFAKE", RoleARN: centralFn, Session: "central", Policy: all},
		awsfake.Principal{AccessKey: stsfake.AccessKeyFor(member), RoleARN: memberRole, Session: "eksguard-" + adminEventID,
			Policy: []awsfake.Statement{{Effect: "Allow", Actions: []string{"eks:*", "iam:*"}, Resources: []string{"*"}}}},
	); err != nil {
		t.Fatal(err)
	}
	h.w.EKS.Put(paymentsProd(viewPol, adminPol))
	return h, fake
}

// inAccount moves a sample event into another account.
func inAccount(account string) func(map[string]any) {
	return func(d map[string]any) {
		d["recipientAccountId"] = account
		d["userIdentity"].(map[string]any)["accountId"] = account
	}
}

func eksCallers(h *harness) []string {
	var out []string
	for _, c := range h.w.Log.Of("eks") {
		out = append(out, c.Op+" by "+c.Caller)
	}
	return out
}

func TestMemberAccountEventIsFixedThroughItsRole(t *testing.T) {
	h, fake := orgHarness(t)
	for _, id := range []string{adminEventID, "second-event"} {
		if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, func(d map[string]any) {
			inAccount(member)(d)
			d["eventID"] = id
		})); err != nil {
			t.Fatal(err)
		}
	}
	calls := fake.Calls()
	want := stsfake.Call{Caller: "AKIDFAKE", RoleARN: memberRole, RoleSessionName: "eksguard-" + adminEventID, DurationSeconds: 900}
	if len(calls) != 1 || calls[0] != want {
		t.Fatalf("AssumeRole calls %+v, want once (cached for the second event): %+v", calls, want)
	}
	got := eksCallers(h)
	if len(got) == 0 {
		t.Fatal("no EKS calls")
	}
	for _, c := range got {
		if !strings.HasSuffix(c, " by "+memberRole) {
			t.Errorf("EKS call %s, want it made by the member role", c)
		}
	}
	fs := h.published()
	if len(fs) != 2 {
		t.Fatalf("%d findings, want 2", len(fs))
	}
	f := fs[0]
	if f.Account != member || f.AccountName != "payments-prod" || f.Outcome.Status != finding.StatusRemediated {
		t.Errorf("finding account %s (%q), outcome %+v; want %s (payments-prod), remediated", f.Account, f.AccountName, f.Outcome, member)
	}
	if s := h.w.SNS.Published()[0].Subject; !strings.Contains(s, member+" (payments-prod)") {
		t.Errorf("subject %q does not name the account and its display name", s)
	}
}

func TestOwnAccountEventUsesOwnCredentials(t *testing.T) {
	h, fake := orgHarness(t)
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
		t.Fatal(err)
	}
	if calls := fake.Calls(); len(calls) != 0 {
		t.Fatalf("AssumeRole calls %+v for the central account's own event", calls)
	}
	for _, c := range eksCallers(h) {
		if !strings.HasSuffix(c, " by "+centralFn) {
			t.Errorf("EKS call %s, want it made by the central function", c)
		}
	}
	if f := one(t, h.published()); f.Outcome.Status != finding.StatusRemediated || f.AccountName != "" {
		t.Errorf("outcome %+v, display name %q; want remediated, none", f.Outcome, f.AccountName)
	}
}

// What the remediation role does in any account is eksguard's own doing.
func TestMemberRoleSessionIsIgnored(t *testing.T) {
	h, fake := orgHarness(t)
	err := h.g.HandleEvent(context.Background(), event(t, adminEvent, func(d map[string]any) {
		inAccount(member)(d)
		id := d["userIdentity"].(map[string]any)
		id["arn"] = "arn:aws:sts::" + member + ":assumed-role/eksguard-remediation/eksguard-" + adminEventID
		id["sessionContext"].(map[string]any)["sessionIssuer"].(map[string]any)["arn"] = memberRole
	}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.published()); n != 0 || len(fake.Calls()) != 0 || len(h.w.Log.Of("eks")) != 0 {
		t.Fatalf("%d findings, %d AssumeRole calls, %d EKS calls for the remediation role's own change; want none", n, len(fake.Calls()), len(h.w.Log.Of("eks")))
	}
}

func TestAssumeRoleDeniedPublishesFailed(t *testing.T) {
	h, fake := orgHarness(t)
	fake.Deny(memberRole)
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, inAccount(member))); err != nil {
		t.Fatalf("a refused AssumeRole must not fail the event (it would be retried): %v", err)
	}
	f := one(t, h.published())
	if f.Outcome.Status != finding.StatusFailed || f.Outcome.ErrorCode != "AccessDenied" || !strings.Contains(f.Outcome.Message, memberRole) {
		t.Errorf("outcome %+v, want failed with AccessDenied naming %s", f.Outcome, memberRole)
	}
	if n := len(h.w.Log.Of("eks")); n != 0 {
		t.Errorf("%d EKS calls without the member's credentials", n)
	}
	// A redelivery finds the event completed: nothing is tried again.
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, inAccount(member))); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d AssumeRole calls after a redelivery, want 1", n)
	}
}

// The iam function looks up a member account's cluster and node roles in
// the member regions, with that account's credentials.
func TestMemberClustersAreListedInTheMemberRegions(t *testing.T) {
	fake := stsfake.New(t)
	h := newHarness(t, families.IAM, orgPolicy, map[string]string{
		config.EnvAccount:        "111122223333",
		config.EnvMemberRoleName: "eksguard-remediation",
		config.EnvMemberRegions:  "eu-west-1,us-east-1",
		config.EnvClusterRegions: "eu-central-1",
		"AWS_ENDPOINT_URL_STS":   fake.URL,
	})
	if got := h.g.Roles.Regions; !slices.Equal(got, []string{"eu-central-1"}) {
		t.Errorf("own account's cluster regions %v, want [eu-central-1]", got)
	}
	if got := h.g.Accounts(member).Roles.Regions; !slices.Equal(got, []string{"eu-west-1", "us-east-1"}) {
		t.Errorf("member account's cluster regions %v, want [eu-west-1 us-east-1]", got)
	}
	if first, again := h.g.Accounts(member), h.g.Accounts(member); first != again {
		t.Error("a member account's clients are made again for each event")
	}
}

// The cluster function lists a member account's pod identity role's
// policies with that account's credentials.
func TestMemberPodIdentityRoleListedThroughItsRole(t *testing.T) {
	h, fake := orgHarnessOf(t, families.Cluster, notifyAll)
	h.w.IAM.PutRole("payments-api-pod-role", "arn:aws:iam::aws:policy/AdministratorAccess")
	if err := h.g.HandleEvent(context.Background(), event(t, "cluster/create-pod-identity-association.json", func(d map[string]any) {
		inAccount(member)(d)
		d["requestParameters"].(map[string]any)["roleArn"] = "arn:aws:iam::" + member + ":role/payments-api-pod-role"
	})); err != nil {
		t.Fatal(err)
	}
	var callers []string
	for _, c := range h.w.Log.Of("iam") {
		callers = append(callers, c.Op+" by "+c.Caller)
	}
	if want := []string{"ListAttachedRolePolicies by " + memberRole}; !slices.Equal(callers, want) {
		t.Errorf("IAM calls %v, want %v", callers, want)
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d AssumeRole calls, want 1", n)
	}
	if f := one(t, h.published()); f.Rule != "pod-identity-escalation" || f.Account != member {
		t.Errorf("finding %s in %s, want pod-identity-escalation in %s", f.Rule, f.Account, member)
	}
}

// An approved fix (Slack's Apply fix) of a member account's finding runs
// through that account's remediation role, as an automatic one would.
func TestApprovedFixInMemberAccountUsesItsRole(t *testing.T) {
	h, fake := orgHarnessOf(t, families.Access, notifyAll+"accounts:\n  names: {\""+member+"\": payments-prod}\n")
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, inAccount(member))); err != nil {
		t.Fatal(err)
	}
	f := one(t, h.published())
	if f.Outcome.Status != finding.StatusSkippedMode || f.Account != member {
		t.Fatalf("got outcome %s in account %s, want %s in %s", f.Outcome.Status, f.Account, finding.StatusSkippedMode, member)
	}
	h.w.Log.Reset()
	a, err := h.g.Approve(context.Background(), f, "ref-member", "U012APPROVER")
	if err != nil {
		t.Fatal(err)
	}
	if a.Finding.Outcome.Status != finding.StatusRemediated {
		t.Fatalf("approved fix: got %+v, want remediated", a.Finding.Outcome)
	}
	got := eksCallers(h)
	if len(got) == 0 {
		t.Fatal("the approved fix made no EKS call")
	}
	for _, c := range got {
		if !strings.HasSuffix(c, " by "+memberRole) {
			t.Errorf("EKS call %s, want it made by the member role", c)
		}
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("AssumeRole calls: got %d, want 1", n)
	}
}
