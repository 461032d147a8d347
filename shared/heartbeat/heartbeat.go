// Package heartbeat is eksguard's end-to-end check that it can still see:
// a scheduled canary writes the stack's heartbeat parameter
// (ssm:PutParameter on "/<stack>/heartbeat"), CloudTrail records the call,
// EventBridge delivers it to the tamper function like any other event, and
// the function records when it heard it (Recorder) and emits one data point
// of the Heard metric, which a CloudWatch alarm expects within the window.
// Judge says from a recorded beat whether eksguard is hearing, late or has
// never heard (eksguard status). See docs/tamper.md.
package heartbeat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Defaults of the stack's heartbeat settings.
const (
	// DefaultEvery is how often the canary writes the parameter.
	DefaultEvery = 15 * time.Minute
	// DefaultWindow is how long without a heartbeat raises the alarm.
	DefaultWindow = 30 * time.Minute
)

// MetricName is the count the function emits once per heartbeat heard, in
// the namespace named after the stack (no dimensions).
const MetricName = "HeartbeatsHeard"

// Parameter is the SSM parameter the canary writes: "/<stack>/heartbeat".
func Parameter(stackName string) string { return "/" + stackName + "/heartbeat" }

// Key is the table item (partition key pk) holding the last heartbeat heard
// from one account and region.
func Key(account, region string) string { return "heartbeat#" + account + "#" + region }

// Beat is a recorded heartbeat.
type Beat struct {
	Account, Region string
	// Heard is the canary call's eventTime: when CloudTrail saw it.
	Heard time.Time
	// Received is when the function recorded it.
	Received time.Time
	EventID  string
}

// DynamoDB is the part of the DynamoDB client the Recorder uses.
type DynamoDB interface {
	UpdateItem(ctx context.Context, params *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Recorder records heartbeats in the table and emits the metric.
type Recorder struct {
	DB    DynamoDB
	Table string
	// Namespace is the metric's namespace (the stack name).
	Namespace string
	// Metrics receives the EMF line (the function's stdout); nil emits none.
	Metrics io.Writer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Record stores the beat as the last one heard from its account and region
// (a later beat already recorded is kept: redeliveries and out-of-order
// deliveries never move "last heard" back) and then emits the metric.
func (r *Recorder) Record(ctx context.Context, b Beat) error {
	if b.Account == "" || b.Region == "" || b.Heard.IsZero() {
		return fmt.Errorf("record heartbeat %s: account %q, region %q and event time %v are all required", b.EventID, b.Account, b.Region, b.Heard)
	}
	b.Received = r.now().UTC()
	_, err := r.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(r.Table),
		Key:                      map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: Key(b.Account, b.Region)}},
		UpdateExpression:         aws.String("SET account = :a, #region = :r, heardAt = :h, receivedAt = :now, eventID = :e"),
		ConditionExpression:      aws.String("attribute_not_exists(heardAt) OR heardAt <= :h"),
		ExpressionAttributeNames: map[string]string{"#region": "region"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":a":   &ddbtypes.AttributeValueMemberS{Value: b.Account},
			":r":   &ddbtypes.AttributeValueMemberS{Value: b.Region},
			":h":   &ddbtypes.AttributeValueMemberS{Value: stamp(b.Heard)},
			":now": &ddbtypes.AttributeValueMemberS{Value: stamp(b.Received)},
			":e":   &ddbtypes.AttributeValueMemberS{Value: b.EventID},
		},
	})
	var stale *ddbtypes.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &stale) {
		return fmt.Errorf("record heartbeat %s from %s %s in table %s: %w", b.EventID, b.Account, b.Region, r.Table, err)
	}
	// A beat older than the one recorded was still heard: it counts.
	return r.emit(b)
}

// stamp is a time as it is stored: RFC 3339 in UTC with fixed-width
// nanoseconds, so that the strings compare as the times do.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// emit writes one data point of MetricName as a CloudWatch embedded metric
// format line.
func (r *Recorder) emit(b Beat) error {
	if r.Metrics == nil {
		return nil
	}
	doc := map[string]any{
		"_aws": map[string]any{
			"Timestamp": r.now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  r.Namespace,
				"Dimensions": [][]string{{}},
				"Metrics":    []any{map[string]string{"Name": MetricName, "Unit": "Count"}},
			}},
		},
		MetricName: 1,
		"account":  b.Account,
		"region":   b.Region,
		"heardAt":  stamp(b.Heard),
		"eventID":  b.EventID,
	}
	line, err := json.Marshal(doc)
	if err == nil {
		_, err = r.Metrics.Write(append(line, '\n'))
	}
	if err != nil {
		return fmt.Errorf("emit the %s metric for heartbeat %s: %w", MetricName, b.EventID, err)
	}
	return nil
}
