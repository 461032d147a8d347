package auditsub

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/eksguard/eksguard/internal/testsupport/stsfake"
	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/guard"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/lambdaenv"
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
	// scopes are the Credential of each request's signature: access key,
	// date, region, service.
	scopes []string
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
	if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		cred, _, _ = strings.Cut(cred, ",")
		f.scopes = append(f.scopes, cred)
	}
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
		f.puts = slices.DeleteFunc(f.puts, func(p map[string]string) bool {
			return p["logGroupName"] == in["logGroupName"] && p["filterName"] == in["filterName"]
		})
		f.puts = append(f.puts, in)
	case "DescribeSubscriptionFilters":
		if !f.groups[in["logGroupName"]] {
			fail("ResourceNotFoundException", "The specified log group does not exist.")
			return
		}
		var out []map[string]any
		for _, p := range f.puts {
			if p["logGroupName"] == in["logGroupName"] && strings.HasPrefix(p["filterName"], in["filterNamePrefix"]) {
				out = append(out, map[string]any{"filterName": p["filterName"], "logGroupName": p["logGroupName"], "filterPattern": p["filterPattern"],
					"destinationArn": p["destinationArn"], "distribution": "ByLogStream", "creationTime": 1746523263439})
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"subscriptionFilters": out})
		return
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

const (
	central  = "111122223333"
	member   = "444455556666"
	function = "arn:aws:lambda:eu-west-1:111122223333:function:eksguard-kubernetes"
)

// subscriber is the cluster function's Subscriber in eu-west-1, its
// CloudWatch Logs clients those of the fake in the account's region;
// org makes it the central account's in organization mode.
func subscriber(t *testing.T, f *logsFake, org bool) *Subscriber {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s := &Subscriber{Region: "eu-west-1", Function: function, Logs: func(account, region string) LogsClient {
		cfg := aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("AKID"+account, "SECRET", ""), BaseEndpoint: aws.String(srv.URL)}
		return cloudwatchlogs.NewFromConfig(cfg)
	}}
	if org {
		s.Account, s.Destination = central, "eksguard-audit"
	}
	return s
}

func record(t *testing.T, name, params, errorCode string) *cloudtrail.Record {
	t.Helper()
	return recordIn(t, central, "eu-west-1", name, params, errorCode)
}

func recordIn(t *testing.T, account, region, name, params, errorCode string) *cloudtrail.Record {
	t.Helper()
	rec := map[string]any{"eventVersion": "1.09", "eventID": "e-1", "eventTime": "2025-05-06T09:21:03Z", "eventSource": "eks.amazonaws.com",
		"eventName": name, "awsRegion": region, "recipientAccountId": account,
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
	if err := subscriber(t, f, false).Subscribe(context.Background(), record(t, "UpdateClusterConfig", auditOn, ""), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if len(f.puts) != 1 {
		t.Fatalf("got calls %v, want one PutSubscriptionFilter", f.calls)
	}
	want := map[string]string{"logGroupName": "/aws/eks/prod/cluster", "filterName": k8saudit.SubscriptionFilterName, "filterPattern": rules.AuditFilterPattern(),
		"destinationArn": function}
	for k, v := range want {
		if got := f.puts[0][k]; got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
}

func TestCreatesTheMissingLogGroup(t *testing.T) {
	f := &logsFake{groups: map[string]bool{}}
	create := `{"name":"prod","roleArn":"arn:aws:iam::111122223333:role/prod-cluster-role","logging":{"clusterLogging":[{"types":["audit"],"enabled":true}]}}`
	if err := subscriber(t, f, false).Subscribe(context.Background(), record(t, "CreateCluster", create, ""), slog.New(slog.DiscardHandler)); err != nil {
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
	s := subscriber(t, f, false)
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
	err := subscriber(t, f, false).Subscribe(context.Background(), record(t, "UpdateClusterConfig", auditOn, ""), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "/aws/eks/prod/cluster") || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("got %v, want the denial on the log group", err)
	}
}

// In organization mode, a member account's cluster is subscribed to the central destination
// of the log group's region, under the filter name that carries the
// region, with the clients of that account and region; the central
// account's own cluster in the function's region, to the function.
func TestSubscribesThroughTheDestination(t *testing.T) {
	for _, c := range []struct {
		name, account, region, dest, filter, scope string
	}{
		{"member", member, "us-east-1", "arn:aws:logs:us-east-1:111122223333:destination:eksguard-audit", "eksguard-kubernetes-audit-us-east-1", "AKID" + member + "/us-east-1/logs"},
		{"member, central region", member, "eu-west-1", "arn:aws:logs:eu-west-1:111122223333:destination:eksguard-audit", "eksguard-kubernetes-audit-eu-west-1", "AKID" + member + "/eu-west-1/logs"},
		{"central, own region", central, "eu-west-1", function, k8saudit.SubscriptionFilterName, "AKID" + central + "/eu-west-1/logs"},
		{"gov cloud member", member, "us-gov-west-1", "arn:aws-us-gov:logs:us-gov-west-1:111122223333:destination:eksguard-audit", "eksguard-kubernetes-audit-us-gov-west-1", "AKID" + member + "/us-gov-west-1/logs"},
	} {
		f := &logsFake{groups: map[string]bool{"/aws/eks/prod/cluster": true}}
		if err := subscriber(t, f, true).Subscribe(context.Background(), recordIn(t, c.account, c.region, "UpdateClusterConfig", auditOn, ""), slog.New(slog.DiscardHandler)); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(f.puts) != 1 || len(f.scopes) != 1 {
			t.Fatalf("%s: got calls %v, want one PutSubscriptionFilter", c.name, f.calls)
		}
		if got := f.puts[0]; got["destinationArn"] != c.dest || got["filterName"] != c.filter || got["logGroupName"] != "/aws/eks/prod/cluster" || got["roleArn"] != "" {
			t.Errorf("%s: put %v, want destination %s, filter %s, no role", c.name, got, c.dest, c.filter)
		}
		if key, rest, _ := strings.Cut(f.scopes[0], "/"); key+"/"+rest[strings.Index(rest, "/")+1:] != c.scope+"/aws4_request" {
			t.Errorf("%s: signed with %s, want %s", c.name, f.scopes[0], c.scope)
		}
	}
}

// A cluster of the function's own account in another region than the
// function's has nowhere to send its audit log, with or without an
// organization: nothing is put (the log says why), and the event does not
// fail for it.
func TestOwnAccountOtherRegion(t *testing.T) {
	for _, org := range []bool{false, true} {
		f := &logsFake{groups: map[string]bool{"/aws/eks/prod/cluster": true}}
		var logs strings.Builder
		err := subscriber(t, f, org).Subscribe(context.Background(), recordIn(t, central, "us-west-2", "UpdateClusterConfig", auditOn, ""), slog.New(slog.NewJSONHandler(&logs, nil)))
		if err != nil || len(f.calls) != 0 {
			t.Errorf("org %v: got error %v and calls %v, want neither", org, err, f.calls)
		}
		if !strings.Contains(logs.String(), `"level":"WARN"`) || !strings.Contains(logs.String(), `"region":"us-west-2"`) {
			t.Errorf("org %v: logged %s, want a warning naming the region", org, logs.String())
		}
	}
}

// With, in organization mode, reaches a member account's log groups with
// the credentials of its remediation role (assumed through the guard's
// cache) in the event's region, and names the central destination.
func TestWithUsesTheMemberRole(t *testing.T) {
	f := &logsFake{groups: map[string]bool{"/aws/eks/prod/cluster": true}}
	logsSrv := httptest.NewServer(f)
	t.Cleanup(logsSrv.Close)
	sts := stsfake.New(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", logsSrv.URL)
	cfg, err := lambdaenv.Config()
	if err != nil {
		t.Fatal(err)
	}
	s := config.Settings{Account: central, MemberRoleName: "eksguard-remediation", AuditFunctionARN: function, AuditDestination: "eksguard-audit"}
	g := &guard.Guard{MemberRoles: guard.MemberRoles(cfg, s)}
	With(g, cfg, s)
	if g.Subscriber == nil {
		t.Fatal("With set no Subscriber")
	}
	if err := g.Subscriber.Subscribe(context.Background(), recordIn(t, member, "us-east-1", "UpdateClusterConfig", auditOn, ""), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if calls := sts.Calls(); len(calls) != 1 || calls[0].RoleARN != "arn:aws:iam::444455556666:role/eksguard-remediation" {
		t.Errorf("got AssumeRole calls %+v, want the member's remediation role once", calls)
	}
	if len(f.scopes) != 1 || !strings.HasPrefix(f.scopes[0], stsfake.AccessKeyFor(member)+"/") || !strings.Contains(f.scopes[0], "/us-east-1/logs/") {
		t.Errorf("signed with %v, want the member role's key in us-east-1", f.scopes)
	}
	if len(f.puts) != 1 || f.puts[0]["destinationArn"] != "arn:aws:logs:us-east-1:111122223333:destination:eksguard-audit" {
		t.Errorf("put %v, want the us-east-1 destination", f.puts)
	}
}

// Ensure (the scheduled scan) puts the filter on a cluster whose audit log
// is on and that has none, or one gone stale, and leaves one that is as it
// should be; a group EKS has not made yet is created.
func TestEnsure(t *testing.T) {
	f := &logsFake{groups: map[string]bool{"/aws/eks/prod/cluster": true}}
	s := subscriber(t, f, true)
	ctx, log := context.Background(), slog.New(slog.DiscardHandler)
	put, err := s.Ensure(ctx, member, "us-east-1", "prod", log)
	if err != nil || !put {
		t.Fatalf("first: put %v, error %v; want the filter put", put, err)
	}
	if got := strings.Join(f.calls, " "); got != "DescribeSubscriptionFilters PutSubscriptionFilter" {
		t.Errorf("first: calls %s", got)
	}
	f.calls = nil
	if put, err := s.Ensure(ctx, member, "us-east-1", "prod", log); err != nil || put {
		t.Errorf("again: put %v, error %v; want nothing put", put, err)
	}
	if got := strings.Join(f.calls, " "); got != "DescribeSubscriptionFilters" {
		t.Errorf("again: calls %s, want only the read", got)
	}
	// Someone pointed eksguard's filter elsewhere: it is put back.
	f.puts[0]["destinationArn"] = "arn:aws:logs:us-east-1:999999999999:destination:elsewhere"
	if put, err := s.Ensure(ctx, member, "us-east-1", "prod", log); err != nil || !put {
		t.Errorf("stale: put %v, error %v; want the filter put back", put, err)
	}
	if len(f.puts) != 1 || f.puts[0]["destinationArn"] != "arn:aws:logs:us-east-1:111122223333:destination:eksguard-audit" {
		t.Errorf("stale: filters %v, want the one filter to the destination", f.puts)
	}
	f.calls = nil
	if put, err := s.Ensure(ctx, member, "us-east-1", "new", log); err != nil || !put || !f.groups["/aws/eks/new/cluster"] {
		t.Errorf("no group: put %v, error %v, groups %v; want it created and subscribed", put, err, f.groups)
	}
	if got := strings.Join(f.calls, " "); got != "DescribeSubscriptionFilters PutSubscriptionFilter CreateLogGroup PutSubscriptionFilter" {
		t.Errorf("no group: calls %s", got)
	}
	f.deny = true
	if _, err := s.Ensure(ctx, member, "us-east-1", "prod", log); err == nil || !strings.Contains(err.Error(), "describe subscription filters of /aws/eks/prod/cluster in 444455556666 us-east-1") {
		t.Errorf("denied: got %v, want the read's failure named", err)
	}
}
