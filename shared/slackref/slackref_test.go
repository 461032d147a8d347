package slackref

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/findingtest"
)

func TestPutGetExpire(t *testing.T) {
	w := awsfake.New(t)
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	s := &Store{DB: db, Table: "eksguard", Now: func() time.Time { return now }}
	f := findingtest.AdminFinding()
	ref, err := s.Put(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if !Valid(ref) || ref != Ref(f) {
		t.Fatalf("ref %q: want Ref(f) = %q, a valid reference", ref, Ref(f))
	}
	got, err := s.Get(context.Background(), ref)
	if err != nil || got.EventID != f.EventID || got.Plan == nil || got.Plan.Action != f.Plan.Action {
		t.Fatalf("Get: got %+v, %v; want the finding with its plan", got, err)
	}
	other := findingtest.AdminFinding()
	other.EventID = "another"
	if Ref(other) == ref {
		t.Error("two events give the same reference")
	}
	if _, err := s.Get(context.Background(), Ref(other)); !errors.Is(err, ErrNotFound) {
		t.Errorf("never kept: got %v, want ErrNotFound", err)
	}
	if _, err := s.Get(context.Background(), "../../etc"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("not a reference: got %v, want a refusal", err)
	}
	now = now.Add(TTL + time.Second)
	if _, err := s.Get(context.Background(), ref); !errors.Is(err, ErrNotFound) {
		t.Errorf("after the TTL: got %v, want ErrNotFound (TTL deletion is lazy)", err)
	}
}
