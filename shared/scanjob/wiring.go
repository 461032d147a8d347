package scanjob

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/auditsub"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/guard"
	"github.com/eksguard/eksguard/shared/lambdaenv"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/scan"
)

// Main is the scan function's main: JSON logs, the job built by FromEnv,
// and Handle as the Lambda handler.
func Main() {
	log := lambdacontext.NewLogger()
	j, err := FromEnv(context.Background(), log)
	if err != nil {
		log.Error("cannot start the scan function", "error", err)
		os.Exit(1)
	}
	lambda.Start(j.Handle)
}

// FromEnv builds the job the way its Lambda runs it: the settings from
// config.Load (table and topic required), the Lambda environment's AWS
// configuration, the scan's EKS and IAM clients (adaptive retry), and the
// cluster function's guard for the fixes and the publication. In
// organization mode (EKSGUARD_MEMBER_ROLE_NAME) it also scans every member
// account (MemberAccounts) in EKSGUARD_MEMBER_REGIONS through its role.
// With the kubernetes function named (EKSGUARD_AUDIT_FUNCTION_ARN), every
// cluster with its audit log on gets eksguard's subscription filter if it
// lacks it (auditsub.New, as the cluster function subscribes).
func FromEnv(ctx context.Context, log *slog.Logger, opts ...func(*aws.Config)) (*Job, error) {
	s, err := config.Load(rules.IDs(), guard.Requires...)
	if err != nil {
		return nil, err
	}
	cfg, err := lambdaenv.Config(append([]func(*aws.Config){func(c *aws.Config) { c.Retryer = guard.Retryer }}, opts...)...)
	if err != nil {
		return nil, err
	}
	pub := &notify.SNSPublisher{SNS: sns.NewFromConfig(cfg), TopicARN: s.TopicARN, Policy: s.Policy}
	var roles *assume.Roles
	if s.MemberRoleName != "" {
		roles = guard.MemberRoles(cfg, s) // the reads and the fixes share it
	}
	g, err := guard.New(cfg, families.Cluster, s, func(o *guard.Options) { o.Log, o.Publisher, o.Roles = log, pub, roles })
	if err != nil {
		return nil, err
	}
	regions := s.ClusterRegions
	if len(regions) == 0 {
		regions = []string{cfg.Region}
	}
	readers := readersOf(cfg)
	j := &Job{
		Policy:    s.Policy,
		Reader:    func(account, region string) *scan.Reader { return readers(account, region) },
		Regions:   regions,
		State:     &State{DB: dynamodb.NewFromConfig(cfg), Table: s.Table},
		Findings:  g,
		Publisher: pub,
		Log:       log,
	}
	if sub := auditsub.New(cfg, s, roles); sub != nil {
		j.Audit = sub
	}
	if s.MemberRoleName != "" {
		// Organization mode: every member account is read through its role,
		// on the credentials the guard's fixes use too, cached per account.
		members := assume.PerAccount(func(account string) func(account, region string) *scan.Reader {
			c := cfg.Copy()
			c.Credentials = roles.Credentials(account)
			return readersOf(c)
		})
		j.Reader = func(account, region string) *scan.Reader {
			if account == s.Account {
				return readers(account, region)
			}
			return members(account)(account, region)
		}
		j.Members = MemberAccounts(s.Policy, s.Account)
		j.MemberRegions = s.MemberRegions
		j.Assume = func(ctx context.Context, account string) error {
			_, err := roles.Credentials(account).Retrieve(ctx)
			return err
		}
	}
	return j, nil
}

// readersOf makes the readers of the account cfg's credentials are of:
// one IAM client, one EKS client per region, kept for warm invocations.
func readersOf(cfg aws.Config) func(account, region string) *scan.Reader {
	iamClient := scan.NewIAM(cfg)
	var mu sync.Mutex
	eksClients := map[string]*eks.Client{}
	return func(account, region string) *scan.Reader {
		mu.Lock()
		defer mu.Unlock()
		c, ok := eksClients[region]
		if !ok {
			c = scan.NewEKS(cfg, func(o *eks.Options) { o.Region = region })
			eksClients[region] = c
		}
		return &scan.Reader{EKS: c, IAM: iamClient, Account: account, Region: region}
	}
}

// Handle is the Lambda handler: the input's account, or the function's
// own when it names none.
func (j *Job) Handle(ctx context.Context, in Input) (Report, error) {
	if in.Account == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			if parts := strings.Split(lc.InvokedFunctionArn, ":"); len(parts) > 4 {
				in.Account = parts[4]
			}
		}
	}
	return j.Run(ctx, in)
}
