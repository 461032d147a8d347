package guard_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/heartbeat"
)

const (
	canaryRole    = "arn:aws:iam::111122223333:role/eksguard-CanaryRole4B6D8F0A-1A2B3C4D5E6F"
	canarySession = "arn:aws:sts::111122223333:assumed-role/eksguard-CanaryRole4B6D8F0A-1A2B3C4D5E6F/0a1b2c3d4e5f"
	heartbeatKey  = "heartbeat#111122223333#eu-west-1"
)

// putParameter is the kill-switch sample event rewritten: the parameter, the
// caller (a role and its session) and the event ID.
func putParameter(t *testing.T, name, role, session, id string) []byte {
	return event(t, "tamper/put-kill-switch-off.json", func(d map[string]any) {
		d["eventID"] = id
		d["requestParameters"].(map[string]any)["name"] = name
		d["requestParameters"].(map[string]any)["value"] = "2025-05-12T08:30:00Z"
		ui := d["userIdentity"].(map[string]any)
		ui["arn"] = session
		ui["sessionContext"].(map[string]any)["sessionIssuer"].(map[string]any)["arn"] = role
	})
}

func canaryHarness(t *testing.T) (*harness, *bytes.Buffer) {
	h := newHarness(t, families.Tamper, notifyAll, map[string]string{config.EnvCanaryRoleARN: canaryRole})
	if h.g.Canary == nil {
		t.Fatal("tamper guard has no canary with EKSGUARD_CANARY_ROLE_ARN set")
	}
	var metrics bytes.Buffer
	h.g.Canary.Recorder.Metrics = &metrics
	h.g.Canary.Recorder.Now = func() time.Time { return h.now }
	h.w.Log.Reset()
	return h, &metrics
}

// The canary's write of the heartbeat parameter is recorded as heard, and
// reaches no rule: no kill-switch read, no claim, nothing published.
func TestCanaryHeartbeatIsRecorded(t *testing.T) {
	h, metrics := canaryHarness(t)
	if got, want := h.g.Canary.Parameter, heartbeat.Parameter("eksguard"); got != want {
		t.Fatalf("heartbeat parameter: got %s, want %s", got, want)
	}
	if err := h.g.HandleEvent(context.Background(), putParameter(t, "/eksguard/heartbeat", canaryRole, canarySession, "beat-1")); err != nil {
		t.Fatal(err)
	}
	h.ops("dynamodb:UpdateItem")
	it, ok := h.w.DynamoDB.Get(table, heartbeatKey)
	if !ok {
		t.Fatalf("no %s item after the heartbeat", heartbeatKey)
	}
	if got, want := it.S("heardAt"), "2025-05-12T08:31:27.000000000Z"; got != want {
		t.Fatalf("heardAt: got %s, want %s", got, want)
	}
	if got := it.S("eventID"); got != "beat-1" {
		t.Fatalf("eventID: got %s, want beat-1", got)
	}
	if !strings.Contains(metrics.String(), `"`+heartbeat.MetricName+`":1`) {
		t.Fatalf("metric line: got %q, want one %s data point", metrics.String(), heartbeat.MetricName)
	}
	if n := len(h.published()); n != 0 {
		t.Fatalf("published %d findings, want 0", n)
	}
}

// Anything else the canary's role does is ignored (the loop guard), even a
// call a rule would judge: the kill switch turned off.
func TestCanaryOtherCallsAreIgnored(t *testing.T) {
	h, metrics := canaryHarness(t)
	if err := h.g.HandleEvent(context.Background(), putParameter(t, "/eksguard/remediation", canaryRole, canarySession, "odd-1")); err != nil {
		t.Fatal(err)
	}
	h.ops()
	if metrics.Len() != 0 {
		t.Fatalf("metric line for a call that is not the heartbeat: %q", metrics.String())
	}
	if !strings.Contains(h.logs.String(), "not its heartbeat") {
		t.Fatalf("logs: got %s, want the canary's other call logged as ignored", h.logs.String())
	}
}

// A write of the heartbeat parameter by anyone else is not a heartbeat.
func TestHeartbeatParameterWrittenByAnotherIsNotHeard(t *testing.T) {
	h, metrics := canaryHarness(t)
	dev := "arn:aws:iam::111122223333:role/dev-team"
	if err := h.g.HandleEvent(context.Background(), putParameter(t, "/eksguard/heartbeat", dev, "arn:aws:sts::111122223333:assumed-role/dev-team/mallory", "forged-1")); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.w.DynamoDB.Get(table, heartbeatKey); ok {
		t.Fatal("a heartbeat was recorded for dev-team's write")
	}
	if metrics.Len() != 0 {
		t.Fatalf("metric line for dev-team's write: %q", metrics.String())
	}
}

// Only the family that owns PutParameter gets the canary.
func TestOnlyTheTamperFunctionHearsTheCanary(t *testing.T) {
	h := newHarness(t, families.Access, notifyAll, map[string]string{config.EnvCanaryRoleARN: canaryRole})
	if h.g.Canary != nil {
		t.Fatalf("access guard has a canary: %+v", h.g.Canary)
	}
}
