// Package slackref keeps the findings that Slack buttons refer to. A
// button's value is only a reference: the finding, its plan included, stays
// in the eksguard table under "slackfinding#<ref>" (for TTL days), where the
// notifier put it before posting, and the interaction function reads it
// from there. What a click can do is thus fixed by eksguard, not by what a
// request carries.
package slackref

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/eksguard/eksguard/shared/finding"
)

// TTL is how long a message's buttons work.
const TTL = 7 * 24 * time.Hour

// ErrNotFound is returned for a reference the table does not hold (never
// written, or expired).
var ErrNotFound = errors.New("no such finding: the buttons of this message have expired")

var refRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Valid reports whether s has the form of a reference.
func Valid(s string) bool { return refRE.MatchString(s) }

// Ref is a finding's reference: the same event, rule and resource always
// give the same one, so an SNS redelivery posts the same buttons, and an
// approval is keyed by the finding.
func Ref(f *finding.Finding) string {
	sum := sha256.Sum256([]byte(f.EventID + "\x00" + f.Rule + "\x00" + f.Key()))
	return hex.EncodeToString(sum[:16])
}

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// Store keeps referenced findings.
type Store struct {
	DB    DynamoDB
	Table string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Put keeps a finding and returns its reference.
func (s *Store) Put(ctx context.Context, f *finding.Finding) (string, error) {
	ref := Ref(f)
	body, err := json.Marshal(f)
	if err != nil {
		return "", fmt.Errorf("keep finding %s for Slack: %w", f.Rule, err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table),
		Item: map[string]types.AttributeValue{
			"pk":        &types.AttributeValueMemberS{Value: "slackfinding#" + ref},
			"finding":   &types.AttributeValueMemberS{Value: string(body)},
			"expiresAt": &types.AttributeValueMemberN{Value: strconv.FormatInt(s.now().Add(TTL).Unix(), 10)},
		},
	})
	if err != nil {
		return "", fmt.Errorf("keep finding %s (event %s) for Slack in table %s: %w", f.Rule, f.EventID, s.Table, err)
	}
	return ref, nil
}

// Get reads a referenced finding.
func (s *Store) Get(ctx context.Context, ref string) (*finding.Finding, error) {
	if !Valid(ref) {
		return nil, fmt.Errorf("read Slack finding: %q is not a reference", ref)
	}
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "slackfinding#" + ref}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read Slack finding %s in table %s: %w", ref, s.Table, err)
	}
	body, ok := out.Item["finding"].(*types.AttributeValueMemberS)
	exp, _ := out.Item["expiresAt"].(*types.AttributeValueMemberN)
	if !ok {
		return nil, ErrNotFound
	}
	if exp != nil {
		if n, err := strconv.ParseInt(exp.Value, 10, 64); err == nil && n <= s.now().Unix() {
			return nil, ErrNotFound
		}
	}
	f := new(finding.Finding)
	if err := json.Unmarshal([]byte(body.Value), f); err != nil {
		return nil, fmt.Errorf("read Slack finding %s: %w", ref, err)
	}
	return f, nil
}
