package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/suppress"
)

func TestSuppressionsCommand(t *testing.T) {
	w := awsfake.New(t)
	for k, v := range w.Env() {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	store := &suppress.Store{DB: db, Table: "eksguard", Now: clock}
	for _, s := range []suppress.Suppression{
		{Rule: "cluster-admin-granted", Resource: "111122223333/eu-west-1/payments-prod/arn:aws:iam::111122223333:role/dev-team", Until: now.Add(4 * time.Hour), Who: "U012APPROVER", Why: "payments onboarding"},
		{Rule: "public-endpoint-opened", Resource: "111122223333/eu-west-1/checkout-staging/", Until: now.Add(time.Hour), Who: "U012APPROVER", Why: "load test"},
	} {
		if err := store.Put(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	if code := suppressionsCmd(context.Background(), []string{"--table", "eksguard"}, &out, &errOut, clock); code != 0 {
		t.Fatalf("exit %d, want 0; stderr %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "public-endpoint-opened") || !strings.Contains(lines[2], "payments onboarding") || !strings.Contains(lines[2], "4h0m0s") {
		t.Errorf("got\n%s\nwant the header, then public-endpoint-opened (ends first), then cluster-admin-granted with 4h left", out.String())
	}
	later := func() time.Time { return now.Add(5 * time.Hour) }
	out.Reset()
	if code := suppressionsCmd(context.Background(), []string{"--table", "eksguard"}, &out, &errOut, later); code != 0 || !strings.Contains(out.String(), "no expected changes") {
		t.Errorf("after both ended: exit %d, %q; want 0 and none in force", code, out.String())
	}
	if code := suppressionsCmd(context.Background(), []string{"--table", ""}, &out, &errOut, clock); code != 2 {
		t.Errorf("no table: exit %d, want 2", code)
	}
}
