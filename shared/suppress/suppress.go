// Package suppress records expected changes: a person's statement, from
// Slack's Expected change button, that a rule's findings on one resource
// are expected until a time. The family functions consult it before
// alerting (a suppressed finding is logged, not alerted) and
// `eksguard suppressions` lists the active ones.
//
// Each suppression is an item "suppress#<rule>#<resource key>" whose TTL
// (expiresAt) is its end, so DynamoDB deletes it by itself; since TTL
// deletion is lazy, a suppression past its end is ignored by whoever reads
// it. The item "suppress#index" keeps a copy of each under its own key,
// for listing without a scan; writing prunes the expired ones from it.
package suppress

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MaxDuration is the longest suppression accepted.
const MaxDuration = 30 * 24 * time.Hour

// MaxReason is the longest reason kept, in bytes.
const MaxReason = 500

const indexKey = "suppress#index"

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, params *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// Suppression is one expected change.
type Suppression struct {
	Rule string
	// Resource is the finding's Key (account/region/cluster/principal[/resource]).
	Resource string
	Until    time.Time
	// Who is the Slack user ID that stated it, Why their reason.
	Who, Why string
}

// Store reads and writes suppressions in the eksguard table.
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

func itemKey(rule, resource string) string { return "suppress#" + rule + "#" + resource }

// Put records a suppression. It refuses one without a rule, resource,
// person or reason, one already over, and one longer than MaxDuration.
func (s *Store) Put(ctx context.Context, sup Suppression) error {
	now := s.now()
	switch {
	case sup.Rule == "" || sup.Resource == "":
		return errors.New("suppress: rule and resource are required")
	case sup.Who == "":
		return errors.New("suppress: who is required")
	case sup.Why == "":
		return errors.New("suppress: a reason is required")
	case !sup.Until.After(now):
		return fmt.Errorf("suppress %s on %s: until %s is not in the future", sup.Rule, sup.Resource, sup.Until.UTC().Format(time.RFC3339))
	case sup.Until.Sub(now) > MaxDuration:
		return fmt.Errorf("suppress %s on %s: %s is longer than the %s allowed", sup.Rule, sup.Resource, sup.Until.Sub(now).Round(time.Minute), MaxDuration)
	}
	if len(sup.Why) > MaxReason {
		sup.Why = sup.Why[:MaxReason]
	}
	item := attrs(sup)
	item["pk"] = str(itemKey(sup.Rule, sup.Resource))
	item["expiresAt"] = num(sup.Until.Unix())
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}); err != nil {
		return fmt.Errorf("suppress %s on %s: put in table %s: %w", sup.Rule, sup.Resource, s.Table, err)
	}
	// The index: add this one and drop those over.
	old, err := s.index(ctx)
	if err != nil {
		return err
	}
	update := "SET #entries.#k = :entry, #expiresAt = :exp"
	names := map[string]string{"#entries": "entries", "#k": itemKey(sup.Rule, sup.Resource), "#expiresAt": "expiresAt"}
	var removes []string
	latest := sup.Until
	for i, o := range old {
		k := itemKey(o.Rule, o.Resource)
		if k == names["#k"] {
			continue
		}
		if !o.Until.After(now) {
			n := "#r" + strconv.Itoa(i)
			names[n] = k
			removes = append(removes, "#entries."+n)
			continue
		}
		if o.Until.After(latest) {
			latest = o.Until
		}
	}
	if len(removes) > 0 {
		update += " REMOVE " + strings.Join(removes, ", ")
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       map[string]types.AttributeValue{"pk": str(indexKey)},
		UpdateExpression:          aws.String(update),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":entry": &types.AttributeValueMemberM{Value: attrs(sup)}, ":exp": num(latest.Unix())},
	})
	if err == nil {
		return nil
	}
	// A first suppression: the index has no entries map yet.
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       map[string]types.AttributeValue{"pk": str(indexKey)},
		UpdateExpression:          aws.String("SET #entries = if_not_exists(#entries, :empty), #expiresAt = :exp"),
		ExpressionAttributeNames:  map[string]string{"#entries": "entries", "#expiresAt": "expiresAt"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}, ":exp": num(latest.Unix())},
	})
	if err == nil {
		_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.Table),
			Key:                       map[string]types.AttributeValue{"pk": str(indexKey)},
			UpdateExpression:          aws.String("SET #entries.#k = :entry"),
			ExpressionAttributeNames:  map[string]string{"#entries": "entries", "#k": itemKey(sup.Rule, sup.Resource)},
			ExpressionAttributeValues: map[string]types.AttributeValue{":entry": &types.AttributeValueMemberM{Value: attrs(sup)}},
		})
	}
	if err != nil {
		return fmt.Errorf("suppress %s on %s: index in table %s: %w", sup.Rule, sup.Resource, s.Table, err)
	}
	return nil
}

// Active returns the suppression of a rule on a resource, if one is in
// force now.
func (s *Store) Active(ctx context.Context, rule, resource string) (Suppression, bool, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            map[string]types.AttributeValue{"pk": str(itemKey(rule, resource))},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Suppression{}, false, fmt.Errorf("read suppression of %s on %s in table %s: %w", rule, resource, s.Table, err)
	}
	if out.Item == nil {
		return Suppression{}, false, nil
	}
	sup, ok := decode(out.Item)
	if !ok || !sup.Until.After(s.now()) {
		return Suppression{}, false, nil
	}
	return sup, true, nil
}

// List returns the suppressions in force now, soonest to end first.
func (s *Store) List(ctx context.Context) ([]Suppression, error) {
	all, err := s.index(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []Suppression
	for _, sup := range all {
		if sup.Until.After(now) {
			out = append(out, sup)
		}
	}
	slices.SortFunc(out, func(a, b Suppression) int { return a.Until.Compare(b.Until) })
	return out, nil
}

func (s *Store) index(ctx context.Context) ([]Suppression, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            map[string]types.AttributeValue{"pk": str(indexKey)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read the suppression index in table %s: %w", s.Table, err)
	}
	m, _ := out.Item["entries"].(*types.AttributeValueMemberM)
	if m == nil {
		return nil, nil
	}
	var sups []Suppression
	for _, v := range m.Value {
		if e, ok := v.(*types.AttributeValueMemberM); ok {
			if sup, ok := decode(e.Value); ok {
				sups = append(sups, sup)
			}
		}
	}
	return sups, nil
}

func attrs(s Suppression) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"rule": str(s.Rule), "resource": str(s.Resource), "until": num(s.Until.Unix()), "who": str(s.Who), "why": str(s.Why),
	}
}

func decode(item map[string]types.AttributeValue) (Suppression, bool) {
	get := func(k string) string {
		switch v := item[k].(type) {
		case *types.AttributeValueMemberS:
			return v.Value
		case *types.AttributeValueMemberN:
			return v.Value
		}
		return ""
	}
	until, err := strconv.ParseInt(get("until"), 10, 64)
	if err != nil || get("rule") == "" {
		return Suppression{}, false
	}
	return Suppression{Rule: get("rule"), Resource: get("resource"), Until: time.Unix(until, 0).UTC(), Who: get("who"), Why: get("why")}, true
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
