package scan

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// MaxAttempts is how often a throttled or failed call is tried.
const MaxAttempts = 10

// retryer is the SDK's adaptive retry mode: it backs off on throttling and
// paces the client's sends to what the service takes.
func retryer() aws.Retryer {
	return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
			so.MaxAttempts = MaxAttempts
			// No client-wide retry quota: a scan is throttled by design (it
			// reads as fast as the service lets it), and the quota would turn
			// a burst of throttling into failed reads.
			so.RateLimiter = ratelimit.None
		})
	})
}

// NewEKS is the EKS client a scan uses.
func NewEKS(cfg aws.Config, optFns ...func(*eks.Options)) *eks.Client {
	return eks.NewFromConfig(cfg, append([]func(*eks.Options){func(o *eks.Options) { o.Retryer = retryer() }}, optFns...)...)
}

// NewIAM is the IAM client a scan uses.
func NewIAM(cfg aws.Config, optFns ...func(*iam.Options)) *iam.Client {
	return iam.NewFromConfig(cfg, append([]func(*iam.Options){func(o *iam.Options) { o.Retryer = retryer() }}, optFns...)...)
}
