package awsfake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
)

const (
	policyCluster = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
	policyAdmin   = "arn:aws:iam::aws:policy/AdministratorAccess"
)

func TestEvaluate(t *testing.T) {
	attach := awsfake.Statement{
		Sid: "Attach", Effect: "Allow", Actions: []string{"iam:AttachRolePolicy"},
		Resources: []string{"arn:aws:iam::111122223333:role/*-cluster-role"},
		Condition: map[string]map[string][]string{"ArnEquals": {"iam:PolicyARN": {policyCluster}}},
	}
	role := "arn:aws:iam::111122223333:role/prod-cluster-role"
	pc := map[string][]string{"iam:PolicyARN": {policyCluster}}
	tests := []struct {
		name   string
		policy []awsfake.Statement
		req    awsfake.Request
		want   bool
		reason string
	}{
		{"action, resource and condition match", []awsfake.Statement{attach},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: role, Context: pc}, true, "allowed by statement Attach"},
		{"action is case-insensitive", []awsfake.Statement{attach},
			awsfake.Request{Action: "IAM:attachrolepolicy", Resource: role, Context: pc}, true, "allowed by statement Attach"},
		{"other action", []awsfake.Statement{attach},
			awsfake.Request{Action: "iam:DetachRolePolicy", Resource: role, Context: pc}, false, "no identity-based policy allows the iam:DetachRolePolicy action"},
		{"resource outside the pattern", []awsfake.Statement{attach},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: "arn:aws:iam::111122223333:role/legacy-workers", Context: pc}, false, "no identity-based policy"},
		{"resource is case-sensitive", []awsfake.Statement{attach},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: "arn:aws:iam::111122223333:role/prod-CLUSTER-ROLE", Context: pc}, false, "no identity-based policy"},
		{"resource wildcard spans a path", []awsfake.Statement{attach},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: "arn:aws:iam::111122223333:role/eks/prod-cluster-role", Context: pc}, true, "allowed"},
		{"resource in another account", []awsfake.Statement{attach},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: "arn:aws:iam::444455556666:role/prod-cluster-role", Context: pc}, false, "no identity-based policy"},
		{"condition value differs", []awsfake.Statement{attach},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: role, Context: map[string][]string{"iam:PolicyARN": {policyAdmin}}}, false, "no identity-based policy"},
		{"condition key missing", []awsfake.Statement{attach},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: role}, false, "no identity-based policy"},
		{"condition key names are case-insensitive", []awsfake.Statement{attach},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: role, Context: map[string][]string{"IAM:PolicyArn": {policyCluster}}}, true, "allowed"},
		{"ArnLike wildcard in a part", []awsfake.Statement{{Effect: "Allow", Actions: []string{"iam:*"}, Resources: []string{"*"},
			Condition: map[string]map[string][]string{"ArnLike": {"iam:PolicyARN": {"arn:aws:iam::aws:policy/AmazonEKS*"}}}}},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: role, Context: pc}, true, "allowed"},
		{"ArnLike: a wildcard does not span the parts", []awsfake.Statement{{Effect: "Allow", Actions: []string{"iam:*"}, Resources: []string{"*"},
			Condition: map[string]map[string][]string{"ArnLike": {"iam:PolicyARN": {"arn:aws:iam:*/AmazonEKSClusterPolicy"}}}}},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: role, Context: pc}, false, "no identity-based policy"},
		{"negated operator: the value matches none", []awsfake.Statement{{Effect: "Allow", Actions: []string{"iam:Detach*"}, Resources: []string{"*"},
			Condition: map[string]map[string][]string{"ArnNotEquals": {"iam:PolicyARN": {policyCluster, "arn:aws:iam::aws:policy/X"}}}}},
			awsfake.Request{Action: "iam:DetachRolePolicy", Resource: role, Context: map[string][]string{"iam:PolicyARN": {policyAdmin}}}, true, "allowed"},
		{"negated operator: the value matches one", []awsfake.Statement{{Effect: "Allow", Actions: []string{"iam:Detach*"}, Resources: []string{"*"},
			Condition: map[string]map[string][]string{"ArnNotEquals": {"iam:PolicyARN": {policyCluster, "arn:aws:iam::aws:policy/X"}}}}},
			awsfake.Request{Action: "iam:DetachRolePolicy", Resource: role, Context: pc}, false, "no identity-based policy"},
		{"negated operator: missing key is true", []awsfake.Statement{{Effect: "Allow", Actions: []string{"eks:*"}, Resources: []string{"*"},
			Condition: map[string]map[string][]string{"StringNotEquals": {"eks:namespaces": {"kube-system"}}}}},
			awsfake.Request{Action: "eks:DescribeCluster", Resource: "arn:aws:eks:us-east-1:111122223333:cluster/a"}, true, "allowed"},
		{"IfExists: missing key is true", []awsfake.Statement{{Effect: "Allow", Actions: []string{"eks:*"}, Resources: []string{"*"},
			Condition: map[string]map[string][]string{"StringEqualsIfExists": {"eks:namespaces": {"kube-system"}}}}},
			awsfake.Request{Action: "eks:DescribeCluster", Resource: "arn:aws:eks:us-east-1:111122223333:cluster/a"}, true, "allowed"},
		{"StringLike and StringEqualsIgnoreCase together (AND)", []awsfake.Statement{{Effect: "Allow", Actions: []string{"eks:*"}, Resources: []string{"*"},
			Condition: map[string]map[string][]string{"StringLike": {"k1": {"a*"}}, "StringEqualsIgnoreCase": {"k2": {"B"}}}}},
			awsfake.Request{Action: "eks:X", Resource: "*", Context: map[string][]string{"k1": {"abc"}, "k2": {"c"}}}, false, "no identity-based policy"},
		{"explicit deny wins over an allow", []awsfake.Statement{attach, {Sid: "NoAdmin", Effect: "Deny", Actions: []string{"iam:*"}, NotResources: []string{"arn:aws:iam::*:role/x"}}},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: role, Context: pc}, false, "explicitly denied by statement NoAdmin"},
		{"NotAction", []awsfake.Statement{{Effect: "Allow", NotActions: []string{"iam:*"}, Resources: []string{"*"}}},
			awsfake.Request{Action: "iam:AttachRolePolicy", Resource: role}, false, "no identity-based policy"},
		{"question mark is one character", []awsfake.Statement{{Effect: "Allow", Actions: []string{"dynamodb:?etItem"}, Resources: []string{"arn:aws:dynamodb:*:111122223333:table/t?"}}},
			awsfake.Request{Action: "dynamodb:GetItem", Resource: "arn:aws:dynamodb:us-east-1:111122223333:table/t1"}, true, "allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := awsfake.Evaluate(tt.policy, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.want || !strings.HasPrefix(d.Reason, tt.reason) {
				t.Errorf("got allowed=%v (%s), want %v (%s...)", d.Allowed, d.Reason, tt.want, tt.reason)
			}
		})
	}
}

// An operator awsfake does not implement is an error, never a guess.
func TestUnknownConditionOperatorFailsLoudly(t *testing.T) {
	p := []awsfake.Statement{{Effect: "Allow", Actions: []string{"iam:*"}, Resources: []string{"*"},
		Condition: map[string]map[string][]string{"ForAnyValue:StringLike": {"aws:TagKeys": {"x"}}}}}
	if err := awsfake.Validate(p); err == nil || !strings.Contains(err.Error(), "ForAnyValue:StringLike is not implemented") {
		t.Errorf("Validate: got %v, want an error naming ForAnyValue:StringLike", err)
	}
	if _, err := awsfake.Evaluate(p, awsfake.Request{Action: "iam:GetRole", Resource: "*"}); err == nil {
		t.Error("Evaluate: got no error for an unimplemented operator")
	}
	w := awsfake.New(t)
	if err := w.Enforce(awsfake.Principal{AccessKey: "AKIDX", RoleARN: "arn:aws:iam::111122223333:role/r", Policy: p}); err == nil {
		t.Error("Enforce accepted a policy it cannot evaluate")
	}
}

func config(key, region string) aws.Config {
	c := awsfake.Config(region)
	c.Credentials = credentials.NewStaticCredentialsProvider(key, "secret", "token")
	return c
}

// status is the HTTP status of an SDK error.
func status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// The fakes authorize each call against the policy of the principal whose
// access key signed it, and answer a denial in the service's protocol.
func TestEnforcedCalls(t *testing.T) {
	w := awsfake.New(t)
	const role = "arn:aws:iam::111122223333:role/eksguard-IamFunctionRole"
	err := w.Enforce(awsfake.Principal{AccessKey: "AKIDIAM", RoleARN: role, Session: "eksguard-iam", Policy: []awsfake.Statement{
		{Sid: "Attach", Effect: "Allow", Actions: []string{"iam:AttachRolePolicy"}, Resources: []string{"arn:aws:iam::111122223333:role/*-cluster-role"},
			Condition: map[string]map[string][]string{"ArnEquals": {"iam:PolicyARN": {policyCluster}}}},
		{Sid: "Table", Effect: "Allow", Actions: []string{"dynamodb:UpdateItem"}, Resources: []string{"arn:aws:dynamodb:us-east-1:111122223333:table/state"}},
		{Sid: "Clusters", Effect: "Allow", Actions: []string{"eks:DescribeCluster"}, Resources: []string{"arn:aws:eks:us-east-1:111122223333:cluster/*"}},
		{Sid: "Param", Effect: "Allow", Actions: []string{"ssm:GetParameter"}, Resources: []string{"arn:aws:ssm:us-east-1:111122223333:parameter/eksguard/remediation"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	w.IAM.PutRole("prod-cluster-role")
	w.EKS.Put(awsfake.Cluster{Name: "prod"})
	w.SSM.Set("/eksguard/remediation", "on")
	ctx := context.Background()
	cfg := config("AKIDIAM", "us-east-1")
	ic := iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = aws.String(w.IAM.URL) })
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	ek := func(region string) *eks.Client {
		return eks.NewFromConfig(config("AKIDIAM", region), func(o *eks.Options) { o.BaseEndpoint = aws.String(w.EKS.URL) })
	}
	key := ddbtypes.AttributeValue(&ddbtypes.AttributeValueMemberS{Value: "k"})
	calls := []struct {
		name         string
		call         func() error
		status       int
		code, reason string
	}{
		{"attach an allowed policy", func() error {
			_, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("prod-cluster-role"), PolicyArn: aws.String(policyCluster)})
			return err
		}, 0, "", ""},
		{"attach a policy the condition excludes", func() error {
			_, err := ic.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("prod-cluster-role"), PolicyArn: aws.String(policyAdmin)})
			return err
		}, http.StatusForbidden, "AccessDenied", "iam:AttachRolePolicy on resource: arn:aws:iam::111122223333:role/prod-cluster-role"},
		{"an action not granted", func() error {
			_, err := ic.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("prod-cluster-role")})
			return err
		}, http.StatusForbidden, "AccessDenied", "because no identity-based policy allows the iam:ListAttachedRolePolicies action"},
		{"update the table", func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("state"), Key: map[string]ddbtypes.AttributeValue{"pk": key},
				UpdateExpression: aws.String("SET a = :v"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": key}})
			return err
		}, 0, "", ""},
		{"put into the table", func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("state"), Item: map[string]ddbtypes.AttributeValue{"pk": key}})
			return err
		}, http.StatusBadRequest, "AccessDeniedException", "dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:111122223333:table/state"},
		{"a cluster in the granted region", func() error {
			_, err := ek("us-east-1").DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("prod")})
			return err
		}, 0, "", ""},
		{"the same cluster name signed for another region", func() error {
			_, err := ek("eu-west-1").DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("prod")})
			return err
		}, http.StatusForbidden, "AccessDeniedException", "on resource: arn:aws:eks:eu-west-1:111122223333:cluster/prod"},
		{"the parameter", func() error {
			_, err := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(w.SSM.URL) }).
				GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/eksguard/remediation")})
			return err
		}, 0, "", ""},
		{"publish, not granted", func() error {
			_, err := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(w.SNS.URL) }).
				Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:111122223333:t"), Message: aws.String("m")})
			return err
		}, http.StatusForbidden, "AuthorizationError", "sns:Publish on resource: arn:aws:sns:us-east-1:111122223333:t"},
		{"a key no principal has", func() error {
			_, err := dynamodb.NewFromConfig(config("AKIDSTRANGER", "us-east-1"), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) }).
				GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("state"), Key: map[string]ddbtypes.AttributeValue{"pk": key}})
			return err
		}, http.StatusBadRequest, "UnrecognizedClientException", "security token"},
	}
	for _, c := range calls {
		err := c.call()
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: got %v, want success", c.name, err)
		case c.code != "" && (code(err) != c.code || status(err) != c.status || !strings.Contains(err.Error(), c.reason)):
			t.Errorf("%s: got %d %q (%v), want %d %s mentioning %q", c.name, status(err), code(err), err, c.status, c.code, c.reason)
		}
	}
	if p, _ := w.IAM.Attached("prod-cluster-role"); len(p) != 1 || p[0] != policyCluster {
		t.Errorf("attached policies: got %v, want only the allowed one", p)
	}
	var denied []string
	for _, a := range w.Denied() {
		denied = append(denied, a.Action)
	}
	if got, want := strings.Join(denied, " "), "iam:AttachRolePolicy iam:ListAttachedRolePolicies dynamodb:PutItem eks:DescribeCluster sns:Publish"; got != want {
		t.Errorf("denied: got %s, want %s", got, want)
	}
	for _, c := range w.Log.Calls() {
		if c.Caller != role && !(c.Service == "dynamodb" && c.Op == "GetItem") {
			t.Errorf("%s: caller %q, want %s", c, c.Caller, role)
		}
	}
	w.Reset()
	if n := len(w.Denied()); n != 5 {
		t.Errorf("after Reset: got %d denials, want the 5 kept", n)
	}
}
