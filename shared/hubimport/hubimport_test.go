package hubimport

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/findingtest"
	"github.com/eksguard/eksguard/shared/asff"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newImporter(t *testing.T) (*Importer, *awsfake.World, *clock) {
	t.Helper()
	w := awsfake.New(t)
	cfg := awsfake.Config("eu-west-1")
	c := &clock{now: time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)}
	var slept []time.Duration
	im := &Importer{
		Hub:     securityhub.NewFromConfig(cfg, func(o *securityhub.Options) { o.BaseEndpoint = aws.String(w.SecurityHub.URL) }),
		DB:      dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) }),
		Table:   "eksguard-state",
		Options: asff.Options{Region: "eu-west-1", Now: c.Now},
		Sleep:   func(d time.Duration) { slept = append(slept, d) },
	}
	return im, w, c
}

const product = "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"

// callSizes are the findings of each BatchImportFindings call.
func callSizes(t *testing.T, w *awsfake.World) []int {
	t.Helper()
	var out []int
	for _, c := range w.Log.Of("securityhub") {
		out = append(out, len(callIDs(t, c)))
	}
	return out
}

func callIDs(t *testing.T, c awsfake.Call) []string {
	t.Helper()
	var req struct {
		Findings []struct{ Id string }
	}
	if err := json.Unmarshal([]byte(c.Body), &req); err != nil {
		t.Fatalf("%s body: %v", c.Op, err)
	}
	var ids []string
	for _, f := range req.Findings {
		ids = append(ids, f.Id)
	}
	return ids
}

func clusterFinding(i int) *finding.Finding {
	f := findingtest.LoggingFinding()
	f.Outcome = &finding.Outcome{Status: finding.StatusSkippedMode}
	f.Cluster = fmt.Sprintf("cluster-%03d", i)
	f.EventID = fmt.Sprintf("event-%03d", i)
	return f
}

func TestBatchesOfAtMost100(t *testing.T) {
	im, w, _ := newImporter(t)
	var items []Item
	for i := range 250 {
		items = append(items, Item{Key: fmt.Sprint(i), Finding: clusterFinding(i)})
	}
	if failed := im.Import(context.Background(), items); len(failed) != 0 {
		t.Fatalf("got %d failed, want none: %v", len(failed), failed)
	}
	if got, want := callSizes(t, w), []int{100, 100, 50}; !slices.Equal(got, want) {
		t.Errorf("calls: got sizes %v, want %v", got, want)
	}
	if got := len(w.SecurityHub.Findings()); got != 250 {
		t.Errorf("stored: got %d findings, want 250", got)
	}
}

func TestRejectedFindingsAreRetriedAlone(t *testing.T) {
	im, w, _ := newImporter(t)
	items := []Item{{"a", clusterFinding(1)}, {"b", clusterFinding(2)}, {"c", clusterFinding(3)}}
	flaky := asff.ID(items[1].Finding)
	w.SecurityHub.Reject(flaky, awsfake.Rejection{Times: 2, ErrorCode: "InternalException"})
	if failed := im.Import(context.Background(), items); len(failed) != 0 {
		t.Fatalf("got failed %v, want none (the third attempt succeeds)", failed)
	}
	var calls [][]string
	for _, c := range w.Log.Of("securityhub") {
		calls = append(calls, callIDs(t, c))
	}
	if len(calls) != 3 || len(calls[0]) != 3 || !slices.Equal(calls[1], []string{flaky}) || !slices.Equal(calls[2], []string{flaky}) {
		t.Errorf("calls: got %v, want all three, then %s twice", calls, flaky)
	}
	if got := len(w.SecurityHub.Findings()); got != 3 {
		t.Errorf("stored: got %d, want 3", got)
	}
}

func TestStillRejectedIsReturned(t *testing.T) {
	im, w, _ := newImporter(t)
	items := []Item{{"a", clusterFinding(1)}, {"b", clusterFinding(2)}}
	bad := asff.ID(items[0].Finding)
	w.SecurityHub.Reject(bad, awsfake.Rejection{Times: 99, ErrorCode: "InvalidAccess"})
	failed := im.Import(context.Background(), items)
	if len(failed) != 1 || failed["a"] == nil {
		t.Fatalf("got failed %v, want only a", failed)
	}
	if !strings.Contains(failed["a"].Error(), "InvalidAccess") {
		t.Errorf("error: got %q, want the ErrorCode InvalidAccess", failed["a"])
	}
	if got := len(callSizes(t, w)); got != DefaultAttempts {
		t.Errorf("calls: got %d, want %d (one per attempt)", got, DefaultAttempts)
	}
}

func TestFailedCallFailsItsFindings(t *testing.T) {
	im, w, _ := newImporter(t)
	w.SecurityHub.Fail("BatchImportFindings", 3, awsfake.Fault{Status: 500, Code: "InternalException", Message: "internal error"}) // every SDK attempt
	failed := im.Import(context.Background(), []Item{{"a", clusterFinding(1)}, {"b", clusterFinding(2)}})
	if len(failed) != 2 {
		t.Errorf("got failed %v, want a and b", failed)
	}
}

func TestLifecycle(t *testing.T) {
	im, w, c := newImporter(t)
	ctx := context.Background()
	f := clusterFinding(1)
	f.EventTime = "2026-12-02T02:59:00Z"
	if failed := im.Import(ctx, []Item{{"1", f}}); len(failed) != 0 {
		t.Fatal(failed)
	}
	key := product + "|" + asff.ID(f)
	first := w.SecurityHub.Findings()[key]
	if first == nil {
		t.Fatalf("finding %s not stored; have %v", key, w.SecurityHub.Findings())
	}
	if first["RecordState"] != "ACTIVE" || first["Compliance"].(map[string]any)["Status"] != "FAILED" {
		t.Errorf("new finding: got %v/%v, want ACTIVE/FAILED", first["RecordState"], first["Compliance"])
	}
	if first["CreatedAt"] != first["UpdatedAt"] {
		t.Errorf("new finding: CreatedAt %v, UpdatedAt %v, want them equal", first["CreatedAt"], first["UpdatedAt"])
	}

	// The same change again an hour later: the same document, updated.
	c.now = c.now.Add(time.Hour)
	again := clusterFinding(1)
	again.EventID, again.EventTime = "event-repeat", "2026-12-02T03:59:00Z"
	if failed := im.Import(ctx, []Item{{"2", again}}); len(failed) != 0 {
		t.Fatal(failed)
	}
	st := w.SecurityHub.Findings()
	if len(st) != 1 {
		t.Fatalf("after a repeat: got %d findings, want 1", len(st))
	}
	rep := st[key]
	for attr, want := range map[string]any{
		"CreatedAt":       first["CreatedAt"],
		"FirstObservedAt": "2026-12-02T02:59:00Z",
		"LastObservedAt":  "2026-12-02T03:59:00Z",
		"UpdatedAt":       "2026-12-02T04:00:00Z",
		"RecordState":     "ACTIVE",
	} {
		if rep[attr] != want {
			t.Errorf("repeat: %s got %v, want %v", attr, rep[attr], want)
		}
	}
	if n := w.SecurityHub.Updates(product, asff.ID(f)); n != 1 {
		t.Errorf("updates: got %d, want 1", n)
	}

	// The fix ran: the finding is archived and passes.
	c.now = c.now.Add(time.Minute)
	fixed := clusterFinding(1)
	fixed.EventID, fixed.EventTime = "event-repeat", "2026-12-02T03:59:00Z"
	fixed.Outcome = &finding.Outcome{Status: finding.StatusRemediated}
	if failed := im.Import(ctx, []Item{{"3", fixed}}); len(failed) != 0 {
		t.Fatal(failed)
	}
	done := w.SecurityHub.Findings()[key]
	if done["RecordState"] != "ARCHIVED" || done["Compliance"].(map[string]any)["Status"] != "PASSED" {
		t.Errorf("fixed: got %v/%v, want ARCHIVED/PASSED", done["RecordState"], done["Compliance"])
	}
	if done["CreatedAt"] != first["CreatedAt"] {
		t.Errorf("fixed: CreatedAt %v, want the first %v", done["CreatedAt"], first["CreatedAt"])
	}
	if _, ok := done["Workflow"]; ok {
		t.Error("the import sets Workflow, which belongs to the people working the finding")
	}
}

func TestRepeatsInOneBatchAreSentOnce(t *testing.T) {
	im, w, _ := newImporter(t)
	a, b := clusterFinding(1), clusterFinding(1)
	b.EventID = "event-later"
	if failed := im.Import(context.Background(), []Item{{"a", a}, {"b", b}}); len(failed) != 0 {
		t.Fatal(failed)
	}
	if got := callSizes(t, w); !slices.Equal(got, []int{1}) {
		t.Errorf("calls: got %v, want one of one finding", got)
	}
}

func TestHandle(t *testing.T) {
	im, w, _ := newImporter(t)
	good, _ := notify.FindingJSON(clusterFinding(1), 250_000, true)
	envelope, _ := json.Marshal(map[string]string{"Type": "Notification", "Message": good})
	bad := clusterFinding(2)
	w.SecurityHub.Reject(asff.ID(bad), awsfake.Rejection{Times: 99, ErrorCode: "InvalidInput"})
	badJSON, _ := notify.FindingJSON(bad, 250_000, true)
	resp, err := im.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "raw", Body: good},
		{MessageId: "wrapped", Body: string(envelope)},
		{MessageId: "garbage", Body: "not json"},
		{MessageId: "rejected", Body: badJSON},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range resp.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	slices.Sort(got)
	if want := []string{"garbage", "rejected"}; !slices.Equal(got, want) {
		t.Errorf("batch item failures: got %v, want %v", got, want)
	}
	if n := len(w.SecurityHub.Findings()); n != 1 {
		t.Errorf("stored: got %d, want 1 (raw and wrapped are the same finding)", n)
	}
}
