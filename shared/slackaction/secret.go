package slackaction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretReader is the part of the Secrets Manager client the secret uses.
type SecretReader interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretReader = (*secretsmanager.Client)(nil)

// secretTTL is how long a read secret is used before it is read again (a
// rotated signing secret is picked up within it).
const secretTTL = 5 * time.Minute

// SecretCache reads the Slack app's secret from Secrets Manager and keeps
// it for secretTTL. The secret is either the signing secret alone or the
// JSON {"signingSecret": "...", "botToken": "xoxb-..."}.
type SecretCache struct {
	SM  SecretReader
	ARN string
	Now func() time.Time

	mu   sync.Mutex
	val  Secret
	read time.Time
}

// Get returns the secret, reading it when it is not cached.
func (c *SecretCache) Get(ctx context.Context) (Secret, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.val.SigningSecret) > 0 && now().Sub(c.read) < secretTTL {
		return c.val, nil
	}
	out, err := c.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.ARN)})
	if err != nil {
		return Secret{}, fmt.Errorf("read the Slack app secret %s: %w", c.ARN, err)
	}
	s, err := ParseSecret(aws.ToString(out.SecretString))
	if err != nil {
		return Secret{}, fmt.Errorf("read the Slack app secret %s: %w", c.ARN, err)
	}
	c.val, c.read = s, now()
	return s, nil
}

// ParseSecret reads the secret's value.
func ParseSecret(v string) (Secret, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return Secret{}, errors.New("the secret is empty: put the Slack app's signing secret in it (docs/slack-app.md)")
	}
	if !strings.HasPrefix(v, "{") {
		return Secret{SigningSecret: []byte(v)}, nil
	}
	var doc struct {
		SigningSecret string `json:"signingSecret"`
		BotToken      string `json:"botToken"`
	}
	if err := json.Unmarshal([]byte(v), &doc); err != nil {
		return Secret{}, errors.New("the secret is not valid JSON") // the value itself never reaches an error
	}
	if doc.SigningSecret == "" {
		return Secret{}, errors.New("the secret's JSON has no signingSecret")
	}
	return Secret{SigningSecret: []byte(doc.SigningSecret), BotToken: doc.BotToken}, nil
}
