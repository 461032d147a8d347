package correlation

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestMemoryKeepsTheWindowPerPrincipal(t *testing.T) {
	t0 := time.Date(2025, 5, 7, 14, 0, 0, 0, time.UTC)
	m := func(id, principal string, at time.Duration) Mark {
		return Mark{EventID: id, Principal: principal, Time: t0.Add(at), Event: CreateAccessEntry}
	}
	var s Memory
	steps := []struct {
		m    Mark
		want string
	}{
		{m("a", "p1", 30*time.Minute), "[]"},
		{m("b", "p2", 31*time.Minute), "[]"},  // another principal
		{m("c", "p1", 0), "[a]"},              // earlier, read later
		{m("a", "p1", 30*time.Minute), "[c]"}, // a redelivery: itself left out, kept once
		{m("d", "p1", 90*time.Minute+time.Second), "[]"},
		{m("e", "p1", 150*time.Minute), "[d]"}, // c pruned: more than 2h before e
		{m("f", "p1", 0), "[a]"},               // c is no longer held, a is
	}
	for i, st := range steps {
		got, err := s.Record(context.Background(), st.m, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range got {
			ids = append(ids, x.EventID)
		}
		if fmt.Sprint(ids) != st.want {
			t.Errorf("step %d (%s): got %v, want %s", i, st.m.EventID, ids, st.want)
		}
	}
}
