package dedup

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
)

const table = "eksguard-state"

var t0 = time.Date(2025, 3, 14, 3, 0, 0, 0, time.UTC)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }
func newWindow(t *testing.T) (*Window, *awsfake.World, *clock) {
	t.Helper()
	w := awsfake.New(t)
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	c := &clock{now: t0}
	return &Window{DB: db, Table: table, Length: 15 * time.Minute, Now: c.Now}, w, c
}

const key = "dedup#control-plane-logging-disabled#111122223333/eu-west-1/payments-prod/"

func observe(t *testing.T, w *Window, state, msg string) Seen {
	t.Helper()
	s, err := w.Observe(context.Background(), key, state, msg)
	if err != nil {
		t.Fatalf("Observe(%s, %s): %v", state, msg, err)
	}
	return s
}

func TestKey(t *testing.T) {
	if got := Key("cluster-admin-granted", "1/eu-west-1/c/arn"); got != "dedup#cluster-admin-granted#1/eu-west-1/c/arn" {
		t.Errorf("Key = %q", got)
	}
}

func TestFirstOccurrenceOpensAWindowAndPosts(t *testing.T) {
	win, w, _ := newWindow(t)
	s := observe(t, win, "remediated", "m1")
	want := Seen{Post: true, Reason: First, Count: 1, WindowStart: t0, WindowEnd: t0.Add(15 * time.Minute)}
	if !s.undo.opened || s.undo.prior != nil {
		t.Errorf("undo = %+v, want an open with no prior item", s.undo)
	}
	s.undo = undo{}
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Errorf("Seen = %+v, want %+v", s, want)
	}
	// The update finds no window, then the conditional put opens one.
	if got := strings.Join(w.Log.Ops("dynamodb"), " "); got != "dynamodb:UpdateItem dynamodb:PutItem" {
		t.Errorf("calls = %s", got)
	}
	put := w.Log.Of("dynamodb")[1]
	for _, want := range []string{`"TableName":"eksguard-state"`, `"ConditionExpression":"attribute_not_exists(#pk) OR #end <= :now"`, `"ReturnValues":"ALL_OLD"`} {
		if !strings.Contains(put.Body, want) {
			t.Errorf("PutItem body lacks %s:\n%s", want, put.Body)
		}
	}
	it, ok := w.DynamoDB.Get(table, key)
	if !ok {
		t.Fatal("no item stored")
	}
	end := t0.Add(15 * time.Minute)
	checks := map[string]string{
		"windowStart": fmt.Sprint(t0.Unix()), "windowEnd": fmt.Sprint(end.Unix()),
		"expiresAt":   fmt.Sprint(end.Add(Retention).Unix()),
		"occurrences": "1", "posted": "1",
	}
	for attr, want := range checks {
		if got := it.N(attr); got != want {
			t.Errorf("%s = %s, want %s", attr, got, want)
		}
	}
	if it.S("lastState") != "remediated" || it.S("postedBy") != "m1" {
		t.Errorf("item = %v", it)
	}
}

func TestRepeatsWithTheSameOutcomeAreFoldedAndCounted(t *testing.T) {
	win, w, c := newWindow(t)
	observe(t, win, "remediated", "m1")
	c.advance(time.Minute)
	s := observe(t, win, "remediated", "m2")
	if s.Post || s.Reason != Repeat || s.Count != 2 || s.Folded != 1 || !s.WindowStart.Equal(t0) {
		t.Errorf("second = %+v, want folded with count 2", s)
	}
	c.advance(time.Minute)
	s = observe(t, win, "remediated", "m3")
	if s.Post || s.Count != 3 || s.Folded != 2 {
		t.Errorf("third = %+v, want folded with count 3", s)
	}
	if it, _ := w.DynamoDB.Get(table, key); it.N("occurrences") != "3" || it.N("posted") != "1" {
		t.Errorf("item = %v", it)
	}
}

func TestAChangeOfOutcomeIsPosted(t *testing.T) {
	win, w, _ := newWindow(t)
	observe(t, win, "remediated", "m1")
	observe(t, win, "remediated", "m2")
	s := observe(t, win, "suppressed", "m3")
	if !s.Post || s.Reason != Changed || s.Count != 3 || s.Folded != 1 {
		t.Errorf("changed = %+v, want posted, count 3, 1 folded", s)
	}
	if it, _ := w.DynamoDB.Get(table, key); it.S("postedBy") != "m3" || it.N("posted") != "2" || it.S("lastState") != "suppressed" {
		t.Errorf("item = %v", it)
	}
	// The same new outcome again is folded.
	if s := observe(t, win, "suppressed", "m4"); s.Post {
		t.Errorf("repeat of the new outcome posted: %+v", s)
	}
}

func TestMilestonesArePosted(t *testing.T) {
	win, _, _ := newWindow(t)
	var posted []int
	for i := 1; i <= 100; i++ {
		if s := observe(t, win, "failed", fmt.Sprintf("m%d", i)); s.Post {
			posted = append(posted, s.Count)
		}
	}
	if fmt.Sprint(posted) != "[1 10 100]" {
		t.Errorf("posted at counts %v, want [1 10 100]", posted)
	}
}

func TestANewWindowReportsWhatThePreviousFolded(t *testing.T) {
	win, _, c := newWindow(t)
	observe(t, win, "remediated", "m1")
	observe(t, win, "remediated", "m2")
	observe(t, win, "remediated", "m3")
	c.advance(20 * time.Minute)
	s := observe(t, win, "remediated", "m4")
	if !s.Post || s.Reason != First || s.Count != 1 || !s.WindowStart.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("after the window = %+v, want a new window", s)
	}
	want := Previous{Start: t0, End: t0.Add(15 * time.Minute), Count: 3, Folded: 2}
	if s.Previous == nil || *s.Previous != want {
		t.Errorf("Previous = %+v, want %+v", s.Previous, want)
	}
	// A window that folded nothing is not reported.
	c.advance(20 * time.Minute)
	if s := observe(t, win, "remediated", "m5"); s.Previous != nil {
		t.Errorf("Previous = %+v, want nil", s.Previous)
	}
}

func TestTheWindowEndsExactlyAtItsEnd(t *testing.T) {
	win, _, c := newWindow(t)
	observe(t, win, "remediated", "m1")
	c.advance(15*time.Minute - time.Second)
	if s := observe(t, win, "remediated", "m2"); s.Post {
		t.Errorf("inside the window: %+v", s)
	}
	c.advance(time.Second)
	if s := observe(t, win, "remediated", "m3"); !s.Post || s.Reason != First {
		t.Errorf("at the end of the window: %+v", s)
	}
}

func TestARedeliveryOfThePostingMessagePostsAgainWithoutCounting(t *testing.T) {
	win, w, _ := newWindow(t)
	observe(t, win, "failed", "m1")
	observe(t, win, "failed", "m2")
	// m1's Slack post failed and Lambda redelivers it.
	s := observe(t, win, "failed", "m1")
	if !s.Post || s.Reason != Retry || s.Count != 2 {
		t.Errorf("redelivery = %+v, want posted again, count still 2", s)
	}
	if it, _ := w.DynamoDB.Get(table, key); it.N("occurrences") != "2" {
		t.Errorf("occurrences = %s, want 2", it.N("occurrences"))
	}
}

func TestDynamoDBErrorsAreReturnedWithContext(t *testing.T) {
	win, w, _ := newWindow(t)
	w.DynamoDB.Fail("UpdateItem", 1, awsfake.Fault{Status: 400, Code: "AccessDeniedException"})
	_, err := win.Observe(context.Background(), key, "remediated", "m1")
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.Contains(err.Error(), table) || !strings.Contains(err.Error(), key) {
		t.Errorf("error = %v", err)
	}
}

func TestMilestone(t *testing.T) {
	var got []int
	for n := range 1001 {
		if milestone(n) {
			got = append(got, n)
		}
	}
	if fmt.Sprint(got) != "[10 100 1000]" {
		t.Errorf("milestones = %v", got)
	}
}

func release(t *testing.T, w *Window, msg string, s Seen) {
	t.Helper()
	if err := w.Release(context.Background(), key, msg, s); err != nil {
		t.Fatalf("Release(%s): %v", msg, err)
	}
}

// An alert that was never delivered opens no window: after its release the
// same finding posts again, as the first of a new window.
func TestAReleasedFirstOccurrenceLeavesNoWindow(t *testing.T) {
	win, w, c := newWindow(t)
	s := observe(t, win, "failed", "m1")
	release(t, win, "m1", s)
	c.advance(time.Minute)
	s = observe(t, win, "failed", "m2")
	if !s.Post || s.Reason != First || s.Count != 1 || !s.WindowStart.Equal(t0.Add(time.Minute)) {
		t.Errorf("after the release: %+v, want posted, first of a window opened now", s)
	}
	if it, _ := w.DynamoDB.Get(table, key); it.S("postedBy") != "m2" || it.N("posted") != "1" || it.N("occurrences") != "1" {
		t.Errorf("item = %v, want m2's window with 1 occurrence, 1 posted", it)
	}
}

// Releasing the open puts back the window it replaced, so what that one
// folded is still reported.
func TestAReleasedOpenRestoresThePreviousWindow(t *testing.T) {
	win, _, c := newWindow(t)
	observe(t, win, "failed", "m1")
	observe(t, win, "failed", "m2") // folded
	c.advance(20 * time.Minute)
	s := observe(t, win, "failed", "m3")
	if s.Previous == nil || s.Previous.Folded != 1 {
		t.Fatalf("m3 = %+v, want the previous window's fold", s)
	}
	release(t, win, "m3", s)
	s = observe(t, win, "failed", "m4")
	if !s.Post || s.Reason != First || s.Previous == nil || s.Previous.Folded != 1 || !s.Previous.Start.Equal(t0) {
		t.Errorf("m4 = %+v, want a new window that still reports the previous one folded 1", s)
	}
}

// A repeat counted while the opener's post was failing keeps the window;
// the release uncounts the opener, and the next occurrence posts (the
// window has no delivered alert), once, even with two racing for it.
func TestAReleaseAfterAFoldedRepeatMakesTheNextOnePost(t *testing.T) {
	win, w, _ := newWindow(t)
	s1 := observe(t, win, "failed", "m1")
	if s := observe(t, win, "failed", "m2"); s.Post {
		t.Fatalf("m2 = %+v, want folded while m1 holds the claim", s)
	}
	release(t, win, "m1", s1)
	if it, _ := w.DynamoDB.Get(table, key); it.N("posted") != "0" || it.N("occurrences") != "1" || it.S("postedBy") != "" {
		t.Errorf("item after the release = %v, want 1 occurrence, 0 posted, no claim", it)
	}
	s3 := observe(t, win, "failed", "m3")
	if !s3.Post || s3.Reason != Undelivered || s3.Count != 2 || s3.Folded != 1 {
		t.Errorf("m3 = %+v, want posted (undelivered window), count 2, 1 not posted", s3)
	}
	if s := observe(t, win, "failed", "m4"); s.Post {
		t.Errorf("m4 = %+v, want folded: m3 holds the claim", s)
	}
}

// A released change of outcome is posted by the next occurrence with that
// outcome, not folded as "same as the last one".
func TestAReleasedChangeIsPostedByTheNextOccurrence(t *testing.T) {
	win, _, _ := newWindow(t)
	observe(t, win, "remediated", "m1")
	s := observe(t, win, "failed", "m2")
	if !s.Post || s.Reason != Changed {
		t.Fatalf("m2 = %+v", s)
	}
	release(t, win, "m2", s)
	if s := observe(t, win, "failed", "m3"); !s.Post || s.Reason != Changed || s.Count != 2 {
		t.Errorf("m3 = %+v, want posted as a change, count 2", s)
	}
}

// A release never takes back another message's claim.
func TestAReleaseKeepsAnotherMessagesClaim(t *testing.T) {
	win, w, _ := newWindow(t)
	s1 := observe(t, win, "remediated", "m1")
	s2 := observe(t, win, "failed", "m2") // changed: m2 claims while m1 is still posting
	if !s2.Post {
		t.Fatalf("m2 = %+v", s2)
	}
	release(t, win, "m1", s1)
	it, _ := w.DynamoDB.Get(table, key)
	if it.S("postedBy") != "m2" || it.N("posted") != "1" || it.N("occurrences") != "1" || it.S("lastState") != "failed" {
		t.Errorf("item = %v, want m2's claim kept, m1 uncounted", it)
	}
	if s := observe(t, win, "failed", "m3"); s.Post {
		t.Errorf("m3 = %+v, want folded into m2's alert", s)
	}
}

func TestReleasingAFoldIsANoOp(t *testing.T) {
	win, w, _ := newWindow(t)
	observe(t, win, "failed", "m1")
	s := observe(t, win, "failed", "m2")
	n := len(w.Log.Calls())
	release(t, win, "m2", s)
	if len(w.Log.Calls()) != n {
		t.Errorf("a folded occurrence's release made DynamoDB calls: %v", w.Log.Ops("dynamodb")[n:])
	}
}

// A Window without a clock runs on the real time.
func TestWindowWithoutClockUsesTheRealTime(t *testing.T) {
	win, _, _ := newWindow(t)
	win.Now = nil
	before := time.Now().Truncate(time.Second)
	s, err := win.Observe(context.Background(), key, "remediated", "m1")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Post || s.Reason != First {
		t.Fatalf("got post %v reason %s, want the first occurrence posted", s.Post, s.Reason)
	}
	if s.WindowStart.Before(before) || s.WindowEnd.Sub(s.WindowStart) != 15*time.Minute {
		t.Errorf("window %s to %s, want 15 minutes from now (%s)", s.WindowStart, s.WindowEnd, before)
	}
}
