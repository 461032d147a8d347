package guard_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/deferral"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
)

const (
	loggingEvent = "cluster/update-config-disable-audit-logging.json"
)

func busy(times int) (string, int, awsfake.Fault) {
	return "UpdateClusterConfig", times, awsfake.Fault{Status: 409, Code: "ResourceInUseException", Message: "Cluster has an update in progress"}
}

func handleSQS(t *testing.T, h *harness, msgs ...awsfake.Message) events.SQSEventResponse {
	t.Helper()
	out, err := h.g.Handle(context.Background(), sqsEvent(msgs...))
	if err != nil {
		t.Fatal(err)
	}
	resp, ok := out.(*events.SQSEventResponse)
	if !ok {
		t.Fatalf("SQS batch answered with %T, want *events.SQSEventResponse", out)
	}
	return *resp
}

func TestBusyClusterIsDeferredThenApplied(t *testing.T) {
	h := newHarness(t, families.Cluster, remediateAll, nil)
	c := paymentsProd()
	c.Logs = []string{"api"}
	h.w.EKS.Put(c)
	h.w.EKS.Fail(busy(2)) // the user's own update is still running for two attempts
	ctx := context.Background()

	out, err := h.g.Handle(ctx, event(t, loggingEvent, nil))
	if err != nil || out != nil {
		t.Fatalf("Handle(EventBridge event) = %v, %v", out, err)
	}
	h.ops("dynamodb:UpdateItem", "ssm:GetParameter", "eks:DescribeCluster", "dynamodb:UpdateItem", "eks:UpdateClusterConfig",
		"sqs:SendMessage", "dynamodb:UpdateItem", "sns:Publish", "dynamodb:UpdateItem", "dynamodb:UpdateItem")
	f := one(t, h.published())
	if f.Rule != "control-plane-logging-disabled" || f.Outcome.Status != finding.StatusDeferred ||
		!strings.Contains(f.Outcome.Message, "trying again in 2m0s (attempt 2 of 8)") {
		t.Fatalf("first outcome = %+v", f.Outcome)
	}
	sent := h.w.SQS.Sent()
	if len(sent) != 1 || sent[0].DelaySeconds != 120 || sent[0].QueueURL != h.queueURL {
		t.Fatalf("queued = %+v", sent)
	}
	m, err := deferral.Decode(sent[0].Body)
	if err != nil || m.Attempt != 2 || !m.Counted || m.Finding.EventID != f.EventID || m.Finding.Plan.Action != finding.ActionUpdateClusterConfig {
		t.Fatalf("message = %+v, %v", m, err)
	}

	// Attempt 2: still busy, queued again with a longer delay; no alert.
	h.now = h.now.Add(2 * time.Minute)
	h.w.Log.Reset()
	if resp := handleSQS(t, h, sent[0]); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	h.ops("dynamodb:UpdateItem", "ssm:GetParameter", "eks:DescribeCluster", "eks:UpdateClusterConfig",
		"sqs:SendMessage", "dynamodb:UpdateItem", "dynamodb:UpdateItem")
	sent = h.w.SQS.Sent()
	if len(sent) != 2 || sent[1].DelaySeconds != 240 {
		t.Fatalf("queued = %+v", sent)
	}
	if n := len(h.published()); n != 1 {
		t.Fatalf("%d alerts after a re-deferral, want 1", n)
	}

	// Attempt 3: the user's update is done; the fix goes through, no new breaker count.
	h.now = h.now.Add(4 * time.Minute)
	h.w.Log.Reset()
	if resp := handleSQS(t, h, sent[1]); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	h.ops("dynamodb:UpdateItem", "ssm:GetParameter", "eks:DescribeCluster", "eks:UpdateClusterConfig",
		"dynamodb:UpdateItem", "sns:Publish", "dynamodb:UpdateItem", "dynamodb:UpdateItem")
	h.calls("eks", "eks DescribeCluster GET /clusters/payments-prod", "eks UpdateClusterConfig POST /clusters/payments-prod/update-config")
	var body struct {
		Token   string          `json:"clientRequestToken"`
		Logging json.RawMessage `json:"logging"`
	}
	if err := json.Unmarshal([]byte(h.body("eks", "UpdateClusterConfig", 0)), &body); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, string(body.Logging), `{"clusterLogging":[{"types":["audit","authenticator"],"enabled":true}]}`)
	if !strings.HasPrefix(body.Token, "eksguard-") {
		t.Fatalf("clientRequestToken = %q", body.Token)
	}
	fs := h.published()
	if len(fs) != 2 || fs[1].Outcome.Status != finding.StatusRemediated || fs[1].Outcome.Attempts != 3 || fs[1].EventID != f.EventID {
		t.Fatalf("final alert = %+v", fs[len(fs)-1].Outcome)
	}
	if c, _ := h.w.EKS.Get("payments-prod"); strings.Join(c.Logs, ",") != "api,audit,authenticator" || c.Updates != 1 {
		t.Fatalf("cluster after: logs %v, %d updates", c.Logs, c.Updates)
	}

	// SQS delivers the last message again: nothing happens.
	h.w.Log.Reset()
	if resp := handleSQS(t, h, sent[1]); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	h.ops("dynamodb:UpdateItem")
}

func TestBusyClusterGivesUp(t *testing.T) {
	h := newHarness(t, families.Cluster, remediateAll, map[string]string{config.EnvDeferMaxAttempts: "2", config.EnvDeferDelaySeconds: "30"})
	c := paymentsProd()
	c.Logs = []string{"api"}
	h.w.EKS.Put(c)
	h.w.EKS.Fail(busy(5))
	if _, err := h.g.Handle(context.Background(), event(t, loggingEvent, nil)); err != nil {
		t.Fatal(err)
	}
	sent := h.w.SQS.Sent()
	if len(sent) != 1 || sent[0].DelaySeconds != 30 {
		t.Fatalf("queued = %+v", sent)
	}
	if resp := handleSQS(t, h, sent[0]); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures = %v", resp.BatchItemFailures)
	}
	fs := h.published()
	if len(fs) != 2 || fs[1].Outcome.Status != finding.StatusFailed || fs[1].Outcome.ErrorCode != "ResourceInUseException" ||
		!strings.Contains(fs[1].Outcome.Message, "gave up after 2 attempts") || fs[1].Outcome.Attempts != 2 {
		t.Fatalf("alerts = %+v", fs)
	}
	if n := len(h.w.SQS.Sent()); n != 1 {
		t.Fatalf("%d messages queued, want 1", n)
	}
}

func TestDeferredFixRespectsKillSwitchAndBadMessages(t *testing.T) {
	h := newHarness(t, families.Cluster, remediateAll, nil)
	c := paymentsProd()
	c.Logs = []string{"api"}
	h.w.EKS.Put(c)
	h.w.EKS.Fail(busy(1))
	if _, err := h.g.Handle(context.Background(), event(t, loggingEvent, nil)); err != nil {
		t.Fatal(err)
	}
	good := h.w.SQS.Sent()[0]
	bad := awsfake.Message{ID: "bad-1", Body: `{"finding":`}
	// Remediation is switched off while the fix waits.
	h.w.SSM.Set(killParam, "off")
	h.now = h.now.Add(2 * time.Minute)
	h.w.Log.Reset()
	resp := handleSQS(t, h, bad, good)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "bad-1" {
		t.Fatalf("failures = %+v, want only bad-1", resp.BatchItemFailures)
	}
	h.calls("eks") // no EKS call at all
	fs := h.published()
	if len(fs) != 2 || fs[1].Outcome.Status != finding.StatusSkippedKill || !strings.Contains(fs[1].Outcome.Message, "deferred fix was dropped") {
		t.Fatalf("alerts = %+v", fs)
	}
}

func TestIAMRoleConfirmedThroughEKS(t *testing.T) {
	const ev = "iam/detach-worker-node-policy-from-unrecognised-role.json"
	const worker = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
	const cni = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
	t.Run("role EKS does not know is not touched", func(t *testing.T) {
		h := newHarness(t, families.IAM, remediateAll, nil)
		h.w.EKS.Put(awsfake.Cluster{Name: "legacy", RoleARN: "arn:aws:iam::111122223333:role/legacy-control"})
		h.w.IAM.PutRole("legacy-workers", cni)
		if err := h.g.HandleEvent(context.Background(), event(t, ev, nil)); err != nil {
			t.Fatal(err)
		}
		h.calls("iam")
		f := one(t, h.published())
		if f.Severity != finding.Medium || f.NeedsCheck == "" || f.Outcome.Status != finding.StatusNeedsReview ||
			!strings.Contains(f.Outcome.Message, "aws iam attach-role-policy --role-name legacy-workers") {
			t.Fatalf("finding = %+v / %+v", f, f.Outcome)
		}
	})
	t.Run("access denied on the fix", func(t *testing.T) {
		// A role inside the grants (roles.node matches it), whose fix IAM
		// still refuses (say, a permissions boundary).
		h := newHarness(t, families.IAM, remediateAll, nil)
		h.w.IAM.PutRole("legacy-node-role", cni)
		h.w.IAM.Fail("AttachRolePolicy", 1, awsfake.Fault{Status: 403, Code: "AccessDenied", Message: "not authorized to perform: iam:AttachRolePolicy"})
		roleName := func(d map[string]any) { d["requestParameters"].(map[string]any)["roleName"] = "legacy-node-role" }
		if err := h.g.HandleEvent(context.Background(), event(t, ev, roleName)); err != nil {
			t.Fatal(err)
		}
		f := one(t, h.published())
		if f.Outcome.Status != finding.StatusFailed || f.Outcome.ErrorCode != "AccessDenied" {
			t.Fatalf("outcome = %+v", f.Outcome)
		}
		if got, _ := h.w.IAM.Attached("legacy-node-role"); strings.Join(got, ",") != cni || !strings.Contains(h.body("iam", "AttachRolePolicy", 0), url.QueryEscape(worker)) {
			t.Fatalf("attached = %v after a denied AttachRolePolicy of %s", got, worker)
		}
	})
}

// Turning the public endpoint off while private access is off would lock
// everyone out: eksguard holds back and asks a person.
func TestUnsafeEndpointFixIsHeldForReview(t *testing.T) {
	h := newHarness(t, families.Cluster, remediateAll, nil)
	c := paymentsProd()
	c.PrivateAccess = false
	c.PublicCIDRs = []string{"0.0.0.0/0"}
	h.w.EKS.Put(c)
	if err := h.g.HandleEvent(context.Background(), event(t, "cluster/update-config-open-public-endpoint-to-world.json", nil)); err != nil {
		t.Fatal(err)
	}
	h.calls("eks", "eks DescribeCluster GET /clusters/payments-prod")
	var got *finding.Finding
	for _, f := range h.published() {
		if f.Rule == "public-endpoint-opened" {
			got = &f
		}
	}
	if got == nil || got.Outcome.Status != finding.StatusNeedsReview || !strings.Contains(got.Outcome.Message, "private access is off") {
		t.Fatalf("public-endpoint-opened outcome = %+v", got)
	}
	if c, _ := h.w.EKS.Get("payments-prod"); !c.PublicAccess || c.Updates != 0 {
		t.Fatalf("cluster changed: %+v", c)
	}
}

// Narrowing the public endpoint of a cluster whose private endpoint is off
// can cut its nodes off (they reach the API server from their NAT egress
// addresses): held for review unless the policy says the approved CIDRs
// hold that egress.
func TestNarrowingTheOnlyEndpointIsHeldForReview(t *testing.T) {
	const approved = remediateAll + "endpoint:\n  publicAccessCidrs: [\"198.51.100.0/24\"]\n"
	world := func() awsfake.Cluster {
		c := paymentsProd()
		c.PrivateAccess = false
		c.PublicCIDRs = []string{"0.0.0.0/0"}
		return c
	}
	endpointFinding := func(t *testing.T, h *harness) finding.Finding {
		t.Helper()
		for _, f := range h.published() {
			if f.Rule == "public-endpoint-opened" {
				return f
			}
		}
		t.Fatalf("no public-endpoint-opened finding in %+v", h.published())
		return finding.Finding{}
	}
	t.Run("held without approvedIncludesNodeEgress", func(t *testing.T) {
		h := newHarness(t, families.Cluster, approved, nil)
		h.w.EKS.Put(world())
		if err := h.g.HandleEvent(context.Background(), event(t, "cluster/update-config-open-public-endpoint-to-world.json", nil)); err != nil {
			t.Fatal(err)
		}
		h.calls("eks", "eks DescribeCluster GET /clusters/payments-prod")
		if f := endpointFinding(t, h); f.Outcome.Status != finding.StatusNeedsReview || !strings.Contains(f.Outcome.Message, "approvedIncludesNodeEgress") {
			t.Fatalf("outcome = %+v, want needs-review naming endpoint.approvedIncludesNodeEgress", f.Outcome)
		}
		if c, _ := h.w.EKS.Get("payments-prod"); c.Updates != 0 || strings.Join(c.PublicCIDRs, ",") != "0.0.0.0/0" {
			t.Fatalf("cluster changed: %+v", c)
		}
	})
	t.Run("made when the policy says the approved CIDRs hold the node egress", func(t *testing.T) {
		h := newHarness(t, families.Cluster, approved+"  approvedIncludesNodeEgress: true\n", nil)
		h.w.EKS.Put(world())
		if err := h.g.HandleEvent(context.Background(), event(t, "cluster/update-config-open-public-endpoint-to-world.json", nil)); err != nil {
			t.Fatal(err)
		}
		if f := endpointFinding(t, h); f.Outcome.Status != finding.StatusRemediated {
			t.Fatalf("outcome = %+v, want remediated", f.Outcome)
		}
		if c, _ := h.w.EKS.Get("payments-prod"); strings.Join(c.PublicCIDRs, ",") != "198.51.100.0/24" {
			t.Fatalf("public CIDRs after = %v, want the approved 198.51.100.0/24", c.PublicCIDRs)
		}
	})
}
