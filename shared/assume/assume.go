// Package assume gives the central functions of an organization deployment
// the credentials of a member account: sts:AssumeRole on the account's
// remediation role, with a short session named after the event that needed
// it, cached per account until shortly before the credentials expire.
package assume

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DefaultRoleName is the remediation role's name in every member account
// unless the remediationRoleName setting says otherwise. `eksguard scan`
// defaults its --role-name to it as well.
const DefaultRoleName = "eksguard-remediation"

const (
	// DefaultDuration is the sessions' lifetime: the shortest STS allows.
	DefaultDuration = 15 * time.Minute
	// DefaultRefreshBefore is how long before expiry cached credentials
	// are replaced.
	DefaultRefreshBefore = 2 * time.Minute
	// maxSessionName is STS's limit on RoleSessionName.
	maxSessionName = 64
)

// STS is the part of the STS client Roles uses.
type STS interface {
	AssumeRole(ctx context.Context, params *sts.AssumeRoleInput, optFns ...func(*sts.Options)) (*sts.AssumeRoleOutput, error)
}

var _ STS = (*sts.Client)(nil)

// Roles hands out, per account, the credentials of that account's
// remediation role. Safe for concurrent use.
type Roles struct {
	STS STS
	// Partition is the ARN partition ("aws" when empty).
	Partition string
	// RoleName is the role's name in every account (DefaultRoleName when empty).
	RoleName string
	// Duration is the session lifetime (DefaultDuration when zero).
	Duration time.Duration
	// RefreshBefore is how long before expiry credentials are renewed
	// (DefaultRefreshBefore when zero).
	RefreshBefore time.Duration

	mu     sync.Mutex
	caches map[string]*aws.CredentialsCache
}

// RoleARN is the remediation role's ARN in an account.
func (r *Roles) RoleARN(account string) string {
	return "arn:" + or(r.Partition, "aws") + ":iam::" + account + ":role/" + or(r.RoleName, DefaultRoleName)
}

// Credentials is the cached credentials provider of an account's role. It
// assumes the role when the cache is empty or about to expire, naming the
// session after the event ID the context carries (WithEventID).
func (r *Roles) Credentials(account string) aws.CredentialsProvider {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.caches[account]; ok {
		return c
	}
	if r.caches == nil {
		r.caches = map[string]*aws.CredentialsCache{}
	}
	refresh := r.RefreshBefore
	if refresh == 0 {
		refresh = DefaultRefreshBefore
	}
	c := aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		return r.assume(ctx, account)
	}), func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = refresh })
	r.caches[account] = c
	return c
}

func (r *Roles) assume(ctx context.Context, account string) (aws.Credentials, error) {
	d := r.Duration
	if d == 0 {
		d = DefaultDuration
	}
	arn := r.RoleARN(account)
	out, err := r.STS.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(arn),
		RoleSessionName: aws.String(SessionName(eventID(ctx))),
		DurationSeconds: aws.Int32(int32(d / time.Second)),
	})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("assume role %s: %w", arn, err)
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.Expiration == nil {
		return aws.Credentials{}, fmt.Errorf("assume role %s: the response holds no complete credentials", arn)
	}
	return aws.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Source:          "eksguard/assume " + arn,
		CanExpire:       true,
		Expires:         *c.Expiration,
		AccountID:       account,
	}, nil
}

type eventKey struct{}

// WithEventID records the event being handled, for the session name of
// any role assumed while handling it.
func WithEventID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, eventKey{}, id)
}

func eventID(ctx context.Context) string {
	id, _ := ctx.Value(eventKey{}).(string)
	return id
}

// SessionName is "eksguard-" and the event ID, with every character STS
// does not accept in a session name ([\w+=,.@-]) replaced by '-', cut to
// STS's 64 characters.
func SessionName(eventID string) string {
	if eventID == "" {
		eventID = "no-event"
	}
	var b strings.Builder
	b.WriteString("eksguard-")
	for _, c := range eventID {
		if b.Len() >= maxSessionName {
			break
		}
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("_+=,.@-", c):
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// PerAccount keeps what make makes for each account, made on first use and
// reused after (the clients of an account's role, whose credentials renew
// themselves). Safe for concurrent use.
func PerAccount[T any](make func(account string) T) func(account string) T {
	var mu sync.Mutex
	made := map[string]T{}
	return func(account string) T {
		mu.Lock()
		defer mu.Unlock()
		v, ok := made[account]
		if !ok {
			v = make(account)
			made[account] = v
		}
		return v
	}
}
