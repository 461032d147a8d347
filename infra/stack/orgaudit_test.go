package stack

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
)

// The organization fixture (orgFixture) is the documented example:
// central 111122223333 in eu-west-1, member regions eu-west-1 and us-east-1.

// onlyResource is the single resource of a type in a template, with its
// logical ID; the test fails when there is not exactly one.
func onlyResource(t *testing.T, tm template, typ string) (string, map[string]any) {
	t.Helper()
	rs := tm.resources(typ)
	if len(rs) != 1 {
		t.Fatalf("%d %s resources, want 1", len(rs), typ)
	}
	for id, r := range rs {
		return id, r
	}
	return "", nil
}

func TestOrgAuditStream(t *testing.T) {
	s := orgFixture(t)
	_, st := onlyResource(t, s.mainJSON, "AWS::Kinesis::Stream")
	for k, want := range map[string]any{
		"Name":                 AuditStreamName("eksguard"),
		"ShardCount":           1,
		"RetentionPeriodHours": 24,
		"StreamModeDetails":    map[string]any{"StreamMode": "PROVISIONED"},
	} {
		if !jsonEqual(t, st[k], want) {
			t.Errorf("stream %s = %s, want %s", k, canonical(t, st[k]), canonical(t, want))
		}
	}
	if at(st, "StreamEncryption", "EncryptionType") != "KMS" {
		t.Errorf("stream encryption %s, want KMS", canonical(t, st["StreamEncryption"]))
	}
	keyID := getAtt(at(st, "StreamEncryption", "KeyId"), "Arn")
	key := s.mainJSON.resources("AWS::KMS::Key")[keyID]
	if key == nil || key["EnableKeyRotation"] != true {
		t.Errorf("stream key %q (%v), want a customer-managed key of the stack with rotation", keyID, key)
	}
}

// The kubernetes function reads the stream with partial batch responses,
// bisection, bounded retries and an on-failure queue that alarms.
func TestOrgAuditEventSourceMapping(t *testing.T) {
	s := orgFixture(t)
	streamID, _ := onlyResource(t, s.mainJSON, "AWS::Kinesis::Stream")
	var esm map[string]any
	for id, m := range s.mainJSON.resources("AWS::Lambda::EventSourceMapping") {
		if getAtt(m["EventSourceArn"], "Arn") != streamID {
			continue
		}
		if esm != nil {
			t.Errorf("a second mapping %s reads the stream", id)
		}
		esm = m
	}
	if esm == nil {
		t.Fatal("no event source mapping reads the audit stream")
	}
	if got, want := ref(esm["FunctionName"]), s.functionID(families.Kubernetes.Name); got != want {
		t.Errorf("the stream feeds %q, want the kubernetes function %s", got, want)
	}
	for k, want := range map[string]any{
		"StartingPosition":               "LATEST",
		"BatchSize":                      auditBatchSize,
		"MaximumBatchingWindowInSeconds": auditBatchWindowSeconds,
		"BisectBatchOnFunctionError":     true,
		"MaximumRetryAttempts":           auditRetries,
		"MaximumRecordAgeInSeconds":      auditMaxAgeHours * 3600,
		"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
	} {
		if !jsonEqual(t, esm[k], want) {
			t.Errorf("mapping %s = %s, want %s", k, canonical(t, esm[k]), canonical(t, want))
		}
	}
	dlqID := getAtt(at(esm, "DestinationConfig", "OnFailure", "Destination"), "Arn")
	dlq, ok := s.mainJSON.resources("AWS::SQS::Queue")[dlqID]
	if !ok {
		t.Fatalf("on-failure destination %s is not a queue of the stack", canonical(t, esm["DestinationConfig"]))
	}
	if dlq["SqsManagedSseEnabled"] != true {
		t.Errorf("on-failure queue %s is not encrypted: %v", dlqID, dlq)
	}
	var alarmed bool
	for _, a := range s.mainJSON.resources("AWS::CloudWatch::Alarm") {
		for _, d := range asList(a["Dimensions"]) {
			if at(d, "Name") == "QueueName" && getAtt(at(d, "Value"), "QueueName") == dlqID {
				alarmed = ref(asList(a["AlarmActions"])[0]) != ""
			}
		}
	}
	if !alarmed {
		t.Errorf("no alarm with an action watches the on-failure queue %s", dlqID)
	}

	// The function's role reads the stream and its key and may send to the
	// queue; it may not write the stream.
	keyID := getAtt(at(s.mainJSON.resources("AWS::Kinesis::Stream")[streamID], "StreamEncryption", "KeyId"), "Arn")
	var reads, decrypts, sends bool
	for _, st := range s.roleStatements(t, families.Kubernetes.Name) {
		acts, res := asList(st["Action"]), asList(st["Resource"])
		onStream := slices.ContainsFunc(res, func(r any) bool { return getAtt(r, "Arn") == streamID })
		for _, a := range acts {
			switch {
			case a == "kinesis:GetRecords" && onStream && len(res) == 1:
				reads = true
			case a == "kms:Decrypt" && len(res) == 1 && getAtt(res[0], "Arn") == keyID:
				decrypts = true
			case a == "sqs:SendMessage" && slices.ContainsFunc(res, func(r any) bool { return getAtt(r, "Arn") == dlqID }):
				sends = true
			case strings.HasPrefix(a.(string), "kinesis:Put"):
				t.Errorf("the kubernetes function may %s", a)
			}
		}
	}
	if !reads || !decrypts || !sends {
		t.Errorf("kubernetes role: reads the stream %v, decrypts with its key %v, sends to the on-failure queue %v; want all", reads, decrypts, sends)
	}
}

// CloudWatch Logs may assume the delivery role from the member regions
// only, and it may only put records on the stream, encrypted.
func TestOrgAuditDeliveryRole(t *testing.T) {
	s := orgFixture(t)
	var roleID string
	var role map[string]any
	for id, r := range s.mainJSON.resources("AWS::IAM::Role") {
		if r["RoleName"] == AuditDeliveryRoleName("eksguard") {
			roleID, role = id, r
		}
	}
	if role == nil {
		t.Fatalf("no role named %s", AuditDeliveryRoleName("eksguard"))
	}
	trust := asList(at(role, "AssumeRolePolicyDocument", "Statement"))
	want := map[string]any{
		"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "logs.amazonaws.com"},
		"Condition": map[string]any{"StringLike": map[string]any{"aws:SourceArn": []any{
			map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:eu-west-1:*:*"},
			map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:us-east-1:*:*"},
		}}},
	}
	if len(trust) != 1 || !jsonEqual(t, sortLists(t, trust[0]), sortLists(t, want)) {
		t.Errorf("delivery role trust %s, want %s", canonical(t, trust), canonical(t, want))
	}
	streamID, _ := onlyResource(t, s.mainJSON, "AWS::Kinesis::Stream")
	keyID := getAtt(at(s.mainJSON.resources("AWS::Kinesis::Stream")[streamID], "StreamEncryption", "KeyId"), "Arn")
	got := policyStatementsOf(s.mainJSON, roleID)
	wantStmts := []any{
		map[string]any{"Sid": "PutAuditRecords", "Effect": "Allow", "Action": []any{"kinesis:PutRecord", "kinesis:PutRecords"},
			"Resource": map[string]any{"Fn::GetAtt": []any{streamID, "Arn"}}},
		map[string]any{"Sid": "EncryptAuditRecords", "Effect": "Allow", "Action": "kms:GenerateDataKey",
			"Resource": map[string]any{"Fn::GetAtt": []any{keyID, "Arn"}}},
	}
	gotAny := make([]any, len(got))
	for i, st := range got {
		gotAny[i] = st
	}
	if !sameSet(t, gotAny, wantStmts) {
		t.Errorf("delivery role statements %s, want %s", canonical(t, got), canonical(t, wantStmts))
	}
	if role["Policies"] != nil || role["ManagedPolicyArns"] != nil {
		t.Errorf("delivery role has inline or managed policies: %v %v", role["Policies"], role["ManagedPolicyArns"])
	}
}

// checkAuditDestination checks a destination in region against the
// central names and the organization.
func checkAuditDestination(t *testing.T, region string, d map[string]any) {
	t.Helper()
	for k, want := range map[string]any{
		"DestinationName": AuditDestinationName("eksguard"),
		"TargetArn":       map[string]any{"Fn::Sub": "arn:${AWS::Partition}:kinesis:eu-west-1:" + orgCentral + ":stream/" + AuditStreamName("eksguard")},
		"RoleArn":         map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::" + orgCentral + ":role/" + AuditDeliveryRoleName("eksguard")},
	} {
		if !jsonEqual(t, d[k], want) {
			t.Errorf("%s destination %s = %s, want %s", region, k, canonical(t, d[k]), canonical(t, want))
		}
	}
	doc, _ := at(d, "DestinationPolicy", "Fn::Sub").(string)
	var pol map[string]any
	if err := json.Unmarshal([]byte(doc), &pol); err != nil {
		t.Fatalf("%s destination policy %s: %v", region, canonical(t, d["DestinationPolicy"]), err)
	}
	want := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": "OrganizationSubscribes", "Effect": "Allow", "Principal": map[string]any{"AWS": "*"},
		"Action":    "logs:PutSubscriptionFilter",
		"Resource":  "arn:${AWS::Partition}:logs:" + region + ":" + orgCentral + ":destination:" + AuditDestinationName("eksguard"),
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": orgID}},
	}}}
	if !jsonEqual(t, pol, want) {
		t.Errorf("%s destination policy %s, want %s", region, canonical(t, pol), canonical(t, want))
	}
}

// The central region's destination is in the central stack, after the
// stream and the role's policy; us-east-1's in a stack of its own, in the
// central account, deployed after the central stack.
func TestOrgAuditDestinations(t *testing.T) {
	s := orgFixture(t)
	id, d := onlyResource(t, s.mainJSON, "AWS::Logs::Destination")
	checkAuditDestination(t, "eu-west-1", d)
	deps := asList(s.mainJSON.resource(id)["DependsOn"])
	streamID, _ := onlyResource(t, s.mainJSON, "AWS::Kinesis::Stream")
	var deliveryPolicy string
	for pid, p := range s.mainJSON.resources("AWS::IAM::Policy") {
		if strings.HasPrefix(pid, "AuditDeliveryPolicy") && len(refs(p["Roles"])) == 1 {
			deliveryPolicy = pid
		}
	}
	for _, w := range []string{streamID, deliveryPolicy} {
		if w == "" || !slices.Contains(deps, any(w)) {
			t.Errorf("central destination depends on %v, want %q among them", deps, w)
		}
	}

	if len(s.dep.AuditDestinations) != 1 {
		t.Fatalf("%d audit destination stacks, want 1 (us-east-1)", len(s.dep.AuditDestinations))
	}
	rs := s.dep.AuditDestinations[0]
	if got, want := *rs.StackName(), AuditStackName("eksguard", "us-east-1"); got != want || want != "eksguard-audit-us-east-1" {
		t.Errorf("audit stack %s, want %s", got, want)
	}
	if *rs.Account() != orgCentral || *rs.Region() != "us-east-1" {
		t.Errorf("audit stack in %s %s, want %s us-east-1", *rs.Account(), *rs.Region(), orgCentral)
	}
	if !slices.ContainsFunc(*rs.Dependencies(), func(d awscdk.Stack) bool { return *d.StackName() == *s.dep.Main.StackName() }) {
		t.Errorf("audit stack does not depend on the central stack")
	}
	var tm template
	failOnValidation(t, s.app, func() { tm = toTemplate(t, assertions.Template_FromStack(rs, nil)) })
	for rid, r := range tm["Resources"].(map[string]any) {
		if typ := r.(map[string]any)["Type"]; typ != "AWS::Logs::Destination" && typ != "AWS::CDK::Metadata" {
			t.Errorf("audit stack holds %s (%v); want only the destination", rid, typ)
		}
	}
	_, ud := onlyResource(t, tm, "AWS::Logs::Destination")
	checkAuditDestination(t, "us-east-1", ud)
	if p := tm["Parameters"]; p != nil {
		t.Errorf("audit stack has parameters %s: it needs no bootstrap", canonical(t, p))
	}
	for _, e := range nagErrors(t, s.app, rs) {
		t.Errorf("%s: %s", *rs.StackName(), e)
	}
}

// Only the cluster and scan functions (the subscribers) are told the
// destinations' name.
func TestOrgAuditSubscribersEnv(t *testing.T) {
	s := orgFixture(t)
	if _, ok := s.dep.Functions[ScanFunctionName]; !ok {
		t.Fatal("the organization fixture has no scan function")
	}
	for _, fn := range append(FunctionNames(), ScanFunctionName) {
		vars, _ := at(s.mainJSON.resources("AWS::Lambda::Function")[s.functionID(fn)], "Environment", "Variables").(map[string]any)
		got, ok := vars[config.EnvAuditDestination]
		if fn == families.Cluster.Name || fn == ScanFunctionName {
			if got != AuditDestinationName("eksguard") {
				t.Errorf("%s %s = %v, want %s", fn, config.EnvAuditDestination, got, AuditDestinationName("eksguard"))
			}
		} else if ok {
			t.Errorf("%s function has %s", fn, config.EnvAuditDestination)
		}
	}
}

// The member role (StackSet template and standalone stack) lets the
// cluster function put the filter on the member's EKS log groups in every
// member region, to the central destinations there.
func TestOrgAuditMemberGrants(t *testing.T) {
	s := orgFixture(t)
	wantStmts := []any{
		map[string]any{"Sid": "SubscribeAuditLogs", "Effect": "Allow", "Action": []any{"logs:CreateLogGroup", "logs:DescribeSubscriptionFilters", "logs:PutSubscriptionFilter"},
			"Resource": []any{
				map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:eu-west-1:${AWS::AccountId}:log-group:/aws/eks/*/cluster"},
				map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:eu-west-1:${AWS::AccountId}:log-group:/aws/eks/*/cluster:*"},
				map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:us-east-1:${AWS::AccountId}:log-group:/aws/eks/*/cluster"},
				map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:us-east-1:${AWS::AccountId}:log-group:/aws/eks/*/cluster:*"},
			}},
		map[string]any{"Sid": "SubscribeToCentralAuditDestination", "Effect": "Allow", "Action": "logs:PutSubscriptionFilter",
			"Resource": []any{
				map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:eu-west-1:" + orgCentral + ":destination:" + AuditDestinationName("eksguard")},
				map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:us-east-1:" + orgCentral + ":destination:" + AuditDestinationName("eksguard")},
			}},
	}
	if s.stackSet == nil || s.members["us-east-1"] == nil {
		t.Fatal("the fixture lacks the StackSet template or the us-east-1 member stack")
	}
	for name, tm := range map[string]template{"StackSet": s.stackSet, "member us-east-1": s.members["us-east-1"]} {
		_, roleID := remediationRoleIn(tm)
		var got []any
		for _, st := range policyStatementsOf(tm, roleID) {
			for _, a := range asList(st["Action"]) {
				if strings.HasPrefix(a.(string), "logs:") {
					got = append(got, sortLists(t, st))
					break
				}
			}
		}
		want := make([]any, len(wantStmts))
		for i, w := range wantStmts {
			want[i] = sortLists(t, w)
		}
		if !sameSet(t, got, want) {
			t.Errorf("%s: member role logs statements\n%s\nwant\n%s", name, canonical(t, got), canonical(t, want))
		}
	}
}

// Without organization settings: no stream, destination, delivery role,
// mapping from Kinesis or destination variable; the cluster function's
// subscription grant is the stack region's.
func TestSingleAccountHasNoOrgAudit(t *testing.T) {
	for _, name := range []string{"eu-remediate", "us-notify"} {
		s := fixture(t, name)
		if len(s.dep.AuditDestinations) != 0 {
			t.Errorf("%s: %d audit destination stacks", name, len(s.dep.AuditDestinations))
		}
		for _, typ := range []string{"AWS::Kinesis::Stream", "AWS::Logs::Destination"} {
			if n := len(s.mainJSON.resources(typ)); n != 0 {
				t.Errorf("%s: %d %s resources, want none", name, n, typ)
			}
		}
		for id, m := range s.mainJSON.resources("AWS::Lambda::EventSourceMapping") {
			if m["StartingPosition"] != nil {
				t.Errorf("%s: mapping %s reads a stream: %s", name, id, canonical(t, m))
			}
		}
		for id, r := range s.mainJSON.resources("AWS::IAM::Role") {
			if strings.Contains(canonical(t, r["AssumeRolePolicyDocument"]), "logs.amazonaws.com") {
				t.Errorf("%s: role %s trusts CloudWatch Logs", name, id)
			}
		}
		for id, fn := range s.mainJSON.resources("AWS::Lambda::Function") {
			if _, ok := at(fn, "Environment", "Variables").(map[string]any)[config.EnvAuditDestination]; ok {
				t.Errorf("%s: function %s has %s", name, id, config.EnvAuditDestination)
			}
		}
	}
}

func TestAuditSubscriptionGrantRegions(t *testing.T) {
	if got, want := AuditSubscriptionGrant(nil).Resources, []string{
		"arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/eks/*/cluster",
		"arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/eks/*/cluster:*",
	}; !slices.Equal(got, want) {
		t.Errorf("no regions: %v, want %v", got, want)
	}
	got := AuditSubscriptionGrant([]string{"eu-central-1", "us-east-1"}).Resources
	want := []string{
		"arn:${AWS::Partition}:logs:eu-central-1:${AWS::AccountId}:log-group:/aws/eks/*/cluster",
		"arn:${AWS::Partition}:logs:eu-central-1:${AWS::AccountId}:log-group:/aws/eks/*/cluster:*",
		"arn:${AWS::Partition}:logs:us-east-1:${AWS::AccountId}:log-group:/aws/eks/*/cluster",
		"arn:${AWS::Partition}:logs:us-east-1:${AWS::AccountId}:log-group:/aws/eks/*/cluster:*",
	}
	if !slices.Equal(got, want) {
		t.Errorf("two regions: %v, want %v", got, want)
	}
}

// With a central region that is not a member region, every destination
// is in a stack of its own, and the delivery role still trusts the
// central region (its own test records).
func TestOrgAuditCentralRegionNotAMember(t *testing.T) {
	s := buildOrgSynth(t, "org-audit-build", map[string]string{
		"account": orgCentral, "region": "eu-west-1", "organizationId": orgID,
		"memberAccounts": orgMember, "memberRegions": "eu-central-1",
	})
	if n := len(s.mainJSON.resources("AWS::Logs::Destination")); n != 0 {
		t.Errorf("central stack holds %d destinations; eu-west-1 is no member region", n)
	}
	onlyResource(t, s.mainJSON, "AWS::Kinesis::Stream")
	var regions []string
	for _, rs := range s.dep.AuditDestinations {
		regions = append(regions, *rs.Region())
		var tm template
		failOnValidation(t, s.app, func() { tm = toTemplate(t, assertions.Template_FromStack(rs, nil)) })
		_, d := onlyResource(t, tm, "AWS::Logs::Destination")
		checkAuditDestination(t, *rs.Region(), d)
	}
	slices.Sort(regions)
	if want := []string{"eu-central-1", "us-east-1"}; !slices.Equal(regions, want) {
		t.Errorf("audit destination stacks in %v, want %v", regions, want)
	}
	var trusted []any
	for _, r := range s.mainJSON.resources("AWS::IAM::Role") {
		if r["RoleName"] == AuditDeliveryRoleName("eksguard") {
			trusted = asList(at(asList(at(r, "AssumeRolePolicyDocument", "Statement"))[0], "Condition", "StringLike", "aws:SourceArn"))
		}
	}
	var want []any
	for _, r := range []string{"eu-central-1", "us-east-1", "eu-west-1"} {
		want = append(want, map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:" + r + ":*:*"})
	}
	if !sameSet(t, trusted, want) {
		t.Errorf("delivery role trusts %s, want %s", canonical(t, trusted), canonical(t, want))
	}
	g := AuditDestinationGrant(s.cfg)
	if want := []string{
		"arn:${AWS::Partition}:logs:eu-central-1:" + orgCentral + ":destination:eksguard-audit",
		"arn:${AWS::Partition}:logs:us-east-1:" + orgCentral + ":destination:eksguard-audit",
	}; !slices.Equal(g.Resources, want) {
		t.Errorf("member destination grant on %v, want %v", g.Resources, want)
	}
}
