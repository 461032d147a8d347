package guard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
)

// The cluster function lists, through IAM, the managed policies attached to
// a pod identity association's roles in this account: a role holding an
// admin policy is an escalation even when nothing in the event says so.
func TestPodIdentityRoleAdminPolicyLookedUp(t *testing.T) {
	const (
		appEvent    = "cluster/create-pod-identity-association.json"
		appRole     = "arn:aws:iam::111122223333:role/payments-api-pod-role"
		adminAccess = "arn:aws:iam::aws:policy/AdministratorAccess"
		listCall    = "iam ListAttachedRolePolicies POST /"
	)
	t.Run("role with AdministratorAccess", func(t *testing.T) {
		h := newHarness(t, families.Cluster, notifyAll, nil)
		h.w.IAM.PutRole("payments-api-pod-role", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", adminAccess)
		if err := h.g.HandleEvent(context.Background(), event(t, appEvent, nil)); err != nil {
			t.Fatal(err)
		}
		h.calls("iam", listCall)
		if got, want := h.body("iam", "ListAttachedRolePolicies", 0), "Action=ListAttachedRolePolicies&RoleName=payments-api-pod-role&Version=2010-05-08"; got != want {
			t.Fatalf("request body %q, want %q", got, want)
		}
		f := one(t, h.published())
		if want := appRole + " holds admin policy AdministratorAccess"; f.Rule != "pod-identity-escalation" || !strings.Contains(f.Summary, want) {
			t.Fatalf("finding %s %q, want pod-identity-escalation saying %q", f.Rule, f.Summary, want)
		}
		if f.NeedsCheck != "" || f.Plan == nil || f.Plan.Action != finding.ActionDeletePodIdentityAssociation {
			t.Fatalf("needsCheck %q, plan %+v: want none and a delete plan", f.NeedsCheck, f.Plan)
		}
	})
	t.Run("role without an admin policy", func(t *testing.T) {
		h := newHarness(t, families.Cluster, notifyAll, nil)
		h.w.IAM.PutRole("payments-api-pod-role", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
		if err := h.g.HandleEvent(context.Background(), event(t, appEvent, nil)); err != nil {
			t.Fatal(err)
		}
		h.calls("iam", listCall)
		if fs := h.published(); len(fs) != 0 {
			t.Fatalf("got %d findings, want 0: %+v", len(fs), fs)
		}
	})
	t.Run("lookup denied: judged without it", func(t *testing.T) {
		h := newHarness(t, families.Cluster, notifyAll, nil)
		h.w.IAM.PutRole("payments-api-pod-role", adminAccess)
		h.w.IAM.Fail("ListAttachedRolePolicies", 1, awsfake.Fault{Status: 403, Code: "AccessDenied", Message: "not authorized to perform: iam:ListAttachedRolePolicies"})
		if err := h.g.HandleEvent(context.Background(), event(t, appEvent, nil)); err != nil {
			t.Fatal(err)
		}
		h.calls("iam", listCall)
		if fs := h.published(); len(fs) != 0 {
			t.Fatalf("got %d findings, want 0: %+v", len(fs), fs)
		}
		if logs := h.logs.String(); !strings.Contains(logs, `"level":"WARN","msg":"cannot list the role's attached policies; judging without them","eventID"`) ||
			!strings.Contains(logs, "AccessDenied") {
			t.Fatalf("logs do not warn of the denied lookup:\n%s", logs)
		}
	})
	t.Run("lookup denied on an association that fires anyway: says so", func(t *testing.T) {
		// roleArn is this account's, targetRoleArn another's: only the
		// first is listed.
		h := newHarness(t, families.Cluster, notifyAll, nil)
		h.w.IAM.Fail("ListAttachedRolePolicies", 1, awsfake.Fault{Status: 403, Code: "AccessDenied", Message: "not authorized to perform: iam:ListAttachedRolePolicies"})
		if err := h.g.HandleEvent(context.Background(), event(t, "cluster/update-pod-identity-kube-system-target-role.json", nil)); err != nil {
			t.Fatal(err)
		}
		h.calls("iam", listCall)
		if got, want := h.body("iam", "ListAttachedRolePolicies", 0), "Action=ListAttachedRolePolicies&RoleName=payments-ebs-csi&Version=2010-05-08"; got != want {
			t.Fatalf("request body %q, want %q", got, want)
		}
		f := one(t, h.published())
		if want := "the policies attached to arn:aws:iam::111122223333:role/payments-ebs-csi could not be listed (AccessDenied)"; !strings.Contains(f.NeedsCheck, want) {
			t.Fatalf("needsCheck %q, want it to say %q", f.NeedsCheck, want)
		}
	})
}
