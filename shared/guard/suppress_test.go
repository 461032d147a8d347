package guard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/suppress"
)

// An expected change: the next identical event is logged, not alerted nor
// remediated; once the suppression ends, the same event is alerted again.
func TestExpectedChangeSuppressesUntilItEnds(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, map[string]string{config.EnvSlackActions: "on"})
	h.w.EKS.Put(paymentsProd(viewPol, adminPol))
	store, ok := h.g.Suppressions.(*suppress.Store)
	if !ok {
		t.Fatalf("with %s=on the guard consults %T, want a *suppress.Store", config.EnvSlackActions, h.g.Suppressions)
	}
	key := "111122223333/eu-west-1/payments-prod/" + devTeam
	if err := store.Put(context.Background(), suppress.Suppression{
		Rule: "cluster-admin-granted", Resource: key, Until: h.now.Add(time.Hour), Who: "U012APPROVER", Why: "onboarding the payments team",
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
		t.Fatal(err)
	}
	if fs := h.published(); len(fs) != 0 {
		t.Fatalf("published %d findings under the expected change, want none", len(fs))
	}
	h.calls("eks")
	if !strings.Contains(h.logs.String(), "finding suppressed by an expected change") || !strings.Contains(h.logs.String(), "onboarding the payments team") {
		t.Errorf("the suppressed finding is not logged with its reason:\n%s", h.logs.String())
	}

	h.now = h.now.Add(time.Hour + time.Minute)
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, withEventID("after-expiry"))); err != nil {
		t.Fatal(err)
	}
	if f := one(t, h.published()); f.Rule != "cluster-admin-granted" {
		t.Errorf("after the end: published %s, want cluster-admin-granted", f.Rule)
	}
}
