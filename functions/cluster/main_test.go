//go:build e2e

package main

import (
	"encoding/json"
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/lambdatest"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/notify"
)

// The real binary under the Lambda runtime emulator: an EventBridge event
// whose fix meets a busy cluster is deferred, and the SQS batch from the
// defer queue is answered with a partial batch response.
func TestClusterFunctionUnderTheLambdaRuntime(t *testing.T) {
	w := awsfake.New(t)
	queue := w.SQS.URL + "/111122223333/eksguard-defer"
	env := w.Env()
	maps.Copy(env, map[string]string{
		config.EnvPolicy:              `{"version":1,"defaults":{"mode":"remediate"},"principals":{"admins":["arn:aws:iam::111122223333:role/platform-admins"]}}`,
		config.EnvTable:               "eksguard",
		config.EnvTopicARN:            "arn:aws:sns:eu-west-1:111122223333:eksguard-findings",
		config.EnvRemediationRoleARN:  "arn:aws:iam::111122223333:role/eksguard-*",
		config.EnvKillSwitchParameter: "/eksguard/remediation",
		config.EnvDeferQueueURL:       queue,
	})
	w.SSM.Set("/eksguard/remediation", "on")
	w.EKS.Put(awsfake.Cluster{Name: "payments-prod", PublicAccess: true, PrivateAccess: true, Logs: []string{"api"}})
	w.EKS.Fail("UpdateClusterConfig", 1, awsfake.Fault{Status: 409, Code: "ResourceInUseException", Message: "update in progress"})
	fn := lambdatest.Start(t, ".", env)

	ev, err := os.ReadFile("../../events/cluster/update-config-disable-audit-logging.json")
	if err != nil {
		t.Fatal(err)
	}
	if out := strings.TrimSpace(string(fn.Invoke(t, ev))); out != "null" {
		t.Fatalf("EventBridge event answered %s", out)
	}
	sent := w.SQS.Sent()
	if len(sent) != 1 || sent[0].QueueURL != queue {
		t.Fatalf("queued = %+v", sent)
	}

	batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "garbled", Body: "{", EventSource: "aws:sqs"},
		{MessageId: sent[0].ID, Body: sent[0].Body, EventSource: "aws:sqs"},
	}})
	var resp events.SQSEventResponse
	if err := json.Unmarshal(fn.Invoke(t, batch), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "garbled" {
		t.Fatalf("batch response = %+v", resp)
	}
	var outcomes []string
	for _, p := range w.SNS.Published() {
		f, err := notify.DecodeMessage(p.Message)
		if err != nil {
			t.Fatal(err)
		}
		outcomes = append(outcomes, f.Rule+"/"+string(f.Outcome.Status))
	}
	if got := strings.Join(outcomes, " "); got != "control-plane-logging-disabled/deferred control-plane-logging-disabled/remediated" {
		t.Fatalf("alerts = %s", got)
	}
	if c, _ := w.EKS.Get("payments-prod"); strings.Join(c.Logs, ",") != "api,audit,authenticator" {
		t.Fatalf("logs after = %v", c.Logs)
	}

	// A malformed event fails the invocation, so Lambda retries and dead-letters it.
	out := string(fn.Invoke(t, []byte(`{"detail-type":"AWS API Call via CloudTrail","detail":"x"}`)))
	if !strings.Contains(out, "errorMessage") || !strings.Contains(out, "eksguard cluster") {
		t.Fatalf("malformed event answered %s", out)
	}
}
