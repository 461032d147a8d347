//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/asff"
	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/hubimport"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

// security-hub: a stack synthesized with securityHub on; its hub function,
// under the emulator, gets SQS batches from its queue (raw messages, as the
// topic delivers them) holding every sample event's findings and one
// unreadable message. It imports each finding into this account's default
// product, signed as its own role, whose one Security Hub grant is that
// product; the unreadable message is the one batch item failure (SQS
// redelivers it, then dead-letters it). A later batch with the fix of one
// finding archives that same document.
func scenarioSecurityHub(t *testing.T, s *stand) string {
	buildDir := filepath.Join(s.root, "build")
	w := awsfake.New(t)
	d := loadDeployment(t, synth(t, s.root, writePolicy(t, s.root), buildDir, "securityHub=on"), buildDir, w.SQS.URL)
	fn := d.Functions[hubimport.Name]
	if fn == nil {
		t.Fatalf("the stack synthesized with securityHub=on has no hub function: %v", sortedKeys(d.Functions))
	}
	batch := 0
	for _, m := range d.Mappings {
		if m.Target == hubimport.Name && m.ReportFailures {
			batch = m.BatchSize
		}
	}
	if batch != 100 {
		t.Fatalf("the hub function's queue mapping: batch size %d with partial failures, want 100", batch)
	}
	if err := w.Enforce(principal(fn)); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range w.Env() {
		if k == "AWS_ENDPOINT_URL_SECURITYHUB" || k == "AWS_ENDPOINT_URL_DYNAMODB" || k == "AWS_EC2_METADATA_DISABLED" || k == "AWS_CONFIG_FILE" || k == "AWS_SHARED_CREDENTIALS_FILE" {
			env[k] = v
		}
	}
	lf := startFunction(t, s.rie, s.launch, fn, env)

	var fs []finding.Finding
	for _, ev := range s.events {
		rec, err := cloudtrail.DecodeEvent(ev.Raw)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, rules.Assess(rec, policy.Default())...)
	}
	var sqs events.SQSEvent
	ids := map[string]bool{}
	for i := range fs {
		body, err := notify.FindingJSON(&fs[i], 250_000, true)
		if err != nil {
			t.Fatal(err)
		}
		sqs.Records = append(sqs.Records, events.SQSMessage{MessageId: "m" + strconv.Itoa(i), Body: body, EventSource: "aws:sqs"})
		ids[asff.ID(&fs[i])] = true
	}
	sqs.Records = append(sqs.Records, events.SQSMessage{MessageId: "garbage", Body: "not a finding", EventSource: "aws:sqs"})
	if len(sqs.Records) > batch {
		t.Fatalf("%d messages do not fit one batch of %d", len(sqs.Records), batch)
	}
	deliver := func(ev events.SQSEvent) []string {
		raw, _ := json.Marshal(ev)
		var resp events.SQSEventResponse
		if err := json.Unmarshal(invoke(t, lf, raw), &resp); err != nil {
			t.Fatalf("the hub function's answer is not a partial batch response: %v\n%s", err, lf.Output())
		}
		var failed []string
		for _, f := range resp.BatchItemFailures {
			failed = append(failed, f.ItemIdentifier)
		}
		return failed
	}
	if failed := deliver(sqs); len(failed) != 1 || failed[0] != "garbage" {
		t.Fatalf("batch item failures: got %v, want [garbage]\n%s", failed, lf.Output())
	}
	product := "arn:aws:securityhub:" + region + ":" + account + ":product/" + account + "/default"
	stored := w.SecurityHub.Findings()
	if len(stored) != len(ids) {
		t.Errorf("Security Hub holds %d findings, want %d (one per document Id)", len(stored), len(ids))
	}
	for key := range stored {
		if id := key[len(product)+1:]; key[:len(product)] != product || !ids[id] {
			t.Errorf("stored %s, want one of the findings' Ids in %s", key, product)
		}
	}

	// The fix of the first finding: the same document, archived.
	fixed := fs[0]
	fixed.Outcome = &finding.Outcome{Status: finding.StatusRemediated}
	body, _ := notify.FindingJSON(&fixed, 250_000, true)
	if failed := deliver(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "fix", Body: body, EventSource: "aws:sqs"}}}); len(failed) != 0 {
		t.Fatalf("fix: batch item failures %v", failed)
	}
	doc := w.SecurityHub.Findings()[product+"|"+asff.ID(&fs[0])]
	if doc["RecordState"] != "ARCHIVED" || w.SecurityHub.Updates(product, asff.ID(&fs[0])) != 1 {
		t.Errorf("after the fix: %s is %v after %d updates, want ARCHIVED after 1", asff.ID(&fs[0]), doc["RecordState"], w.SecurityHub.Updates(product, asff.ID(&fs[0])))
	}
	for _, a := range w.Denied() {
		t.Errorf("IAM denied a call the stack should grant: %s", a)
	}
	calls := len(w.Log.Of("securityhub"))
	return fmt.Sprintf("%d findings of the sample events in one batch: %d documents imported into %s in %d call(s), the unreadable message the one batch item failure; the fix archived its document",
		len(fs), len(stored), "the default product", calls-1)
}
