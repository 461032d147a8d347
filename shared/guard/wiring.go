package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/eksguard/eksguard/shared/breaker"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/deferral"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/idempotency"
	"github.com/eksguard/eksguard/shared/killswitch"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/remediate"
	"github.com/eksguard/eksguard/shared/rules"
)

// Settings are the EKSGUARD_* variables a family function reads (besides
// the policy, which config.Policy loads).
type Settings struct {
	Table               string
	TopicARN            string
	SelfRoles           []string
	RemediationOff      bool
	KillSwitchParameter string
	DeferQueueURL       string
	DeferDelay          time.Duration
	DeferMaxAttempts    int
	ClusterRegions      []string
}

// SettingsFromEnv reads the settings, failing on a missing table or topic
// and on malformed numbers.
func SettingsFromEnv() (Settings, error) {
	s := Settings{
		Table:               strings.TrimSpace(os.Getenv(config.EnvTable)),
		TopicARN:            strings.TrimSpace(os.Getenv(config.EnvTopicARN)),
		SelfRoles:           config.List(config.EnvRemediationRoleARN),
		RemediationOff:      config.RemediationOff(),
		KillSwitchParameter: strings.TrimSpace(os.Getenv(config.EnvKillSwitchParameter)),
		DeferQueueURL:       strings.TrimSpace(os.Getenv(config.EnvDeferQueueURL)),
		DeferDelay:          deferral.DefaultDelay,
		DeferMaxAttempts:    deferral.DefaultMaxAttempts,
		ClusterRegions:      config.List(config.EnvClusterRegions),
	}
	var errs []error
	if s.Table == "" {
		errs = append(errs, fmt.Errorf("%s is not set: the idempotency table is required", config.EnvTable))
	}
	if s.TopicARN == "" {
		errs = append(errs, fmt.Errorf("%s is not set: findings have nowhere to go", config.EnvTopicARN))
	}
	if v := strings.TrimSpace(os.Getenv(config.EnvDeferDelaySeconds)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > int(deferral.MaxDelay/time.Second) {
			errs = append(errs, fmt.Errorf("%s=%q: want whole seconds from 0 to 900", config.EnvDeferDelaySeconds, v))
		}
		s.DeferDelay = time.Duration(n) * time.Second
	}
	if v := strings.TrimSpace(os.Getenv(config.EnvDeferMaxAttempts)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number of at least 1", config.EnvDeferMaxAttempts, v))
		}
		s.DeferMaxAttempts = n
	}
	return s, errors.Join(errs...)
}

// Retryer is the SDK retryer of the family functions: the standard one,
// bounded to 5 attempts and 5 seconds between them, so throttling is
// ridden out without eating the Lambda's 30 seconds.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 5
		o.MaxBackoff = 5 * time.Second
	})
}

// FromEnv builds a family's guard the way its Lambda runs it: the policy
// from EKSGUARD_POLICY (validated against the rule catalogue), the other
// EKSGUARD_* settings, the SDK's default configuration with the bounded
// Retryer (opts may override it), the real rules and the SNS publisher.
func FromEnv(ctx context.Context, fam families.Family, log *slog.Logger, opts ...func(*awsconfig.LoadOptions) error) (*Guard, error) {
	pol, err := config.Policy(rules.IDs())
	if err != nil {
		return nil, err
	}
	s, err := SettingsFromEnv()
	if err != nil {
		return nil, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, append([]func(*awsconfig.LoadOptions) error{awsconfig.WithRetryer(Retryer)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("load the AWS configuration: %w", err)
	}
	pub := notify.NewSNSPublisher(sns.NewFromConfig(cfg), s.TopicARN, pol)
	return New(cfg, fam, pol, rules.Assess, pub, s, log)
}

// New builds a family's guard from an AWS configuration (its region is the
// function's), the loaded policy, the rules and the publisher.
func New(cfg aws.Config, fam families.Family, pol *policy.Policy, assess AssessFunc, pub Publisher, s Settings, log *slog.Logger) (*Guard, error) {
	if pol == nil || assess == nil || pub == nil {
		return nil, errors.New("guard: policy, rules and publisher are required")
	}
	db := dynamodb.NewFromConfig(cfg)
	eksFor := eksClients(cfg)
	// The roles the stack grants IAM fixes on: from this same policy.
	scope := remediate.RoleScopeOf(pol)
	g := &Guard{
		Family:    fam,
		Policy:    pol,
		Assess:    assess,
		SelfRoles: s.SelfRoles,
		Events:    &idempotency.Store{DB: db, Table: s.Table},
		Breaker:   &breaker.Breaker{DB: db, Table: s.Table, Max: pol.Remediation.MaxPerResourcePerHour},
		Kill:      &killswitch.Switch{EnvOff: s.RemediationOff, Parameter: s.KillSwitchParameter},
		Exec: &remediate.Executor{
			EKS:       func(region string) remediate.EKS { return eksFor(region) },
			IAM:       iam.NewFromConfig(cfg),
			RoleScope: &scope,
		},
		DeferDelay:  s.DeferDelay,
		MaxAttempts: s.DeferMaxAttempts,
		Publisher:   pub,
		Log:         log,
	}
	if s.KillSwitchParameter != "" {
		g.Kill.SSM = ssm.NewFromConfig(cfg)
	}
	if s.DeferQueueURL != "" {
		g.Defer = &deferral.Queue{SQS: sqs.NewFromConfig(cfg), URL: s.DeferQueueURL}
	}
	if fam.Name == families.IAM.Name {
		regions := s.ClusterRegions
		if len(regions) == 0 {
			regions = []string{cfg.Region}
		}
		g.Roles = &remediate.Roles{EKS: func(region string) remediate.ClusterDirectory { return eksFor(region) }, Regions: regions}
	}
	return g, nil
}

// eksClients makes one EKS client per region, on demand, kept for warm invocations.
func eksClients(cfg aws.Config) func(region string) *eks.Client {
	var mu sync.Mutex
	clients := map[string]*eks.Client{}
	return func(region string) *eks.Client {
		if region == "" {
			region = cfg.Region
		}
		mu.Lock()
		defer mu.Unlock()
		c, ok := clients[region]
		if !ok {
			c = eks.NewFromConfig(cfg, func(o *eks.Options) { o.Region = region })
			clients[region] = c
		}
		return c
	}
}
