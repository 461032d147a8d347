package slackalert

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/dedup"
	"github.com/eksguard/eksguard/shared/lambdaenv"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/slackhook"
	"github.com/eksguard/eksguard/shared/slackref"
)

// Requires are the variables the notifier cannot run without: the Slack
// webhook secret. The table (EKSGUARD_TABLE) is optional: without it every
// finding is posted, none folded.
var Requires = []string{config.EnvSlackSecretARN}

// Main is the notifier's main: JSON logs (lambdacontext.NewLogger), the
// Notifier built by FromEnv, and its Handle as the Lambda handler; a
// notifier that cannot be built is logged and the process exits 1.
func Main() {
	log := lambdacontext.NewLogger()
	n, err := FromEnv(context.Background(), log)
	if err != nil {
		log.Error("cannot start the notifier", "error", err)
		os.Exit(1)
	}
	lambda.Start(n.Handle)
}

// FromEnv builds the notifier the way its Lambda runs it: the settings
// from config.Load (the policy validated against the rule catalogue,
// Requires set), the AWS configuration of the Lambda environment
// (lambdaenv; opts may change it), the
// webhook read from the secret at once (a failed read is logged and tried
// again by each invocation), metrics on os.Stdout and, when a table is set,
// the dedup window of the policy's length.
func FromEnv(ctx context.Context, log *slog.Logger, opts ...func(*aws.Config)) (*Notifier, error) {
	s, err := config.Load(rules.IDs(), Requires...)
	if err != nil {
		return nil, err
	}
	cfg, err := lambdaenv.Config(opts...)
	if err != nil {
		return nil, err
	}
	hook := slackhook.NewFromSecret(secretsmanager.NewFromConfig(cfg), s.SlackSecretARN, func(o *slackhook.Options) { o.Log = log })
	if err := hook.Warm(ctx); errors.Is(err, slackhook.ErrNotConfigured) {
		log.Warn("Slack alerts are off until the webhook secret is set", "error", err)
	} else if err != nil {
		// Invocations retry the read; until it works they fail and end in the DLQ.
		log.Error("cannot read the Slack webhook secret at cold start", "error", err)
	}
	n := &Notifier{Policy: s.Policy, Slack: hook, Log: log, Metrics: os.Stdout}
	if s.Table != "" {
		db := dynamodb.NewFromConfig(cfg)
		n.Dedup = &dedup.Window{DB: db, Table: s.Table, Length: s.Policy.Notify.DedupWindow.Duration}
		if s.SlackActions {
			n.Actions = &slackref.Store{DB: db, Table: s.Table}
		}
	}
	return n, nil
}
