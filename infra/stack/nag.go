package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/eksguard/eksguard/shared/families"
)

// Every cdk-nag suppression in the app is here, each with its reason. IAM5
// suppressions name the exact wildcard they accept (appliesTo), so a new
// wildcard still fails the check.

// whyDLQ: cdk-nag only recognises a queue as a DLQ when another queue's
// redrive policy names it.
const whyDLQ = "This queue is itself a dead-letter queue (Lambda on-failure destination, EventBridge target DLQ or SNS " +
	"subscription redrive policy); a DLQ of a DLQ would only move the same messages one hop further."

const whyGenerateDataKey = "Granted by CDK's topic.grantPublish on the topic's own KMS key: SNS encrypts each message under a " +
	"data key (kms:GenerateDataKey*), and the statement is scoped to that one key."

func suppressMain(st awscdk.Stack, cfg Config, fns map[string]*function, grants map[string][]Statement) {
	detection := map[string][]Statement{}
	for _, fam := range families.All() {
		detection[fam.Name] = DetectionGrants(fam, cfg.ClusterRegions)
	}
	for _, name := range FunctionNames() {
		f := fns[name]
		suppress(f.dlq, "AwsSolutions-SQS3", whyDLQ)
		if name != NotifierName {
			suppress(f.role, "AwsSolutions-IAM5", whyGenerateDataKey, "Action::kms:GenerateDataKey*")
		}
		for _, p := range []struct {
			policy awsiam.Policy
			stmts  []Statement
		}{{f.detection, detection[name]}, {f.remediation, grants[name]}} {
			if p.policy == nil {
				continue
			}
			for _, s := range p.stmts {
				if wild := wildcards(s); len(wild) > 0 {
					suppress(p.policy, "AwsSolutions-IAM5", s.Sid+": "+s.Why, wild...)
				}
			}
		}
	}
	suppress(st.Node().FindChild(jsii.String("UndeliveredEvents")), "AwsSolutions-SQS3", whyDLQ)
	if s, ok := st.Node().TryFindChild(jsii.String("SlackWebhook")).(awssecretsmanager.Secret); ok {
		suppress(s, "AwsSolutions-SMG4", "The secret holds a Slack incoming-webhook URL, which only Slack can issue; "+
			"rotate it by creating a new webhook in Slack and putting its URL in the secret (docs/deploy.md).")
	}
}

func suppressOrgAudit(a *orgAudit) {
	suppress(a.failed, "AwsSolutions-SQS3", whyDLQ)
	suppress(a.stream, "AwsSolutions-KDS3", "The stream carries the member accounts' Kubernetes audit logs (users, source addresses, "+
		"request objects): a key of eksguard's own, rotated yearly like its topic keys, keeps who may decrypt them to this account's key "+
		"policy and IAM grants (the delivery role encrypts, the kubernetes function decrypts); Kinesis reuses data keys, so KMS requests stay few.")
}

func suppressForwarder(st awscdk.Stack) {
	suppress(st.Node().FindChild(jsii.String("UndeliveredEvents")), "AwsSolutions-SQS3", whyDLQ)
}

// suppress adds one suppression to a construct and its children; appliesTo
// narrows it to those findings.
func suppress(c constructs.IConstruct, id, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		at := make([]interface{}, len(appliesTo))
		for i, a := range appliesTo {
			at[i] = a
		}
		s.AppliesTo = &at
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}

// wildcards are the statement's IAM5 findings as cdk-nag names them:
// "Resource::" and the resource with Fn::Sub's ${X} written <X>.
func wildcards(s Statement) []string {
	var out []string
	for _, a := range s.Actions {
		if strings.Contains(a, "*") {
			out = append(out, "Action::"+a)
		}
	}
	for _, r := range s.Resources {
		if strings.Contains(r, "*") {
			out = append(out, "Resource::"+strings.NewReplacer("${", "<", "}", ">").Replace(r))
		}
	}
	return out
}
