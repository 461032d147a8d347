package slackaction

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/guard"
	"github.com/eksguard/eksguard/shared/lambdaenv"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/slackref"
	"github.com/eksguard/eksguard/shared/suppress"
)

// Name is the interaction function's name (functions/interaction).
const Name = "interaction"

// Requires are the variables the interaction function cannot run without.
var Requires = []string{config.EnvTable, config.EnvTopicARN, config.EnvSlackSigningSecretARN}

// Main is the interaction function's main.
func Main() {
	log := lambdacontext.NewLogger()
	h, err := FromEnv(context.Background(), log)
	if err != nil {
		log.Error("cannot start the interaction function", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

// FromEnv builds the handler the way its Lambda runs it: the settings
// (Requires set), the Lambda environment's AWS configuration with the
// family functions' retryer (opts may change it), the guard's fix path as
// the families build it (guard.New), the table's stores and the secret.
func FromEnv(ctx context.Context, log *slog.Logger, opts ...func(*aws.Config)) (*Handler, error) {
	s, err := config.Load(rules.IDs(), Requires...)
	if err != nil {
		return nil, err
	}
	cfg, err := lambdaenv.Config(append([]func(*aws.Config){func(c *aws.Config) { c.Retryer = guard.Retryer }}, opts...)...)
	if err != nil {
		return nil, err
	}
	g, err := guard.New(cfg, families.Family{Name: Name}, s, func(o *guard.Options) { o.Log = log })
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(cfg)
	return &Handler{
		Policy:    s.Policy,
		Secret:    (&SecretCache{SM: secretsmanager.NewFromConfig(cfg), ARN: s.SlackSigningSecretARN}).Get,
		Nonces:    db,
		Table:     s.Table,
		Findings:  &slackref.Store{DB: db, Table: s.Table},
		Approver:  g,
		Suppress:  &suppress.Store{DB: db, Table: s.Table},
		Publisher: g.Publisher,
		// Slack asks for an answer within 3 seconds; a reply that hangs
		// must not hold the function to its timeout.
		HTTP: &http.Client{Timeout: 5 * time.Second},
		Log:  log,
	}, nil
}
