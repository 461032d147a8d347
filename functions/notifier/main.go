// Command notifier is the Slack notifier Lambda: subscribed to the eksguard
// SNS topic, it posts each finding at or above the Slack threshold to the
// webhook stored in Secrets Manager, folding repeats (see docs/alerts.md).
package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/dedup"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/slackalert"
	"github.com/eksguard/eksguard/shared/slackhook"
)

func main() {
	ctx := context.Background()
	log := lambdacontext.NewLogger()
	pol, err := config.Policy(rules.IDs())
	if err != nil {
		log.Error("cannot start the notifier", "error", err)
		os.Exit(1)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("cannot start the notifier: AWS configuration", "error", err)
		os.Exit(1)
	}
	hook := slackhook.NewFromSecret(secretsmanager.NewFromConfig(awsCfg), os.Getenv(config.EnvSlackSecretARN), slackhook.WithLogger(log))
	if err := hook.Warm(ctx); errors.Is(err, slackhook.ErrNotConfigured) {
		log.Warn("Slack alerts are off until the webhook secret is set", "error", err)
	} else if err != nil {
		// Invocations retry the read; until it works they fail and end in the DLQ.
		log.Error("cannot read the Slack webhook secret at cold start", "error", err)
	}
	n := &slackalert.Notifier{Policy: pol, Slack: hook, Log: log, Metrics: os.Stdout, Now: time.Now}
	if table := os.Getenv(config.EnvTable); table != "" {
		n.Dedup = dedup.New(dynamodb.NewFromConfig(awsCfg), table, pol.Notify.DedupWindow.Duration, time.Now)
	}
	lambda.Start(n.Handle)
}
