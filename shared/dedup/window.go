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
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, params *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

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
	// Undelivered is a repeat in a window whose alert was never delivered
	// (its post failed and was released while other repeats were counted):
	// posted.
	Undelivered Reason = "undelivered"
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

	// undo is what Release needs to take back this occurrence's claim.
	undo undo
}

// undo describes the writes of a claiming Observe.
type undo struct {
	// opened says the occurrence opened the window; prior is the item
	// the open replaced (nil: there was none).
	opened bool
	prior  map[string]types.AttributeValue
	// state is the window's state before the occurrence ("": leave it).
	state string
}

// Previous is what an earlier window folded.
type Previous struct {
	Start, End time.Time
	Count      int
	Folded     int
}

// Window is a dedup window over a DynamoDB table.
type Window struct {
	// DB is the client (required).
	DB DB
	// Table is the table (required).
	Table string
	// Length is the window's length (the policy's notify.dedupWindow);
	// zero folds nothing: every occurrence opens a window of its own.
	Length time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (w *Window) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

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
	out, err := w.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(w.Table),
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
		return Seen{}, false, fmt.Errorf("dedup %s: update window in %s: %w", key, w.Table, err)
	}
	old := readItem(out.Attributes)
	s := old.seen(Repeat)
	s.Count = old.count + 1
	s.Folded = s.Count - old.posted
	switch {
	case old.posted <= 0:
		// Nothing of this window reached Slack: this one must.
		s.Reason = Undelivered
	case old.state != state:
		s.Reason = Changed
	case milestone(s.Count):
		s.Reason = Milestone
	default:
		return s, true, nil
	}
	claimed, err := w.claim(ctx, key, messageID, s.Reason == Undelivered)
	if err != nil {
		return Seen{}, true, err
	}
	if !claimed {
		// Another occurrence claimed the undelivered window first: it posts.
		s.Reason = Repeat
		return s, true, nil
	}
	s.Post = true
	s.Folded--
	s.undo = undo{state: old.state}
	return s, true, nil
}

// claim records that messageID posts for the window. With onlyIfNone it
// claims only while nothing of the window is posted, so that of several
// concurrent repeats of an undelivered window exactly one posts; claimed
// is false when another one did.
func (w *Window) claim(ctx context.Context, key, messageID string, onlyIfNone bool) (claimed bool, err error) {
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(w.Table),
		Key:                       map[string]types.AttributeValue{attrPK: str(key)},
		UpdateExpression:          aws.String("SET #by = :msg ADD #posted :one"),
		ExpressionAttributeNames:  map[string]string{"#by": attrPostedBy, "#posted": attrPosted},
		ExpressionAttributeValues: map[string]types.AttributeValue{":msg": str(messageID), ":one": num(1)},
	}
	if onlyIfNone {
		in.ConditionExpression = aws.String("#posted <= :zero")
		in.ExpressionAttributeValues[":zero"] = num(0)
	}
	_, err = w.DB.UpdateItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dedup %s: claim post in %s: %w", key, w.Table, err)
	}
	return true, nil
}

// Release takes back the claim of an occurrence Observe said to post,
// when its alert could not be delivered: the occurrence no longer counts
// and nothing of the window is recorded as posted by it, so the next
// occurrence is posted rather than folded into an alert nobody saw. Each
// write is conditional on the claim still being messageID's, so a release
// never undoes another notifier's post.
func (w *Window) Release(ctx context.Context, key, messageID string, s Seen) error {
	if !s.Post {
		return nil
	}
	now := w.now()
	var ccf *types.ConditionalCheckFailedException
	if s.undo.opened {
		// Put back what the open replaced (or an expired window), unless a
		// repeat has been counted in the new window since.
		item := s.undo.prior
		if len(item) == 0 {
			item = map[string]types.AttributeValue{
				attrPK: str(key), attrStart: num(s.WindowStart.Unix()), attrEnd: num(s.WindowStart.Unix()),
				attrExpires: num(now.Add(Retention).Unix()), attrCount: num(0), attrPosted: num(0),
			}
		}
		_, err := w.DB.PutItem(ctx, &dynamodb.PutItemInput{
			TableName:                 aws.String(w.Table),
			Item:                      item,
			ConditionExpression:       aws.String("#by = :msg AND #count = :one AND #start = :start"),
			ExpressionAttributeNames:  map[string]string{"#by": attrPostedBy, "#count": attrCount, "#start": attrStart},
			ExpressionAttributeValues: map[string]types.AttributeValue{":msg": str(messageID), ":one": num(1), ":start": num(s.WindowStart.Unix())},
		})
		if err == nil {
			return nil
		}
		if !errors.As(err, &ccf) {
			return fmt.Errorf("dedup %s: release the window opened by %s in %s: %w", key, messageID, w.Table, err)
		}
	}
	// Uncount the occurrence and its post; give the claim up.
	names := map[string]string{"#by": attrPostedBy, "#count": attrCount, "#posted": attrPosted, "#start": attrStart}
	values := map[string]types.AttributeValue{":msg": str(messageID), ":minus": num(-1), ":start": num(s.WindowStart.Unix())}
	update := "ADD #count :minus, #posted :minus REMOVE #by"
	if s.undo.state != "" {
		update = "SET #state = :state " + update
		names["#state"], values[":state"] = attrState, str(s.undo.state)
	}
	_, err := w.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(w.Table), Key: map[string]types.AttributeValue{attrPK: str(key)},
		ConditionExpression: aws.String("#by = :msg AND #start = :start"),
		UpdateExpression:    aws.String(update), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	if err == nil {
		return nil
	}
	if !errors.As(err, &ccf) {
		return fmt.Errorf("dedup %s: release the post of %s in %s: %w", key, messageID, w.Table, err)
	}
	// Another occurrence has claimed since (and posts): only uncount ours.
	_, err = w.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(w.Table), Key: map[string]types.AttributeValue{attrPK: str(key)},
		ConditionExpression:       aws.String("#start = :start"),
		UpdateExpression:          aws.String("ADD #count :minus, #posted :minus"),
		ExpressionAttributeNames:  map[string]string{"#count": attrCount, "#posted": attrPosted, "#start": attrStart},
		ExpressionAttributeValues: map[string]types.AttributeValue{":minus": num(-1), ":start": num(s.WindowStart.Unix())},
	})
	if errors.As(err, &ccf) {
		return nil // the window is gone: nothing left to release
	}
	if err != nil {
		return fmt.Errorf("dedup %s: uncount the post of %s in %s: %w", key, messageID, w.Table, err)
	}
	return nil
}

// open starts a new window with this occurrence. opened is false when a
// window is already open.
func (w *Window) open(ctx context.Context, key, state, messageID string) (Seen, bool, error) {
	now := w.now()
	end := now.Add(w.Length)
	out, err := w.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(w.Table),
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
		return Seen{}, false, fmt.Errorf("dedup %s: open window in %s: %w", key, w.Table, err)
	}
	s := Seen{Post: true, Reason: First, Count: 1, WindowStart: time.Unix(now.Unix(), 0).UTC(), WindowEnd: time.Unix(end.Unix(), 0).UTC(),
		undo: undo{opened: true, prior: out.Attributes}}
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
