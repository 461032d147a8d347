package stack

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/policy"
)

// memberGrants are the remediation role's statements per family: what the
// single-account stack gives each family function (DetectionGrants and
// RemediationGrantsIn), for the member regions of the member account; and,
// under HubName, the hub function's (memberHubGrants); under InteractionName,
// the approved fixes' (memberApprovalGrants); with the scan on, the scan
// function's (memberScanGrants); for the cluster family also the audit-log
// subscriptions (memberAuditGrants).
//
// pols are the policies the role serves: one account's (policy.For), or,
// for the StackSet's accounts, every variant (policy.Variants); statements
// of the same Sid are merged.
func memberGrants(cfg Config, pols []*policy.Policy) (map[string][]Statement, error) {
	out := map[string][]Statement{}
	for _, fam := range families.All() {
		stmts := DetectionGrants(fam, cfg.Org.Regions)
		for _, pol := range pols {
			rem, err := RemediationGrantsIn(fam, pol, cfg.Rules, cfg.ClusterNames, cfg.Org.Regions)
			if err != nil {
				return nil, err
			}
			stmts = mergeStatements(stmts, rem)
		}
		if fam.Name == families.Cluster.Name {
			// It subscribes the members' audit logs to the central destinations.
			stmts = mergeStatements(stmts, memberAuditGrants(cfg))
		}
		if len(stmts) > 0 {
			out[fam.Name] = stmts
		}
	}
	if stmts := memberHubGrants(cfg); len(stmts) > 0 {
		out[HubName] = stmts
	}
	if stmts := memberApprovalGrants(cfg, pols); len(stmts) > 0 {
		out[InteractionName] = stmts
	}
	scan, err := memberScanGrants(cfg, pols)
	if len(scan) > 0 {
		out[ScanFunctionName] = scan
	}
	return out, err
}

// mergeStatements adds more to stmts: a statement with a Sid already there
// adds its actions and resources to that one (the Sid names the scope and
// the condition, which are the same).
func mergeStatements(stmts, more []Statement) []Statement {
	for _, m := range more {
		i := slices.IndexFunc(stmts, func(s Statement) bool { return s.Sid == m.Sid })
		if i < 0 {
			stmts = append(stmts, m)
			continue
		}
		s := &stmts[i]
		for _, a := range m.Actions {
			if !slices.Contains(s.Actions, a) {
				s.Actions = append(slices.Clone(s.Actions), a)
			}
		}
		slices.Sort(s.Actions)
		for _, r := range m.Resources {
			if !slices.Contains(s.Resources, r) {
				s.Resources = append(slices.Clone(s.Resources), r)
			}
		}
	}
	return stmts
}

// globalRegion is where IAM events reach EventBridge, and where the member
// stack creates the (global) remediation role.
func globalRegion() string { return families.IAM.GlobalRegion }

// buildMember fills a member stack: in region (or, when region is empty,
// in any region, the StackSet's template, whose region-specific parts are
// CloudFormation conditions), a rule per family on the default bus with
// the central rules' pattern, forwarding to the central bus, with a
// dead-letter queue and alarms; in the global region also the IAM rule and
// the remediation role.
func buildMember(st awscdk.Stack, cfg Config, region string, grants map[string][]Statement) {
	var inGlobal awscdk.CfnCondition
	if region == "" {
		inGlobal = awscdk.NewCfnCondition(st, jsii.String("InGlobalRegion"), &awscdk.CfnConditionProps{
			Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_REGION(), jsii.String(globalRegion())),
		})
	}
	// onlyGlobal keeps c's resources to the global region: a condition in
	// the StackSet template, nothing elsewhere; false: leave c out.
	onlyGlobal := func() bool { return region == "" || region == globalRegion() }
	conditional := func(c constructs.IConstruct) {
		if inGlobal == nil {
			return
		}
		for _, n := range *c.Node().FindAll(constructs.ConstructOrder_PREORDER) {
			if r, ok := n.(awscdk.CfnResource); ok {
				r.CfnOptions().SetCondition(inGlobal)
			}
		}
	}

	dlq := newQueue(st, "UndeliveredEvents", &awssqs.QueueProps{RetentionPeriod: awscdk.Duration_Days(jsii.Number(14))})
	bus := awsevents.EventBus_FromEventBusArn(st, jsii.String("CentralBus"), awscdk.Fn_Sub(jsii.String(
		"arn:${AWS::Partition}:events:"+cfg.Region+":"+cfg.Account+":event-bus/"+CentralBusName(cfg.StackName)), nil))
	// Cross-account targets need a role that may put events on the bus.
	putRole := awsiam.NewRole(st, jsii.String("ForwardRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil),
		Description: jsii.String("eksguard member: EventBridge forwards events to the central bus"),
	})
	putRole.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("PutOnCentralBus"),
		Actions:   jsii.Strings("events:PutEvents"),
		Resources: &[]*string{bus.EventBusArn()},
	}))
	topic := encryptedTopic(st, "Alarms", "eksguard member", "eksguard member alarms topic")
	subscribe(topic, cfg, nil, nil)

	for _, fam := range families.All() {
		global := fam.GlobalRegion != ""
		if global && !onlyGlobal() {
			continue
		}
		id := title(fam.Name) + "Forward"
		group := constructs.NewConstruct(st, jsii.String(id))
		rule := awsevents.NewRule(group, jsii.String("Rule"), &awsevents.RuleProps{
			Description:  jsii.String("eksguard " + fam.Name + ": forward to the central bus in " + cfg.Account + " " + cfg.Region + " (" + fam.Description + ")"),
			EventPattern: mustPattern(fam),
		})
		queue := dlq
		if global {
			// In the StackSet's template the rule exists only in the global
			// region, so its queue (whose policy names the rule) must too.
			queue = newQueue(group, "UndeliveredEvents", &awssqs.QueueProps{RetentionPeriod: awscdk.Duration_Days(jsii.Number(14))})
			suppress(queue, "AwsSolutions-SQS3", whyDLQ)
			alarm(group, "UndeliveredEventsAlarm", queue.MetricApproximateNumberOfMessagesVisible(maxOver5m()),
				"eksguard: "+fam.Name+" events for the central bus are waiting in the member dead-letter queue", topic)
		}
		rule.AddTarget(awseventstargets.NewEventBus(bus, &awseventstargets.EventBusProps{DeadLetterQueue: queue, Role: putRole}))
		failed := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String("AWS/Events"),
			MetricName:    jsii.String("FailedInvocations"),
			DimensionsMap: &map[string]*string{"RuleName": rule.RuleName()},
			Statistic:     jsii.String("Sum"),
			Period:        awscdk.Duration_Minutes(jsii.Number(5)),
		})
		alarm(group, "Failures", failed, "eksguard: EventBridge could not forward "+fam.Name+" events to the central bus", topic)
		if global {
			conditional(group)
		}
	}
	alarm(st, "UndeliveredEventsAlarm", dlq.MetricApproximateNumberOfMessagesVisible(maxOver5m()),
		"eksguard: events for the central bus are waiting in the member dead-letter queue", topic)
	suppress(dlq, "AwsSolutions-SQS3", whyDLQ)

	if onlyGlobal() {
		role := remediationRole(st, cfg, grants)
		conditional(role)
	}
}

// remediationRole is the member account's role for the central family
// functions (and the hub function, with securityHub on): trusted only by
// their roles, within the organization, and holding their grants for this
// account.
func remediationRole(st awscdk.Stack, cfg Config, grants map[string][]Statement) constructs.IConstruct {
	group := constructs.NewConstruct(st, jsii.String("Remediation"))
	var fnRoles []interface{}
	for _, fn := range memberRoleUsers(cfg) {
		fnRoles = append(fnRoles, awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::"+cfg.Account+":role/"+functionRoleName(cfg.StackName, fn, cfg.Region)), nil))
	}
	trust := awsiam.NewPrincipalWithConditions(awsiam.NewAccountPrincipal(jsii.String(cfg.Account)), &map[string]interface{}{
		"ArnEquals":    map[string]interface{}{"aws:PrincipalArn": fnRoles},
		"StringEquals": map[string]interface{}{"aws:PrincipalOrgID": cfg.Org.ID},
	})
	role := awsiam.NewRole(group, jsii.String("Role"), &awsiam.RoleProps{
		RoleName:           jsii.String(cfg.Org.RoleName),
		AssumedBy:          trust,
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
		Description:        jsii.String("eksguard: the central " + cfg.StackName + " functions in " + cfg.Account + " " + cfg.Region + " judge and fix this account's events through it"),
	})
	for _, fn := range memberRoleUsers(cfg) {
		stmts := grants[fn]
		if len(stmts) == 0 {
			continue
		}
		p := awsiam.NewPolicy(group, jsii.String(title(fn)), &awsiam.PolicyProps{
			Roles:      &[]awsiam.IRole{role},
			Statements: policyStatements(stmts),
		})
		for _, s := range stmts {
			if wild := wildcards(s); len(wild) > 0 {
				suppress(p, "AwsSolutions-IAM5", fn+" "+s.Sid+": "+s.Why, wild...)
			}
		}
	}
	return group
}

// memberRoleUsers are the central functions that assume the member role
// (which trusts them and holds their grants): the family functions, the hub
// function with securityHub on, the interaction function with slackActions
// on, and the scan function when the scan is on.
func memberRoleUsers(cfg Config) []string {
	var out []string
	for _, fam := range families.All() {
		out = append(out, fam.Name)
	}
	if cfg.SecurityHub {
		out = append(out, HubName)
	}
	if cfg.SlackActions {
		out = append(out, InteractionName)
	}
	if cfg.ScanSchedule != ScanOff {
		out = append(out, ScanFunctionName)
	}
	return out
}
