package scan

import (
	"context"
	"errors"
	"sync"

	"github.com/eksguard/eksguard/shared/clusterstate"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

// Hooks are told what a scan does as it does it; any may be nil. They are
// not called concurrently.
type Hooks struct {
	// Listed: ListClusters named n more clusters to read.
	Listed func(n int)
	// Finding: one finding, as its cluster is judged.
	Finding func(f *finding.Finding)
	// Cluster: a cluster was read and judged (err nil), could not be read
	// (err a *ClusterError), or was gone (err wraps ErrGone).
	Cluster func(c *clusterstate.Cluster, err error)
	// Region: the clusters of an account and region could not be listed.
	Region func(err error)
}

// Summary counts what a scan did.
type Summary struct {
	Clusters int // read and judged
	Gone     int // listed, then deleted before they were read
	Failed   int // could not be read (clusters and regions)
	Findings int
}

// Run reads every reader's clusters (the readers one after another, each
// Concurrency clusters at a time), judges each snapshot with the rules'
// state forms as soon as it is read and drops it, so memory does not grow
// with the number of clusters.
func Run(ctx context.Context, readers []*Reader, p *policy.Policy, h Hooks) Summary {
	var s Summary
	var mu sync.Mutex // guards s, seen and the hooks across readers' callbacks
	// A finding about what several clusters share (an IAM role) is found
	// once per cluster with the same ID: it is reported once.
	seen := map[string]bool{}
	for _, r := range readers {
		names, err := r.List(ctx)
		if err != nil {
			mu.Lock()
			s.Failed++
			if h.Region != nil {
				h.Region(err)
			}
			mu.Unlock()
			continue
		}
		if h.Listed != nil {
			h.Listed(len(names))
		}
		r.Read(ctx, names, func(c *clusterstate.Cluster, err error) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrGone):
				s.Gone++
			case err != nil:
				s.Failed++
			default:
				s.Clusters++
				for _, f := range rules.AssessState(c, p) {
					if seen[f.ID] {
						continue
					}
					seen[f.ID] = true
					s.Findings++
					if h.Finding != nil {
						h.Finding(&f)
					}
				}
			}
			if h.Cluster != nil {
				h.Cluster(c, err)
			}
		})
	}
	return s
}
