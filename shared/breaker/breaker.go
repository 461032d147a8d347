// Package breaker is the remediation circuit breaker: at most Max
// remediations per resource per clock hour. A loop (eksguard undoes a
// change, something puts it back, eksguard undoes it again...) stops at
// the limit and a human is asked to look.
//
// Counters live in the eksguard table under "breaker#<resource>#<hour>",
// one item per resource and UTC hour, with the TTL attribute expiresAt.
package breaker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DefaultMax is the limit when none is set (the policy's default too).
const DefaultMax = 3

// DynamoDB is the part of the DynamoDB client the breaker uses.
type DynamoDB interface {
	UpdateItem(ctx context.Context, params *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// Breaker counts remediations in a DynamoDB table.
type Breaker struct {
	// DB is the client (required).
	DB DynamoDB
	// Table is the table (required).
	Table string
	// Max remediations per resource per hour (DefaultMax when <= 0).
	Max int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Verdict is the breaker's answer for one remediation.
type Verdict struct {
	// Allowed: go ahead.
	Allowed bool
	// Count is this remediation's number within the hour, itself included.
	Count int
	// Max is the limit that applied.
	Max int
	// Tripped is set on the first refusal of the hour only, so the
	// "remediation suppressed" alert goes out once per resource and hour.
	Tripped bool
	// Window is the UTC hour counted, e.g. 2025-03-01T10.
	Window string
}

func (b *Breaker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Take counts one remediation of the resource and says whether it may go
// ahead. The count is taken atomically (DynamoDB ADD), so concurrent
// invocations cannot both take the last slot.
func (b *Breaker) Take(ctx context.Context, resource string) (Verdict, error) {
	hour := b.now().UTC().Truncate(time.Hour)
	max := b.Max
	if max <= 0 {
		max = DefaultMax
	}
	v := Verdict{Max: max, Window: hour.Format("2006-01-02T15")}
	pk := "breaker#" + resource + "#" + v.Window
	out, err := b.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(b.Table),
		Key:                      map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
		UpdateExpression:         aws.String("ADD #count :one SET #expiresAt = if_not_exists(#expiresAt, :expiresAt)"),
		ExpressionAttributeNames: map[string]string{"#count": "count", "#expiresAt": "expiresAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":       &types.AttributeValueMemberN{Value: "1"},
			":expiresAt": &types.AttributeValueMemberN{Value: strconv.FormatInt(hour.Add(2*time.Hour).Unix(), 10)},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return v, fmt.Errorf("count remediation of %s in table %s: %w", resource, b.Table, err)
	}
	n, ok := out.Attributes["count"].(*types.AttributeValueMemberN)
	if !ok {
		return v, fmt.Errorf("count remediation of %s: table %s returned no count", resource, b.Table)
	}
	v.Count, err = strconv.Atoi(n.Value)
	if err != nil {
		return v, fmt.Errorf("count remediation of %s: bad count %q", resource, n.Value)
	}
	v.Allowed = v.Count <= max
	v.Tripped = v.Count == max+1
	return v, nil
}
