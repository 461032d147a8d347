package lambdaenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// server answers every call with an empty JSON object and records who
// signed it for which region, and the target it was sent to.
type server struct {
	mu    sync.Mutex
	calls []string
}

func (s *server) start(t *testing.T, name string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization") // AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...
		cred, _, _ := strings.Cut(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 Credential="), ",")
		s.mu.Lock()
		s.calls = append(s.calls, name+" "+cred+" token="+r.Header.Get("X-Amz-Security-Token"))
		s.mu.Unlock()
		if strings.Contains(r.Header.Get("Content-Type"), "x-www-form-urlencoded") {
			w.Header().Set("Content-Type", "text/xml")
			_, _ = w.Write([]byte(`<PublishResponse><PublishResult><MessageId>1</MessageId></PublishResult></PublishResponse>`))
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func lambdaEnv(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "token-1")
	for _, v := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_DEFAULT_REGION"} {
		t.Setenv(v, "")
	}
}

// The real SDK clients, built from the configuration, reach the endpoints
// the variables name, signed with the function's credentials and region.
func TestConfigFromTheLambdaEnvironment(t *testing.T) {
	lambdaEnv(t)
	s := &server{}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", s.start(t, "dynamodb-endpoint"))
	t.Setenv("AWS_ENDPOINT_URL", s.start(t, "global-endpoint"))
	cfg, err := Config()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := sns.NewFromConfig(cfg).Publish(ctx, &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:eu-west-1:111122223333:t"), Message: aws.String("m")}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"dynamodb-endpoint ASIAEXAMPLE/" + today() + "/eu-west-1/dynamodb/aws4_request token=token-1",
		"global-endpoint ASIAEXAMPLE/" + today() + "/eu-west-1/sns/aws4_request token=token-1",
	}
	if strings.Join(s.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n got  %s\n want %s", strings.Join(s.calls, "\n      "), strings.Join(want, "\n      "))
	}
}

func TestIgnoreConfiguredEndpoints(t *testing.T) {
	lambdaEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2")
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	cfg, err := Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseEndpoint != nil {
		t.Errorf("BaseEndpoint = %q, want none when endpoints are ignored", *cfg.BaseEndpoint)
	}
	if v, ok, _ := cfg.ConfigSources[0].(*environment).GetServiceBaseEndpoint(context.Background(), "DynamoDB"); ok {
		t.Errorf("service endpoint %q, want none when endpoints are ignored", v)
	}
}

// Service IDs with spaces name their variable with underscores, as the
// SDK's EnvConfig does.
func TestServiceEndpointNames(t *testing.T) {
	lambdaEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:3")
	t.Setenv("AWS_DEFAULT_REGION", "us-east-1")
	t.Setenv("AWS_REGION", "")
	cfg, err := Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "us-east-1" {
		t.Errorf("region %q, want AWS_DEFAULT_REGION's", cfg.Region)
	}
	v, ok, _ := cfg.ConfigSources[0].(*environment).GetServiceBaseEndpoint(context.Background(), "Secrets Manager")
	if !ok || v != "http://127.0.0.1:3" {
		t.Errorf("Secrets Manager endpoint %q, %v", v, ok)
	}
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "maybe")
	if _, err := Config(); err == nil || !strings.Contains(err.Error(), "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
		t.Errorf("got %v, want an error naming AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", err)
	}
}

func TestConfigNamesWhatIsMissing(t *testing.T) {
	lambdaEnv(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	_, err := Config()
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION is not set") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("got %v, want an error naming AWS_REGION and AWS_ACCESS_KEY_ID", err)
	}
}

func today() string { return time.Now().UTC().Format("20060102") }
