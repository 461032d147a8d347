// Package correlation remembers the grants and removals of cluster access
// that the correlation rules read together: each is a Mark, kept per
// principal for the policy's correlation window. A Store records a mark and
// returns what it remembers of the principal; Memory keeps them in a
// process (the replay), table.Store in the eksguard DynamoDB table (the
// access function). The judgement over the marks is the rules' and pure.
package correlation

import (
	"context"
	"slices"
	"sync"
	"time"
)

// The events that leave a mark.
const (
	CreateAccessEntry        = "CreateAccessEntry"
	DeleteAccessEntry        = "DeleteAccessEntry"
	AssociateAccessPolicy    = "AssociateAccessPolicy"
	DisassociateAccessPolicy = "DisassociateAccessPolicy"
)

// Events are the events that leave a mark, grants first.
var Events = []string{CreateAccessEntry, AssociateAccessPolicy, DeleteAccessEntry, DisassociateAccessPolicy}

// Mark is one successful grant or removal of cluster access.
type Mark struct {
	EventID string
	Time    time.Time
	// Event is one of Events.
	Event     string
	Principal string
	// Account, Region and Cluster name the cluster.
	Account string
	Region  string
	Cluster string
	// Policy is the access policy ARN of an association or disassociation.
	Policy string
	// Actor is the ARN of the caller.
	Actor string
}

// Grant reports whether the mark gives access (an entry created, a policy
// associated).
func (m *Mark) Grant() bool { return m.Event == CreateAccessEntry || m.Event == AssociateAccessPolicy }

// ClusterKey names the cluster across accounts and regions.
func (m *Mark) ClusterKey() string { return m.Account + "/" + m.Region + "/" + m.Cluster }

// Store remembers marks per principal.
type Store interface {
	// Record remembers m and returns the other marks it holds for
	// m.Principal whose time is within window of m's (either side), in
	// time order. Recording the same event twice keeps it once.
	Record(ctx context.Context, m Mark, window time.Duration) ([]Mark, error)
}

// Within returns the marks other than m (by event ID) whose time is within
// window of m's, sorted by time, then event ID, each event once.
func Within(marks []Mark, m Mark, window time.Duration) []Mark {
	var out []Mark
	for _, x := range marks {
		d := x.Time.Sub(m.Time)
		if x.EventID == m.EventID || d > window || d < -window {
			continue
		}
		if slices.ContainsFunc(out, func(y Mark) bool { return y.EventID == x.EventID }) {
			continue
		}
		out = append(out, x)
	}
	Sort(out)
	return out
}

// Sort orders marks by time, then event ID: the order a replay judges them in.
func Sort(marks []Mark) {
	slices.SortStableFunc(marks, func(a, b Mark) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		if a.EventID < b.EventID {
			return -1
		}
		if a.EventID > b.EventID {
			return 1
		}
		return 0
	})
}

// Memory is a Store in memory, for a replay. It forgets marks older than
// the window before the newest one it holds for the principal. Safe for
// concurrent use.
type Memory struct {
	mu    sync.Mutex
	marks map[string][]Mark
}

// Record implements Store.
func (s *Memory) Record(_ context.Context, m Mark, window time.Duration) ([]Mark, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.marks == nil {
		s.marks = map[string][]Mark{}
	}
	held := s.marks[m.Principal]
	if !slices.ContainsFunc(held, func(x Mark) bool { return x.EventID == m.EventID }) {
		held = append(held, m)
	}
	held = Prune(held, window)
	s.marks[m.Principal] = held
	return Within(held, m, window), nil
}

// Prune drops the marks that are older than twice the window before the
// newest: no mark near the newest can be within window of them.
func Prune(marks []Mark, window time.Duration) []Mark {
	var newest time.Time
	for _, m := range marks {
		if m.Time.After(newest) {
			newest = m.Time
		}
	}
	cutoff := newest.Add(-2 * window)
	return slices.DeleteFunc(marks, func(m Mark) bool { return m.Time.Before(cutoff) })
}
