//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/finding"
)

// unsafe-endpoint-needs-review: checkout-staging's public endpoint opened
// to the whole internet (two /1s) with private access off. The deployed
// policy approves 203.0.113.0/24 but does not say it holds the nodes' NAT
// egress, so narrowing the only endpoint could cut the nodes off: the fix
// is held for a person, after one DescribeCluster and no write.
func scenarioUnsafeEndpointNeedsReview(t *testing.T, s *stand) string {
	const path = "cluster/update-config-narrow-public-endpoint-private-off.json"
	s.reset()
	raw := s.event(t, path)
	applyChange(t, s.world, raw)
	before, _ := s.world.EKS.Get("checkout-staging")
	fn, out := s.deliver(t, raw)
	answeredNull(t, "the "+fn+" function", out)
	var held *finding.Finding
	for _, n := range s.notes(t) {
		if n.F.Rule == "public-endpoint-opened" {
			held = n.F
		}
	}
	if held == nil {
		t.Fatalf("no public-endpoint-opened finding for %s", path)
	}
	o := held.Outcome
	if o.Status != finding.StatusNeedsReview || !strings.Contains(o.Message, "endpoint.approvedIncludesNodeEgress") || !strings.Contains(o.Message, "private access is off") {
		t.Errorf("outcome %s (%s): %q, want needs-review naming private access and endpoint.approvedIncludesNodeEgress", o.Status, o.ErrorCode, o.Message)
	}
	if w := s.writes(); len(w) != 0 {
		t.Errorf("writes %v, want none", w)
	}
	reads := s.world.Log.Ops("eks")
	if len(reads) != 1 || !strings.HasSuffix(reads[0], "DescribeCluster") {
		t.Errorf("EKS calls %v, want one DescribeCluster", reads)
	}
	after, _ := s.world.EKS.Get("checkout-staging")
	if strings.Join(after.PublicCIDRs, ",") != strings.Join(before.PublicCIDRs, ",") || after.Updates != before.Updates {
		t.Errorf("cluster changed: CIDRs %v -> %v, updates %d -> %d", before.PublicCIDRs, after.PublicCIDRs, before.Updates, after.Updates)
	}
	return fmt.Sprintf("%s: %s, %d EKS read, 0 writes, CIDRs still %s", fn, o.Status, len(reads), strings.Join(after.PublicCIDRs, ", "))
}
