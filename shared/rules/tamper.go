package rules

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/policy"
)

// The CloudTrail event sources of the calls that blind eksguard.
var (
	cloudTrailSource = families.CloudTrail.EventSource
	eventsSource     = families.Events.EventSource
	logsSource       = families.Logs.EventSource
	lambdaSource     = families.Lambda.EventSource
	snsSource        = families.SNS.EventSource
	dynamoDBSource   = families.DynamoDB.EventSource
	ssmSource        = families.SSM.EventSource
)

// cloudFormation is the invokedBy of calls CloudFormation makes for a stack.
const cloudFormation = "cloudformation.amazonaws.com"

func trailFinding(r *cloudtrail.Record, trail, summary, before, after string) finding.Finding {
	name := cloudtrail.TrailName(trail)
	return finding.Finding{
		Resource: "trail/" + name,
		Summary:  fmt.Sprintf("trail %s in %s: %s by %s", name, r.AWSRegion, summary, actorName(r)),
		Before:   before, After: after,
	}
}

// actorName is who made the call, for a summary.
func actorName(r *cloudtrail.Record) string {
	if a := r.UserIdentity.ActorRole(); a != "" {
		return a
	}
	if r.UserIdentity.ARN != "" {
		return r.UserIdentity.ARN
	}
	return "an unknown caller"
}

// TrailLoggingStopped flags a trail that stops recording management writes.
var TrailLoggingStopped = Rule{
	ID:       "trail-logging-stopped",
	Title:    "CloudTrail trail stopped recording management changes",
	Severity: finding.Critical,
	Rationale: "eksguard and every audit after it see only what CloudTrail records. Stopping a trail, deleting it, " +
		"narrowing it to one region or to read-only events is how an intruder makes the next change unseen.",
	Fix: "Start logging again (aws cloudtrail start-logging) and restore the trail's multi-region, global-service " +
		"and management-write settings; find out why it was changed.",
	Actions: []string{finding.ActionStartLogging},
	Examples: []Example{
		{Name: "logging stopped", Event: "StopLogging", Params: `{"name":"arn:aws:cloudtrail:eu-west-1:111122223333:trail/management-events"}`, Fires: true},
		{Name: "stop that was denied", Event: "StopLogging", Params: `{"name":"management-events"}`, ErrorCode: "AccessDenied", Fires: false},
		{Name: "trail deleted", Event: "DeleteTrail", Params: `{"name":"management-events"}`, Fires: true},
		{Name: "made single-region", Event: "UpdateTrail", Params: `{"name":"management-events","isMultiRegionTrail":false}`, Fires: true},
		{Name: "global service events dropped", Event: "UpdateTrail", Params: `{"name":"management-events","includeGlobalServiceEvents":false}`, Fires: true},
		{Name: "log bucket prefix changed", Event: "UpdateTrail", Params: `{"name":"management-events","s3KeyPrefix":"ct"}`, Fires: false},
		{Name: "classic selectors read-only", Event: "PutEventSelectors", Params: `{"trailName":"management-events","eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":true}]}`, Fires: true},
		{Name: "classic selectors without management events", Event: "PutEventSelectors", Params: `{"trailName":"management-events","eventSelectors":[{"readWriteType":"All","includeManagementEvents":false,"dataResources":[{"type":"AWS::S3::Object","values":["arn:aws:s3"]}]}]}`, Fires: true},
		{Name: "classic selectors with all management events", Event: "PutEventSelectors", Params: `{"trailName":"management-events","eventSelectors":[{"readWriteType":"All","includeManagementEvents":true}]}`, Fires: false},
		{Name: "advanced selectors for data events only", Event: "PutEventSelectors", Params: `{"trailName":"management-events","advancedEventSelectors":[{"name":"s3","fieldSelectors":[{"field":"eventCategory","equals":["Data"]},{"field":"resources.type","equals":["AWS::S3::Object"]}]}]}`, Fires: true},
		{Name: "advanced selectors for management reads only", Event: "PutEventSelectors", Params: `{"trailName":"management-events","advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["true"]}]}]}`, Fires: true},
		{Name: "advanced selectors with management events", Event: "PutEventSelectors", Params: `{"trailName":"management-events","advancedEventSelectors":[{"name":"mgmt","fieldSelectors":[{"field":"eventCategory","equals":["Management"]}]}]}`, Fires: false},
	},
	Judge: []Judgement{
		On(cloudTrailSource, func(r *cloudtrail.Record, tp *cloudtrail.TrailParams, _ *policy.Policy) []finding.Finding {
			if r.EventName == "DeleteTrail" {
				return []finding.Finding{trailFinding(r, tp.Name, "trail deleted", "trail logging", "trail deleted")}
			}
			f := trailFinding(r, tp.Name, "logging stopped", "logging", "logging stopped")
			// By name, in the event's region: a trail is stopped and started
			// in its home region, where the call was recorded.
			f.Plan = &finding.Plan{Action: finding.ActionStartLogging, Trail: cloudtrail.TrailName(tp.Name),
				Reason: "restarts the trail that was stopped; GetTrailStatus is checked first"}
			return []finding.Finding{f}
		}, "StopLogging", "DeleteTrail"),
		On(cloudTrailSource, func(r *cloudtrail.Record, up *cloudtrail.UpdateTrailParams, _ *policy.Policy) []finding.Finding {
			var off []string
			if isUnset(up.IsMultiRegionTrail) {
				off = append(off, "made single-region")
			}
			if isUnset(up.IncludeGlobalServiceEvents) {
				off = append(off, "global service events (IAM) dropped")
			}
			if len(off) == 0 {
				return nil
			}
			return []finding.Finding{trailFinding(r, up.Name, strings.Join(off, ", "), "", strings.Join(off, ", "))}
		}, "UpdateTrail"),
		On(cloudTrailSource, func(r *cloudtrail.Record, ep *cloudtrail.EventSelectorsParams, _ *policy.Policy) []finding.Finding {
			var what string
			switch {
			case ep.AdvancedEventSelectors != nil:
				if cloudtrail.SelectsAdvancedManagementWrites(ep.AdvancedEventSelectors) {
					return nil
				}
				what = "advanced event selectors no longer select management write events"
			case ep.EventSelectors != nil:
				if cloudtrail.SelectsManagementWrites(ep.EventSelectors) {
					return nil
				}
				what = "event selectors no longer include management write events"
			default:
				return nil // the call stated no selectors
			}
			return []finding.Finding{trailFinding(r, ep.TrailName, what, "", what)}
		}, "PutEventSelectors"),
	},
}

// own reports whether a resource name is one CloudFormation named for the
// policy's stack ("<stack>-<logical id>-<suffix>").
func own(p *policy.Policy, name string) bool {
	return strings.HasPrefix(name, p.StackName()+"-")
}

// tampered is the finding for a change to one of eksguard's resources, or
// nil when the resource is not eksguard's or CloudFormation made the change
// (the deployment).
func tampered(r *cloudtrail.Record, p *policy.Policy, kind, name, what string) []finding.Finding {
	if !own(p, name) || r.UserIdentity.InvokedBy == cloudFormation {
		return nil
	}
	return []finding.Finding{{
		Resource: kind + "/" + name,
		Summary:  fmt.Sprintf("eksguard's %s %s changed by %s: %s", kind, name, actorName(r), what),
		After:    what,
	}}
}

// EksguardTampered flags a change to eksguard's own rules, functions, topic
// or table by anyone but its deployment.
var EksguardTampered = Rule{
	ID:       "eksguard-tampered",
	Title:    "eksguard's own resources changed outside its deployment",
	Severity: finding.Critical,
	Rationale: "Disabling an EventBridge rule, throttling or replacing a function, deleting the topic or table, or changing " +
		"who may put events on the organization's central bus silences eksguard (or feeds it), and silence reads as \"all is well\". " +
		"Only the CloudFormation deployment should change them.",
	Fix: "Redeploy the eksguard stack (cdk deploy) to restore its resources, and find out who changed them and why.",
	Examples: []Example{
		{Name: "rule disabled", Event: "DisableRule", Params: `{"name":"eksguard-AccessRule6F0B4A59-1X2Y3Z4W5V6U"}`, Fires: true},
		{Name: "another team's rule disabled", Event: "DisableRule", Params: `{"name":"billing-alerts"}`, Fires: false},
		{Name: "targets removed", Event: "RemoveTargets", Params: `{"rule":"eksguard-ClusterRuleA1B2C3D4-7Q8R9S0T1U2V","ids":["Target0"]}`, Fires: true},
		{Name: "concurrency set to zero", Event: "PutFunctionConcurrency20171031", Params: `{"functionName":"arn:aws:lambda:eu-west-1:111122223333:function:eksguard-AccessFunction9C8D7E6F-AbCdEfGh1234","reservedConcurrentExecutions":0}`, Fires: true},
		{Name: "code replaced", Event: "UpdateFunctionCode20150331v2", Params: `{"functionName":"eksguard-IamFunctionB1C2D3E4-IjKlMnOp5678","zipFile":"HIDDEN"}`, Fires: true},
		{Name: "topic deleted", Event: "DeleteTopic", Params: `{"topicArn":"arn:aws:sns:eu-west-1:111122223333:eksguard-FindingsTopic1A2B3C4D-QwErTy123456"}`, Fires: true},
		{Name: "subscription removed", Event: "Unsubscribe", Params: `{"subscriptionArn":"arn:aws:sns:eu-west-1:111122223333:eksguard-FindingsTopic1A2B3C4D-QwErTy123456:0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"}`, Fires: true},
		{Name: "table deleted", Event: "DeleteTable", Params: `{"tableName":"eksguard-Table5A6B7C8D-ZxCvBn098765"}`, Fires: true},
		{Name: "another team's table deleted", Event: "DeleteTable", Params: `{"tableName":"orders"}`, Fires: false},
		{Name: "defer queue mapping deleted", Event: "DeleteEventSourceMapping20150331", Params: `{"uUID":"2f6b7c1e-0d3a-4b5c-9e8f-1a2b3c4d5e6f"}`,
			Response: `{"uUID":"2f6b7c1e-0d3a-4b5c-9e8f-1a2b3c4d5e6f","functionArn":"arn:aws:lambda:eu-west-1:111122223333:function:eksguard-ClusterFunction7A8B9C0D-GhIjKlMn9012","eventSourceArn":"arn:aws:sqs:eu-west-1:111122223333:eksguard-DeferQueue1A2B3C4D-AbCdEf","state":"Deleting"}`, Fires: true},
		{Name: "central bus opened to everyone", Event: "PutPermission", Params: `{"eventBusName":"eksguard-org","action":"events:PutEvents","principal":"*","statementId":"anyone"}`, Fires: true},
		{Name: "central bus policy removed", Event: "RemovePermission", Params: `{"eventBusName":"arn:aws:events:eu-west-1:111122223333:event-bus/eksguard-org","removeAllPermissions":true}`, Fires: true},
		{Name: "audit log subscription deleted", Event: "DeleteSubscriptionFilter", Params: `{"logGroupName":"/aws/eks/payments-prod/cluster","filterName":"eksguard-kubernetes-audit"}`, Fires: true},
		{Name: "member audit log subscription deleted", Event: "DeleteSubscriptionFilter", Params: `{"logGroupName":"/aws/eks/payments-prod/cluster","filterName":"eksguard-kubernetes-audit-us-east-1"}`, Fires: true},
		{Name: "central audit destination deleted", Event: "DeleteDestination", Params: `{"destinationName":"eksguard-audit"}`, Fires: true},
		{Name: "central audit destination opened", Event: "PutDestinationPolicy", Params: `{"destinationName":"eksguard-audit","accessPolicy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"logs:PutSubscriptionFilter\",\"Resource\":\"*\"}]}"}`, Fires: true},
		{Name: "another team's destination deleted", Event: "DeleteDestination", Params: `{"destinationName":"splunk-central"}`, Fires: false},
		{Name: "another team's subscription deleted", Event: "DeleteSubscriptionFilter", Params: `{"logGroupName":"/aws/eks/payments-prod/cluster","filterName":"splunk-forwarder"}`, Fires: false},
		{Name: "default bus permission", Event: "PutPermission", Params: `{"action":"events:PutEvents","principal":"444455556666","statementId":"partner"}`, Fires: false},
		{Name: "another team's mapping deleted", Event: "DeleteEventSourceMapping20150331", Params: `{"uUID":"9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"}`,
			Response: `{"uUID":"9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b","functionArn":"arn:aws:lambda:eu-west-1:111122223333:function:orders-worker","eventSourceArn":"arn:aws:sqs:eu-west-1:111122223333:orders","state":"Deleting"}`, Fires: false},
	},
	Judge: []Judgement{
		On(eventsSource, func(r *cloudtrail.Record, rp *cloudtrail.EventBridgeRuleParams, p *policy.Policy) []finding.Finding {
			what := map[string]string{"DisableRule": "rule disabled", "DeleteRule": "rule deleted", "PutRule": "rule replaced"}[r.EventName]
			if r.EventName == "PutRule" && strings.EqualFold(rp.State, "DISABLED") {
				what = "rule replaced, disabled"
			}
			return tampered(r, p, "rule", rp.Name, what)
		}, "DisableRule", "DeleteRule", "PutRule"),
		On(eventsSource, func(r *cloudtrail.Record, rt *cloudtrail.RemoveTargetsParams, p *policy.Policy) []finding.Finding {
			return tampered(r, p, "rule", rt.Rule, "targets "+strings.Join(rt.IDs, ", ")+" removed")
		}, "RemoveTargets"),
		// The central bus of an organization deployment: its policy decides
		// who may put events on it (aws:PrincipalOrgID).
		On(eventsSource, func(r *cloudtrail.Record, bp *cloudtrail.EventBusPermissionParams, p *policy.Policy) []finding.Finding {
			var what string
			switch {
			case r.EventName == "RemovePermission" && bool(bp.RemoveAllPermissions):
				what = "every permission removed: member accounts can no longer forward their events"
			case r.EventName == "RemovePermission":
				what = "permission " + bp.StatementID + " removed: member accounts may no longer forward their events"
			case bp.Policy != "":
				what = "resource policy replaced: who may put events on it changed"
			default:
				what = fmt.Sprintf("permission %s added: %s may call %s on it", bp.StatementID, bp.Principal, bp.Action)
			}
			return tampered(r, p, "event-bus", bp.Bus(), what)
		}, "PutPermission", "RemovePermission"),
		// The subscription that brings a cluster's audit log to the
		// kubernetes function (its name is eksguard's, whatever the stack's).
		On(logsSource, func(r *cloudtrail.Record, sp *cloudtrail.SubscriptionFilterParams, p *policy.Policy) []finding.Finding {
			if !k8saudit.IsFilterName(sp.FilterName) || r.UserIdentity.InvokedBy == cloudFormation {
				return nil
			}
			return []finding.Finding{{
				Cluster:  k8saudit.Cluster(sp.LogGroupName),
				Resource: "subscription-filter/" + sp.LogGroupName,
				Summary: fmt.Sprintf("eksguard's audit log subscription on %s deleted by %s: the cluster's Kubernetes changes no longer reach eksguard",
					sp.LogGroupName, actorName(r)),
				After: "subscription deleted",
			}}
		}, "DeleteSubscriptionFilter"),
		// The organization's CloudWatch Logs destinations, one per member
		// region, through which member accounts' audit logs reach it.
		On(logsSource, func(r *cloudtrail.Record, dp *cloudtrail.DestinationParams, p *policy.Policy) []finding.Finding {
			what := "destination deleted: member accounts' audit logs in " + r.AWSRegion + " no longer reach eksguard"
			if r.EventName == "PutDestinationPolicy" {
				what = "access policy replaced: who may send audit logs to eksguard changed"
			}
			return tampered(r, p, "destination", dp.DestinationName, what)
		}, "DeleteDestination", "PutDestinationPolicy"),
		On(lambdaSource, func(r *cloudtrail.Record, fp *cloudtrail.FunctionParams, p *policy.Policy) []finding.Finding {
			what := map[string]string{
				"UpdateFunctionConfiguration20150331v2": "configuration changed",
				"UpdateFunctionCode20150331v2":          "code replaced",
				"DeleteFunction20150331":                "function deleted",
				"PutFunctionConcurrency20171031":        "reserved concurrency changed",
			}[r.EventName]
			if c := fp.ReservedConcurrentExecutions; c != nil {
				what = fmt.Sprintf("reserved concurrency set to %d", *c)
				if *c == 0 {
					what += ": the function no longer runs"
				}
			}
			return tampered(r, p, "function", fp.Function(), what)
		}, "UpdateFunctionConfiguration20150331v2", "UpdateFunctionCode20150331v2", "DeleteFunction20150331", "PutFunctionConcurrency20171031"),
		On(lambdaSource, func(r *cloudtrail.Record, mp *cloudtrail.EventSourceMappingParams, p *policy.Policy) []finding.Finding {
			// The request names only the mapping; its response names the
			// function and the queue (no response: nothing to judge by).
			var resp cloudtrail.EventSourceMappingResponse
			if json.Unmarshal(r.ResponseElements, &resp) != nil || resp.FunctionARN == "" {
				return nil
			}
			fn := (&cloudtrail.FunctionParams{FunctionName: resp.FunctionARN}).Function()
			return tampered(r, p, "function", fn, fmt.Sprintf("event source mapping %s deleted: the function no longer reads %s",
				mp.UUID, orUnknown(resp.EventSourceARN)))
		}, "DeleteEventSourceMapping20150331"),
		On(snsSource, func(r *cloudtrail.Record, tp *cloudtrail.TopicParams, p *policy.Policy) []finding.Finding {
			what := "topic deleted"
			if r.EventName == "SetTopicAttributes" {
				what = "attribute " + tp.AttributeName + " changed"
			}
			return tampered(r, p, "topic", cloudtrail.TopicName(tp.TopicARN), what)
		}, "DeleteTopic", "SetTopicAttributes"),
		On(snsSource, func(r *cloudtrail.Record, up *cloudtrail.UnsubscribeParams, p *policy.Policy) []finding.Finding {
			return tampered(r, p, "topic", cloudtrail.TopicName(up.SubscriptionARN), "subscription "+up.SubscriptionARN+" removed")
		}, "Unsubscribe"),
		On(dynamoDBSource, func(r *cloudtrail.Record, tp *cloudtrail.TableParams, p *policy.Policy) []finding.Finding {
			return tampered(r, p, "table", tp.Table(), "table deleted")
		}, "DeleteTable"),
	},
}

// RemediationSwitchedOff reports the kill switch turned off (a value
// config.SwitchedOff reads as off, or the parameter deleted, which holds
// remediation back too): allowed, but on-call should know that fixes
// stopped and who stopped them.
var RemediationSwitchedOff = Rule{
	ID:       "remediation-switched-off",
	Title:    "eksguard remediation switched off",
	Severity: finding.Medium,
	Rationale: "The kill switch stops every automatic fix until it is turned back on; findings are still reported, " +
		"but nothing is undone. That is a legitimate lever, and one on-call has to know is pulled.",
	Fix: "Confirm with whoever turned it off; set the parameter back to on when fixes should resume.",
	Examples: []Example{
		{Name: "kill switch off", Event: "PutParameter", Params: `{"name":"/eksguard/remediation","type":"String","value":"off","overwrite":true}`, Fires: true},
		{Name: "kill switch written, value hidden", Event: "PutParameter", Params: `{"name":"/eksguard/remediation","type":"String","value":"HIDDEN_DUE_TO_SECURITY_REASONS","overwrite":true}`, Fires: true},
		{Name: "kill switch on", Event: "PutParameter", Params: `{"name":"/eksguard/remediation","type":"String","value":"on","overwrite":true}`, Fires: false},
		{Name: "kill switch disabled", Event: "PutParameter", Params: `{"name":"/eksguard/remediation","type":"String","value":"disabled","overwrite":true}`, Fires: true},
		{Name: "kill switch deleted", Event: "DeleteParameter", Params: `{"name":"/eksguard/remediation"}`, Fires: true},
		{Name: "another parameter deleted", Event: "DeleteParameter", Params: `{"name":"/app/feature-flag"}`, Fires: false},
		{Name: "another parameter", Event: "PutParameter", Params: `{"name":"/app/feature-flag","type":"String","value":"off","overwrite":true}`, Fires: false},
	},
	Judge: []Judgement{On(ssmSource, func(r *cloudtrail.Record, pp *cloudtrail.ParameterParams, p *policy.Policy) []finding.Finding {
		if pp.Name != KillSwitchParameter(p) || r.UserIdentity.InvokedBy == cloudFormation {
			return nil
		}
		f := finding.Finding{Resource: "parameter" + pp.Name}
		switch v := strings.TrimSpace(pp.Value); {
		case r.EventName == "DeleteParameter":
			// The functions hold remediation back when they cannot read the switch.
			f.Summary = fmt.Sprintf("eksguard kill switch %s deleted by %s: remediation is held back until it is back", pp.Name, actorName(r))
			f.After = "deleted"
		case config.SwitchedOff(v):
			f.Summary = fmt.Sprintf("eksguard remediation switched off (%s = %s) by %s", pp.Name, v, actorName(r))
			f.After = v
		case v == "" || v == cloudtrail.HiddenValue:
			f.Summary = fmt.Sprintf("eksguard kill switch %s written by %s; CloudTrail does not show the value", pp.Name, actorName(r))
			f.NeedsCheck = "check the value with aws ssm get-parameter --name " + pp.Name + "; off stops every remediation"
		default:
			return nil
		}
		return []finding.Finding{f}
	}, "PutParameter", "DeleteParameter")},
}

// KillSwitchParameter is the SSM parameter the stack deploys as the kill
// switch: "/<stack>/remediation".
func KillSwitchParameter(p *policy.Policy) string {
	return "/" + p.StackName() + "/remediation"
}
