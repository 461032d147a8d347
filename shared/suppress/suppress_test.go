package suppress

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newStore(t *testing.T) (*Store, *awsfake.World, *clock) {
	t.Helper()
	w := awsfake.New(t)
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	c := &clock{now: time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)}
	return &Store{DB: db, Table: "eksguard", Now: c.Now}, w, c
}

const res = "111122223333/eu-west-1/payments-prod/arn:aws:iam::111122223333:role/dev-team"

func TestPutActiveExpire(t *testing.T) {
	s, w, c := newStore(t)
	ctx := context.Background()
	if _, ok, err := s.Active(ctx, "cluster-admin-granted", res); err != nil || ok {
		t.Fatalf("before: got active %t, err %v; want none", ok, err)
	}
	sup := Suppression{Rule: "cluster-admin-granted", Resource: res, Until: c.now.Add(2 * time.Hour), Who: "U012APPROVER", Why: "migration window"}
	if err := s.Put(ctx, sup); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Active(ctx, "cluster-admin-granted", res)
	if err != nil || !ok || got.Who != "U012APPROVER" || got.Why != "migration window" || !got.Until.Equal(sup.Until) {
		t.Fatalf("got %+v %t %v, want %+v", got, ok, err, sup)
	}
	it, ok := w.DynamoDB.Get("eksguard", "suppress#cluster-admin-granted#"+res)
	if want := strconv.FormatInt(sup.Until.Unix(), 10); !ok || it.N("expiresAt") != want {
		t.Errorf("item TTL: got %v, want expiresAt %s (the end)", it, want)
	}
	if _, ok, _ := s.Active(ctx, "public-endpoint-opened", res); ok {
		t.Error("another rule on the same resource is suppressed, want not")
	}
	c.now = c.now.Add(2*time.Hour + time.Second)
	if _, ok, _ := s.Active(ctx, "cluster-admin-granted", res); ok {
		t.Error("after its end: still active, want not")
	}
}

func TestList(t *testing.T) {
	s, _, c := newStore(t)
	ctx := context.Background()
	for i, d := range []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour} {
		sup := Suppression{Rule: "r" + string(rune('a'+i)), Resource: res, Until: c.now.Add(d), Who: "U1", Why: "why"}
		if err := s.Put(ctx, sup); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, l := range list {
		rules = append(rules, l.Rule)
	}
	if got := strings.Join(rules, ","); got != "rb,rc,ra" {
		t.Errorf("list: got %s, want rb,rc,ra (soonest end first)", got)
	}
	c.now = c.now.Add(90 * time.Minute)
	// Writing again prunes the one over from the index.
	if err := s.Put(ctx, Suppression{Rule: "rd", Resource: res, Until: c.now.Add(time.Hour), Who: "U1", Why: "why"}); err != nil {
		t.Fatal(err)
	}
	all, err := s.index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Errorf("index: got %d entries, want 3 (rb pruned)", len(all))
	}
}

func TestPutRefuses(t *testing.T) {
	s, _, c := newStore(t)
	for name, sup := range map[string]Suppression{
		"no reason": {Rule: "r", Resource: res, Until: c.now.Add(time.Hour), Who: "U1"},
		"no person": {Rule: "r", Resource: res, Until: c.now.Add(time.Hour), Why: "x"},
		"past":      {Rule: "r", Resource: res, Until: c.now.Add(-time.Hour), Who: "U1", Why: "x"},
		"too long":  {Rule: "r", Resource: res, Until: c.now.Add(31 * 24 * time.Hour), Who: "U1", Why: "x"},
	} {
		if err := s.Put(context.Background(), sup); err == nil {
			t.Errorf("%s: got no error, want one", name)
		}
	}
}
