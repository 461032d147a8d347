//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// slackHook is a fake Slack incoming webhook: it records every request and
// answers with the scripted responses, then 200 "ok".
type slackHook struct {
	srv   *httptest.Server
	path  string // the secret part of the URL
	Token string // its last segment, which must never reach a log

	mu     sync.Mutex
	script []hookResponse
	posts  []slackPost
}

// hookResponse is one scripted answer.
type hookResponse struct {
	Status     int
	RetryAfter string // Retry-After header of a 429
}

// slackPost is one request the webhook received and what it answered.
type slackPost struct {
	Status int
	Body   []byte
	Path   string
	Type   string // Content-Type
}

// message decodes the posted webhook message.
func (p slackPost) message(t *testing.T) (msg struct {
	Text   string            `json:"text"`
	Blocks []json.RawMessage `json:"blocks"`
}) {
	t.Helper()
	if err := json.Unmarshal(p.Body, &msg); err != nil {
		t.Fatalf("Slack post is not JSON: %v\n%s", err, p.Body)
	}
	return msg
}

func newSlackHook(t *testing.T) *slackHook {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	h := &slackHook{Token: "e2e" + hex.EncodeToString(b)}
	h.path = "/services/T0E2E0000/B0E2E0000/" + h.Token
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

// URL is the webhook URL, the value of the Slack secret.
func (h *slackHook) URL() string { return h.srv.URL + h.path }

func (h *slackHook) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	resp := hookResponse{Status: http.StatusOK}
	if r.Method != http.MethodPost || r.URL.Path != h.path {
		resp.Status = http.StatusNotFound // what Slack answers for a wrong or revoked webhook
	} else if len(h.script) > 0 {
		resp, h.script = h.script[0], h.script[1:]
	}
	h.posts = append(h.posts, slackPost{Status: resp.Status, Body: body, Path: r.URL.Path, Type: r.Header.Get("Content-Type")})
	h.mu.Unlock()

	if resp.RetryAfter != "" {
		w.Header().Set("Retry-After", resp.RetryAfter)
	}
	w.WriteHeader(resp.Status)
	if resp.Status == http.StatusOK {
		_, _ = io.WriteString(w, "ok")
	} else {
		_, _ = io.WriteString(w, http.StatusText(resp.Status))
	}
}

// Script queues answers for the next requests.
func (h *slackHook) Script(responses ...hookResponse) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.script = append(h.script, responses...)
}

// Posts returns every request so far.
func (h *slackHook) Posts() []slackPost {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slackPost(nil), h.posts...)
}

// Reset forgets the requests and the script.
func (h *slackHook) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.posts, h.script = nil, nil
}
