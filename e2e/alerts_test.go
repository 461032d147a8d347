//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Alerts that were not delivered, under the runtime emulator (issue 17).

// unset-then-set: the webhook secret holds no value yet (as the stack
// creates it), so a new notifier counts the finding (SlackNotConfigured)
// and posts nothing; once the secret is set, the same finding, made again,
// is posted at once, not folded into the alert nobody saw.
func scenarioUnsetThenSet(t *testing.T, s *stand) string {
	s.reset()
	s.world.SecretsManager.Set(s.dep.SlackSecret, "")
	notifier := s.start(t, "notifier") // a cold start reads the empty secret
	first := s.alertFor(t, adminGrantEvent, "access")
	m := notifier.Mark()
	answeredNull(t, "the notifier, secret empty", invoke(t, notifier, snsEvent(first.Pub)))
	if n := len(s.hook.Posts()); n != 0 {
		t.Fatalf("%d Slack posts with the secret empty, want 0", n)
	}
	if !notifier.WaitCount(m, `"SlackNotConfigured":1`, 1) || !strings.Contains(notifier.Since(m), "Slack alerts are off until the webhook secret is set") {
		t.Errorf("no SlackNotConfigured metric and warning for the dropped finding:\n%s", notifier.Since(m))
	}

	// Slack is set up; the change is made again, as a new CloudTrail event.
	s.world.SecretsManager.Set(s.dep.SlackSecret, s.hook.URL())
	again := withEventID(t, s.event(t, adminGrantEvent), "e2e00000-0000-4000-8000-000000000017")
	applyChange(t, s.world, again)
	_, out := s.deliver(t, again)
	answeredNull(t, "the access function, the change made again", out)
	second := s.notes(t)[1:]
	if len(second) != 1 || second[0].F.Rule != first.F.Rule || second[0].F.Key() != first.F.Key() {
		t.Fatalf("alerts for the repeat: %d, want one of the same rule on the same resource", len(second))
	}
	m = notifier.Mark()
	answeredNull(t, "the notifier, secret set", invoke(t, notifier, snsEvent(second[0].Pub)))
	posts := s.hook.Posts()
	if len(posts) != 1 {
		t.Fatalf("%d Slack posts after the secret was set, want 1", len(posts))
	}
	checkPost(t, posts[0], second[0].F)
	if out := notifier.Since(m); strings.Contains(out, "folded into an earlier alert") || !strings.Contains(out, `"message":"posted to Slack"`) {
		t.Errorf("the repeat was not posted on its own:\n%s", out)
	}
	return fmt.Sprintf("secret empty: %s counted (SlackNotConfigured), 0 posts; secret set: the repeat posted (1 post, not folded)", first.F.Rule)
}

// hanging-webhook: Slack accepts the connection and never answers. The
// notifier's first attempt runs to its timeout; it starts no retry that
// the invocation's deadline would cut, and answers with its own error
// (and metric) instead of a Lambda timeout.
func scenarioHangingWebhook(t *testing.T, s *stand) string {
	var requests atomic.Int32
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })
	const token = "e2ehangtoken0000000000"
	s.reset()
	s.world.SecretsManager.Set(s.dep.SlackSecret, hang.URL+"/services/T0E2E0000/B0E2E0000/"+token)
	notifier := s.start(t, "notifier") // reads the hanging webhook's URL at cold start

	raw := s.event(t, auditLogsEvent)
	applyChange(t, s.world, raw)
	_, out := s.deliver(t, raw)
	answeredNull(t, "the cluster function", out)
	notes := s.notes(t)
	if len(notes) != 1 {
		t.Fatalf("%d alerts, want 1", len(notes))
	}
	m := notifier.Mark()
	began := time.Now()
	answer := invoke(t, notifier, snsEvent(notes[0].Pub))
	took := time.Since(began)
	var doc struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	if err := json.Unmarshal(answer, &doc); err != nil || doc.Message == "" {
		t.Fatalf("the notifier answered %s; want its error document", answer)
	}
	if !strings.Contains(doc.Message, "notify "+notes[0].F.Rule) || !strings.Contains(doc.Message, "would pass the deadline") {
		t.Errorf("the notifier answered %s: %s; want its own deadline error, not a Lambda timeout", doc.Type, doc.Message)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d attempts reached the webhook, want 1 (a second could not end before the deadline)", n)
	}
	logs := notifier.Since(m)
	if !strings.Contains(logs, `"NotificationFailures":1`) || !strings.Contains(logs, `"stage":"slack-deadline"`) {
		t.Errorf("no NotificationFailures metric with stage slack-deadline:\n%s", logs)
	}
	if strings.Contains(notifier.Output(), token) {
		t.Errorf("the notifier's output contains the webhook token")
	}
	spec := s.dep.Functions["notifier"]
	return fmt.Sprintf("function timeout %ds: 1 attempt (10s timeout), no retry that would pass the deadline; its own error after %s",
		spec.Timeout, took.Round(100*time.Millisecond))
}

// withEventID gives an event a new CloudTrail event ID: the same change,
// made again.
func withEventID(t *testing.T, raw []byte, id string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["detail"].(map[string]any)["eventID"] = id
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
