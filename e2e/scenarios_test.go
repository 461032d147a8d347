//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/lambdatest"
	"github.com/eksguard/eksguard/shared/finding"
)

const (
	adminGrantEvent = "access/associate-cluster-admin-to-dev.json"
	auditLogsEvent  = "cluster/update-config-disable-audit-logging.json"
	nodeAdminEvent  = "iam/attach-administrator-access-to-node-role.json"
)

// routing: every sample event matches exactly one of the synthesized
// rules, and that rule targets the function of the event's family (the
// directory it is filed under).
func scenarioRouting(t *testing.T, s *stand) string {
	perFn := map[string]int{}
	for _, r := range s.dep.Rules {
		if r.Target == "notifier" {
			t.Errorf("rule %s targets the notifier", r.LogicalID)
		}
	}
	unrouted := 0
	for _, ev := range s.events {
		to := s.targets(t, ev.Raw)
		if !ev.routed(t) {
			// No rule reads the event: the catalogue routes it nowhere.
			if len(to) != 0 {
				t.Errorf("events/%s is read by no rule, yet matched by the rules of %v", ev.Path, to)
			}
			unrouted++
			continue
		}
		family := ev.Path[:strings.IndexByte(ev.Path, '/')]
		if len(to) != 1 || to[0] != family {
			t.Errorf("events/%s is matched by the rules of %v, want exactly [%s]", ev.Path, to, family)
			continue
		}
		perFn[to[0]]++
	}
	var parts []string
	for _, fn := range sortedKeys(perFn) {
		parts = append(parts, fmt.Sprintf("%d %s", perFn[fn], fn))
	}
	return fmt.Sprintf("%d rules; %d events, each to one function: %s; %d read by no rule, routed nowhere",
		len(s.dep.Rules), len(s.events)-unrouted, strings.Join(parts, ", "), unrouted)
}

// every-event: each sample, delivered to its function in an account where
// the change it records has just been made, under a policy that remediates
// every rule: the findings published are the golden ones, each plan is
// carried out (exactly the writes the remediated findings name), and each
// message, through the SNS subscription, gives one Slack post.
func scenarioEveryEvent(t *testing.T, s *stand) string {
	publishMin, slackMin := s.thresholds(t)
	var published, posted int
	outcomes := map[string]int{}
	remediatedBy := map[string]int{}
	delivered := 0
	for _, ev := range s.events {
		if !ev.routed(t) {
			continue // routed nowhere (the routing scenario checks it)
		}
		delivered++
		t.Run(ev.Path, func(t *testing.T) {
			s.reset()
			applyChange(t, s.world, ev.Raw)
			fn, out := s.deliver(t, ev.Raw)
			answeredNull(t, "the "+fn+" function", out)

			notes := s.notes(t)
			var got, wantWrites []string
			plans := map[string]bool{} // findings that share a plan share its one call
			id := eventID(t, ev.Raw)
			for _, n := range notes {
				f := n.F
				got = append(got, f.Rule+"/"+f.Severity.String())
				if f.EventID != id {
					t.Errorf("%s: event %s, want %s", f.Rule, f.EventID, id)
				}
				if topic := s.dep.Functions[fn].Env["EKSGUARD_TOPIC_ARN"]; n.Pub.TopicARN != topic {
					t.Errorf("%s published to %s, want the stack's topic %s", f.Rule, n.Pub.TopicARN, topic)
				}
				if f.Mode != finding.ModeRemediate {
					t.Errorf("%s: mode %s, want remediate (the deployed policy)", f.Rule, f.Mode)
				}
				switch st := f.Outcome.Status; {
				case f.Plan == nil && st != finding.StatusNoPlan:
					t.Errorf("%s has no plan but outcome %s", f.Rule, st)
				case f.Plan != nil && st == finding.StatusRemediated:
					if key := compactJSON(f.Plan); !plans[key] {
						plans[key] = true
						wantWrites = append(wantWrites, f.Plan.Action)
					}
					remediatedBy[fn]++
				case f.Plan != nil && st == finding.StatusNeedsReview && f.Outcome.Message != "":
					// Held for a person (e.g. a role neither the policy nor EKS knows): nothing is called.
				case f.Plan != nil:
					t.Errorf("%s: plan %s ended %s (%s): %s", f.Rule, f.Plan.Action, st, f.Outcome.ErrorCode, f.Outcome.Message)
				}
				outcomes[string(f.Outcome.Status)]++
			}
			slices.Sort(got)
			if want := s.golden(t, ev.Path, publishMin); !slices.Equal(got, want) {
				t.Errorf("published findings %v, want the golden %v (shared/rules/testdata/golden-policy/%s, at least %s)", got, want, ev.Path, publishMin)
			}
			gotWrites := s.writes()
			slices.Sort(gotWrites)
			slices.Sort(wantWrites)
			if !slices.Equal(gotWrites, wantWrites) {
				t.Errorf("writes to EKS, IAM and CloudTrail: %v, want exactly the remediated plans' %v", gotWrites, wantWrites)
			}

			s.driveSNS(t, publications(notes))
			var wantPosts []note
			for _, n := range notes {
				if n.F.Severity >= slackMin {
					wantPosts = append(wantPosts, n)
				}
			}
			posts := s.hook.Posts()
			if len(posts) != len(wantPosts) {
				t.Fatalf("%d Slack posts for %d findings at or above %s", len(posts), len(wantPosts), slackMin)
			}
			for i, p := range posts {
				checkPost(t, p, wantPosts[i].F)
			}
			published += len(notes)
			posted += len(posts)
		})
	}
	for _, fn := range []string{"access", "cluster", "iam", "tamper"} {
		if remediatedBy[fn] == 0 {
			t.Errorf("no remediation by the %s function: the remediation path did not run", fn)
		}
	}
	var parts []string
	for _, st := range sortedKeys(outcomes) {
		parts = append(parts, fmt.Sprintf("%d %s", outcomes[st], st))
	}
	return fmt.Sprintf("%d events: %d findings published (%s), %d Slack posts", delivered, published, strings.Join(parts, ", "), posted)
}

// checkPost checks that a Slack post is the message for a finding.
func checkPost(t *testing.T, p slackPost, f *finding.Finding) {
	t.Helper()
	if p.Status != http.StatusOK || p.Type != "application/json" {
		t.Errorf("Slack post for %s: status %d, content type %q", f.Rule, p.Status, p.Type)
	}
	msg := p.message(t)
	if prefix := "[" + strings.ToUpper(f.Severity.String()) + "]"; !strings.HasPrefix(msg.Text, prefix) || len(msg.Blocks) == 0 {
		t.Errorf("Slack post for %s: text %q (want it to start with %s) and %d blocks", f.Rule, msg.Text, prefix, len(msg.Blocks))
	}
	if !bytes.Contains(p.Body, []byte(f.Rule)) || !bytes.Contains(p.Body, []byte(f.EventID)) {
		t.Errorf("Slack post does not name rule %s and event %s:\n%s", f.Rule, f.EventID, p.Body)
	}
}

func eventID(t *testing.T, raw []byte) string {
	t.Helper()
	var ev struct {
		Detail struct {
			EventID string `json:"eventID"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Detail.EventID == "" {
		t.Fatalf("event without an eventID: %v", err)
	}
	return ev.Detail.EventID
}

func publications(notes []note) []awsfake.Published {
	out := make([]awsfake.Published, len(notes))
	for i, n := range notes {
		out[i] = n.Pub
	}
	return out
}

// duplicate-delivery: EventBridge delivers the same event three times; the
// fix is made once, the alert published once, Slack posted once.
func scenarioDuplicateDelivery(t *testing.T, s *stand) string {
	s.reset()
	raw := s.event(t, adminGrantEvent)
	applyChange(t, s.world, raw)
	fn := s.fns["access"]
	m := fn.Mark()
	for i := range 3 {
		_, out := s.deliver(t, raw)
		answeredNull(t, fmt.Sprintf("delivery %d", i+1), out)
	}
	if w := s.writes(); !slices.Equal(w, []string{"eks:DisassociateAccessPolicy"}) {
		t.Errorf("writes = %v, want one eks:DisassociateAccessPolicy", w)
	}
	c, _ := s.world.EKS.Get("payments-prod")
	if e := c.Entries[roleARN("dev-team")]; e == nil || slices.Contains(e.Policies, clusterAdminPolicy) {
		t.Errorf("dev-team's access entry after the fix: %+v", e)
	}
	notes := s.notes(t)
	if len(notes) != 1 || notes[0].F.Outcome.Status != finding.StatusRemediated {
		t.Fatalf("%d alerts (%v), want one, remediated", len(notes), notes)
	}
	if !fn.WaitCount(m, "duplicate delivery of a completed event", 2) ||
		strings.Count(fn.Since(m), "duplicate delivery of a completed event") != 2 {
		t.Errorf("want two log lines for the redeliveries:\n%s", fn.Since(m))
	}
	s.driveSNS(t, publications(notes))
	if n := len(s.hook.Posts()); n != 1 {
		t.Errorf("%d Slack posts, want 1", n)
	}
	return "3 deliveries: 1 DisassociateAccessPolicy, 1 SNS message, 1 Slack post"
}

// correlation: an access policy associated and, 14 minutes later,
// disassociated (two samples of events/) are two deliveries to the access
// function, neither of which gives a finding alone; the second gives
// access-granted-then-removed through the marks the first left in the
// table. The iam-enforced scenario then finds the function was granted
// every call it made.
func scenarioCorrelation(t *testing.T, s *stand) string {
	s.reset()
	for _, path := range []string{"access/associate-view-policy-to-dev.json", "access/disassociate-view-policy-from-dev.json"} {
		raw := s.event(t, path)
		applyChange(t, s.world, raw)
		_, out := s.deliver(t, raw)
		answeredNull(t, path, out)
	}
	notes := s.notes(t)
	if len(notes) != 1 {
		t.Fatalf("got %d alerts (%v), want one", len(notes), notes)
	}
	f := notes[0].F
	if f.Rule != "access-granted-then-removed" || f.EventName != "DisassociateAccessPolicy" || f.Outcome.Status != finding.StatusNoPlan {
		t.Errorf("got %s on %s (%s), want access-granted-then-removed on the disassociation, no plan", f.Rule, f.EventName, f.Outcome.Status)
	}
	table := s.dep.Functions["access"].Env["EKSGUARD_TABLE"]
	it, ok := s.world.DynamoDB.Get(table, "correlation#"+roleARN("dev-team"))
	if !ok || it.N("count") != "2" {
		t.Errorf("correlation item %v in %s, want two marks", it, table)
	}
	if w := s.writes(); len(w) != 0 {
		t.Errorf("writes = %v, want none (the rule has no fix)", w)
	}
	return "associate, then disassociate 14m7s later: 1 access-granted-then-removed, 2 marks in the table"
}

// own-role: an event caused by eksguard's own role (the cluster function's
// execution role, as the stack lists it in EKSGUARD_REMEDIATION_ROLE_ARN)
// is ignored: no claim, no call, no finding, one log line. The same event
// from a person is remediated in every-event.
func scenarioOwnRole(t *testing.T, s *stand) string {
	fn := s.dep.Functions["cluster"]
	own := strings.Split(fn.Env["EKSGUARD_REMEDIATION_ROLE_ARN"], ",")
	if !slices.Contains(own, fn.RoleARN) || len(own) != len(s.dep.Functions) {
		t.Fatalf("EKSGUARD_REMEDIATION_ROLE_ARN = %v: want the roles of all %d functions, the cluster function's %s among them",
			own, len(s.dep.Functions), fn.RoleARN)
	}
	s.reset()
	raw := withIdentity(t, s.event(t, auditLogsEvent), fn.RoleARN, "eksguard-e2e")
	applyChange(t, s.world, raw)
	before, _ := s.world.EKS.Get("payments-prod")
	cluster := s.fns["cluster"]
	m := cluster.Mark()
	_, out := s.deliver(t, raw)
	answeredNull(t, "the cluster function", out)
	if calls := s.world.Log.Ops(); len(calls) != 0 {
		t.Errorf("AWS calls for eksguard's own event: %v, want none", calls)
	}
	after, _ := s.world.EKS.Get("payments-prod")
	if !slices.Equal(before.Logs, after.Logs) {
		t.Errorf("logging changed from %v to %v", before.Logs, after.Logs)
	}
	if !cluster.WaitCount(m, `"outcome":"ignored"`, 1) {
		t.Errorf("no log line with outcome ignored:\n%s", cluster.Since(m))
	}
	return "event by " + fn.RoleARN[strings.LastIndexByte(fn.RoleARN, '/')+1:] + ": ignored, 0 AWS calls"
}

// malformed-event: an event a function cannot handle fails the invocation
// with the runtime's error document (so Lambda retries it and then sends it
// to the function's failure queue); the process survives and handles the
// next event.
func scenarioMalformedEvent(t *testing.T, s *stand) string {
	s.reset()
	access, notifier := s.fns["access"], s.fns["notifier"]
	am, nm := access.Mark(), notifier.Mark()
	cases := []struct {
		name, want string
		fn         *lambdatest.Function
		payload    []byte
	}{
		{"truncated JSON", "", access, []byte(`{"version":"0","detail-type":"AWS API Call via Clo`)},
		{"detail is not a CloudTrail record", "eksguard access", access,
			[]byte(`{"version":"0","id":"6f3b2c1e-e2e0-4000-8000-000000000001","detail-type":"AWS API Call via CloudTrail","source":"aws.eks","account":"111122223333","region":"eu-west-1","detail":"x"}`)},
		{"event of another family", "not one of this function's events", access, s.event(t, nodeAdminEvent)},
		{"SNS message that is not a finding", "SNS message", notifier,
			snsEvent(awsfake.Published{ID: "e2e-garbled", TopicARN: s.dep.Functions["access"].Env["EKSGUARD_TOPIC_ARN"], Message: "{not a finding"})},
	}
	for _, c := range cases {
		var doc struct {
			Type    string `json:"errorType"`
			Message string `json:"errorMessage"`
		}
		out := invoke(t, c.fn, c.payload)
		if err := json.Unmarshal(out, &doc); err != nil || doc.Type == "" || doc.Message == "" || !strings.Contains(doc.Message, c.want) {
			t.Errorf("%s: the %s function answered %s; want an error document mentioning %q", c.name, c.fn.Name, out, c.want)
			continue
		}
		t.Logf("%s -> %s: %s: %s", c.name, c.fn.Name, doc.Type, doc.Message)
	}
	if calls := s.world.Log.Ops(); len(calls) != 0 {
		t.Errorf("AWS calls for malformed events: %v, want none", calls)
	}
	// The same processes handle the next, good event.
	raw := s.event(t, adminGrantEvent)
	applyChange(t, s.world, raw)
	_, out := s.deliver(t, raw)
	answeredNull(t, "the access function after the malformed events", out)
	notes := s.notes(t)
	if len(notes) != 1 || notes[0].F.Outcome.Status != finding.StatusRemediated {
		t.Fatalf("after the malformed events: %d alerts, want 1 remediated", len(notes))
	}
	s.driveSNS(t, publications(notes))
	if n := len(s.hook.Posts()); n != 1 {
		t.Errorf("%d Slack posts after the malformed message, want 1", n)
	}
	for _, f := range []*lambdatest.Function{access, notifier} {
		m := am
		if f == notifier {
			m = nm
		}
		if out := f.Since(m); strings.Contains(out, "panic") || strings.Contains(out, "Runtime.ExitError") {
			t.Errorf("the %s function crashed:\n%s", f.Name, out)
		}
	}
	spec := s.dep.Functions["access"]
	if spec.AsyncRetries < 1 || spec.OnFailure == "" {
		t.Errorf("access function: %d async retries, failure destination %q: a failed event would be lost", spec.AsyncRetries, spec.OnFailure)
	}
	return fmt.Sprintf("%d malformed events answered with errors (Lambda retries %d times, then %s); the next event handled",
		len(cases), spec.AsyncRetries, spec.OnFailure[strings.LastIndexByte(spec.OnFailure, ':')+1:])
}

// slack-outage: Slack answers 500 twice, then accepts; then 429 with
// Retry-After, then accepts. The notifier retries within the invocation
// and succeeds; the webhook URL stays out of its output.
func scenarioSlackOutage(t *testing.T, s *stand) string {
	notifier := s.fns["notifier"]
	for _, c := range []struct {
		name   string
		script []hookResponse
		waits  []string
	}{
		{"500-then-ok", []hookResponse{{Status: 500}, {Status: 500}}, []string{`"wait":"1s"`, `"wait":"2s"`}},
		{"429-retry-after", []hookResponse{{Status: 429, RetryAfter: "1"}}, []string{`"status":429`, `"wait":"1s"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.reset()
			notes := []note{s.alertFor(t, auditLogsEvent, "cluster")}
			s.hook.Script(c.script...)
			m := notifier.Mark()
			s.driveSNS(t, publications(notes)) // fails the test unless the invocation succeeds
			posts := s.hook.Posts()
			var statuses []int
			for _, p := range posts {
				statuses = append(statuses, p.Status)
				if !bytes.Equal(p.Body, posts[0].Body) {
					t.Errorf("a retry posted a different message")
				}
			}
			want := append(statusesOf(c.script), http.StatusOK)
			if !slices.Equal(statuses, want) {
				t.Fatalf("webhook answered %v, want %v", statuses, want)
			}
			checkPost(t, posts[len(posts)-1], notes[0].F)
			attempts := fmt.Sprintf(`"attempts":%d`, len(want))
			if !notifier.WaitCount(m, `"message":"posted to Slack"`, 1) || !strings.Contains(notifier.Since(m), attempts) {
				t.Errorf("no log line of the post after %s:\n%s", attempts, notifier.Since(m))
			}
			for _, w := range c.waits {
				if !strings.Contains(notifier.Since(m), w) {
					t.Errorf("no retry log line with %s:\n%s", w, notifier.Since(m))
				}
			}
			if strings.Contains(notifier.Since(m), "NotificationFailures") {
				t.Errorf("a failure metric for a delivery that succeeded:\n%s", notifier.Since(m))
			}
		})
	}
	return "500, 500, 200: posted on attempt 3 (waits 1s, 2s); 429 Retry-After 1, 200: posted on attempt 2"
}

func statusesOf(rs []hookResponse) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.Status
	}
	return out
}

// resource-in-use: the cluster is busy with another update, so the fix is
// sent to the defer queue and the alert says deferred; when SQS delivers
// the message (through the stack's event source mapping) the fix is made
// and a second alert says remediated.
func scenarioResourceInUse(t *testing.T, s *stand) string {
	s.reset()
	s.world.EKS.Fail("UpdateClusterConfig", 1, awsfake.Fault{Status: 409, Code: "ResourceInUseException", Message: "Cluster has an update in progress"})
	raw := s.event(t, auditLogsEvent)
	applyChange(t, s.world, raw)
	_, out := s.deliver(t, raw)
	answeredNull(t, "the cluster function", out)

	sent := s.world.SQS.Sent()
	queue := s.dep.Functions["cluster"].Env["EKSGUARD_DEFER_QUEUE_URL"]
	if len(sent) != 1 || sent[0].QueueURL != queue || sent[0].DelaySeconds < 1 {
		t.Fatalf("sent to SQS: %+v, want one delayed message on %s", sent, queue)
	}
	notes := s.notes(t)
	if len(notes) != 1 || notes[0].F.Outcome.Status != finding.StatusDeferred {
		t.Fatalf("first alerts: %d, want one deferred", len(notes))
	}
	if c, _ := s.world.EKS.Get("payments-prod"); slices.Contains(c.Logs, "audit") {
		t.Fatalf("audit logging on before the deferred fix ran: %v", c.Logs)
	}
	s.driveSNS(t, publications(notes))

	// The delay is over: SQS hands the message to the cluster function.
	answers := s.driveSQS(t, sent)
	var resp struct {
		Failures []any `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(answers[0], &resp); err != nil || resp.Failures == nil || len(resp.Failures) != 0 {
		t.Fatalf("the cluster function answered the SQS batch with %s, want an empty batchItemFailures", answers[0])
	}
	if c, _ := s.world.EKS.Get("payments-prod"); !slices.Contains(c.Logs, "audit") || !slices.Contains(c.Logs, "authenticator") {
		t.Errorf("logging after the deferred fix: %v", c.Logs)
	}
	if n := s.count("eks:UpdateClusterConfig"); n != 2 {
		t.Errorf("%d UpdateClusterConfig calls, want 2 (busy, then the fix)", n)
	}
	notes = s.notes(t)
	if len(notes) != 2 || notes[1].F.Outcome.Status != finding.StatusRemediated || notes[1].F.Outcome.Attempts != 2 {
		t.Fatalf("alerts: %d, want a second one, remediated on attempt 2", len(notes))
	}
	s.driveSNS(t, publications(notes[1:]))
	posts := s.hook.Posts()
	if len(posts) != 2 {
		t.Fatalf("%d Slack posts, want 2", len(posts))
	}
	for i, want := range []string{"*Deferred*", "*Reverted*"} {
		checkPost(t, posts[i], notes[i].F)
		if !bytes.Contains(posts[i].Body, []byte(want)) {
			t.Errorf("Slack post %d does not say %s:\n%s", i+1, want, posts[i].Body)
		}
	}
	return fmt.Sprintf("deferred (SQS delay %ds), then applied from the queue: alerts deferred, remediated (attempt 2)", sent[0].DelaySeconds)
}

// throttling: the fix's call is throttled once; the SDK's retryer (as the
// functions configure it) retries and the fix goes through.
func scenarioThrottling(t *testing.T, s *stand) string {
	for _, c := range []struct {
		name, event, service, op string
		fault                    awsfake.Fault
		fixed                    func() bool
	}{
		{"eks", adminGrantEvent, "eks", "DisassociateAccessPolicy", awsfake.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
			func() bool {
				c, _ := s.world.EKS.Get("payments-prod")
				e := c.Entries[roleARN("dev-team")]
				return e != nil && !slices.Contains(e.Policies, clusterAdminPolicy)
			}},
		{"iam", nodeAdminEvent, "iam", "DetachRolePolicy", awsfake.Fault{Status: 400, Code: "Throttling", Message: "Rate exceeded"},
			func() bool {
				p, _ := s.world.IAM.Attached("payments-prod-node-role")
				return !slices.Contains(p, "arn:aws:iam::aws:policy/AdministratorAccess")
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.reset()
			if c.service == "eks" {
				s.world.EKS.Fail(c.op, 1, c.fault)
			} else {
				s.world.IAM.Fail(c.op, 1, c.fault)
			}
			raw := s.event(t, c.event)
			applyChange(t, s.world, raw)
			fn, out := s.deliver(t, raw)
			answeredNull(t, "the "+fn+" function", out)
			if n := s.count(c.service + ":" + c.op); n != 2 {
				t.Errorf("%d %s calls, want 2 (throttled, then retried)", n, c.op)
			}
			if !c.fixed() {
				t.Errorf("the fix was not applied")
			}
			notes := s.notes(t)
			if len(notes) != 1 || notes[0].F.Outcome.Status != finding.StatusRemediated {
				t.Fatalf("alerts: %d, want one remediated", len(notes))
			}
		})
	}
	return "EKS ThrottlingException and IAM Throttling once each: retried, remediated"
}

// kill-switch: the SSM parameter the stack creates is set to off; a new
// execution environment of the access function reads it, calls nothing
// that writes, and still alerts with outcome skipped-kill-switch.
func scenarioKillSwitch(t *testing.T, s *stand) string {
	s.reset()
	s.world.SSM.Set(s.dep.KillSwitch, "off")
	// A warm function rereads the parameter every 30 seconds; a new one at once.
	fresh := s.start(t, "access")
	raw := s.event(t, adminGrantEvent)
	applyChange(t, s.world, raw)
	answeredNull(t, "a new access function", invoke(t, fresh, raw))
	if w := s.writes(); len(w) != 0 {
		t.Errorf("writes with the kill switch off: %v", w)
	}
	if s.count("ssm:GetParameter") == 0 {
		t.Errorf("the kill switch parameter was not read")
	}
	c, _ := s.world.EKS.Get("payments-prod")
	if e := c.Entries[roleARN("dev-team")]; e == nil || !slices.Contains(e.Policies, clusterAdminPolicy) {
		t.Errorf("dev-team's access entry changed: %+v", e)
	}
	notes := s.notes(t)
	if len(notes) != 1 || notes[0].F.Outcome.Status != finding.StatusSkippedKill ||
		!strings.Contains(notes[0].F.Outcome.Message, "aws eks disassociate-access-policy") {
		t.Fatalf("alerts: %+v, want one skipped-kill-switch with the command to run", notes)
	}
	s.driveSNS(t, publications(notes))
	posts := s.hook.Posts()
	if len(posts) != 1 || !bytes.Contains(posts[0].Body, []byte("*Kill switch on*")) {
		t.Fatalf("Slack posts: %d, want one saying the kill switch is on", len(posts))
	}
	checkPost(t, posts[0], notes[0].F)
	return s.dep.KillSwitch + "=off: no write, alert skipped-kill-switch, 1 Slack post"
}
