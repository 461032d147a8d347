package auditsub

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/rules"
)

// logsFake is CloudWatch Logs as its API reference describes the two
// operations: the awsJson1_1 protocol (POST /, X-Amz-Target
// Logs_20140328.<Operation>), errors as HTTP 400 with a JSON __type.
type logsFake struct {
	mu     sync.Mutex
	groups map[string]bool
	deny   bool
	calls  []string
	puts   []map[string]string
}

func (f *logsFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	body, _ := io.ReadAll(r.Body)
	var in map[string]string
	if r.Method != http.MethodPost || r.URL.Path != "/" || json.Unmarshal(body, &in) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.calls = append(f.calls, op)
	fail := func(typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if f.deny {
		fail("AccessDeniedException", "User is not authorized to perform: logs:"+op)
		return
	}
	switch op {
	case "PutSubscriptionFilter":
		if !f.groups[in["logGroupName"]] {
			fail("ResourceNotFoundException", "The specified log group does not exist.")
			return
		}
		f.puts = append(f.puts, in)
	case "CreateLogGroup":
		if f.groups[in["logGroupName"]] {
			fail("ResourceAlreadyExistsException", "The specified log group already exists")
			return
		}
		f.groups[in["logGroupName"]] = true
	default:
		fail("UnknownOperationException", op)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	io.WriteString(w, "{}")
}

func subscriber(t *testing.T, f *logsFake) *Subscriber {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), BaseEndpoint: aws.String(srv.URL)}
	return &Subscriber{Logs: cloudwatchlogs.NewFromConfig(cfg), Destination: "arn:aws:lambda:eu-west-1:111122223333:function:eksguard-kubernetes"}
}

func record(t *testing.T, name, params, errorCode string) *cloudtrail.Record {
	t.Helper()
	rec := map[string]any{"eventVersion": "1.09", "eventID": "e-1", "eventTime": "2025-05-06T09:21:03Z", "eventSource": "eks.amazonaws.com",
		"eventName": name, "awsRegion": "eu-west-1", "recipientAccountId": "111122223333",
		"userIdentity": map[string]any{"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/terraform-deployer/run"}, "requestParameters": json.RawMessage(params)}
	if errorCode != "" {
		rec["errorCode"] = errorCode
	}
	b, _ := json.Marshal(rec)
	r, err := cloudtrail.DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const auditOn = `{"name":"prod","logging":{"clusterLogging":[{"types":["api","audit"],"enabled":true}]}}`

func TestSubscribes(t *testing.T) {
	f := &logsFake{groups: map[string]bool{"/aws/eks/prod/cluster": true}}
	if err := subscriber(t, f).Subscribe(context.Background(), record(t, "UpdateClusterConfig", auditOn, ""), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if len(f.puts) != 1 {
		t.Fatalf("got calls %v, want one PutSubscriptionFilter", f.calls)
	}
	want := map[string]string{"logGroupName": "/aws/eks/prod/cluster", "filterName": k8saudit.SubscriptionFilterName, "filterPattern": rules.AuditFilterPattern(),
		"destinationArn": "arn:aws:lambda:eu-west-1:111122223333:function:eksguard-kubernetes"}
	for k, v := range want {
		if got := f.puts[0][k]; got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
}

func TestCreatesTheMissingLogGroup(t *testing.T) {
	f := &logsFake{groups: map[string]bool{}}
	create := `{"name":"prod","roleArn":"arn:aws:iam::111122223333:role/prod-cluster-role","logging":{"clusterLogging":[{"types":["audit"],"enabled":true}]}}`
	if err := subscriber(t, f).Subscribe(context.Background(), record(t, "CreateCluster", create, ""), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, " "); got != "PutSubscriptionFilter CreateLogGroup PutSubscriptionFilter" {
		t.Errorf("got calls %s, want the group created between two PutSubscriptionFilter", got)
	}
	if len(f.puts) != 1 || !f.groups["/aws/eks/prod/cluster"] {
		t.Errorf("got %d filters and groups %v, want the filter on the new group", len(f.puts), f.groups)
	}
}

func TestNothingToSubscribe(t *testing.T) {
	f := &logsFake{groups: map[string]bool{"/aws/eks/prod/cluster": true}}
	s := subscriber(t, f)
	for _, c := range []struct{ name, event, params, code string }{
		{"audit turned off", "UpdateClusterConfig", `{"name":"prod","logging":{"clusterLogging":[{"types":["audit"],"enabled":false}]}}`, ""},
		{"api only", "UpdateClusterConfig", `{"name":"prod","logging":{"clusterLogging":[{"types":["api"],"enabled":true}]}}`, ""},
		{"enabled unstated", "UpdateClusterConfig", `{"name":"prod","logging":{"clusterLogging":[{"types":["audit"]}]}}`, ""},
		{"endpoint change", "UpdateClusterConfig", `{"name":"prod","resourcesVpcConfig":{"endpointPublicAccess":false}}`, ""},
		{"denied", "UpdateClusterConfig", auditOn, "AccessDeniedException"},
	} {
		if err := s.Subscribe(context.Background(), record(t, c.event, c.params, c.code), slog.New(slog.DiscardHandler)); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("got calls %v, want none", f.calls)
	}
}

func TestSubscribeFails(t *testing.T) {
	f := &logsFake{groups: map[string]bool{"/aws/eks/prod/cluster": true}, deny: true}
	err := subscriber(t, f).Subscribe(context.Background(), record(t, "UpdateClusterConfig", auditOn, ""), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "/aws/eks/prod/cluster") || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("got %v, want the denial on the log group", err)
	}
}
