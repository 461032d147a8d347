package idempotency_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/idempotency"
)

const table = "eksguard-test"

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newStore(t *testing.T) (*idempotency.Store, *awsfake.World, *clock) {
	t.Helper()
	w := awsfake.New(t)
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	clk := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	n := 0
	s := &idempotency.Store{DB: db, Table: table, Now: clk.now, NewToken: func() string {
		n++
		return "token-" + string(rune('0'+n))
	}}
	return s, w, clk
}

func TestClaimWritesConditionalRecord(t *testing.T) {
	s, w, clk := newStore(t)
	c, st, err := s.Claim(context.Background(), "ev-1")
	if err != nil || st != idempotency.Claimed {
		t.Fatalf("Claim = %v, %v; want claimed", st, err)
	}
	if c.Key != "event#ev-1" || c.Resumed() {
		t.Fatalf("claim key %q resumed %v", c.Key, c.Resumed())
	}
	calls := w.Log.Calls()
	if len(calls) != 1 || calls[0].Op != "UpdateItem" || calls[0].Method != "POST" {
		t.Fatalf("calls = %v", calls)
	}
	var body map[string]any
	calls[0].JSON(t, &body)
	want := map[string]any{
		"TableName":           table,
		"Key":                 map[string]any{"pk": map[string]any{"S": "event#ev-1"}},
		"UpdateExpression":    "SET #status = :inProgress, #lease = :lease, #token = :token, #expiresAt = :expiresAt, #steps = if_not_exists(#steps, :noSteps)",
		"ConditionExpression": "attribute_not_exists(pk) OR (#status = :inProgress AND #lease < :now)",
		"ExpressionAttributeNames": map[string]any{
			"#status": "status", "#lease": "leaseUntil", "#token": "token", "#expiresAt": "expiresAt", "#steps": "steps",
		},
		"ExpressionAttributeValues": map[string]any{
			":inProgress": map[string]any{"S": "in-progress"},
			":lease":      map[string]any{"N": itoa(clk.t.Add(idempotency.DefaultLease).Unix())},
			":token":      map[string]any{"S": "token-1"},
			":expiresAt":  map[string]any{"N": itoa(clk.t.Add(idempotency.DefaultRetention).Unix())},
			":noSteps":    map[string]any{"M": map[string]any{}},
			":now":        map[string]any{"N": itoa(clk.t.Unix())},
		},
		"ReturnValues":                        "ALL_NEW",
		"ReturnValuesOnConditionCheckFailure": "ALL_OLD",
	}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("UpdateItem body:\n got %s\nwant %s", js(body), js(want))
	}
	it, ok := w.DynamoDB.Get(table, "event#ev-1")
	if !ok || it.S("status") != "in-progress" || it.N("expiresAt") != itoa(clk.t.Add(48*time.Hour).Unix()) {
		t.Fatalf("stored item = %v", it)
	}
}

func TestSecondDeliveryIsBusyThenDone(t *testing.T) {
	s, _, clk := newStore(t)
	ctx := context.Background()
	c, _, err := s.Claim(ctx, "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, st, err := s.Claim(ctx, "ev-1"); err != nil || st != idempotency.Busy {
		t.Fatalf("claim while held = %v, %v; want busy", st, err)
	}
	if err := c.Complete(ctx); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(time.Hour) // long after the lease: completed stays completed
	if _, st, err := s.Claim(ctx, "ev-1"); err != nil || st != idempotency.Done {
		t.Fatalf("claim after completion = %v, %v; want done", st, err)
	}
	if _, st, err := s.Claim(ctx, "ev-2"); err != nil || st != idempotency.Claimed {
		t.Fatalf("other event = %v, %v; want claimed", st, err)
	}
}

func TestExpiredLeaseIsTakenOverWithSteps(t *testing.T) {
	s, _, clk := newStore(t)
	ctx := context.Background()
	first, _, err := s.Claim(ctx, "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Record(ctx, "0:rule.a", `{"status":"remediated"}`); err != nil {
		t.Fatal(err)
	}
	// The first holder crashes. Before the lease ends, a retry is refused.
	clk.t = clk.t.Add(idempotency.DefaultLease - time.Second)
	if _, st, _ := s.Claim(ctx, "ev-1"); st != idempotency.Busy {
		t.Fatalf("claim before lease end = %v; want busy", st)
	}
	clk.t = clk.t.Add(2 * time.Second)
	second, st, err := s.Claim(ctx, "ev-1")
	if err != nil || st != idempotency.Claimed {
		t.Fatalf("claim after lease end = %v, %v; want claimed", st, err)
	}
	if v, ok := second.Step("0:rule.a"); !ok || v != `{"status":"remediated"}` || !second.Resumed() {
		t.Fatalf("taken-over claim lost the step: %q %v", v, ok)
	}
	if _, ok := second.Step("0:rule.a.sent"); ok {
		t.Fatal("step that never happened is reported")
	}
	// The crashed holder cannot write any more.
	err = first.Record(ctx, "1:rule.b", "x")
	if err == nil || !strings.Contains(err.Error(), "taken over") {
		t.Fatalf("stale holder Record err = %v", err)
	}
	if err := first.Complete(ctx); err == nil {
		t.Fatal("stale holder could complete")
	}
	if err := second.Complete(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseLetsRetryProceedAtOnce(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := context.Background()
	c, _, _ := s.Claim(ctx, "ev-1")
	if err := c.Record(ctx, "0:r", "done"); err != nil {
		t.Fatal(err)
	}
	if err := c.Release(ctx); err != nil {
		t.Fatal(err)
	}
	c2, st, err := s.Claim(ctx, "ev-1")
	if err != nil || st != idempotency.Claimed {
		t.Fatalf("claim after release = %v, %v", st, err)
	}
	if v, _ := c2.Step("0:r"); v != "done" {
		t.Fatalf("step after release = %q", v)
	}
}

func TestLeaseFollowsInvocationDeadline(t *testing.T) {
	s, w, clk := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, _, err := s.Claim(ctx, "ev-1"); err != nil {
		t.Fatal(err)
	}
	it, _ := w.DynamoDB.Get(table, "event#ev-1")
	lease := it.N("leaseUntil")
	lo, hi := itoa(clk.t.Add(2*time.Minute+idempotency.LeaseMargin-2*time.Second).Unix()), itoa(clk.t.Add(2*time.Minute+idempotency.LeaseMargin).Unix())
	if len(lease) != len(lo) || lease < lo || lease > hi {
		t.Fatalf("leaseUntil = %s, want between %s and %s", lease, lo, hi)
	}
}

func TestClaimErrorNamesTable(t *testing.T) {
	s, w, _ := newStore(t)
	w.DynamoDB.Fail("UpdateItem", 1, awsfake.Fault{Status: 400, Code: "AccessDeniedException", Message: "not allowed"})
	_, _, err := s.Claim(context.Background(), "ev-1")
	if err == nil || !strings.Contains(err.Error(), "claim event#ev-1 in table "+table) || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := s.Claim(context.Background(), ""); err == nil {
		t.Fatal("empty event ID accepted")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func js(v any) string { b, _ := json.MarshalIndent(v, "", " "); return string(b) }
