package slackhook

import (
	"context"
	"sync"

	"github.com/slack-go/slack"
)

// FromSecret is a Client whose webhook URL comes from a Secrets Manager
// secret, read once (at cold start, through Warm, or on first use) and
// cached. A failed read is retried on the next call, so a secret fixed
// after deployment is picked up without a redeploy.
type FromSecret struct {
	sm        SecretsClient
	secretARN string
	optFns    []func(*Options)

	mu     sync.Mutex
	client *Client
}

// NewFromSecret prepares a client for the webhook stored in secretARN;
// optFns change the client's Options, as for New.
func NewFromSecret(sm SecretsClient, secretARN string, optFns ...func(*Options)) *FromSecret {
	return &FromSecret{sm: sm, secretARN: secretARN, optFns: optFns}
}

// Warm reads the secret now, if it has not been read yet.
func (s *FromSecret) Warm(ctx context.Context) error {
	_, err := s.get(ctx)
	return err
}

// Post reads the secret if needed, then posts like Client.Post.
func (s *FromSecret) Post(ctx context.Context, msg *slack.WebhookMessage) (int, error) {
	c, err := s.get(ctx)
	if err != nil {
		return 0, err
	}
	return c.Post(ctx, msg)
}

func (s *FromSecret) get(ctx context.Context) (*Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, nil
	}
	u, err := LoadURL(ctx, s.sm, s.secretARN)
	if err != nil {
		return nil, err
	}
	s.client = New(u, s.optFns...)
	return s.client, nil
}
