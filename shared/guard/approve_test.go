package guard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
)

// notifiedFinding is the finding a notify-mode event published: the one a
// Slack message carries the Apply fix button for.
func notifiedFinding(t *testing.T, h *harness) finding.Finding {
	t.Helper()
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
		t.Fatal(err)
	}
	f := one(t, h.published())
	if f.Outcome.Status != finding.StatusSkippedMode {
		t.Fatalf("outcome %s, want %s", f.Outcome.Status, finding.StatusSkippedMode)
	}
	h.w.Log.Reset()
	return f
}

func TestApproveRunsTheFixOnce(t *testing.T) {
	h := newHarness(t, families.Access, notifyAll, nil)
	h.w.EKS.Put(paymentsProd(viewPol, adminPol))
	f := notifiedFinding(t, h)

	a, err := h.g.Approve(context.Background(), f, "ref-1", "U012APPROVER")
	if err != nil {
		t.Fatal(err)
	}
	if a.Repeat || a.Finding.Outcome.Status != finding.StatusRemediated || a.Finding.ApprovedBy != "U012APPROVER" {
		t.Fatalf("got repeat %t, outcome %+v, approver %q; want a remediation approved by U012APPROVER", a.Repeat, a.Finding.Outcome, a.Finding.ApprovedBy)
	}
	h.calls("eks", listPolicies, disassociate)
	all := h.published()
	if len(all) != 2 {
		t.Fatalf("published: got %d, want the notification and the approved fix", len(all))
	}
	pub := all[1]
	if pub.ApprovedBy != "U012APPROVER" || pub.Outcome.Status != finding.StatusRemediated {
		t.Errorf("published: got approver %q outcome %s, want U012APPROVER remediated", pub.ApprovedBy, pub.Outcome.Status)
	}

	// The second click: nothing is called or published again.
	h.w.Log.Reset()
	again, err := h.g.Approve(context.Background(), f, "ref-1", "U012APPROVER")
	if err != nil {
		t.Fatal(err)
	}
	if !again.Repeat {
		t.Errorf("second approval: got repeat false, want true")
	}
	h.calls("eks")
	if n := len(h.published()); n != 2 {
		t.Errorf("published: got %d, want still 2", n)
	}
}

func TestApproveHonoursTheKillSwitch(t *testing.T) {
	h := newHarness(t, families.Access, notifyAll, map[string]string{config.EnvRemediation: "off"})
	h.w.EKS.Put(paymentsProd(viewPol, adminPol))
	f := notifiedFinding(t, h)
	a, err := h.g.Approve(context.Background(), f, "ref-2", "U012APPROVER")
	if err != nil {
		t.Fatal(err)
	}
	if a.Finding.Outcome.Status != finding.StatusSkippedKill || !strings.Contains(a.Finding.Outcome.Message, "switched off") {
		t.Errorf("got %+v, want skipped-kill-switch saying remediation is switched off", a.Finding.Outcome)
	}
	h.calls("eks")
}
