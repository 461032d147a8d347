// Package stsfake is a local fake of AWS STS's AssumeRole (Query protocol,
// API version 2011-06-15), for tests that drive the real aws-sdk-go-v2
// STS client: it issues each account's role credentials under an access
// key that names the account (AccessKeyFor), records every call, and can
// be told to refuse a role as IAM would (AccessDenied).
package stsfake

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one AssumeRole request the fake received.
type Call struct {
	// Caller is the access key that signed the request.
	Caller          string
	RoleARN         string
	RoleSessionName string
	DurationSeconds int
}

// STS is the fake. Its zero value is not usable: call New.
type STS struct {
	URL string
	// Now is the clock credentials expire by (time.Now when nil).
	Now func() time.Time

	mu     sync.Mutex
	calls  []Call
	denied map[string]bool
	srv    *httptest.Server
}

// New starts the fake; it stops when the test ends.
func New(t testing.TB) *STS {
	s := &STS{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// AccessKeyFor is the access key of the credentials the fake issues for a
// role in the account: the fakes of the account's services tell its
// callers by it.
func AccessKeyFor(account string) string { return "ASIA" + account }

// Deny makes AssumeRole of the role fail with AccessDenied.
func (s *STS) Deny(roleARN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied == nil {
		s.denied = map[string]bool{}
	}
	s.denied[roleARN] = true
}

// Reset forgets the calls and the denials.
func (s *STS) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.denied = nil, nil
}

// Calls returns every AssumeRole call so far.
func (s *STS) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func (s *STS) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		writeError(w, http.StatusBadRequest, "Sender", "InvalidAction", "want a POST of a form-encoded Query request")
		return
	}
	f := r.PostForm
	if f.Get("Action") != "AssumeRole" || f.Get("Version") != "2011-06-15" {
		writeError(w, http.StatusBadRequest, "Sender", "InvalidAction", fmt.Sprintf("the fake serves AssumeRole of 2011-06-15, not %s %s", f.Get("Action"), f.Get("Version")))
		return
	}
	key := accessKey(r)
	c := Call{Caller: key, RoleARN: f.Get("RoleArn"), RoleSessionName: f.Get("RoleSessionName")}
	c.DurationSeconds, _ = strconv.Atoi(f.Get("DurationSeconds"))
	s.mu.Lock()
	s.calls = append(s.calls, c)
	denied := s.denied[c.RoleARN]
	s.mu.Unlock()

	account, role, ok := roleParts(c.RoleARN)
	switch {
	case key == "":
		writeError(w, http.StatusForbidden, "Sender", "MissingAuthenticationToken", "request is not signed")
		return
	case !ok:
		writeError(w, http.StatusBadRequest, "Sender", "ValidationError", fmt.Sprintf("%q is not a role ARN", c.RoleARN))
		return
	case c.RoleSessionName == "" || len(c.RoleSessionName) > 64 || strings.Trim(c.RoleSessionName, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-") != "":
		writeError(w, http.StatusBadRequest, "Sender", "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint", c.RoleSessionName))
		return
	case c.DurationSeconds != 0 && (c.DurationSeconds < 900 || c.DurationSeconds > 43200):
		writeError(w, http.StatusBadRequest, "Sender", "ValidationError", "DurationSeconds must be between 900 and 43200")
		return
	case denied:
		writeError(w, http.StatusForbidden, "Sender", "AccessDenied",
			fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", key, c.RoleARN))
		return
	}
	d := c.DurationSeconds
	if d == 0 {
		d = 3600
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	resp := assumeRoleResponse{
		Result: assumeRoleResult{
			User: assumedRoleUser{
				ARN: "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + c.RoleSessionName,
				ID:  "AROAFAKE" + account + ":" + c.RoleSessionName,
			},
			Credentials: credentials{
				AccessKeyID:     AccessKeyFor(account),
				SecretAccessKey: "fake-secret-" + account,
				SessionToken:    "fake-token-" + account,
				Expiration:      now().UTC().Add(time.Duration(d) * time.Second).Format(time.RFC3339),
			},
		},
		RequestID: "fake-request-" + strconv.Itoa(len(s.Calls())),
	}
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(resp)
}

type assumeRoleResponse struct {
	XMLName   xml.Name         `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result    assumeRoleResult `xml:"AssumeRoleResult"`
	RequestID string           `xml:"ResponseMetadata>RequestId"`
}

type assumeRoleResult struct {
	User        assumedRoleUser `xml:"AssumedRoleUser"`
	Credentials credentials     `xml:"Credentials"`
}

type assumedRoleUser struct {
	ARN string `xml:"Arn"`
	ID  string `xml:"AssumedRoleId"`
}

type credentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type errorResponse struct {
	XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(errorResponse{Type: typ, Code: code, Message: msg, RequestID: "fake-error"})
}

// accessKey is the access key of a SigV4 Authorization header, or "".
func accessKey(r *http.Request) string {
	h := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(h, "Credential=")
	if !ok || !strings.HasPrefix(h, "AWS4-HMAC-SHA256 ") {
		return ""
	}
	key, _, _ := strings.Cut(cred, "/")
	return key
}

// roleParts splits arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME.
func roleParts(arn string) (account, role string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || len(parts[4]) != 12 || !strings.HasPrefix(parts[5], "role/") {
		return "", "", false
	}
	name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
	return parts[4], name, name != ""
}
