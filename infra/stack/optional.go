package stack

import (
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
)

// optional are the functions the settings add (securityHub, slackActions).
type optional struct {
	hub         *hub
	interaction *interaction
}

// addOptional adds the hub and interaction functions the settings ask for,
// their alarms (errors, throttles) and, for the hub, its dead-letter queue
// to dlqs (alarmed with the others).
func addOptional(st awscdk.Stack, sh sharedResources, dlqs map[string]awssqs.IQueue) optional {
	var o optional
	fns := map[string]awslambda.Function{}
	if sh.cfg.SecurityHub {
		o.hub = addHub(st, sh)
		dlqs["HubFindingsDLQ"] = o.hub.dlq
		fns[HubName] = o.hub.fn
	}
	if sh.cfg.SlackActions {
		o.interaction = addInteraction(st, sh, sh.interactionRole)
		fns[InteractionName] = o.interaction.fn
		output(st, "InteractionUrl", o.interaction.url.Url(), "the Slack app's interactivity Request URL (docs/slack-app.md)")
		output(st, "SlackAppSecretArn", o.interaction.secret.SecretArn(), "secret holding the Slack app's signing secret and bot token")
	}
	for _, name := range slices.Sorted(maps.Keys(fns)) {
		id := title(name)
		alarm(st, id+"Errors", fns[name].MetricErrors(sumOver5m()), "eksguard: the "+name+" function failed", sh.topic)
		alarm(st, id+"Throttles", fns[name].MetricThrottles(sumOver5m()),
			"eksguard: the "+name+" function was throttled (reserved concurrency reached)", sh.topic)
	}
	return o
}

// suppressOptional holds the optional functions' cdk-nag suppressions.
func suppressOptional(o optional) {
	if o.hub != nil {
		suppress(o.hub.dlq, "AwsSolutions-SQS3", whyDLQ)
	}
	if in := o.interaction; in != nil {
		suppress(in.role, "AwsSolutions-IAM5", whyGenerateDataKey, "Action::kms:GenerateDataKey*")
		for _, g := range in.fixes {
			for _, s := range g.stmts {
				if wild := wildcards(s); len(wild) > 0 {
					suppress(g.policy, "AwsSolutions-IAM5", s.Sid+": "+s.Why, wild...)
				}
			}
		}
		if s, ok := in.secret.(awssecretsmanager.Secret); ok {
			suppress(s, "AwsSolutions-SMG4", "The secret holds the Slack app's signing secret and bot token, which only Slack issues; "+
				"rotate them in the Slack app's settings and put the new values in the secret (docs/slack-app.md).")
		}
	}
}
