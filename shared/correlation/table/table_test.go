package table_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/correlation"
	"github.com/eksguard/eksguard/shared/correlation/table"
)

const (
	tbl       = "eksguard-test"
	principal = "arn:aws:iam::111122223333:role/ops-contractor"
)

func newStore(t *testing.T) (*table.Store, *awsfake.World) {
	t.Helper()
	w := awsfake.New(t)
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	now := time.Date(2025, 5, 7, 15, 0, 0, 0, time.UTC)
	return &table.Store{DB: db, Table: tbl, Now: func() time.Time { return now }}, w
}

var t0 = time.Date(2025, 5, 7, 14, 0, 0, 0, time.UTC)

func mark(id string, at time.Duration, event, cluster string) correlation.Mark {
	return correlation.Mark{EventID: id, Time: t0.Add(at), Event: event, Principal: principal,
		Account: "111122223333", Region: "eu-west-1", Cluster: cluster, Actor: "arn:aws:sts::111122223333:assumed-role/dev-team/alice"}
}

func ids(ms []correlation.Mark) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.EventID)
	}
	return fmt.Sprint(s)
}

// Record appends, returns the principal's other marks within the window in
// time order (each event once, whatever the redeliveries), and keeps the
// item for the window and a day past the last write.
func TestRecordReturnsTheWindow(t *testing.T) {
	s, w := newStore(t)
	ctx := context.Background()
	steps := []struct {
		m    correlation.Mark
		want string
	}{
		{mark("a", 10*time.Minute, correlation.CreateAccessEntry, "c1"), "[]"},
		{mark("b", 0, correlation.CreateAccessEntry, "c2"), "[a]"},              // arrives late, earlier in time
		{mark("a", 10*time.Minute, correlation.CreateAccessEntry, "c1"), "[b]"}, // a redelivery
		{mark("c", 65*time.Minute, correlation.DeleteAccessEntry, "c1"), "[a]"}, // b is 65 minutes before
	}
	for i, st := range steps {
		got, err := s.Record(ctx, st.m, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if ids(got) != st.want {
			t.Errorf("step %d: got %s, want %s", i, ids(got), st.want)
		}
	}
	got, err := s.Record(ctx, mark("d", 70*time.Minute, correlation.AssociateAccessPolicy, "c1"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != mark("a", 10*time.Minute, correlation.CreateAccessEntry, "c1") || got[1].Event != correlation.DeleteAccessEntry {
		t.Errorf("got %+v, want marks a and c as recorded", got)
	}
	it, ok := w.DynamoDB.Get(tbl, "correlation#"+principal)
	if !ok || it.N("count") != "5" || it.N("expiresAt") != fmt.Sprint(time.Date(2025, 5, 8, 16, 0, 0, 0, time.UTC).Unix()) {
		t.Errorf("item %v: want count 5, expiresAt 25h after the store's now", it)
	}
	for _, c := range w.Log.Calls() {
		if c.Op != "UpdateItem" {
			t.Errorf("got a %s call, want UpdateItem only (the function's grant)", c.Op)
		}
	}
}

// Marks older than twice the window before the newest are written out of
// the list, on condition that nobody appended in between.
func TestRecordPrunes(t *testing.T) {
	s, w := newStore(t)
	ctx := context.Background()
	for i, at := range []time.Duration{0, 5 * time.Minute, 3 * time.Hour} {
		if _, err := s.Record(ctx, mark(fmt.Sprint(i), at, correlation.CreateAccessEntry, "c1"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(w.Log.Calls()); n != 4 {
		t.Errorf("got %d calls, want 4 (three appends, one prune)", n)
	}
	it, _ := w.DynamoDB.Get(tbl, "correlation#"+principal)
	marks, _ := it["marks"].(map[string]any)["L"].([]any)
	if len(marks) != 1 || it.N("count") != "3" {
		t.Fatalf("item %v: want the one recent mark, count 3", it)
	}
}

// racing runs before() ahead of the nth UpdateItem: another writer's call
// landing between two of the store's own.
type racing struct {
	table.DynamoDB
	n, at  int
	before func()
}

func (r *racing) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.n++
	if r.n == r.at {
		r.before()
	}
	return r.DynamoDB.UpdateItem(ctx, in, opts...)
}

// A prune that meets a concurrent append (the count moved on) is dropped:
// the appended mark survives.
func TestPruneLosesNoConcurrentMark(t *testing.T) {
	s, w := newStore(t)
	ctx := context.Background()
	if _, err := s.Record(ctx, mark("old", 0, correlation.CreateAccessEntry, "c1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	other := *s
	r := &racing{DynamoDB: s.DB, at: 2, before: func() {
		if _, err := other.Record(ctx, mark("other", 3*time.Hour+time.Minute, correlation.CreateAccessEntry, "c3"), time.Hour); err != nil {
			t.Error(err)
		}
	}}
	s.DB = r
	// The append reads [old, new]; before the prune of old, the other
	// writer appends (and prunes old itself).
	if _, err := s.Record(ctx, mark("new", 3*time.Hour, correlation.CreateAccessEntry, "c2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	it, _ := w.DynamoDB.Get(tbl, "correlation#"+principal)
	var got []string
	marks, _ := it["marks"].(map[string]any)["L"].([]any)
	for _, m := range marks {
		got = append(got, m.(map[string]any)["M"].(map[string]any)["id"].(map[string]any)["S"].(string))
	}
	if fmt.Sprint(got) != "[new other]" || it.N("count") != "3" {
		t.Errorf("got marks %v count %s, want [new other], 3", got, it.N("count"))
	}
}

func TestRecordNamesWhatFailed(t *testing.T) {
	s, w := newStore(t)
	w.DynamoDB.Fail("UpdateItem", 1, awsfake.Fault{Status: 400, Code: "ResourceNotFoundException", Message: "Requested resource not found"})
	_, err := s.Record(context.Background(), mark("a", 0, correlation.CreateAccessEntry, "c1"), time.Hour)
	want := "record CreateAccessEntry mark of event a in correlation#" + principal + " of table " + tbl
	if err == nil || len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Fatalf("got %v, want an error starting %q", err, want)
	}
}
