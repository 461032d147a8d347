// Package table keeps correlation marks in the eksguard DynamoDB table: one
// item per principal, "correlation#<principal ARN>", whose marks attribute
// is the list of the principal's recent grants and removals and whose
// expiresAt (TTL) runs a window past the last write. A mark is appended
// with list_append in one UpdateItem that returns the whole list; when the
// list holds marks too old to matter, a second UpdateItem writes it back
// without them, on condition that no mark was appended in between (the
// item's count attribute), so concurrent writers never lose a mark.
package table

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/eksguard/eksguard/shared/correlation"
)

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	UpdateItem(ctx context.Context, params *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// Retention is how long past the window an item is kept after its last
// write: redeliveries (EventBridge retries for up to a day) still find it.
const Retention = 24 * time.Hour

// Store is a correlation.Store in DynamoDB.
type Store struct {
	// DB is the client (required).
	DB DynamoDB
	// Table is the table (required).
	Table string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

var _ correlation.Store = (*Store)(nil)

// Key is the table key of a principal's marks.
func Key(principal string) string { return "correlation#" + principal }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Record implements correlation.Store.
func (s *Store) Record(ctx context.Context, m correlation.Mark, window time.Duration) ([]correlation.Mark, error) {
	k := Key(m.Principal)
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.Table),
		Key:              key(k),
		UpdateExpression: aws.String("SET #marks = list_append(if_not_exists(#marks, :none), :mark), #expiresAt = :expiresAt ADD #count :one"),
		ExpressionAttributeNames: map[string]string{
			"#marks": "marks", "#expiresAt": "expiresAt", "#count": "count",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":none":      &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
			":mark":      &types.AttributeValueMemberL{Value: []types.AttributeValue{encode(m)}},
			":expiresAt": num(s.now().Add(window + Retention).Unix()),
			":one":       num(1),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return nil, fmt.Errorf("record %s mark of event %s in %s of table %s: %w", m.Event, m.EventID, k, s.Table, err)
	}
	held, err := decodeList(out.Attributes["marks"])
	if err != nil {
		return nil, fmt.Errorf("read the marks of %s in table %s: %w", k, s.Table, err)
	}
	if kept := correlation.Prune(append([]correlation.Mark(nil), held...), window); len(kept) < len(held) {
		s.prune(ctx, k, kept, out.Attributes["count"])
	}
	return correlation.Within(held, m, window), nil
}

// prune writes the kept marks back, unless a mark was appended since the
// list was read (the count moved on).
func (s *Store) prune(ctx context.Context, k string, kept []correlation.Mark, count types.AttributeValue) {
	if count == nil {
		return
	}
	list := make([]types.AttributeValue, len(kept))
	for i, m := range kept {
		list[i] = encode(m)
	}
	// A failed condition (a mark came in) or a failed call loses nothing:
	// every mark is still there, and the next write prunes.
	_, _ = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(k),
		UpdateExpression:          aws.String("SET #marks = :kept"),
		ConditionExpression:       aws.String("#count = :count"),
		ExpressionAttributeNames:  map[string]string{"#marks": "marks", "#count": "count"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":kept": &types.AttributeValueMemberL{Value: list}, ":count": count},
	})
}

// The attribute names of a mark in the table.
const (
	aID, aTime, aEvent, aPrincipal = "id", "t", "e", "p"
	aAccount, aRegion, aCluster    = "a", "r", "c"
	aPolicy, aActor                = "pol", "by"
)

func encode(m correlation.Mark) types.AttributeValue {
	v := map[string]types.AttributeValue{
		aID: str(m.EventID), aTime: num(m.Time.Unix()), aEvent: str(m.Event), aPrincipal: str(m.Principal),
		aAccount: str(m.Account), aRegion: str(m.Region), aCluster: str(m.Cluster),
	}
	if m.Policy != "" {
		v[aPolicy] = str(m.Policy)
	}
	if m.Actor != "" {
		v[aActor] = str(m.Actor)
	}
	return &types.AttributeValueMemberM{Value: v}
}

func decodeList(v types.AttributeValue) ([]correlation.Mark, error) {
	l, ok := v.(*types.AttributeValueMemberL)
	if !ok {
		return nil, fmt.Errorf("marks is %T, want a list", v)
	}
	out := make([]correlation.Mark, 0, len(l.Value))
	for i, e := range l.Value {
		m, ok := e.(*types.AttributeValueMemberM)
		if !ok {
			return nil, fmt.Errorf("marks[%d] is %T, want a map", i, e)
		}
		s := func(name string) string {
			if v, ok := m.Value[name].(*types.AttributeValueMemberS); ok {
				return v.Value
			}
			return ""
		}
		n, ok := m.Value[aTime].(*types.AttributeValueMemberN)
		if !ok {
			return nil, fmt.Errorf("marks[%d]: no time", i)
		}
		secs, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("marks[%d]: time %q: %w", i, n.Value, err)
		}
		out = append(out, correlation.Mark{
			EventID: s(aID), Time: time.Unix(secs, 0).UTC(), Event: s(aEvent), Principal: s(aPrincipal),
			Account: s(aAccount), Region: s(aRegion), Cluster: s(aCluster), Policy: s(aPolicy), Actor: s(aActor),
		})
	}
	return out, nil
}

func key(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(pk)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
