package awsfake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
)

// The fake evaluates conditions and updates like DynamoDB does, and
// rejects what it does not understand instead of guessing.
func TestDynamoDBExpressions(t *testing.T) {
	w := awsfake.New(t)
	db := dynamodb.NewFromConfig(awsfake.Config("eu-west-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	ctx := context.Background()
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k"}}
	n := func(s string) types.AttributeValue { return &types.AttributeValueMemberN{Value: s} }
	update := func(expr, cond string, vals map[string]types.AttributeValue) error {
		in := &dynamodb.UpdateItemInput{TableName: aws.String("t"), Key: key, UpdateExpression: aws.String(expr),
			ExpressionAttributeNames: map[string]string{"#n": "n", "#m": "m", "#k": "inner"}, ExpressionAttributeValues: vals}
		if cond != "" {
			in.ConditionExpression = aws.String(cond)
		}
		_, err := db.UpdateItem(ctx, in)
		return err
	}
	code := func(err error) string {
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return ae.ErrorCode()
		}
		return ""
	}
	steps := []struct {
		expr, cond string
		vals       map[string]types.AttributeValue
		want       string // "" or the error code
	}{
		{"SET #n = :v, #m = :empty", "attribute_not_exists(pk)", map[string]types.AttributeValue{":v": n("9"), ":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}}, ""},
		{"SET #n = :v", "attribute_not_exists(pk)", map[string]types.AttributeValue{":v": n("1")}, "ConditionalCheckFailedException"},
		{"ADD #n :v", "#n < :limit", map[string]types.AttributeValue{":v": n("1"), ":limit": n("10")}, ""}, // 9 < 10 numerically
		{"ADD #n :v", "#n < :limit", map[string]types.AttributeValue{":v": n("1"), ":limit": n("10")}, "ConditionalCheckFailedException"},
		{"SET #m.#k = :s", "NOT (#n <> :ten) AND attribute_exists(#m)", map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: "x"}, ":ten": n("10")}, ""},
		{"SET #n = :v", "#n BETWEEN :a AND :b", map[string]types.AttributeValue{":v": n("1"), ":a": n("0"), ":b": n("99")}, "ValidationException"},
		{"SET #n = :missing", "", nil, "ValidationException"},
	}
	for i, s := range steps {
		if got := code(update(s.expr, s.cond, s.vals)); got != s.want {
			t.Fatalf("step %d (%s if %s): error %q, want %q", i, s.expr, s.cond, got, s.want)
		}
	}
	it, _ := w.DynamoDB.Get("t", "k")
	if it.N("n") != "10" {
		t.Fatalf("n = %q, want 10", it.N("n"))
	}
	if m := it["m"].(map[string]any)["M"].(map[string]any); m["inner"].(map[string]any)["S"] != "x" {
		t.Fatalf("m = %v", it["m"])
	}
}
