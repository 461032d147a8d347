package deferral_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/deferral"
	"github.com/eksguard/eksguard/shared/finding"
)

func TestSendAndDecode(t *testing.T) {
	w := awsfake.New(t)
	q := &deferral.Queue{
		SQS: sqs.NewFromConfig(awsfake.Config("eu-west-1"), func(o *sqs.Options) { o.BaseEndpoint = aws.String(w.SQS.URL) }),
		URL: w.SQS.URL + "/111122223333/eksguard-defer",
	}
	m := deferral.Message{
		Finding: finding.Finding{Rule: "control-plane-logging-disabled", EventID: "ev-1", Cluster: "prod",
			Plan: &finding.Plan{Action: finding.ActionUpdateClusterConfig, Cluster: "prod", EnableLogTypes: []string{"audit"}}},
		Step: "0:control-plane-logging-disabled", Attempt: 2, Counted: true,
	}
	if err := q.Send(context.Background(), m, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	sent := w.SQS.Sent()
	if len(sent) != 1 || sent[0].DelaySeconds != 900 || sent[0].QueueURL != q.URL {
		t.Fatalf("sent = %+v", sent)
	}
	var req map[string]any
	w.Log.Calls()[0].JSON(t, &req)
	if req["DelaySeconds"] != 900.0 || req["QueueUrl"] != q.URL {
		t.Fatalf("request = %v", req)
	}
	got, err := deferral.Decode(sent[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1 || got.Attempt != 2 || !got.Counted || got.Finding.Plan.EnableLogTypes[0] != "audit" || got.Step != m.Step {
		t.Fatalf("decoded = %+v", got)
	}
}

func TestDecodeRejectsBadMessages(t *testing.T) {
	good := deferral.Message{Version: 1, Finding: finding.Finding{EventID: "e", Plan: &finding.Plan{Action: "x"}}, Step: "0:r", Attempt: 2}
	b, _ := json.Marshal(good)
	if _, err := deferral.Decode(string(b)); err != nil {
		t.Fatalf("good message: %v", err)
	}
	for name, body := range map[string]string{
		"not json":   "{",
		"no version": `{"finding":{"eventID":"e","plan":{"action":"x"}},"step":"0:r","attempt":2}`,
		"no plan":    `{"version":1,"finding":{"eventID":"e"},"step":"0:r","attempt":2}`,
		"no step":    `{"version":1,"finding":{"eventID":"e","plan":{"action":"x"}},"attempt":2}`,
		"attempt 0":  `{"version":1,"finding":{"eventID":"e","plan":{"action":"x"}},"step":"0:r"}`,
	} {
		if _, err := deferral.Decode(body); err == nil || !strings.Contains(err.Error(), "decode deferred fix") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestDelaySchedule(t *testing.T) {
	var got []time.Duration
	for a := 2; a <= 7; a++ {
		got = append(got, deferral.Delay(2*time.Minute, a))
	}
	want := []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays = %v, want %v", got, want)
		}
	}
	if d := deferral.Delay(0, 2); d != deferral.DefaultDelay {
		t.Fatalf("default delay = %v", d)
	}
}

func TestSendWithoutQueue(t *testing.T) {
	var q *deferral.Queue
	if err := q.Send(context.Background(), deferral.Message{}, time.Minute); err == nil || !strings.Contains(err.Error(), "EKSGUARD_DEFER_QUEUE_URL") {
		t.Fatalf("err = %v", err)
	}
}
