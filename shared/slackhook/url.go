// Package slackhook posts messages to a Slack incoming webhook: it reads the
// webhook URL from Secrets Manager, retries with backoff (honouring Slack's
// 429 Retry-After), and keeps the URL out of every error and log line.
package slackhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// URL is a webhook URL. It is a secret: whoever has it can post to the
// channel. Every way of printing it (fmt, slog, JSON) shows a placeholder.
type URL struct{ v string }

// Redacted is what a URL prints as.
const Redacted = "[slack-webhook-url]"

// String hides the URL.
func (URL) String() string { return Redacted }

// GoString hides the URL from %#v.
func (URL) GoString() string { return Redacted }

// LogValue hides the URL from slog.
func (URL) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON hides the URL from JSON.
func (URL) MarshalJSON() ([]byte, error) { return json.Marshal(Redacted) }

// ParseURL checks a webhook URL: https (or http, for local fakes) with a host and path.
func ParseURL(raw string) (URL, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// The value may be a slightly malformed real URL: never echo it.
		return URL{}, errors.New("webhook URL is not an http(s) URL")
	}
	return URL{v: raw}, nil
}

// SecretsClient is the one Secrets Manager call this package makes.
type SecretsClient interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsClient = (*secretsmanager.Client)(nil)

// ErrNotConfigured says the secret holds no webhook yet: the stack creates it
// empty, and Slack alerts stay off until someone sets it.
var ErrNotConfigured = errors.New("slack webhook not configured")

// LoadURL reads the webhook URL from a Secrets Manager secret whose string
// is either the URL itself or JSON {"webhookUrl": "..."}.
func LoadURL(ctx context.Context, sm SecretsClient, secretARN string) (URL, error) {
	if secretARN == "" {
		return URL{}, errors.New("read Slack webhook secret: no secret ARN configured")
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretARN})
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		// A secret created without a value has no AWSCURRENT version yet.
		return URL{}, fmt.Errorf("read Slack webhook secret %s: %w (the secret has no value: %v)", secretARN, ErrNotConfigured, err)
	}
	if err != nil {
		return URL{}, fmt.Errorf("read Slack webhook secret %s: %w", secretARN, err)
	}
	if out.SecretString == nil || strings.TrimSpace(*out.SecretString) == "" {
		return URL{}, fmt.Errorf("read Slack webhook secret %s: %w (the secret's string is empty)", secretARN, ErrNotConfigured)
	}
	s := strings.TrimSpace(*out.SecretString)
	if strings.HasPrefix(s, "{") {
		var doc struct {
			WebhookURL string `json:"webhookUrl"`
		}
		// Decoding errors from encoding/json quote parts of the input: drop them.
		if json.Unmarshal([]byte(s), &doc) != nil {
			return URL{}, fmt.Errorf("read Slack webhook secret %s: the secret is neither a URL nor valid JSON", secretARN)
		}
		if doc.WebhookURL == "" {
			return URL{}, fmt.Errorf(`read Slack webhook secret %s: the JSON secret has no "webhookUrl" key`, secretARN)
		}
		s = doc.WebhookURL
	}
	u, err := ParseURL(s)
	if err != nil {
		return URL{}, fmt.Errorf("read Slack webhook secret %s: %w", secretARN, err)
	}
	return u, nil
}

// scrub removes the URL, and its secret path, from text.
func (u URL) scrub(s string) string {
	if u.v == "" {
		return s
	}
	secrets := []string{u.v, url.QueryEscape(u.v)}
	if p, err := url.Parse(u.v); err == nil {
		// The path (/services/T../B../token) is the secret part: catch it on
		// its own too, plain and escaped.
		secrets = append(secrets, p.EscapedPath(), p.Path, p.RawQuery)
		if last := p.Path[strings.LastIndexByte(p.Path, '/')+1:]; len(last) >= 8 {
			secrets = append(secrets, last) // the token
		}
	}
	for _, sec := range secrets {
		if len(sec) > 1 {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}
