package slackhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

const secretARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:eksguard/slack-AbCdEf"

// secretsFake is a Secrets Manager endpoint serving one secret string (or
// ResourceNotFoundException while value is empty).
type secretsFake struct {
	mu    sync.Mutex
	value string
	calls []string // request bodies
}

func (f *secretsFake) start(t *testing.T) *secretsmanager.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			t.Errorf("X-Amz-Target = %q", got)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, string(body))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if f.value == "" {
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"ARN": secretARN, "Name": "eksguard/slack", "SecretString": f.value})
	}))
	t.Cleanup(srv.Close)
	return secretsmanager.New(secretsmanager.Options{
		Region:           "eu-west-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDFAKE", "fake-secret", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: 1,
	})
}

func (f *secretsFake) set(v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value = v
}

func (f *secretsFake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func TestLoadURLReadsPlainAndJSONSecrets(t *testing.T) {
	h := newHook(t)
	want := h.srv.URL + secretPath
	for name, value := range map[string]string{
		"plain": want,
		"json":  `{"webhookUrl": "` + want + `", "note": "rotated 2024"}`,
	} {
		t.Run(name, func(t *testing.T) {
			fake := &secretsFake{value: value}
			u, err := LoadURL(context.Background(), fake.start(t), secretARN)
			if err != nil {
				t.Fatal(err)
			}
			if u.v != want {
				t.Errorf("URL = %q, want %q", u.v, want)
			}
			if !strings.Contains(fake.calls[0], `"SecretId":"`+secretARN+`"`) {
				t.Errorf("request = %s", fake.calls[0])
			}
		})
	}
}

func TestLoadURLErrorsNeverQuoteTheSecret(t *testing.T) {
	for name, value := range map[string]string{
		"json without key": `{"url": "https://hooks.slack.com` + secretPath + `"}`,
		"broken json":      `{"webhookUrl": "https://hooks.slack.com` + secretPath,
		"not a URL":        "hooks.slack.com" + secretPath,
	} {
		t.Run(name, func(t *testing.T) {
			fake := &secretsFake{value: value}
			_, err := LoadURL(context.Background(), fake.start(t), secretARN)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), secretARN) {
				t.Errorf("error does not name the secret: %v", err)
			}
			assertNoSecret(t, "error", err.Error())
		})
	}
	if _, err := LoadURL(context.Background(), (&secretsFake{}).start(t), ""); err == nil {
		t.Error("no error without a secret ARN")
	}
}

func TestEmptySecretIsNotConfigured(t *testing.T) {
	fake := &secretsFake{value: "   "}
	_, err := LoadURL(context.Background(), fake.start(t), secretARN)
	if !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("LoadURL of a blank secret = %v, want ErrNotConfigured", err)
	}
	fake.set(`{"webhookUrl": "not a url"}`)
	if _, err := LoadURL(context.Background(), fake.start(t), secretARN); err == nil || errors.Is(err, ErrNotConfigured) {
		t.Fatalf("a malformed secret is a real error, not 'not configured': %v", err)
	}
}

func TestFromSecretReadsOnceAndRetriesAFailedRead(t *testing.T) {
	h := newHook(t)
	fake := &secretsFake{} // not created yet
	var s sleeps
	p := NewFromSecret(fake.start(t), secretARN, s.options)
	if err := p.Warm(context.Background()); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") || !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("Warm = %v, want the Secrets Manager error, as ErrNotConfigured", err)
	}
	if _, err := p.Post(context.Background(), message()); err == nil {
		t.Fatal("Post succeeded without a secret")
	}
	fake.set(h.srv.URL + secretPath)
	for range 3 {
		if _, err := p.Post(context.Background(), message()); err != nil {
			t.Fatal(err)
		}
	}
	if fake.count() != 3 || h.requests() != 3 {
		t.Errorf("secret reads = %d (want 2 failed + 1), webhook posts = %d (want 3)", fake.count(), h.requests())
	}
}
