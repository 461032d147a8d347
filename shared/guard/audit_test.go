package guard_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
)

// logsEvent is a sample of events/kubernetes (a subscription payload) as
// CloudWatch Logs invokes a function with it: gzip'd, base64'd, under
// awslogs.data; change may alter the payload first.
func logsEvent(t *testing.T, path string, change func(sub map[string]any)) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "kubernetes", path))
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		var sub map[string]any
		if err := json.Unmarshal(b, &sub); err != nil {
			t.Fatal(err)
		}
		change(sub)
		if b, err = json.Marshal(sub); err != nil {
			t.Fatal(err)
		}
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	out, _ := json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(z.Bytes())}})
	return out
}

func TestHandleLogsPublishesOnce(t *testing.T) {
	h := newHarness(t, families.Kubernetes, notifyAll, nil)
	ev := logsEvent(t, "aws-auth-dev-role-mapped-to-masters.json", nil)
	if err := h.g.HandleLogs(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	h.ops("dynamodb:UpdateItem", // claim k8s/<cluster>/<auditID>
		"dynamodb:UpdateItem", // outcome recorded
		"sns:Publish",         // alert
		"dynamodb:UpdateItem", // published recorded
		"dynamodb:UpdateItem") // completed
	f := one(t, h.published())
	if f.Rule != "aws-auth-admin-mapped" || f.Cluster != "checkout-prod" || f.Region != "eu-west-1" || f.Account != "111122223333" ||
		f.Actor.Role != "arn:aws:iam::111122223333:role/dev-team" || f.Outcome.Status != finding.StatusNoPlan ||
		!strings.Contains(f.Command, "kubectl -n kube-system edit configmap aws-auth") {
		t.Errorf("published %+v, want aws-auth-admin-mapped on checkout-prod in eu-west-1 by the dev-team role, no plan, with its kubectl command", f)
	}
	h.w.Log.Reset()
	if err := h.g.HandleLogs(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	h.ops("dynamodb:UpdateItem") // the claim finds it completed
	if n := len(h.w.SNS.Published()); n != 1 {
		t.Errorf("redelivery: %d messages published in all, want 1", n)
	}
}

func TestHandleLogsQuiet(t *testing.T) {
	h := newHarness(t, families.Kubernetes, notifyAll, nil)
	for _, name := range []string{"aws-auth-node-role-added-by-eks.json", "clusterrolebinding-cluster-admin-to-system-sa.json", "aws-auth-read.json"} {
		if err := h.g.HandleLogs(context.Background(), logsEvent(t, name, nil)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	control := logsEvent(t, "aws-auth-read.json", func(s map[string]any) {
		s["messageType"], s["logGroup"], s["logStream"] = "CONTROL_MESSAGE", "", ""
		s["logEvents"] = []any{map[string]any{"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda function."}}
	})
	if err := h.g.HandleLogs(context.Background(), control); err != nil {
		t.Errorf("control message: %v", err)
	}
	h.ops() // no finding, no write
}

func TestHandleLogsErrors(t *testing.T) {
	h := newHarness(t, families.Kubernetes, notifyAll, nil)
	for _, c := range []struct {
		name string
		ev   json.RawMessage
		want string
	}{
		{"not a subscription event", json.RawMessage(`{"detail-type":"AWS API Call via CloudTrail"}`), "no awslogs key"},
		{"another log group", logsEvent(t, "aws-auth-deleted.json", func(s map[string]any) { s["logGroup"] = "/aws/lambda/x" }), "not an EKS cluster's audit log"},
		{"the authenticator's stream", logsEvent(t, "aws-auth-deleted.json", func(s map[string]any) { s["logStream"] = "authenticator-0123" }), "not an EKS cluster's audit log"},
	} {
		if err := h.g.HandleLogs(context.Background(), c.ev); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	h.ops()
	// A log event that is not an audit event fails the payload, after the
	// good one beside it is published.
	mixed := logsEvent(t, "aws-auth-deleted.json", func(s map[string]any) {
		les := s["logEvents"].([]any)
		s["logEvents"] = append([]any{map[string]any{"id": "1", "timestamp": 1, "message": "not json"}}, les...)
	})
	if err := h.g.HandleLogs(context.Background(), mixed); err == nil || !strings.Contains(err.Error(), "event 1") {
		t.Errorf("got %v, want the bad log event named", err)
	}
	if f := one(t, h.published()); f.Rule != "aws-auth-changed" {
		t.Errorf("published %s, want aws-auth-changed", f.Rule)
	}
}

// subscriberFunc is a guard.AuditSubscriber for the cluster function's tests.
type subscriberFunc func(rec *cloudtrail.Record) error

func (f subscriberFunc) Subscribe(_ context.Context, rec *cloudtrail.Record, _ *slog.Logger) error {
	return f(rec)
}

// The cluster function subscribes the kubernetes function when an event
// turns the audit log on; a failure fails the event after its findings are
// published, so the retry only subscribes again.
func TestClusterEventSubscribes(t *testing.T) {
	h := newHarness(t, families.Cluster, notifyAll, nil)
	var seen []string
	h.g.Subscriber = subscriberFunc(func(rec *cloudtrail.Record) error {
		seen = append(seen, rec.EventName)
		return errors.New("put subscription filter on /aws/eks/checkout-prod/cluster: AccessDeniedException")
	})
	err := h.g.HandleEvent(context.Background(), event(t, "cluster/create-cluster-with-defaults.json", nil))
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("got %v, want the subscription's failure", err)
	}
	if len(seen) != 1 || seen[0] != "CreateCluster" {
		t.Errorf("subscriber saw %v, want the CreateCluster", seen)
	}
	if fs := h.published(); len(fs) == 0 {
		t.Error("no finding published before the subscription's failure")
	}
	h.w.Log.Reset()
	h.g.Subscriber = subscriberFunc(func(*cloudtrail.Record) error { return nil })
	if err := h.g.HandleEvent(context.Background(), event(t, "cluster/create-cluster-with-defaults.json", nil)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	h.ops("dynamodb:UpdateItem") // the claim finds the event completed
}

// kinesisBatch is a Kinesis event as Lambda delivers the central audit
// stream's records (organization mode): each record's data is a gzip'd
// subscription payload (JSON encodes it base64, as Lambda does).
func kinesisBatch(t *testing.T, datas ...[]byte) json.RawMessage {
	t.Helper()
	var recs []map[string]any
	for i, d := range datas {
		recs = append(recs, map[string]any{
			"kinesis": map[string]any{"kinesisSchemaVersion": "1.0", "partitionKey": "5c0b0f3c8a1e", "sequenceNumber": fmt.Sprintf("4959011351186885446366227017936460939797%04d", i),
				"data": d, "approximateArrivalTimestamp": 1746523264.123},
			"eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": fmt.Sprintf("shardId-000000000000:4959011351186885446366227017936460939797%04d", i),
			"eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::111122223333:role/eksguard-kubernetes", "awsRegion": "eu-west-1",
			"eventSourceARN": "arn:aws:kinesis:eu-west-1:111122223333:stream/eksguard-audit",
		})
	}
	b, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gzipped is the data of a Kinesis record: a sample's payload, gzip'd.
func gzipped(t *testing.T, path string, change func(sub map[string]any)) []byte {
	t.Helper()
	var ev struct {
		AWSLogs struct {
			Data string `json:"data"`
		} `json:"awslogs"`
	}
	if err := json.Unmarshal(logsEvent(t, path, change), &ev); err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A member account's payload through the central stream: judged as that
// account's, in the region its filter names; at the first record that
// fails, the batch stops and reports it, so the retry starts there.
func TestHandleKinesis(t *testing.T) {
	h := newHarness(t, families.Kubernetes, notifyAll, nil)
	member := func(s map[string]any) {
		s["owner"] = "444455556666"
		s["subscriptionFilters"] = []any{"eksguard-kubernetes-audit-us-east-1"}
	}
	batch := kinesisBatch(t,
		gzipped(t, "aws-auth-dev-role-mapped-to-masters.json", member),
		[]byte("not gzip"),
		gzipped(t, "aws-auth-deleted.json", member))
	out, err := h.g.HandleAudit(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(out)
	if want := `{"batchItemFailures":[{"itemIdentifier":"49590113511868854463662270179364609397970001"}]}`; string(b) != want {
		t.Errorf("got response %s, want %s", b, want)
	}
	f := one(t, h.published())
	if f.Rule != "aws-auth-admin-mapped" || f.Account != "444455556666" || f.Region != "us-east-1" || f.Cluster != "checkout-prod" {
		t.Errorf("published %s in %s %s on %s, want aws-auth-admin-mapped in 444455556666 us-east-1 on checkout-prod", f.Rule, f.Account, f.Region, f.Cluster)
	}

	// All handled: an empty failure list (Lambda reads a missing one as
	// success too, but an empty list says so plainly).
	h2 := newHarness(t, families.Kubernetes, notifyAll, nil)
	out, err = h2.g.HandleAudit(context.Background(), kinesisBatch(t, gzipped(t, "aws-auth-read.json", nil)))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(out); string(b) != `{"batchItemFailures":[]}` {
		t.Errorf("got response %s, want no failures", b)
	}
	h2.ops()
}

// HandleAudit hands a subscription's own event to HandleLogs.
func TestHandleAuditLambdaEvent(t *testing.T) {
	h := newHarness(t, families.Kubernetes, notifyAll, nil)
	out, err := h.g.HandleAudit(context.Background(), logsEvent(t, "aws-auth-deleted.json", nil))
	if err != nil || out != nil {
		t.Fatalf("got %v, %v; want no response and no error", out, err)
	}
	if f := one(t, h.published()); f.Rule != "aws-auth-changed" || f.Region != "eu-west-1" {
		t.Errorf("published %s in %s, want aws-auth-changed in the function's region eu-west-1", f.Rule, f.Region)
	}
	if _, err := h.g.HandleAudit(context.Background(), json.RawMessage(`{"Records":"x"}`)); err == nil || !strings.Contains(err.Error(), "decode Kinesis batch") {
		t.Errorf("got %v, want the batch's decoding error", err)
	}
}
