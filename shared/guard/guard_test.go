package guard_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/idempotency"
	"github.com/eksguard/eksguard/shared/policy"
)

const (
	adminEvent   = "access/associate-cluster-admin-to-dev.json"
	adminEventID = "772c21ea-8dfe-42c4-b957-c43c127ba456"
)

var (
	listPolicies = "eks ListAssociatedAccessPolicies GET /clusters/payments-prod/access-entries/" + devPath + "/access-policies"
	disassociate = "eks DisassociateAccessPolicy DELETE /clusters/payments-prod/access-entries/" + devPath + "/access-policies/" + adminPath
)

func paymentsProd(policies ...string) awsfake.Cluster {
	return awsfake.Cluster{
		Name: "payments-prod", RoleARN: "arn:aws:iam::111122223333:role/payments-prod-cluster-role",
		PublicAccess: true, PrivateAccess: true, PublicCIDRs: []string{"203.0.113.0/24"},
		Logs: []string{"api", "audit", "authenticator"},
		Entries: map[string]*awsfake.AccessEntry{
			devTeam: {Groups: []string{"payments-developers"}, Policies: policies},
		},
	}
}

func one(t *testing.T, fs []finding.Finding) finding.Finding {
	t.Helper()
	if len(fs) != 1 {
		t.Fatalf("%d findings published, want 1: %+v", len(fs), fs)
	}
	if fs[0].Outcome == nil {
		t.Fatalf("published finding has no outcome: %+v", fs[0])
	}
	return fs[0]
}

func TestRemediates(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(viewPol, adminPol))
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
		t.Fatal(err)
	}
	h.ops("dynamodb:UpdateItem", // correlation#<principal>: the association's mark
		"dynamodb:UpdateItem",              // claim event#...
		"ssm:GetParameter",                 // kill switch
		"eks:ListAssociatedAccessPolicies", // pre-check
		"dynamodb:UpdateItem",              // circuit breaker
		"eks:DisassociateAccessPolicy",     // the fix
		"dynamodb:UpdateItem",              // outcome recorded
		"sns:Publish",                      // alert
		"dynamodb:UpdateItem",              // published recorded
		"dynamodb:UpdateItem")              // completed
	h.calls("eks", listPolicies, disassociate)
	f := one(t, h.published())
	if f.Rule != "cluster-admin-granted" || f.Outcome.Status != finding.StatusRemediated || f.Outcome.Attempts != 1 ||
		!strings.Contains(f.Outcome.Message, `called eks:DisassociateAccessPolicy {"clusterName":"payments-prod","policyArn":"`+adminPol+`","principalArn":"`+devTeam+`"}`) {
		t.Fatalf("outcome = %+v", f.Outcome)
	}
	if a := h.w.SNS.Published()[0].Attributes; a["outcome"] != "String=remediated" || a["rule"] != "String=cluster-admin-granted" {
		t.Fatalf("attributes = %v", a)
	}
	if c, _ := h.w.EKS.Get("payments-prod"); !reflect.DeepEqual(c.Entries[devTeam].Policies, []string{viewPol}) {
		t.Fatalf("policies after = %v", c.Entries[devTeam].Policies)
	}
	rec, ok := h.w.DynamoDB.Get(table, "event#"+adminEventID)
	if !ok || rec.S("status") != "completed" {
		t.Fatalf("idempotency record = %v", rec)
	}
	ctr, ok := h.w.DynamoDB.Get(table, "breaker#111122223333/eu-west-1/payments-prod/"+devTeam+"#2025-05-06T09")
	if !ok || ctr.N("count") != "1" {
		t.Fatalf("breaker counter = %v", ctr)
	}
}

// An event that gives no finding is assessed and dropped with no claim and
// no completion record; a grant or removal of access (as here) leaves only
// its correlation mark, and an event of any other kind writes nothing.
func TestNoFindingNoWrite(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(viewPol))
	// The same association, of the view policy: no rule fires.
	raw := strings.NewReplacer("AmazonEKSClusterAdminPolicy", "AmazonEKSViewPolicy", "AmazonEKSAdminPolicy", "AmazonEKSViewPolicy").Replace(string(event(t, adminEvent, nil)))
	if err := h.g.HandleEvent(context.Background(), json.RawMessage(raw)); err != nil {
		t.Fatal(err)
	}
	h.ops("dynamodb:UpdateItem")
	if fs := h.published(); len(fs) != 0 {
		t.Fatalf("published %+v, want nothing", fs)
	}
	if _, ok := h.w.DynamoDB.Get(table, "event#"+adminEventID); ok {
		t.Fatal("an event with no finding left an idempotency record")
	}
	if it, ok := h.w.DynamoDB.Get(table, "correlation#"+devTeam); !ok || it.N("count") != "1" {
		t.Fatalf("correlation item %v, want one mark", it)
	}
	// An UpdateAccessEntry with no finding leaves no mark: no call at all.
	h.w.Log.Reset()
	raw = strings.NewReplacer(`"AssociateAccessPolicy"`, `"UpdateAccessEntry"`).Replace(raw)
	if err := h.g.HandleEvent(context.Background(), json.RawMessage(raw)); err != nil {
		t.Fatal(err)
	}
	h.ops()
}

func TestAlreadyCompliant(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(viewPol)) // someone already took the admin policy away
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
		t.Fatal(err)
	}
	h.ops("dynamodb:UpdateItem", "dynamodb:UpdateItem", "ssm:GetParameter", "eks:ListAssociatedAccessPolicies",
		"dynamodb:UpdateItem", "sns:Publish", "dynamodb:UpdateItem", "dynamodb:UpdateItem")
	f := one(t, h.published())
	if f.Outcome.Status != finding.StatusAlreadyCompliant || !strings.Contains(f.Outcome.Message, "no longer associated") {
		t.Fatalf("outcome = %+v", f.Outcome)
	}
	if _, ok := h.w.DynamoDB.Get(table, "breaker#111122223333/eu-west-1/payments-prod/"+devTeam+"#2025-05-06T09"); ok {
		t.Fatal("a fix that was not needed counted against the circuit breaker")
	}
}

func TestNotifyModeCarriesTheCall(t *testing.T) {
	h := newHarness(t, families.Access, notifyAll, nil)
	h.w.EKS.Put(paymentsProd(adminPol))
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
		t.Fatal(err)
	}
	h.ops("dynamodb:UpdateItem", "dynamodb:UpdateItem", "dynamodb:UpdateItem", "sns:Publish", "dynamodb:UpdateItem", "dynamodb:UpdateItem")
	f := one(t, h.published())
	want := "aws eks disassociate-access-policy --cluster-name payments-prod --principal-arn " + devTeam + " --policy-arn " + adminPol + " --region eu-west-1"
	if f.Outcome.Status != finding.StatusSkippedMode || !strings.Contains(f.Outcome.Message, "notify mode") || !strings.Contains(f.Outcome.Message, want) {
		t.Fatalf("outcome = %+v", f.Outcome)
	}
	if f.Plan == nil || f.Plan.Action != finding.ActionDisassociateAccessPolicy || f.Plan.PolicyARN != adminPol {
		t.Fatalf("plan = %+v", f.Plan)
	}
	if c, _ := h.w.EKS.Get("payments-prod"); len(c.Entries[devTeam].Policies) != 1 {
		t.Fatal("notify mode changed the cluster")
	}
}

func TestKillSwitch(t *testing.T) {
	t.Run("environment", func(t *testing.T) {
		h := newHarness(t, families.Access, remediateAll, map[string]string{config.EnvRemediation: "off"})
		h.w.EKS.Put(paymentsProd(adminPol))
		if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
			t.Fatal(err)
		}
		h.ops("dynamodb:UpdateItem", "dynamodb:UpdateItem", "dynamodb:UpdateItem", "sns:Publish", "dynamodb:UpdateItem", "dynamodb:UpdateItem")
		f := one(t, h.published())
		if f.Outcome.Status != finding.StatusSkippedKill || !strings.Contains(f.Outcome.Message, "EKSGUARD_REMEDIATION is off") ||
			!strings.Contains(f.Outcome.Message, "aws eks disassociate-access-policy") {
			t.Fatalf("outcome = %+v", f.Outcome)
		}
	})
	t.Run("SSM parameter", func(t *testing.T) {
		h := newHarness(t, families.Access, remediateAll, nil)
		h.w.EKS.Put(paymentsProd(adminPol))
		h.w.SSM.Set(killParam, "off")
		if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
			t.Fatal(err)
		}
		h.ops("dynamodb:UpdateItem", "dynamodb:UpdateItem", "ssm:GetParameter", "dynamodb:UpdateItem", "sns:Publish", "dynamodb:UpdateItem", "dynamodb:UpdateItem")
		f := one(t, h.published())
		if f.Outcome.Status != finding.StatusSkippedKill || !strings.Contains(f.Outcome.Message, killParam+` is "off"`) {
			t.Fatalf("outcome = %+v", f.Outcome)
		}
		// Switched back on: after the cache time the next event is remediated, without a redeploy.
		h.w.SSM.Set(killParam, "on")
		h.now = h.now.Add(time.Minute)
		h.w.Log.Reset()
		if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, withEventID("second-event"))); err != nil {
			t.Fatal(err)
		}
		h.calls("eks", listPolicies, disassociate)
	})
}

func TestOwnRoleIsIgnored(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(adminPol))
	ev := event(t, adminEvent, func(d map[string]any) {
		id := d["userIdentity"].(map[string]any)
		id["arn"] = "arn:aws:sts::111122223333:assumed-role/eksguard-access-role/eksguard-access"
		id["sessionContext"].(map[string]any)["sessionIssuer"].(map[string]any)["arn"] = "arn:aws:iam::111122223333:role/eksguard-access-role"
	})
	if err := h.g.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	h.ops() // nothing at all: no claim, no check, no alert
	if !strings.Contains(h.logs.String(), `"outcome":"ignored"`) {
		t.Fatalf("no log line for the ignored event:\n%s", h.logs)
	}
}

func TestCircuitBreakerTrips(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	ctx := context.Background()
	// Something keeps granting cluster-admin back; eksguard keeps taking it away.
	for i := 1; i <= 5; i++ {
		h.w.EKS.Put(paymentsProd(adminPol))
		h.now = h.now.Add(time.Minute)
		if err := h.g.HandleEvent(ctx, event(t, adminEvent, withEventID("loop-"+string(rune('0'+i))))); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, f := range h.published() {
		got = append(got, f.Rule+"/"+string(f.Outcome.Status))
	}
	want := []string{
		"cluster-admin-granted/remediated", "cluster-admin-granted/remediated", "cluster-admin-granted/remediated",
		"cluster-admin-granted/suppressed", "remediation-suppressed/suppressed", // the 4th trips the breaker: one alert for a human
		"cluster-admin-granted/suppressed", // the 5th is suppressed quietly
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("published:\n got  %v\n want %v", got, want)
	}
	var deletes int
	for _, c := range h.w.Log.Of("eks") {
		if c.Op == "DisassociateAccessPolicy" {
			deletes++
		}
	}
	if deletes != 3 {
		t.Fatalf("%d remediations, want 3", deletes)
	}
	if c, _ := h.w.EKS.Get("payments-prod"); len(c.Entries[devTeam].Policies) != 1 {
		t.Fatal("the suppressed remediation changed the cluster")
	}
	s := h.published()[4]
	if s.Severity != finding.High || s.Plan == nil || s.Plan.Action != finding.ActionDisassociateAccessPolicy ||
		s.Cluster != "payments-prod" || s.EventID != "loop-4" || !strings.Contains(s.Summary, "limit 3") {
		t.Fatalf("suppressed finding = %+v", s)
	}
	if m := h.published()[3].Outcome.Message; !strings.Contains(m, "4 remediations") || !strings.Contains(m, "limit of 3") {
		t.Fatalf("suppressed outcome = %q", m)
	}
	// The next hour, remediation resumes.
	h.now = h.now.Add(time.Hour)
	h.w.EKS.Put(paymentsProd(adminPol))
	if err := h.g.HandleEvent(ctx, event(t, adminEvent, withEventID("loop-next-hour"))); err != nil {
		t.Fatal(err)
	}
	if f := h.published()[6]; f.Outcome.Status != finding.StatusRemediated {
		t.Fatalf("next hour outcome = %+v", f.Outcome)
	}
}

func TestSameEventThreeTimes(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(adminPol))
	ev := event(t, adminEvent, nil)
	for range 3 {
		if err := h.g.HandleEvent(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	h.ops("dynamodb:UpdateItem", "dynamodb:UpdateItem", "ssm:GetParameter", "eks:ListAssociatedAccessPolicies", "dynamodb:UpdateItem",
		"eks:DisassociateAccessPolicy", "dynamodb:UpdateItem", "sns:Publish", "dynamodb:UpdateItem", "dynamodb:UpdateItem",
		"dynamodb:UpdateItem", "dynamodb:UpdateItem", // second delivery: the mark again (kept once), the claim finds the event completed
		"dynamodb:UpdateItem", "dynamodb:UpdateItem") // third delivery: same
	if n := len(h.published()); n != 1 {
		t.Fatalf("%d alerts, want 1", n)
	}
}

func TestConcurrentDeliveryIsRetriedAndCrashedClaimExpires(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(adminPol))
	// An invocation claimed the event and died: its record is in progress.
	lease := h.now.Add(90 * time.Second)
	h.w.DynamoDB.Put(table, awsfake.Item{
		"pk": map[string]any{"S": "event#" + adminEventID}, "status": map[string]any{"S": "in-progress"},
		"leaseUntil": map[string]any{"N": itoa(lease.Unix())}, "token": map[string]any{"S": "dead"},
		"expiresAt": map[string]any{"N": itoa(h.now.Add(48 * time.Hour).Unix())}, "steps": map[string]any{"M": map[string]any{}},
	})
	err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil))
	if !errors.Is(err, idempotency.ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy so the platform retries", err)
	}
	h.ops("dynamodb:UpdateItem", "dynamodb:UpdateItem")
	// The platform's retry comes after the lease: it proceeds.
	h.now = lease.Add(time.Second)
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
		t.Fatal(err)
	}
	h.calls("eks", listPolicies, disassociate)
	if f := one(t, h.published()); f.Outcome.Status != finding.StatusRemediated {
		t.Fatalf("outcome = %+v", f.Outcome)
	}
}

func TestPublishFailureRetriesOnlyThePublish(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(adminPol))
	h.w.SNS.Fail("Publish", 1, awsfake.Fault{Status: 403, Code: "AuthorizationError", Message: "not authorized to perform SNS:Publish"})
	ev := event(t, adminEvent, nil)
	err := h.g.HandleEvent(context.Background(), ev)
	if err == nil || !strings.Contains(err.Error(), "AuthorizationError") {
		t.Fatalf("err = %v, want the publish error so the platform retries", err)
	}
	h.w.Log.Reset()
	// The retry: the claim was released, the remediation is not repeated, the alert goes out.
	if err := h.g.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	h.ops("dynamodb:UpdateItem", "dynamodb:UpdateItem", "sns:Publish", "dynamodb:UpdateItem", "dynamodb:UpdateItem")
	if f := one(t, h.published()); f.Outcome.Status != finding.StatusRemediated {
		t.Fatalf("outcome = %+v", f.Outcome)
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(adminPol))
	h.w.EKS.Fail("DisassociateAccessPolicy", 2, awsfake.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"})
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
		t.Fatal(err)
	}
	h.calls("eks", listPolicies, disassociate, disassociate, disassociate)
	if f := one(t, h.published()); f.Outcome.Status != finding.StatusRemediated {
		t.Fatalf("outcome = %+v", f.Outcome)
	}
}

func TestAccessDeniedStillAlerts(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(adminPol))
	h.w.EKS.Fail("DisassociateAccessPolicy", 1, awsfake.Fault{Status: 403, Code: "AccessDeniedException",
		Message: "User: arn:aws:sts::111122223333:assumed-role/eksguard-access-role/x is not authorized to perform: eks:DisassociateAccessPolicy"})
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
		t.Fatalf("a failed remediation failed the invocation: %v", err)
	}
	h.calls("eks", listPolicies, disassociate)
	f := one(t, h.published())
	if f.Outcome.Status != finding.StatusFailed || f.Outcome.ErrorCode != "AccessDeniedException" ||
		!strings.Contains(f.Outcome.Message, "not authorized to perform: eks:DisassociateAccessPolicy") {
		t.Fatalf("outcome = %+v", f.Outcome)
	}
	if a := h.w.SNS.Published()[0].Attributes; a["outcome"] != "String=failed" {
		t.Fatalf("attributes = %v", a)
	}
	if rec, _ := h.w.DynamoDB.Get(table, "event#"+adminEventID); rec.S("status") != "completed" {
		t.Fatalf("record = %v", rec)
	}
}

func TestMalformedAndMisroutedEventsFail(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	for name, raw := range map[string]string{
		"not JSON":        `{"detail-type": "AWS API Call via CloudTrail", "detail": `,
		"detail a string": `{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.eks","detail":"oops"}`,
		"bad parameter":   `{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.eks","detail":{"eventID":"e","eventSource":"eks.amazonaws.com","eventName":"AssociateAccessPolicy","requestParameters":{"principalArn":7}}}`,
		"no event ID":     `{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.eks","detail":{"eventSource":"eks.amazonaws.com","eventName":"AssociateAccessPolicy"}}`,
		"other family":    string(event(t, "iam/attach-administrator-access-to-node-role.json", nil)),
		"empty":           ``,
	} {
		if err := h.g.HandleEvent(context.Background(), []byte(raw)); err == nil || !strings.Contains(err.Error(), "eksguard access") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	h.ops()
}

func TestIdempotencyTableDownStillAlerts(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(adminPol))
	// The table takes neither the correlation mark nor the claim: the alert
	// still goes out, once (the mark is given up, not retried).
	h.w.DynamoDB.Fail("UpdateItem", 2, awsfake.Fault{Status: 400, Code: "ResourceNotFoundException", Message: "Requested resource not found"})
	if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
		t.Fatal(err)
	}
	h.ops("dynamodb:UpdateItem", "dynamodb:UpdateItem", "ssm:GetParameter", "sns:Publish")
	if !strings.Contains(h.logs.String(), "correlation mark lost") {
		t.Errorf("logs do not say the mark was lost:\n%s", h.logs)
	}
	f := one(t, h.published())
	if f.Outcome.Status != finding.StatusFailed || f.Outcome.ErrorCode != "ResourceNotFoundException" || !strings.Contains(f.Outcome.Message, "not remediated") {
		t.Fatalf("outcome = %+v", f.Outcome)
	}
}

// A mark the table does not take fails the event after its findings are
// handled; the retry finds them completed and records only the mark.
func TestMarkFailureIsRetried(t *testing.T) {
	h := newHarness(t, families.Access, remediateAll, nil)
	h.w.EKS.Put(paymentsProd(adminPol))
	h.w.DynamoDB.Fail("UpdateItem", 1, awsfake.Fault{Status: 400, Code: "ValidationException", Message: "Item size has exceeded the maximum allowed size"})
	ev := event(t, adminEvent, nil)
	err := h.g.HandleEvent(context.Background(), ev)
	if err == nil || !strings.Contains(err.Error(), "record AssociateAccessPolicy mark") {
		t.Fatalf("got error %v, want the mark's, so the platform retries", err)
	}
	if f := one(t, h.published()); f.Outcome.Status != finding.StatusRemediated {
		t.Fatalf("outcome = %+v", f.Outcome)
	}
	h.w.Log.Reset()
	if err := h.g.HandleEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	h.ops("dynamodb:UpdateItem", "dynamodb:UpdateItem") // the mark, the claim (completed)
	if n := len(h.published()); n != 1 {
		t.Fatalf("got %d alerts, want 1", n)
	}
	if it, ok := h.w.DynamoDB.Get(table, "correlation#"+devTeam); !ok || it.N("count") != "1" {
		t.Fatalf("correlation item %v, want the one mark", it)
	}
}

// The access function pairs a removal with the grant it undoes, across
// invocations, through the table.
func TestCorrelationAcrossEvents(t *testing.T) {
	h := newHarness(t, families.Access, notifyAll, nil)
	grant := event(t, "access/associate-view-policy-to-dev.json", nil)
	removal := event(t, "access/disassociate-view-policy-from-dev.json", nil)
	for _, ev := range []json.RawMessage{grant, removal} {
		if err := h.g.HandleEvent(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	f := one(t, h.published())
	if f.Rule != "access-granted-then-removed" || f.EventName != "DisassociateAccessPolicy" || f.Cluster != "payments-prod" ||
		!strings.Contains(f.Summary, "lasted 14m7s") {
		t.Fatalf("got %s on %s (%s): %s; want access-granted-then-removed on the disassociation, lasted 14m7s", f.Rule, f.EventName, f.Cluster, f.Summary)
	}
	// The association's mark; then the disassociation's mark, the claim,
	// the outcome step, the publish, its step and the completion.
	h.ops("dynamodb:UpdateItem", "dynamodb:UpdateItem", "dynamodb:UpdateItem", "dynamodb:UpdateItem", "sns:Publish", "dynamodb:UpdateItem", "dynamodb:UpdateItem")
	it, ok := h.w.DynamoDB.Get(table, "correlation#"+devTeam)
	if !ok || it.N("count") != "2" || it.N("expiresAt") != itoa(h.now.Add(25*time.Hour).Unix()) {
		t.Fatalf("correlation item %v, want two marks expiring 25h (window and retention) after the last write", it)
	}
}

func TestPipelineEdges(t *testing.T) {
	plan := &finding.Plan{Action: finding.ActionDisassociateAccessPolicy, Cluster: "payments-prod", PrincipalARN: devTeam, PolicyARN: adminPol}
	t.Run("two findings, one fix", func(t *testing.T) {
		h := newHarness(t, families.Access, remediateAll, nil)
		h.w.EKS.Put(paymentsProd(adminPol))
		h.g.Assess = func(r *cloudtrail.Record, p *policy.Policy) []finding.Finding {
			mk := func(rule string) finding.Finding {
				return finding.Finding{Rule: rule, Severity: finding.Critical, EventID: r.EventID, Account: r.Account(), Region: r.AWSRegion,
					Cluster: "payments-prod", Principal: devTeam, Mode: finding.ModeRemediate, Plan: plan}
			}
			notified := mk("rule-0")
			notified.Mode = finding.ModeNotify
			return []finding.Finding{notified, mk("rule-a"), mk("rule-b"), {Rule: "rule-c", Severity: finding.High, EventID: r.EventID, Mode: finding.ModeRemediate}}
		}
		if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
			t.Fatal(err)
		}
		h.calls("eks", listPolicies, disassociate)
		fs := h.published()
		if len(fs) != 4 || fs[0].Outcome.Status != finding.StatusSkippedMode || fs[1].Outcome.Status != finding.StatusRemediated ||
			fs[2].Outcome.Status != finding.StatusRemediated || !strings.HasPrefix(fs[2].Outcome.Message, "same fix as finding rule-a") ||
			fs[3].Outcome.Status != finding.StatusNoPlan {
			t.Fatalf("published = %+v", fs)
		}
	})
	t.Run("panicking rule", func(t *testing.T) {
		h := newHarness(t, families.Access, remediateAll, nil)
		h.g.Assess = func(*cloudtrail.Record, *policy.Policy) []finding.Finding { panic("index out of range") }
		err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil))
		if err == nil || !strings.Contains(err.Error(), "panicked: index out of range") {
			t.Fatalf("err = %v", err)
		}
		// The claim is released: the platform's retry is not refused as busy.
		h.g.Assess = func(*cloudtrail.Record, *policy.Policy) []finding.Finding { return nil }
		if err := h.g.HandleEvent(context.Background(), event(t, adminEvent, nil)); err != nil {
			t.Fatal(err)
		}
	})
}
