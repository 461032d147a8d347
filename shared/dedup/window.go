// Package dedup folds repeated alerts: the same rule on the same resource
// within a window is one message with a count, not a storm. State lives in
// DynamoDB (one item per rule and resource) and every decision is a single
// conditional write, so concurrent notifiers agree on who posts.
package dedup

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DB is the part of DynamoDB the window uses.
type DB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Retention is how long an item outlives its window, so that the next
// window's first message can report what the previous one folded.
const Retention = 24 * time.Hour

// Key is the table key of a rule on a resource.
func Key(rule, resource string) string { return "dedup#" + rule + "#" + resource }

// Reason says why an occurrence is posted or folded.
type Reason string

// The reasons.
const (
	// First opens a window: always posted.
	First Reason = "first"
	// Changed is a repeat whose state (what eksguard did) differs from the
	// last posted one, e.g. remediated, then failed: posted.
	Changed Reason = "changed"
	// Milestone is a repeat whose count reached 10, 100, 1000...: posted.
	Milestone Reason = "milestone"
	// Retry is a redelivery of a message that was claimed for posting but
	// may not have been posted: posted again.
	Retry Reason = "retry"
	// Repeat is folded: counted, not posted.
	Repeat Reason = "repeat"
)

// Seen is the verdict on one occurrence.
type Seen struct {
	Post   bool
	Reason Reason
	// Count is the occurrences in the window so far, this one included.
	Count int
	// Folded is how many of them were not posted.
	Folded      int
	WindowStart time.Time
	WindowEnd   time.Time
	// Previous describes the window before, when this occurrence opened a
	// new one within Retention of the old one's end and the old one folded
	// some repeats.
	Previous *Previous
}

// Previous is what an earlier window folded.
type Previous struct {
	Start, End time.Time
	Count      int
	Folded     int
}

// Window is a dedup window over a DynamoDB table.
type Window struct {
	db     DB
	table  string
	length time.Duration
	now    func() time.Time
}

// New returns a window of the given length; now is the clock (time.Now in production).
func New(db DB, table string, length time.Duration, now func() time.Time) *Window {
	return &Window{db: db, table: table, length: length, now: now}
}

// Length is the window's length.
func (w *Window) Length() time.Duration { return w.length }

// item attribute names.
const (
	attrPK       = "pk"
	attrStart    = "windowStart"
	attrEnd      = "windowEnd"
	attrExpires  = "expiresAt"
	attrCount    = "occurrences"
	attrPosted   = "posted"
	attrState    = "lastState"
	attrPostedBy = "postedBy"
)

// Observe records one occurrence of key, whose state is what eksguard did
// about it (the outcome status), delivered as message messageID (the SNS
// message ID, stable across Lambda retries), and says whether to post.
func (w *Window) Observe(ctx context.Context, key, state, messageID string) (Seen, error) {
	if state == "" {
		state = "-"
	}
	for range 3 {
		seen, open, err := w.repeat(ctx, key, state, messageID)
		if err != nil || open {
			return seen, err
		}
		seen, opened, err := w.open(ctx, key, state, messageID)
		if err != nil || opened {
			return seen, err
		}
		// Someone opened the window between the two calls: count in it.
	}
	return Seen{}, fmt.Errorf("dedup %s: the window kept changing under concurrent writers", key)
}

// repeat counts an occurrence in an open window. open is false when there
// is no open window.
func (w *Window) repeat(ctx context.Context, key, state, messageID string) (Seen, bool, error) {
	now := w.now()
	out, err := w.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(w.table),
		Key:       map[string]types.AttributeValue{attrPK: str(key)},
		ConditionExpression: aws.String("attribute_exists(#pk) AND #end > :now AND " +
			"(attribute_not_exists(#by) OR #by <> :msg)"),
		UpdateExpression: aws.String("SET #state = :state ADD #count :one"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#end": attrEnd, "#by": attrPostedBy, "#state": attrState, "#count": attrCount,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": num(now.Unix()), ":msg": str(messageID), ":state": str(state), ":one": num(1),
		},
		ReturnValues:                        types.ReturnValueAllOld,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		old := readItem(ccf.Item)
		if old.present && old.end > now.Unix() && old.postedBy == messageID {
			// Redelivery of the message that claimed the post: post again.
			s := old.seen(Retry)
			s.Post = true
			return s, true, nil
		}
		return Seen{}, false, nil
	}
	if err != nil {
		return Seen{}, false, fmt.Errorf("dedup %s: update window in %s: %w", key, w.table, err)
	}
	old := readItem(out.Attributes)
	s := old.seen(Repeat)
	s.Count = old.count + 1
	s.Folded = s.Count - old.posted
	switch {
	case old.state != state:
		s.Reason = Changed
	case milestone(s.Count):
		s.Reason = Milestone
	default:
		return s, true, nil
	}
	if err := w.claim(ctx, key, messageID); err != nil {
		return Seen{}, true, err
	}
	s.Post = true
	s.Folded--
	return s, true, nil
}

// claim records that messageID posts for the window.
func (w *Window) claim(ctx context.Context, key, messageID string) error {
	_, err := w.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(w.table),
		Key:                       map[string]types.AttributeValue{attrPK: str(key)},
		UpdateExpression:          aws.String("SET #by = :msg ADD #posted :one"),
		ExpressionAttributeNames:  map[string]string{"#by": attrPostedBy, "#posted": attrPosted},
		ExpressionAttributeValues: map[string]types.AttributeValue{":msg": str(messageID), ":one": num(1)},
	})
	if err != nil {
		return fmt.Errorf("dedup %s: claim post in %s: %w", key, w.table, err)
	}
	return nil
}

// open starts a new window with this occurrence. opened is false when a
// window is already open.
func (w *Window) open(ctx context.Context, key, state, messageID string) (Seen, bool, error) {
	now := w.now()
	end := now.Add(w.length)
	out, err := w.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(w.table),
		Item: map[string]types.AttributeValue{
			attrPK:       str(key),
			attrStart:    num(now.Unix()),
			attrEnd:      num(end.Unix()),
			attrExpires:  num(end.Add(Retention).Unix()),
			attrCount:    num(1),
			attrPosted:   num(1),
			attrState:    str(state),
			attrPostedBy: str(messageID),
		},
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #end <= :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#end": attrEnd},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
		ReturnValues:              types.ReturnValueAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return Seen{}, false, nil
	}
	if err != nil {
		return Seen{}, false, fmt.Errorf("dedup %s: open window in %s: %w", key, w.table, err)
	}
	s := Seen{Post: true, Reason: First, Count: 1, WindowStart: time.Unix(now.Unix(), 0).UTC(), WindowEnd: time.Unix(end.Unix(), 0).UTC()}
	if old := readItem(out.Attributes); old.present && old.count > old.posted && now.Unix()-old.end < int64(Retention/time.Second) {
		s.Previous = &Previous{Start: unix(old.start), End: unix(old.end), Count: old.count, Folded: old.count - old.posted}
	}
	return s, true, nil
}

// milestone reports 10, 100, 1000, ...
func milestone(n int) bool {
	if n < 10 {
		return false
	}
	for n%10 == 0 {
		n /= 10
	}
	return n == 1
}

type item struct {
	present         bool
	start, end      int64
	count, posted   int
	state, postedBy string
}

func (it item) seen(r Reason) Seen {
	return Seen{Reason: r, Count: it.count, Folded: it.count - it.posted, WindowStart: unix(it.start), WindowEnd: unix(it.end)}
}

func readItem(m map[string]types.AttributeValue) item {
	if len(m) == 0 {
		return item{}
	}
	return item{
		present:  true,
		start:    readNum(m[attrStart]),
		end:      readNum(m[attrEnd]),
		count:    int(readNum(m[attrCount])),
		posted:   int(readNum(m[attrPosted])),
		state:    readStr(m[attrState]),
		postedBy: readStr(m[attrPostedBy]),
	}
}

func readNum(v types.AttributeValue) int64 {
	if n, ok := v.(*types.AttributeValueMemberN); ok {
		i, _ := strconv.ParseInt(n.Value, 10, 64)
		return i
	}
	return 0
}

func readStr(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
