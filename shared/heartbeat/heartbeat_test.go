package heartbeat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/heartbeat"
)

var t0 = time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*awsfake.World, *dynamodb.Client) {
	w := awsfake.New(t)
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	return w, db
}

// The arrive / late / never cases, with the clock injected: a beat is
// recorded when it arrives, and what status reads from the table is judged
// against the window.
func TestRecordThenJudge(t *testing.T) {
	_, db := setup(t)
	ctx := context.Background()
	var metrics bytes.Buffer
	now := t0
	rec := &heartbeat.Recorder{DB: db, Table: "state", Namespace: "eksguard", Metrics: &metrics, Now: func() time.Time { return now }}
	window := heartbeat.DefaultWindow

	// never: nothing recorded for this account and region.
	last, err := heartbeat.Last(ctx, db, "state", "111122223333", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := heartbeat.Judge(last, now, window); got != heartbeat.Never {
		t.Fatalf("before any beat: got %s, want %s", got, heartbeat.Never)
	}

	// arrive: the canary's call at 01:00 reaches the function at 01:04.
	now = t0.Add(4 * time.Minute)
	if err := rec.Record(ctx, heartbeat.Beat{Account: "111122223333", Region: "eu-west-1", Heard: t0, EventID: "e1"}); err != nil {
		t.Fatal(err)
	}
	last, err = heartbeat.Last(ctx, db, "state", "111122223333", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if last == nil || !last.Heard.Equal(t0) || !last.Received.Equal(now) || last.EventID != "e1" {
		t.Fatalf("last beat: got %+v, want heard %v received %v event e1", last, t0, now)
	}
	if got := heartbeat.Judge(last, t0.Add(20*time.Minute), window); got != heartbeat.Hearing {
		t.Fatalf("20 minutes after the beat: got %s, want %s", got, heartbeat.Hearing)
	}
	if got := heartbeat.Judge(last, t0.Add(window), window); got != heartbeat.Hearing {
		t.Fatalf("exactly the window after the beat: got %s, want %s", got, heartbeat.Hearing)
	}

	// late: no beat since, 31 minutes on.
	later := t0.Add(31 * time.Minute)
	if got := heartbeat.Judge(last, later, window); got != heartbeat.Late {
		t.Fatalf("31 minutes after the beat: got %s, want %s", got, heartbeat.Late)
	}
	want := "eksguard has not heard from CloudTrail in 30 minutes in account 111122223333 region eu-west-1 (last heartbeat 2026-12-02T01:00:00Z)"
	if got := heartbeat.Describe(last, "111122223333", "eu-west-1", later, window); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}

	// Another region has its own beat: still never there.
	other, err := heartbeat.Last(ctx, db, "state", "111122223333", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := heartbeat.Judge(other, later, window); got != heartbeat.Never {
		t.Fatalf("other region: got %s, want %s", got, heartbeat.Never)
	}

	// One metric line per beat heard, in EMF.
	var doc map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(metrics.Bytes()), &doc); err != nil {
		t.Fatalf("metric line %q: %v", metrics.String(), err)
	}
	cw := doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if cw["Namespace"] != "eksguard" || doc[heartbeat.MetricName] != 1.0 {
		t.Fatalf("metric line: got namespace %v value %v, want eksguard 1", cw["Namespace"], doc[heartbeat.MetricName])
	}
}

// A redelivered or late older beat never moves "last heard" back, and still
// counts as heard.
func TestOlderBeatKeepsTheLatest(t *testing.T) {
	_, db := setup(t)
	ctx := context.Background()
	var metrics bytes.Buffer
	rec := &heartbeat.Recorder{DB: db, Table: "state", Namespace: "eksguard", Metrics: &metrics, Now: func() time.Time { return t0.Add(time.Hour) }}
	for _, b := range []heartbeat.Beat{
		{Account: "1", Region: "eu-west-1", Heard: t0.Add(15 * time.Minute), EventID: "new"},
		{Account: "1", Region: "eu-west-1", Heard: t0, EventID: "old"},
	} {
		if err := rec.Record(ctx, b); err != nil {
			t.Fatalf("beat %s: %v", b.EventID, err)
		}
	}
	last, err := heartbeat.Last(ctx, db, "state", "1", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if last.EventID != "new" {
		t.Fatalf("last beat: got %s, want new", last.EventID)
	}
	if n := strings.Count(metrics.String(), "\n"); n != 2 {
		t.Fatalf("metric lines: got %d, want 2", n)
	}
}

func TestRecordRefusesAnIncompleteBeat(t *testing.T) {
	_, db := setup(t)
	rec := &heartbeat.Recorder{DB: db, Table: "state"}
	err := rec.Record(context.Background(), heartbeat.Beat{Region: "eu-west-1", Heard: t0, EventID: "e1"})
	if err == nil || !strings.Contains(err.Error(), "record heartbeat e1") {
		t.Fatalf("got %v, want an error naming heartbeat e1", err)
	}
}

func TestRecordFailureNamesTheTable(t *testing.T) {
	w, db := setup(t)
	w.DynamoDB.Fail("UpdateItem", 10, awsfake.Fault{Status: 400, Code: "ResourceNotFoundException"})
	rec := &heartbeat.Recorder{DB: db, Table: "state"}
	err := rec.Record(context.Background(), heartbeat.Beat{Account: "1", Region: "eu-west-1", Heard: t0, EventID: "e1"})
	if err == nil || !strings.Contains(err.Error(), "in table state") || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("got %v, want an error naming table state and ResourceNotFoundException", err)
	}
}
