package report

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

// benchFindings are n findings spread over a quarter, the catalogue's
// rules, 40 clusters and 300 actors, every third with a plan.
func benchFindings(n int) []finding.Finding {
	all := rules.All()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fs := make([]finding.Finding, n)
	for i := range fs {
		r := all[i%len(all)]
		f := hostileFinding(i)
		f.Rule, f.Severity = r.ID, r.Severity
		f.EventTime = start.Add(time.Duration(i) * 90 * 24 * time.Hour / time.Duration(n)).Format(time.RFC3339)
		f.Cluster = fmt.Sprintf("cluster-%d", i%40)
		f.Actor.Role = fmt.Sprintf("arn:aws:iam::111122223333:role/actor-%d", i%300)
		f.Principal = fmt.Sprintf("arn:aws:iam::111122223333:role/p-%d", i%500)
		if i%3 != 0 {
			f.Plan = nil
		}
		fs[i] = *f
	}
	return fs
}

// BenchmarkReport is the report's share of a replay of 100,000 findings:
// Add for each (what --report adds to the run), then Write; side by side
// with JSONLines, what --output json spends on the same findings.
func BenchmarkReport(b *testing.B) {
	fs := benchFindings(100_000)
	b.Run("JSONLines", func(b *testing.B) {
		for b.Loop() {
			enc := json.NewEncoder(io.Discard)
			for i := range fs {
				if err := enc.Encode(&fs[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("AddAndWrite", func(b *testing.B) {
		for b.Loop() {
			rep := New(policy.Default(), []string{"archive/"}, DefaultLimits)
			for i := range fs {
				rep.Add(&fs[i])
			}
			if err := rep.Write(io.Discard, Counts{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
