package k8saudit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const auditEvent = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"a-1","stage":"ResponseComplete",
"requestURI":"/api/v1/namespaces/kube-system/configmaps/aws-auth","verb":"patch",
"user":{"username":"arn:aws:sts::111122223333:assumed-role/dev-team/alice","groups":["system:authenticated"],
"extra":{"arn":["arn:aws:sts::111122223333:assumed-role/dev-team/alice"],"canonicalArn":["arn:aws:iam::111122223333:role/dev-team"],"sessionName":["alice"],"principalId":["AROAEXAMPLE"],"accessKeyId":["ASIAEXAMPLE"]}},
"sourceIPs":["198.51.100.7"],"userAgent":"kubectl/v1.31.2","objectRef":{"resource":"configmaps","namespace":"kube-system","name":"aws-auth","apiVersion":"v1"},
"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"2025-05-06T09:21:03.412233Z","stageTimestamp":"2025-05-06T09:21:03.439871Z"}`

// lambdaEvent wraps a subscription payload as CloudWatch Logs invokes a
// function with it: gzip, then base64, under awslogs.data.
func lambdaEventOf(t testing.TB, payload string) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write([]byte(payload)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(z.Bytes())}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dataMessage(t testing.TB, messages ...string) string {
	t.Helper()
	var les []map[string]any
	for i, m := range messages {
		les = append(les, map[string]any{"id": "3800000000000000000000000000000000000000000000000000000" + string(rune('0'+i)), "timestamp": 1746523263439, "message": m})
	}
	b, err := json.Marshal(map[string]any{"messageType": DataMessage, "owner": "111122223333", "logGroup": "/aws/eks/prod/cluster",
		"logStream": "kube-apiserver-audit-0123", "subscriptionFilters": []string{"eksguard"}, "logEvents": les})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecodeLambdaEvent(t *testing.T) {
	sub, err := DecodeLambdaEvent(lambdaEventOf(t, dataMessage(t, strings.ReplaceAll(auditEvent, "\n", ""))))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := sub.Events("eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1", len(evs))
	}
	ev := evs[0]
	for _, c := range []struct{ name, got, want string }{
		{"cluster", ev.Cluster, "prod"},
		{"account", ev.Account, "111122223333"},
		{"region", ev.Region, "eu-west-1"},
		{"arn", ev.User.ARN(), "arn:aws:sts::111122223333:assumed-role/dev-team/alice"},
		{"canonicalArn", ev.User.CanonicalARN(), "arn:aws:iam::111122223333:role/dev-team"},
		{"principal", ev.User.Principal(), "arn:aws:iam::111122223333:role/dev-team"},
		{"sessionName", ev.User.SessionName(), "alice"},
		{"principalId", ev.User.PrincipalID(), "AROAEXAMPLE"},
		{"accessKeyId", ev.User.AccessKeyID(), "ASIAEXAMPLE"},
		{"object", ev.Object(), "configmaps kube-system/aws-auth"},
		{"stageTimestamp", ev.StageTimestamp.UTC().Format("15:04:05.000000"), "09:21:03.439871"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if !ev.Complete() || ev.Failed() || ev.Denied() {
		t.Errorf("complete/failed/denied: got %v/%v/%v, want true/false/false", ev.Complete(), ev.Failed(), ev.Denied())
	}
}

func TestDecodeErrors(t *testing.T) {
	good := strings.ReplaceAll(auditEvent, "\n", "")
	for _, c := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"not JSON", []byte(`{"awslogs":`), "decode CloudWatch Logs event"},
		{"no awslogs", []byte(`{"Records":[]}`), "no awslogs key"},
		{"empty data", []byte(`{"awslogs":{"data":""}}`), "empty"},
		{"not base64", []byte(`{"awslogs":{"data":"%%%"}}`), "base64"},
		{"not gzip", []byte(`{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString([]byte("plain")) + `"}}`), "gzip"},
		{"unknown message type", lambdaEventOf(t, `{"messageType":"OTHER"}`), `messageType "OTHER"`},
		{"data without log group", lambdaEventOf(t, `{"messageType":"DATA_MESSAGE","logEvents":[]}`), "without a logGroup"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeLambdaEvent(c.raw)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
	// A bad log event is named; the good ones still come back.
	sub, err := DecodeSubscription([]byte(dataMessage(t, good, `{"kind":"Pod"}`)))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := sub.Events("")
	if len(evs) != 1 || !errors.Is(err, ErrNotAudit) || !strings.Contains(err.Error(), "event 38") {
		t.Errorf("got %d events and error %v, want 1 and ErrNotAudit naming the log event", len(evs), err)
	}
	if _, err := Decode([]byte(strings.Replace(good, `"auditID":"a-1",`, "", 1))); err == nil || !strings.Contains(err.Error(), "no auditID") {
		t.Errorf("got %v, want the missing auditID reported", err)
	}
}

func TestControlMessage(t *testing.T) {
	sub, err := DecodeLambdaEvent(lambdaEventOf(t, `{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1746523263439,"message":"CWL CONTROL MESSAGE: Checking health of destination Lambda function."}]}`))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := sub.Events("")
	if len(evs) != 0 || err != nil {
		t.Errorf("got %d events, error %v; want none", len(evs), err)
	}
}

func TestInflateLimit(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for range MaxPayload>>20 + 1 {
		if _, err := zw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	_, err := DecodeData(base64.StdEncoding.EncodeToString(z.Bytes()))
	if err == nil || !strings.Contains(err.Error(), "inflates past") {
		t.Errorf("got %v, want the payload refused for its inflated size", err)
	}
}

func TestCluster(t *testing.T) {
	for in, want := range map[string]string{
		"/aws/eks/prod/cluster": "prod", "/aws/eks/a-b_c/cluster": "a-b_c", "/aws/eks//cluster": "",
		"/aws/eks/prod/other": "", "/aws/lambda/prod/cluster": "", "/aws/eks/a/b/cluster": "",
	} {
		if got := Cluster(in); got != want {
			t.Errorf("Cluster(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestDenied(t *testing.T) {
	for _, c := range []struct {
		status      string
		ann         string
		failed, den bool
	}{
		{`{"code":403}`, ``, true, true},
		{`{"code":409}`, ``, true, false},
		{`{"code":201}`, ``, false, false},
		{`{"code":200}`, `"authorization.k8s.io/decision":"forbid"`, false, true},
	} {
		raw := strings.Replace(strings.ReplaceAll(auditEvent, "\n", ""), `"responseStatus":{"metadata":{},"code":200}`, `"responseStatus":`+c.status+`,"annotations":{`+c.ann+`}`, 1)
		ev, err := Decode([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Failed() != c.failed || ev.Denied() != c.den {
			t.Errorf("%s %s: failed/denied got %v/%v, want %v/%v", c.status, c.ann, ev.Failed(), ev.Denied(), c.failed, c.den)
		}
	}
}

// TestRegionFromDestinationFilter: through the central destination's
// Kinesis stream, the log group's region is the one its eksguard filter
// names; a Lambda filter, another's filter or a malformed suffix names none.
func TestRegionFromDestinationFilter(t *testing.T) {
	if got := DestinationFilterName("us-gov-west-1"); got != "eksguard-kubernetes-audit-us-gov-west-1" {
		t.Errorf("DestinationFilterName: got %q", got)
	}
	for _, c := range []struct {
		filters []string
		want    string
	}{
		{[]string{DestinationFilterName("eu-west-1")}, "eu-west-1"},
		{[]string{"team-splunk", DestinationFilterName("ap-southeast-2")}, "ap-southeast-2"},
		{[]string{SubscriptionFilterName}, ""},
		{[]string{SubscriptionFilterName + "-prod"}, ""},
		{[]string{SubscriptionFilterName + "-eu-west-1x"}, ""},
		{[]string{"other-eu-west-1"}, ""},
		{nil, ""},
	} {
		if got := (&Subscription{SubscriptionFilters: c.filters}).Region(); got != c.want {
			t.Errorf("%v: got region %q, want %q", c.filters, got, c.want)
		}
	}
}

// TestDecodeGzipped: a Kinesis record's data (gzip, no base64) decodes to
// the same payload as the Lambda event that carries it base64'd.
func TestDecodeGzipped(t *testing.T) {
	plain := dataMessage(t, auditEvent)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(plain))
	zw.Close()
	got, err := DecodeGzipped(z.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want, err := DecodeSubscription([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if got.LogGroup != want.LogGroup || got.Owner != want.Owner || len(got.LogEvents) != 1 || got.LogEvents[0].Message != want.LogEvents[0].Message {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := DecodeGzipped([]byte(`{"messageType":"DATA_MESSAGE"}`)); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("plain JSON: got %v, want a gzip error", err)
	}
}
