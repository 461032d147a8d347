package awsfake_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
)

const secretARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:eksguard/slack-AbCdEf"

// The SDK's default configuration, given the World's Env, reaches the
// Secrets Manager fake through AWS_ENDPOINT_URL_SECRETS_MANAGER.
func TestSecretsManagerThroughTheEnvironment(t *testing.T) {
	w := awsfake.New(t)
	for k, v := range w.Env() {
		t.Setenv(k, v)
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRetryer(awsfake.FastRetryer))
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg)
	ctx := context.Background()

	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretARN)})
	var notFound *smtypes.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("secret without a value: err = %v, want ResourceNotFoundException", err)
	}

	w.SecretsManager.Set(secretARN, `{"webhookUrl":"https://hooks.example.com/x"}`)
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretARN)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.SecretString) != `{"webhookUrl":"https://hooks.example.com/x"}` || aws.ToString(out.ARN) != secretARN ||
		aws.ToString(out.Name) != "eksguard/slack-AbCdEf" {
		t.Fatalf("answer = %+v", out)
	}
	calls := w.Log.Of("secretsmanager")
	if len(calls) != 2 || calls[1].String() != "secretsmanager GetSecretValue POST /" {
		t.Fatalf("calls = %v", calls)
	}
	var body struct{ SecretId string }
	calls[1].JSON(t, &body)
	if body.SecretId != secretARN {
		t.Fatalf("SecretId = %q", body.SecretId)
	}
}

// Reset empties every fake, drops queued faults and the log, and keeps the
// URLs; SNS message IDs stay unique across resets.
func TestWorldReset(t *testing.T) {
	w := awsfake.New(t)
	urls := w.Env()
	cfg := awsfake.Config("us-east-1")
	ctx := context.Background()
	snsc := sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(w.SNS.URL) })
	ssmc := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(w.SSM.URL) })
	publish := func() {
		t.Helper()
		if _, err := snsc.Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:111122223333:t"), Message: aws.String("m")}); err != nil {
			t.Fatal(err)
		}
	}

	w.EKS.Put(awsfake.Cluster{Name: "payments-prod"})
	w.IAM.PutRole("payments-prod-node-role", "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy")
	w.DynamoDB.Put("eksguard", awsfake.Item{"pk": map[string]any{"S": "event#1"}})
	w.SSM.Set("/eksguard/remediation", "off")
	w.SecretsManager.Set(secretARN, "https://hooks.example.com/x")
	publish()
	first := w.SNS.Published()[0].ID
	w.SSM.Fail("GetParameter", 1, awsfake.Fault{Status: 400, Code: "ThrottlingException"})

	w.Reset()

	if _, ok := w.EKS.Get("payments-prod"); ok {
		t.Error("cluster kept")
	}
	if _, ok := w.IAM.Attached("payments-prod-node-role"); ok {
		t.Error("role kept")
	}
	if items := w.DynamoDB.Items("eksguard"); len(items) != 0 {
		t.Errorf("items kept: %v", items)
	}
	if p := w.SNS.Published(); len(p) != 0 {
		t.Errorf("messages kept: %v", p)
	}
	if n := len(w.Log.Calls()); n != 0 {
		t.Errorf("%d calls kept in the log", n)
	}
	if !reflect.DeepEqual(w.Env(), urls) {
		t.Errorf("endpoints changed: %v, was %v", w.Env(), urls)
	}
	// The queued fault is gone: the call reaches the (now empty) parameter store.
	_, err := ssmc.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/eksguard/remediation")})
	var notFound *ssmtypes.ParameterNotFound
	if !errors.As(err, &notFound) {
		t.Errorf("GetParameter after reset: %v, want ParameterNotFound", err)
	}
	publish()
	if p := w.SNS.Published(); len(p) != 1 || p[0].ID == first || p[0].ID == "" {
		t.Errorf("message IDs %q then %+v: want a new, unique ID", first, p)
	}
}

// PutParameter creates a String parameter, refuses to replace it without
// Overwrite, and counts versions.
func TestSSMPutParameter(t *testing.T) {
	w := awsfake.New(t)
	c := ssm.NewFromConfig(awsfake.Config("eu-west-1"), func(o *ssm.Options) { o.BaseEndpoint = aws.String(w.SSM.URL) })
	ctx := context.Background()
	put := func(value string, overwrite bool) (int64, error) {
		out, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/eksguard/heartbeat"), Value: aws.String(value),
			Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(overwrite)})
		if err != nil {
			return 0, err
		}
		return out.Version, nil
	}
	if v, err := put("a", false); err != nil || v != 1 {
		t.Fatalf("first put: got version %d, %v; want 1", v, err)
	}
	var exists *ssmtypes.ParameterAlreadyExists
	if _, err := put("b", false); !errors.As(err, &exists) {
		t.Fatalf("put without overwrite: got %v, want ParameterAlreadyExists", err)
	}
	if v, err := put("c", true); err != nil || v != 2 {
		t.Fatalf("overwrite: got version %d, %v; want 2", v, err)
	}
	got, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/eksguard/heartbeat")})
	if err != nil || aws.ToString(got.Parameter.Value) != "c" {
		t.Fatalf("get: got %v, %v; want c", got, err)
	}
}
