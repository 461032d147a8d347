package guard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/config"
	marktable "github.com/eksguard/eksguard/shared/correlation/table"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/guard"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/suppress"
)

const (
	table     = "eksguard"
	topic     = "arn:aws:sns:eu-west-1:111122223333:eksguard-findings"
	killParam = "/eksguard/remediation"
	devTeam   = "arn:aws:iam::111122223333:role/dev-team"
	devPath   = "arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fdev-team"
	adminPol  = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	adminPath = "arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSClusterAdminPolicy"
	viewPol   = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"

	remediateAll = "version: 1\ndefaults:\n  mode: remediate\nprincipals:\n  admins: [\"arn:aws:iam::111122223333:role/platform-admins\"]\n"
	notifyAll    = "version: 1\ndefaults:\n  mode: notify\n"
)

// harness is a family function's guard, built by guard.FromEnv as main.go
// builds it (EKSGUARD_* variables, the SDK's default configuration pointed
// at the fakes through AWS_ENDPOINT_URL_*, the real rules and SNS
// publisher), with a retryer without backoff delays and an injected clock.
type harness struct {
	t        *testing.T
	w        *awsfake.World
	g        *guard.Guard
	now      time.Time
	logs     *bytes.Buffer
	queueURL string
}

func newHarness(t *testing.T, fam families.Family, policyDoc string, env map[string]string) *harness {
	t.Helper()
	w := awsfake.New(t)
	h := &harness{t: t, w: w, now: time.Date(2025, 5, 6, 9, 15, 0, 0, time.UTC), logs: &bytes.Buffer{}}
	h.queueURL = w.SQS.URL + "/111122223333/eksguard-defer"
	vars := w.Env()
	maps.Copy(vars, map[string]string{
		config.EnvPolicy:              policyJSON(t, policyDoc),
		config.EnvTable:               table,
		config.EnvTopicARN:            topic,
		config.EnvRemediationRoleARN:  "arn:aws:iam::111122223333:role/eksguard-*",
		config.EnvKillSwitchParameter: killParam,
		config.EnvDeferQueueURL:       h.queueURL,
		config.EnvRemediation:         "",
		config.EnvDeferDelaySeconds:   "",
		config.EnvDeferMaxAttempts:    "",
		config.EnvClusterRegions:      "",
	})
	maps.Copy(vars, env)
	for k, v := range vars {
		t.Setenv(k, v)
	}
	g, err := guard.FromEnv(context.Background(), fam, slog.New(slog.NewJSONHandler(h.logs, nil)), func(c *aws.Config) { c.Retryer = awsfake.FastRetryer })
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return h.now }
	g.Events.Now, g.Breaker.Now, g.Kill.Now = clock, clock, clock
	if g.Roles != nil {
		g.Roles.Now = clock
	}
	if m, ok := g.Marks.(*marktable.Store); ok {
		m.Now = clock
	}
	if s, ok := g.Suppressions.(*suppress.Store); ok {
		s.Now = clock
	}
	n := 0
	g.Events.NewToken = func() string { n++; return fmt.Sprintf("claim-%d", n) }
	h.g = g
	w.SSM.Set(killParam, "on")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("guard logs:\n%s", h.logs.String())
		}
	})
	return h
}

// event loads a sample event from events/ and lets the test change its record.
func event(t *testing.T, path string, change func(detail map[string]any)) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", path))
	if err != nil {
		t.Fatal(err)
	}
	if change == nil {
		return b
	}
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	change(env["detail"].(map[string]any))
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func withEventID(id string) func(map[string]any) {
	return func(d map[string]any) { d["eventID"] = id }
}

// published decodes every finding published to the SNS topic so far.
func (h *harness) published() []finding.Finding {
	h.t.Helper()
	var out []finding.Finding
	for _, p := range h.w.SNS.Published() {
		if p.TopicARN != topic {
			h.t.Fatalf("published to %s", p.TopicARN)
		}
		f, err := notify.DecodeMessage(p.Message)
		if err != nil {
			h.t.Fatalf("published message: %v", err)
		}
		out = append(out, *f)
	}
	return out
}

// ops checks the exact sequence of AWS operations since the last reset.
func (h *harness) ops(want ...string) {
	h.t.Helper()
	got := h.w.Log.Ops()
	if !reflect.DeepEqual(got, want) {
		h.t.Fatalf("AWS calls:\n got  %s\n want %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}

// calls checks the exact calls (operation, method, raw path) to one service.
func (h *harness) calls(service string, want ...string) {
	h.t.Helper()
	var got []string
	for _, c := range h.w.Log.Of(service) {
		got = append(got, c.String())
	}
	if !reflect.DeepEqual(got, want) {
		h.t.Fatalf("%s calls:\n got  %q\n want %q", service, got, want)
	}
}

func (h *harness) body(service, op string, n int) string {
	h.t.Helper()
	i := 0
	for _, c := range h.w.Log.Of(service) {
		if c.Op == op {
			if i == n {
				return c.Body
			}
			i++
		}
	}
	h.t.Fatalf("no %s %s call #%d", service, op, n)
	return ""
}

func sqsEvent(msgs ...awsfake.Message) json.RawMessage {
	ev := events.SQSEvent{}
	for _, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: m.ID, Body: m.Body, EventSource: "aws:sqs",
			EventSourceARN: "arn:aws:sqs:eu-west-1:111122223333:eksguard-defer", AWSRegion: "eu-west-1",
		})
	}
	b, _ := json.Marshal(ev)
	return b
}

func jsonEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("not JSON: %s", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %s", want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("body:\n got  %s\n want %s", got, want)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// policyJSON is a YAML policy in the JSON form the stack gives the functions.
func policyJSON(t *testing.T, doc string) string {
	t.Helper()
	p, err := policy.Parse([]byte(doc), "test policy", rules.IDs())
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}
