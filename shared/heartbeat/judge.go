package heartbeat

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// State is what a recorded heartbeat says about eksguard's eyes.
type State string

// The states Judge gives.
const (
	// Hearing: the last heartbeat was heard within the window.
	Hearing State = "hearing"
	// Late: the last heartbeat is older than the window.
	Late State = "late"
	// Never: no heartbeat was ever recorded for the account and region.
	Never State = "never"
)

// Judge says whether the last beat (nil when none is recorded) was heard
// within window of now.
func Judge(last *Beat, now time.Time, window time.Duration) State {
	switch {
	case last == nil || last.Heard.IsZero():
		return Never
	case now.Sub(last.Heard) > window:
		return Late
	}
	return Hearing
}

// Describe is Judge's verdict as one line, naming the account and region.
func Describe(last *Beat, account, region string, now time.Time, window time.Duration) string {
	switch Judge(last, now, window) {
	case Never:
		return fmt.Sprintf("eksguard has never heard from CloudTrail in account %s region %s", account, region)
	case Late:
		return fmt.Sprintf("eksguard has not heard from CloudTrail in %s in account %s region %s (last heartbeat %s)",
			minutes(window), account, region, last.Heard.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("eksguard heard from CloudTrail %s ago in account %s region %s",
		now.Sub(last.Heard).Truncate(time.Second), account, region)
}

func minutes(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return d.String()
}

// Reader is the part of the DynamoDB client Last uses.
type Reader interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Last reads the last heartbeat recorded for the account and region; nil
// when there is none.
func Last(ctx context.Context, db Reader, table, account, region string) (*Beat, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: Key(account, region)}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read the last heartbeat of %s %s from table %s: %w", account, region, table, err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	b := &Beat{Account: account, Region: region}
	for name, dst := range map[string]*time.Time{"heardAt": &b.Heard, "receivedAt": &b.Received} {
		s, ok := out.Item[name].(*ddbtypes.AttributeValueMemberS)
		if !ok {
			return nil, fmt.Errorf("heartbeat item %s in table %s: %s is missing or not a string", Key(account, region), table, name)
		}
		t, err := time.Parse(time.RFC3339Nano, s.Value)
		if err != nil {
			return nil, fmt.Errorf("heartbeat item %s in table %s: %s: %w", Key(account, region), table, name, err)
		}
		*dst = t
	}
	if s, ok := out.Item["eventID"].(*ddbtypes.AttributeValueMemberS); ok {
		b.EventID = s.Value
	}
	return b, nil
}
