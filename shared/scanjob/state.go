package scanjob

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/eksguard/eksguard/shared/finding"
)

// DynamoDB is the part of the DynamoDB client the scan state uses.
type DynamoDB interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// Retention is how long the scan state is kept after the scan that last
// wrote it: longer than any sensible schedule, so a scan always finds the
// previous one's state.
const Retention = 30 * 24 * time.Hour

// State is what the previous scans of each account and region found, in
// the eksguard table: under "scan#<account>#<region>" the IDs of the
// findings then open, each with its cluster; under "scanfinding#<id>" each
// finding as first reported, for the message when it is resolved. Items
// expire (expiresAt) Retention after their last write.
type State struct {
	DB    DynamoDB
	Table string
	Now   func() time.Time
}

func (s *State) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func regionKey(account, region string) string { return "scan#" + account + "#" + region }
func findingKey(id string) string             { return "scanfinding#" + id }

func (s *State) expires() types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(s.now().Add(Retention).Unix(), 10)}
}

// Open returns the findings open after the last scan of the account and
// region: ID -> cluster.
func (s *State) Open(ctx context.Context, account, region string) (map[string]string, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: regionKey(account, region)}}})
	if err != nil {
		return nil, fmt.Errorf("read the last scan of account %s, region %s: %w", account, region, err)
	}
	open := map[string]string{}
	if m, ok := out.Item["open"].(*types.AttributeValueMemberM); ok {
		for id, v := range m.Value {
			if c, ok := v.(*types.AttributeValueMemberS); ok {
				open[id] = c.Value
			}
		}
	}
	return open, nil
}

// SetOpen records the findings open after this scan.
func (s *State) SetOpen(ctx context.Context, account, region string, open map[string]string) error {
	m := make(map[string]types.AttributeValue, len(open))
	for id, c := range open {
		m[id] = &types.AttributeValueMemberS{Value: c}
	}
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: map[string]types.AttributeValue{
		"pk":        &types.AttributeValueMemberS{Value: regionKey(account, region)},
		"open":      &types.AttributeValueMemberM{Value: m},
		"scannedAt": &types.AttributeValueMemberS{Value: s.now().UTC().Format(time.RFC3339)},
		"expiresAt": s.expires(),
	}})
	if err != nil {
		return fmt.Errorf("record the scan of account %s, region %s: %w", account, region, err)
	}
	return nil
}

// Remember keeps a newly reported finding for its resolution message.
func (s *State) Remember(ctx context.Context, f *finding.Finding) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode scan finding %s: %w", f.ID, err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.Table, Item: map[string]types.AttributeValue{
		"pk":        &types.AttributeValueMemberS{Value: findingKey(f.ID)},
		"finding":   &types.AttributeValueMemberS{Value: string(b)},
		"expiresAt": s.expires(),
	}})
	if err != nil {
		return fmt.Errorf("record scan finding %s: %w", f.ID, err)
	}
	return nil
}

// Recall returns the finding as first reported; false when it has expired.
func (s *State) Recall(ctx context.Context, id string) (*finding.Finding, bool, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.Table,
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: findingKey(id)}}})
	if err != nil {
		return nil, false, fmt.Errorf("read scan finding %s: %w", id, err)
	}
	v, ok := out.Item["finding"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, false, nil
	}
	var f finding.Finding
	if err := json.Unmarshal([]byte(v.Value), &f); err != nil {
		return nil, false, fmt.Errorf("decode scan finding %s: %w", id, err)
	}
	return &f, true, nil
}
