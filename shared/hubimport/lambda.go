package hubimport

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/eksguard/eksguard/shared/asff"
	"github.com/eksguard/eksguard/shared/assume"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/lambdaenv"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/rules"
)

// Name is the hub function's name (functions/hub).
const Name = "hub"

// Requires are the variables the hub function cannot run without: the
// table that remembers first observations.
var Requires = []string{config.EnvTable}

// Main is the hub function's main: JSON logs, the importer built by
// FromEnv, and Handle as the Lambda handler.
func Main() {
	log := lambdacontext.NewLogger()
	im, err := FromEnv(log)
	if err != nil {
		log.Error("cannot start the hub function", "error", err)
		os.Exit(1)
	}
	lambda.Start(im.Handle)
}

// FromEnv builds the importer the way its Lambda runs it: the settings
// (Requires set), the Lambda environment's AWS configuration (opts may
// change it), the product of EKSGUARD_SECURITY_HUB_ACCOUNT (each finding's
// account when unset) in the function's region. In organization mode
// (EKSGUARD_MEMBER_ROLE_NAME) a member account's findings are imported
// through that account's remediation role, in the member regions
// (EKSGUARD_MEMBER_REGIONS).
func FromEnv(log *slog.Logger, opts ...func(*aws.Config)) (*Importer, error) {
	s, err := config.Load(rules.IDs(), Requires...)
	if err != nil {
		return nil, err
	}
	cfg, err := lambdaenv.Config(opts...)
	if err != nil {
		return nil, err
	}
	im := &Importer{
		Hub:     securityhub.NewFromConfig(cfg),
		DB:      dynamodb.NewFromConfig(cfg),
		Table:   s.Table,
		Options: asff.Options{Account: s.SecurityHubAccount, Region: cfg.Region},
		Log:     log,
	}
	if s.MemberRoleName != "" {
		roles := &assume.Roles{STS: sts.NewFromConfig(cfg), Partition: identity.Partition(cfg.Region), RoleName: s.MemberRoleName}
		im.Org = &Org{Account: s.Account, Regions: s.MemberRegions, Hub: memberHubs(cfg, roles)}
	}
	return im, nil
}

// memberHubs makes, on first use, one Security Hub client per account and
// region, signing with the account's role (credentials cached by roles).
func memberHubs(cfg aws.Config, roles *assume.Roles) func(account, region string) BatchImporter {
	var mu sync.Mutex
	clients := map[hubProduct]*securityhub.Client{}
	return func(account, region string) BatchImporter {
		mu.Lock()
		defer mu.Unlock()
		p := hubProduct{account: account, region: region}
		c, ok := clients[p]
		if !ok {
			ac := cfg.Copy()
			ac.Credentials = roles.Credentials(account)
			ac.Region = region
			c = securityhub.NewFromConfig(ac)
			clients[p] = c
		}
		return c
	}
}

// Handle imports an SQS batch of findings from the findings topic (raw
// message delivery, or the SNS envelope) and reports, as the partial batch
// response, the messages that could not be read or imported: SQS delivers
// them again and, after the queue's last receive, moves them to its
// dead-letter queue.
func (im *Importer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	items := make([]Item, 0, len(ev.Records))
	for _, rec := range ev.Records {
		f, err := notify.DecodeMessage(unwrapSNS(rec.Body))
		if err != nil {
			im.log().ErrorContext(ctx, "cannot read the queued finding; it goes to the dead-letter queue after its last receive",
				"messageId", rec.MessageId, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			continue
		}
		items = append(items, Item{Key: rec.MessageId, Finding: f})
	}
	failed := im.Import(ctx, items)
	for _, it := range items {
		if _, ok := failed[it.Key]; ok {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: it.Key})
		}
	}
	return resp, nil
}

// unwrapSNS returns the message of an SNS notification envelope (a
// subscription without raw message delivery), or body itself.
func unwrapSNS(body string) string {
	var env struct {
		Type    string `json:"Type"`
		Message string `json:"Message"`
	}
	if json.Unmarshal([]byte(body), &env) == nil && env.Type == "Notification" && env.Message != "" {
		return env.Message
	}
	return body
}
