// Package idempotency gives exactly-once effects on top of at-least-once
// delivery. Before acting on an event, a handler claims the event's ID in
// DynamoDB with a conditional write; a second delivery of the same event
// finds the claim and does nothing. A claim held by an invocation that died
// carries a lease that runs out, so a later retry can take it over. Within
// a claim, each effect (a remediation, a notification) is recorded as a
// step as soon as it is done, so a retry after a partial failure repeats
// only what did not happen yet.
//
// Records live in the eksguard table under "event#<id>" with the TTL
// attribute expiresAt; DynamoDB deletes them some time after they expire.
package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	UpdateItem(ctx context.Context, params *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// The status attribute's values.
const (
	statusInProgress = "in-progress"
	statusCompleted  = "completed"
)

// Defaults.
const (
	// DefaultRetention is how long a record is kept after it was last
	// written: longer than any redelivery (EventBridge retries for up to
	// 24 hours, Lambda's asynchronous queue keeps events up to 6 hours).
	DefaultRetention = 48 * time.Hour
	// DefaultLease is how long a claim holds when the context has no
	// deadline. In Lambda the lease ends shortly after the invocation's
	// own deadline instead.
	DefaultLease = 15 * time.Minute
	// LeaseMargin is added to the invocation deadline.
	LeaseMargin = 30 * time.Second
)

// Store claims events in a DynamoDB table.
type Store struct {
	// DB is the client (required).
	DB DynamoDB
	// Table is the table (required).
	Table string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Retention is how long a record is kept after its last write
	// (DefaultRetention when zero).
	Retention time.Duration
	// NewToken makes the random token that identifies a claim's holder
	// (16 random bytes in hex when nil).
	NewToken func() string
}

// State is what Claim found.
type State int

// The claim states.
const (
	// Claimed: this invocation holds the event and must act on it.
	Claimed State = iota
	// Done: an earlier delivery completed the event; do nothing.
	Done
	// Busy: another invocation holds a live claim; retry later.
	Busy
)

func (s State) String() string {
	switch s {
	case Claimed:
		return "claimed"
	case Done:
		return "done"
	case Busy:
		return "busy"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// ErrBusy is returned (wrapped) by callers that give up on a Busy event so the
// platform delivers it again later.
var ErrBusy = errors.New("event is being handled by another invocation")

// Claim is a held event.
type Claim struct {
	// Key is the record's partition key ("event#<id>").
	Key   string
	token string
	steps map[string]string
	store *Store
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Store) retention() time.Duration {
	if s.Retention > 0 {
		return s.Retention
	}
	return DefaultRetention
}

func (s *Store) token() string {
	if s.NewToken != nil {
		return s.NewToken()
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// lease is the end of the claim: the invocation's deadline plus a margin,
// measured on the store's clock.
func (s *Store) lease(ctx context.Context, now time.Time) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return now.Add(time.Until(dl) + LeaseMargin)
	}
	return now.Add(DefaultLease)
}

// Claim tries to take the event. It succeeds when there is no record, or
// when the record is an in-progress claim whose lease has run out (the steps
// that claim recorded are kept and returned). A completed record gives Done;
// a live claim gives Busy.
func (s *Store) Claim(ctx context.Context, id string) (*Claim, State, error) {
	if id == "" {
		return nil, 0, errors.New("claim event: empty event ID")
	}
	now := s.now()
	c := &Claim{Key: "event#" + id, token: s.token(), store: s}
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.Table),
		Key:                 key(c.Key),
		UpdateExpression:    aws.String("SET #status = :inProgress, #lease = :lease, #token = :token, #expiresAt = :expiresAt, #steps = if_not_exists(#steps, :noSteps)"),
		ConditionExpression: aws.String("attribute_not_exists(pk) OR (#status = :inProgress AND #lease < :now)"),
		ExpressionAttributeNames: map[string]string{
			"#status": "status", "#lease": "leaseUntil", "#token": "token", "#expiresAt": "expiresAt", "#steps": "steps",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":inProgress": str(statusInProgress),
			":lease":      num(s.lease(ctx, now).Unix()),
			":token":      str(c.token),
			":expiresAt":  num(now.Add(s.retention()).Unix()),
			":noSteps":    &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}},
			":now":        num(now.Unix()),
		},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if st, ok := ccf.Item["status"].(*types.AttributeValueMemberS); ok && st.Value == statusCompleted {
				return nil, Done, nil
			}
			return nil, Busy, nil
		}
		return nil, 0, fmt.Errorf("claim %s in table %s: %w", c.Key, s.Table, err)
	}
	c.steps = readSteps(out.Attributes["steps"])
	return c, Claimed, nil
}

func readSteps(v types.AttributeValue) map[string]string {
	steps := map[string]string{}
	m, ok := v.(*types.AttributeValueMemberM)
	if !ok {
		return steps
	}
	for k, sv := range m.Value {
		if s, ok := sv.(*types.AttributeValueMemberS); ok {
			steps[k] = s.Value
		}
	}
	return steps
}

// Step returns what an earlier holder recorded for a step, if anything.
func (c *Claim) Step(name string) (string, bool) {
	v, ok := c.steps[name]
	return v, ok
}

// Resumed reports whether the claim took over steps from an earlier holder.
func (c *Claim) Resumed() bool { return len(c.steps) > 0 }

// Record stores a step as done, with a value, while the claim is held.
func (c *Claim) Record(ctx context.Context, name, value string) error {
	err := c.write(ctx, "SET #steps.#step = :value", map[string]string{"#steps": "steps", "#step": name},
		map[string]types.AttributeValue{":value": str(value)})
	if err != nil {
		return fmt.Errorf("record step %q of %s: %w", name, c.Key, err)
	}
	c.steps[name] = value
	return nil
}

// Complete marks the event done; later deliveries will be skipped.
func (c *Claim) Complete(ctx context.Context) error {
	s := c.store
	err := c.write(ctx, "SET #status = :completed, #expiresAt = :expiresAt REMOVE #lease",
		map[string]string{"#status": "status", "#expiresAt": "expiresAt", "#lease": "leaseUntil"},
		map[string]types.AttributeValue{":completed": str(statusCompleted), ":expiresAt": num(s.now().Add(s.retention()).Unix())})
	if err != nil {
		return fmt.Errorf("complete %s: %w", c.Key, err)
	}
	return nil
}

// Release ends the lease now, keeping the recorded steps, so that the
// platform's retry can take the event over at once.
func (c *Claim) Release(ctx context.Context) error {
	err := c.write(ctx, "SET #lease = :zero", map[string]string{"#lease": "leaseUntil"},
		map[string]types.AttributeValue{":zero": num(0)})
	if err != nil {
		return fmt.Errorf("release %s: %w", c.Key, err)
	}
	return nil
}

// write updates the record on condition that this claim still holds it.
func (c *Claim) write(ctx context.Context, update string, names map[string]string, values map[string]types.AttributeValue) error {
	names["#token"] = "token"
	values[":token"] = str(c.token)
	_, err := c.store.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(c.store.Table),
		Key:                       key(c.Key),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#token = :token"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return errors.New("the claim was taken over by another invocation")
	}
	return err
}

func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(pk)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
