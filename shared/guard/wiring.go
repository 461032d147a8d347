package guard

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/breaker"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/correlation/table"
	"github.com/eksguard/eksguard/shared/deferral"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/heartbeat"
	"github.com/eksguard/eksguard/shared/idempotency"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/killswitch"
	"github.com/eksguard/eksguard/shared/lambdaenv"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/remediate"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/suppress"
)

// Requires are the variables a family function cannot run without: the
// idempotency table and the findings topic.
var Requires = []string{config.EnvTable, config.EnvTopicARN}

// Main is a family function's main: JSON logs (lambdacontext.NewLogger),
// the guard built by FromEnv, and Handle as the Lambda handler; a guard
// that cannot be built is logged and the process exits 1.
func Main(fam families.Family, opts ...Option) {
	start(fam, func(g *Guard) any { return g.Handle }, opts)
}

// Option adds to a guard what only some functions need, from the AWS
// configuration and the settings (WithAuditSubscriptions), so that the
// other functions do not link it.
type Option func(g *Guard, cfg aws.Config, s config.Settings)

// MainLogs is the kubernetes function's main: Main with HandleAudit as the
// handler. It is apart from Main so that the CloudTrail functions do not
// link the audit log decoder.
func MainLogs() {
	start(families.Kubernetes, func(g *Guard) any { return g.HandleAudit }, nil)
}

func start(fam families.Family, handler func(*Guard) any, opts []Option) {
	log := lambdacontext.NewLogger()
	g, err := FromEnvWith(context.Background(), fam, log, nil, opts...)
	if err != nil {
		log.Error("cannot start the "+fam.Name+" function", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler(g))
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

// FromEnv builds a family's guard the way its Lambda runs it: the
// settings from config.Load (the policy validated against the rule
// catalogue, Requires set), the AWS configuration of the Lambda environment
// (lambdaenv) with the bounded Retryer (opts may override it), the real
// rules and the SNS publisher, logging to log.
func FromEnv(ctx context.Context, fam families.Family, log *slog.Logger, opts ...func(*aws.Config)) (*Guard, error) {
	return FromEnvWith(ctx, fam, log, opts)
}

// FromEnvWith is FromEnv with the guard Options of Main.
func FromEnvWith(ctx context.Context, fam families.Family, log *slog.Logger, cfgOpts []func(*aws.Config), opts ...Option) (*Guard, error) {
	s, err := config.Load(rules.IDs(), Requires...)
	if err != nil {
		return nil, err
	}
	cfg, err := lambdaenv.Config(append([]func(*aws.Config){func(c *aws.Config) { c.Retryer = Retryer }}, cfgOpts...)...)
	if err != nil {
		return nil, err
	}
	g, err := New(cfg, fam, s, func(o *Options) { o.Log = log })
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(g, cfg, s)
	}
	return g, nil
}

// Options are what New takes besides the configuration, the family and the
// settings. Each has a default.
type Options struct {
	// Assess runs the rules over an event (rules.Assess when nil).
	Assess AssessFunc
	// Publisher sends the findings on (when nil, a notify.SNSPublisher to
	// the settings' TopicARN with the policy's thresholds and format).
	Publisher Publisher
	// Log is the logger (slog.Default() when nil).
	Log *slog.Logger
	// Roles, in organization mode, are the member roles' credentials, when
	// the caller assumes the same roles too (the scan job reads through
	// them): one cache, one AssumeRole per account. Nil: New makes its own.
	Roles *assume.Roles
}

// New builds a family's guard from an AWS configuration (its region is the
// function's) and the loaded settings, which must hold a policy; optFns
// change the Options.
func New(cfg aws.Config, fam families.Family, s config.Settings, optFns ...func(*Options)) (*Guard, error) {
	if s.Policy == nil {
		return nil, errors.New("guard: the settings hold no policy (load them with config.Load)")
	}
	pol := s.Policy
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Assess == nil {
		o.Assess = rules.Assess
	}
	if o.Publisher == nil {
		o.Publisher = &notify.SNSPublisher{SNS: sns.NewFromConfig(cfg), TopicARN: s.TopicARN, Policy: pol}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	db := dynamodb.NewFromConfig(cfg)
	home := accountClients(cfg, fam, s, pol)
	g := &Guard{
		Family:       fam,
		Policy:       pol,
		Assess:       o.Assess,
		SelfRoles:    s.SelfRoles,
		Events:       &idempotency.Store{DB: db, Table: s.Table},
		Breaker:      &breaker.Breaker{DB: db, Table: s.Table, Max: pol.Remediation.MaxPerResourcePerHour},
		Kill:         &killswitch.Switch{EnvOff: s.RemediationOff, Parameter: s.KillSwitchParameter},
		Exec:         home.Exec,
		RolePolicies: home.RolePolicies,
		Roles:        home.Roles,
		DeferDelay:   s.DeferDelay,
		MaxAttempts:  s.DeferMaxAttempts,
		Publisher:    o.Publisher,
		Log:          o.Log,
		Region:       cfg.Region,
	}
	if s.KillSwitchParameter != "" {
		g.Kill.SSM = ssm.NewFromConfig(cfg)
	}
	if len(s.CanaryRoles) > 0 && fam.Owns(families.SSM.EventSource, "PutParameter") {
		g.Canary = &Canary{
			Roles:     s.CanaryRoles,
			Parameter: heartbeat.Parameter(pol.StackName()),
			Recorder:  &heartbeat.Recorder{DB: db, Table: s.Table, Namespace: pol.StackName(), Metrics: os.Stdout},
		}
	}
	if s.SlackActions {
		g.Suppressions = &suppress.Store{DB: db, Table: s.Table}
	}
	if s.DeferQueueURL != "" {
		g.Defer = &deferral.Queue{SQS: sqs.NewFromConfig(cfg), URL: s.DeferQueueURL}
	}
	if slices.ContainsFunc(rules.All(), func(r rules.Rule) bool { return r.Correlate != nil && r.ReadsFor(fam) }) {
		// Correlation marks are list appends (shared/correlation/table).
		g.Marks = &table.Store{DB: db, Table: s.Table}
	}
	if s.MemberRoleName != "" {
		// Organization mode: other accounts' events are judged and fixed
		// through their remediation role, whose own calls are eksguard's.
		roles := o.Roles
		if roles == nil {
			roles = MemberRoles(cfg, s)
		}
		g.Account = s.Account
		g.MemberRoles = roles
		ms := s
		if len(s.MemberRegions) > 0 {
			ms.ClusterRegions = s.MemberRegions
		}
		g.Accounts = assume.PerAccount(func(account string) *Clients {
			c := cfg.Copy()
			c.Credentials = roles.Credentials(account)
			return accountClients(c, fam, ms, pol)
		})
		g.SelfRoles = append(slices.Clone(g.SelfRoles), "arn:*:iam::*:role/"+s.MemberRoleName)
	}
	return g, nil
}

// MemberRoles are the credentials of the member accounts' remediation role
// (organization mode: s.MemberRoleName set), cached per account.
func MemberRoles(cfg aws.Config, s config.Settings) *assume.Roles {
	return &assume.Roles{STS: sts.NewFromConfig(cfg), Partition: identity.Partition(cfg.Region), RoleName: s.MemberRoleName}
}

// accountClients are the clients of the account cfg's credentials are of.
func accountClients(cfg aws.Config, fam families.Family, s config.Settings, pol *policy.Policy) *Clients {
	iamClient := iam.NewFromConfig(cfg)
	eksFor := eksClients(cfg)
	// The roles the stack grants IAM fixes on: from this same policy.
	scope := remediate.RoleScopeOf(pol)
	c := &Clients{Exec: &remediate.Executor{
		EKS:        func(region string) remediate.EKS { return eksFor(region) },
		IAM:        iamClient,
		CloudTrail: cloudtrail.NewFromConfig(cfg),
		RoleScope:  &scope,
	}}
	if fam.Name == families.Cluster.Name {
		// Detection, whatever the modes: the stack grants
		// iam:ListAttachedRolePolicies on the account's roles.
		c.RolePolicies = iamClient
	}
	if fam.Name == families.IAM.Name {
		regions := s.ClusterRegions
		if len(regions) == 0 {
			regions = []string{cfg.Region}
		}
		c.Roles = &remediate.Roles{EKS: func(region string) remediate.ClusterDirectory { return eksFor(region) }, Regions: regions}
	}
	return c
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
