//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/lambdatest"
	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/rules"
)

// TestE2E stands up the deployment once (synthesized stack, functions under
// the emulator, fakes, Slack webhook) and runs every scenario against it,
// each from a fresh account (the fakes are reset; the functions stay warm
// as they would in Lambda, except where a scenario needs a cold start).
func TestE2E(t *testing.T) {
	start := time.Now()
	s := standUp(t)
	t.Logf("stood up in %s: stack synthesized, %d functions under the emulator (%s)", time.Since(start).Round(time.Millisecond),
		len(s.fns), s.runsOn())

	scenarios := []struct {
		name string
		run  func(t *testing.T, s *stand) string
		// denies is true for a scenario that deploys a grant missing on
		// purpose; in every other one, a denied call fails the scenario.
		denies bool
	}{
		{"routing", scenarioRouting, false},
		{"every-event", scenarioEveryEvent, false},
		{"duplicate-delivery", scenarioDuplicateDelivery, false},
		{"correlation", scenarioCorrelation, false},
		{"own-role", scenarioOwnRole, false},
		{"malformed-event", scenarioMalformedEvent, false},
		{"slack-outage", scenarioSlackOutage, false},
		{"resource-in-use", scenarioResourceInUse, false},
		{"throttling", scenarioThrottling, false},
		{"kill-switch", scenarioKillSwitch, false},
		{"unset-then-set", scenarioUnsetThenSet, false},
		{"hanging-webhook", scenarioHangingWebhook, false},
		{"unscoped-role-needs-review", scenarioUnscopedRoleNeedsReview, false},
		{"unsafe-endpoint-needs-review", scenarioUnsafeEndpointNeedsReview, false},
		{"audit-log", scenarioAuditLog, false},
		{"scheduled-scan", scenarioScheduledScan, false}, // before iam-enforced, which counts every function's authorized calls
		{"iam-enforced", scenarioIAMEnforced, true},      // checks its probes' denials itself
		{"missing-grant-denied", scenarioMissingGrantDenied, true},
		{"heartbeat", scenarioHeartbeat, true}, // checks the canary's denial itself
		{"organization", scenarioOrganization, false},
		{"organization-audit-log", scenarioOrganizationAuditLog, false},
		{"slack-apply-fix", scenarioSlackApplyFix, false},
		{"security-hub", scenarioSecurityHub, false},
		{"security-hub-organization", scenarioSecurityHubOrganization, false},
	}
	var passed, failed, lines []string
	for _, sc := range scenarios {
		var detail string
		ran := false
		began := time.Now()
		ok := t.Run(sc.name, func(t *testing.T) {
			ran = true
			seen := len(s.world.Denied())
			detail = sc.run(t, s)
			if !sc.denies {
				for _, d := range s.world.Denied()[seen:] {
					t.Errorf("IAM denied a call the stack should grant: %s", d)
				}
			}
		})
		switch {
		case !ran:
			lines = append(lines, fmt.Sprintf("  -     %-26s         not selected by -run", sc.name))
		case ok:
			passed = append(passed, sc.name)
			lines = append(lines, fmt.Sprintf("  ok    %-26s %6s  %s", sc.name, time.Since(began).Round(100*time.Millisecond), detail))
		default:
			failed = append(failed, sc.name)
			lines = append(lines, fmt.Sprintf("  FAIL  %-26s %6s", sc.name, time.Since(began).Round(100*time.Millisecond)))
		}
	}
	// The secret part of the webhook URL never reaches a log line.
	for name, fn := range s.fns {
		if out := fn.Output(); strings.Contains(out, s.hook.Token) {
			t.Errorf("the %s function's output contains the Slack webhook token", name)
		}
	}
	fmt.Printf("\ne2e scenarios (%s):\n%s\n", s.runsOn(), strings.Join(lines, "\n"))
	if len(failed) == 0 {
		fmt.Printf("e2e: %d scenarios passed: %s\n\n", len(passed), strings.Join(passed, ", "))
	} else {
		fmt.Printf("e2e: %d of %d scenarios FAILED: %s\n\n", len(failed), len(passed)+len(failed), strings.Join(failed, ", "))
	}
}

// stand is the deployment running on this machine.
type stand struct {
	root    string
	dep     *deployment
	world   *awsfake.World
	hook    *slackHook
	rie     string
	launch  []string
	fakeEnv map[string]string
	fns     map[string]*lambdatest.Function // one warm instance per function
	events  []sample
	// audit are the files of events/kubernetes: CloudWatch Logs
	// subscription payloads, which reach the kubernetes function through
	// subscription filters, not EventBridge.
	audit []sample
}

// sample is one file of events/.
type sample struct {
	Path string // under events/, slash-separated
	Raw  []byte
}

// routed reports whether some rule reads the sample's event, so that the
// stack routes it to a function.
func (ev sample) routed(t *testing.T) bool {
	t.Helper()
	rec, err := cloudtrail.DecodeEvent(ev.Raw)
	if err != nil {
		t.Fatalf("events/%s: %v", ev.Path, err)
	}
	return rules.InScope(rec.EventSource, rec.EventName)
}

func standUp(t *testing.T) *stand {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	buildDir := filepath.Join(root, "build")
	for _, fn := range functionNames() {
		if _, err := os.Stat(filepath.Join(buildDir, fn, "bootstrap")); err != nil {
			t.Fatalf("no %s bootstrap (%v): run `make build` first (`make e2e` does)", fn, err)
		}
	}
	s := &stand{root: root, world: awsfake.New(t), hook: newSlackHook(t), fns: map[string]*lambdatest.Function{}}
	s.launch = launcher(t)
	s.rie = lambdatest.Emulator(t)
	assembly := synth(t, root, writePolicy(t, root), buildDir)
	s.dep = loadDeployment(t, assembly, buildDir, s.world.SQS.URL)
	for _, fn := range s.dep.Functions {
		if fn.Arch != "arm64" {
			t.Fatalf("function %s is deployed for %s; the test runs arm64 bootstraps", fn.Name, fn.Arch)
		}
	}
	// Each function signs with its own key; the fakes answer as IAM would
	// for the policy the template gives the function's role.
	for _, name := range sortedKeys(s.dep.Functions) {
		if err := s.world.Enforce(principal(s.dep.Functions[name])); err != nil {
			t.Fatal(err)
		}
	}
	// So does the heartbeat canary, as Scheduler calls SSM for it.
	c := s.dep.Canary
	if err := s.world.Enforce(awsfake.Principal{AccessKey: c.AccessKey, RoleARN: c.RoleARN, Session: "canary", Policy: c.Policy}); err != nil {
		t.Fatal(err)
	}
	s.fakeEnv = map[string]string{}
	for k, v := range s.world.Env() {
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL_") || k == "AWS_EC2_METADATA_DISABLED" || k == "AWS_CONFIG_FILE" || k == "AWS_SHARED_CREDENTIALS_FILE" {
			s.fakeEnv[k] = v
		}
	}
	for _, name := range sortedKeys(s.dep.Functions) {
		s.fns[name] = s.start(t, name)
	}
	for _, ev := range loadSamples(t, filepath.Join(root, "events")) {
		if strings.HasPrefix(ev.Path, families.Kubernetes.Name+"/") {
			s.audit = append(s.audit, ev)
		} else {
			s.events = append(s.events, ev)
		}
	}
	return s
}

func (s *stand) runsOn() string {
	if len(s.launch) == 0 {
		return "arm64 bootstraps run natively"
	}
	return "arm64 bootstraps under " + filepath.Base(s.launch[0])
}

// start starts a new instance of a function (a new execution environment).
func (s *stand) start(t *testing.T, name string) *lambdatest.Function {
	t.Helper()
	return startFunction(t, s.rie, s.launch, s.dep.Functions[name], s.fakeEnv)
}

// startSpec starts a new instance of a function from a changed copy of
// its spec (another access key and policy).
func (s *stand) startSpec(t *testing.T, fn *fnSpec) *lambdatest.Function {
	t.Helper()
	return startFunction(t, s.rie, s.launch, fn, s.fakeEnv)
}

// writePolicy is the policy the stack is synthesized with: the one the
// golden findings of shared/rules were computed under
// (shared/rules/testdata/policy.yaml, golden-policy/), with every rule in
// remediate mode so that the remediation paths run.
func writePolicy(t *testing.T, root string) string {
	t.Helper()
	base, err := os.ReadFile(filepath.Join(root, "shared", "rules", "testdata", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(base), "\n") {
		if strings.HasPrefix(line, "defaults:") {
			t.Fatalf("shared/rules/testdata/policy.yaml now sets defaults: the e2e test adds defaults.mode remediate itself; adapt writePolicy")
		}
	}
	p := filepath.Join(t.TempDir(), "policy.yaml")
	doc := strings.TrimRight(string(base), "\n") + "\ndefaults:\n  mode: remediate\n"
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func loadSamples(t *testing.T, dir string) []sample {
	t.Helper()
	var out []sample
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		raw, err = inRegion(raw, region) // a subscription payload has no region to move
		out = append(out, sample{Path: filepath.ToSlash(rel), Raw: raw})
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("read events/: %v (%d files)", err, len(out))
	}
	return out
}

// inRegion moves an event to the stack's region. EventBridge delivers a
// region's CloudTrail events to that region's bus only, so a stack sees
// EKS events of its own region (and IAM events, which are recorded in
// us-east-1); the samples' EKS events, recorded in eu-west-1, arrive here as
// the same calls made in the stack's region, where its grants apply.
func inRegion(raw []byte, to string) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	detail, _ := ev["detail"].(map[string]any)
	if ev["region"] == to || detail == nil {
		return raw, nil
	}
	ev["region"], detail["awsRegion"] = to, to
	return json.Marshal(ev)
}

// event returns a sample by path.
func (s *stand) event(t *testing.T, path string) []byte {
	t.Helper()
	for _, e := range s.events {
		if e.Path == path {
			return e.Raw
		}
	}
	t.Fatalf("no sample event %s", path)
	return nil
}

// reset gives the next scenario a fresh account: empty fakes, then the
// baseline account, the kill switch as deployed and the Slack secret.
func (s *stand) reset() {
	s.world.Reset()
	s.hook.Reset()
	seedAccount(s.world, s.dep, s.hook)
}

// targets lists the functions whose EventBridge rules match the event.
func (s *stand) targets(t *testing.T, raw []byte) []string {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("event: %v", err)
	}
	var out []string
	for _, r := range s.dep.Rules {
		ok, err := matchPattern(r.Pattern, ev)
		if err != nil {
			t.Fatalf("rule %s: %v", r.LogicalID, err)
		}
		if ok {
			out = append(out, r.Target)
		}
	}
	return out
}

// deliver sends an event to the one function whose rule matches it, as
// EventBridge would, and returns the function's name and answer.
func (s *stand) deliver(t *testing.T, raw []byte) (string, []byte) {
	t.Helper()
	to := s.targets(t, raw)
	if len(to) != 1 {
		t.Fatalf("the event matches the rules of %v, want exactly one function", to)
	}
	return to[0], invoke(t, s.fns[to[0]], raw)
}

// note is a message the SNS fake received, with the finding it carries.
type note struct {
	Pub awsfake.Published
	F   *finding.Finding
}

// alertFor delivers a sample, in an account where its change has just been
// made, to the function of its family, which must succeed with one alert;
// it returns that alert.
func (s *stand) alertFor(t *testing.T, path, function string) note {
	t.Helper()
	raw := s.event(t, path)
	applyChange(t, s.world, raw)
	_, out := s.deliver(t, raw)
	answeredNull(t, "the "+function+" function", out)
	notes := s.notes(t)
	if len(notes) != 1 {
		t.Fatalf("%d alerts, want 1", len(notes))
	}
	return notes[0]
}

func (s *stand) notes(t *testing.T) []note {
	t.Helper()
	var out []note
	for _, p := range s.world.SNS.Published() {
		f, err := notify.DecodeMessage(p.Message)
		if err != nil {
			t.Fatalf("SNS message %s is not a finding: %v\n%s", p.ID, err, p.Message)
		}
		if f.Outcome == nil {
			t.Fatalf("SNS message %s: finding %s without an outcome", p.ID, f.Rule)
		}
		if got, want := p.Attributes["outcome"], "String="+string(f.Outcome.Status); got != want {
			t.Errorf("SNS message %s: attribute outcome %q, want %q", p.ID, got, want)
		}
		out = append(out, note{Pub: p, F: f})
	}
	return out
}

// snsEvent is the Lambda event SNS delivers for one message.
func snsEvent(p awsfake.Published) []byte {
	attrs := map[string]any{}
	for name, v := range p.Attributes {
		typ, val, _ := strings.Cut(v, "=")
		attrs[name] = snsAttribute{Type: typ, Value: val}
	}
	b, _ := json.Marshal(events.SNSEvent{Records: []events.SNSEventRecord{{
		EventVersion: "1.0", EventSource: "aws:sns", EventSubscriptionArn: p.TopicARN + ":00000000-0000-4000-8000-00000000e2e0",
		SNS: events.SNSEntity{
			Type: "Notification", MessageID: p.ID, TopicArn: p.TopicARN, Subject: p.Subject, Message: p.Message,
			Timestamp: time.Now().UTC(), SignatureVersion: "1", MessageAttributes: attrs,
		},
	}}})
	return b
}

// driveSNS hands each message to the functions subscribed to its topic
// whose filter policy lets it through, as SNS would; every delivery must
// succeed. It returns how many deliveries were made.
func (s *stand) driveSNS(t *testing.T, pubs []awsfake.Published) int {
	t.Helper()
	n := 0
	for _, p := range pubs {
		attrs := map[string]snsAttribute{}
		for name, v := range p.Attributes {
			typ, val, _ := strings.Cut(v, "=")
			attrs[name] = snsAttribute{Type: typ, Value: val}
		}
		subscribed := false
		for _, sub := range s.dep.Subscriptions {
			if sub.TopicARN != p.TopicARN {
				continue
			}
			subscribed = true
			if sub.Filter != nil {
				ok, err := matchFilterPolicy(sub.Filter, attrs)
				if err != nil {
					t.Fatalf("subscription of %s: %v", sub.Target, err)
				}
				if !ok {
					continue
				}
			}
			answeredNull(t, "the "+sub.Target+" function (SNS message "+p.ID+")", invoke(t, s.fns[sub.Target], snsEvent(p)))
			n++
		}
		if !subscribed {
			t.Fatalf("message %s went to %s, which no function of the stack subscribes to", p.ID, p.TopicARN)
		}
	}
	return n
}

// driveSQS hands each message to the function whose event source mapping
// reads its queue, one batch per message (the mappings' batch size is 1),
// and returns the answers.
func (s *stand) driveSQS(t *testing.T, msgs []awsfake.Message) [][]byte {
	t.Helper()
	var out [][]byte
	for _, m := range msgs {
		var mapping *queueMapping
		for i := range s.dep.Mappings {
			if s.dep.Mappings[i].QueueURL == m.QueueURL {
				mapping = &s.dep.Mappings[i]
			}
		}
		if mapping == nil {
			t.Fatalf("message %s went to %s, which no function of the stack reads", m.ID, m.QueueURL)
		}
		if mapping.BatchSize != 1 {
			t.Fatalf("the %s mapping has batch size %d; the test delivers one message per batch", mapping.Target, mapping.BatchSize)
		}
		queue := m.QueueURL[strings.LastIndexByte(m.QueueURL, '/')+1:]
		b, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{
			MessageId: m.ID, ReceiptHandle: "e2e-" + m.ID, Body: m.Body, EventSource: "aws:sqs",
			EventSourceARN: "arn:aws:sqs:" + region + ":" + account + ":" + queue, AWSRegion: region,
			Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": fmt.Sprint(time.Now().UnixMilli())},
		}}})
		out = append(out, invoke(t, s.fns[mapping.Target], b))
	}
	return out
}

// writes lists the EKS, IAM and CloudTrail calls that change something, as "service:Op".
func (s *stand) writes() []string {
	var out []string
	for _, op := range s.world.Log.Ops("eks", "iam", "cloudtrail") {
		name := op[strings.IndexByte(op, ':')+1:]
		if !strings.HasPrefix(name, "Describe") && !strings.HasPrefix(name, "List") && !strings.HasPrefix(name, "Get") {
			out = append(out, op)
		}
	}
	return out
}

// count is how many calls of one "service:Op" the fakes received.
func (s *stand) count(op string) int {
	n := 0
	for _, o := range s.world.Log.Ops() {
		if o == op {
			n++
		}
	}
	return n
}

// thresholds reads the publish and Slack thresholds from the deployed policy.
func (s *stand) thresholds(t *testing.T) (publish, slack finding.Severity) {
	t.Helper()
	var doc struct {
		Notify struct {
			Slack, SNS struct {
				MinSeverity string `json:"minSeverity"`
			}
		} `json:"notify"`
	}
	if err := json.Unmarshal([]byte(s.dep.Functions["access"].Env["EKSGUARD_POLICY"]), &doc); err != nil {
		t.Fatalf("deployed policy: %v", err)
	}
	sl, err1 := finding.ParseSeverity(doc.Notify.Slack.MinSeverity)
	sn, err2 := finding.ParseSeverity(doc.Notify.SNS.MinSeverity)
	if err1 != nil || err2 != nil {
		t.Fatalf("deployed policy thresholds: %v %v", err1, err2)
	}
	return min(sl, sn), sl
}

// golden returns "rule/severity" of the findings shared/rules expects for
// a sample under the e2e policy, at or above the threshold, sorted. The
// correlation rules' findings are left out: the goldens hold what a replay
// of the whole corpus gives, in event-time order, and every-event delivers
// each sample alone (to a reset world), so that only the event's own rules
// can fire; the correlation scenario delivers a pair.
func (s *stand) golden(t *testing.T, path string, threshold finding.Severity) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.root, "shared", "rules", "testdata", "golden-policy", filepath.FromSlash(path)))
	if err != nil {
		t.Fatalf("golden findings: %v", err)
	}
	var fs []struct {
		Rule     string `json:"rule"`
		Severity string `json:"severity"`
	}
	if err := json.Unmarshal(raw, &fs); err != nil {
		t.Fatalf("golden findings of %s: %v", path, err)
	}
	out := []string{}
	for _, f := range fs {
		sev, err := finding.ParseSeverity(f.Severity)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := rules.ByID(f.Rule); ok && r.Correlate != nil {
			continue
		}
		if sev >= threshold {
			out = append(out, f.Rule+"/"+f.Severity)
		}
	}
	slices.Sort(out)
	return out
}

// withIdentity rewrites an event's caller as a session of a role.
func withIdentity(t *testing.T, raw []byte, role, session string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	name := role[strings.LastIndexByte(role, '/')+1:]
	detail := ev["detail"].(map[string]any)
	detail["userIdentity"] = map[string]any{
		"type": "AssumedRole", "principalId": "AROAE2EFAKEFAKEFAKE:" + session,
		"arn": "arn:aws:sts::" + account + ":assumed-role/" + name + "/" + session, "accountId": account,
		"sessionContext": map[string]any{
			"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROAE2EFAKEFAKEFAKE", "arn": role, "accountId": account, "userName": name},
			"attributes":    map[string]any{"creationDate": "2025-05-10T03:00:00Z", "mfaAuthenticated": "false"},
		},
	}
	detail["eventID"] = "e2e00000-0000-4000-8000-000000000001"
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
