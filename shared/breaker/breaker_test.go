package breaker_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/breaker"
)

func setup(t *testing.T, max int) (*breaker.Breaker, *awsfake.World, *time.Time) {
	w := awsfake.New(t)
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	now := time.Date(2025, 3, 1, 10, 59, 0, 0, time.UTC)
	b := &breaker.Breaker{DB: db, Table: "t", Max: max, Now: func() time.Time { return now }}
	return b, w, &now
}

func TestTripsAfterMaxPerHourAndResets(t *testing.T) {
	b, w, now := setup(t, 3)
	ctx := context.Background()
	var got []breaker.Verdict
	for range 5 {
		v, err := b.Take(ctx, "111122223333/eu-west-1/prod/arn:aws:iam::111122223333:role/dev")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	for i, v := range got {
		wantAllowed := i < 3
		if v.Allowed != wantAllowed || v.Count != i+1 || v.Tripped != (i == 3) || v.Window != "2025-03-01T10" || v.Max != 3 {
			t.Errorf("take %d = %+v", i+1, v)
		}
	}
	// Another resource has its own count.
	if v, _ := b.Take(ctx, "111122223333/eu-west-1/other/x"); !v.Allowed || v.Count != 1 {
		t.Fatalf("other resource = %+v", v)
	}
	// The next hour starts afresh.
	*now = now.Add(time.Minute)
	if v, _ := b.Take(ctx, "111122223333/eu-west-1/prod/arn:aws:iam::111122223333:role/dev"); !v.Allowed || v.Count != 1 || v.Window != "2025-03-01T11" {
		t.Fatalf("next hour = %+v", v)
	}
	it, ok := w.DynamoDB.Get("t", "breaker#111122223333/eu-west-1/prod/arn:aws:iam::111122223333:role/dev#2025-03-01T10")
	if !ok || it.N("count") != "5" || it.N("expiresAt") != "1740830400" { // 12:00 UTC
		t.Fatalf("counter item = %v", it)
	}
	var body map[string]any
	w.Log.Calls()[0].JSON(t, &body)
	want := map[string]any{
		"TableName":                 "t",
		"Key":                       map[string]any{"pk": map[string]any{"S": "breaker#111122223333/eu-west-1/prod/arn:aws:iam::111122223333:role/dev#2025-03-01T10"}},
		"UpdateExpression":          "ADD #count :one SET #expiresAt = if_not_exists(#expiresAt, :expiresAt)",
		"ExpressionAttributeNames":  map[string]any{"#count": "count", "#expiresAt": "expiresAt"},
		"ExpressionAttributeValues": map[string]any{":one": map[string]any{"N": "1"}, ":expiresAt": map[string]any{"N": "1740830400"}},
		"ReturnValues":              "UPDATED_NEW",
	}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("body = %v", body)
	}
}

func TestDefaultMaxIsThree(t *testing.T) {
	b, _, _ := setup(t, 0)
	var allowed int
	for range 4 {
		v, err := b.Take(context.Background(), "r")
		if err != nil {
			t.Fatal(err)
		}
		if v.Allowed {
			allowed++
		}
	}
	if allowed != breaker.DefaultMax {
		t.Fatalf("allowed %d, want %d", allowed, breaker.DefaultMax)
	}
}

func TestErrorNamesResource(t *testing.T) {
	b, w, _ := setup(t, 3)
	w.DynamoDB.Fail("UpdateItem", 3, awsfake.Fault{Status: 400, Code: "ResourceNotFoundException", Message: "no table"})
	_, err := b.Take(context.Background(), "res")
	if err == nil || !strings.Contains(err.Error(), "count remediation of res in table t") {
		t.Fatalf("err = %v", err)
	}
}
