package stack

import (
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
)

func TestOptionalFunctionsAreOffByDefault(t *testing.T) {
	for _, name := range []string{"eu-remediate", "us-notify"} {
		s := fixture(t, name)
		if _, ok := s.dep.Functions[HubName]; ok {
			t.Errorf("%s: hub function deployed with securityHub off", name)
		}
		if n := len(s.mainJSON.resources("AWS::Lambda::Url")); n != 0 {
			t.Errorf("%s: %d function URLs with slackActions off, want none", name, n)
		}
		for _, fn := range FunctionNames() {
			for _, st := range s.roleStatements(t, fn) {
				for _, a := range asList(st["Action"]) {
					if strings.HasPrefix(a.(string), "securityhub:") {
						t.Errorf("%s/%s: %v granted with securityHub off", name, fn, a)
					}
				}
			}
		}
	}
}

func TestHubImportsOnlyIntoTheDefaultProduct(t *testing.T) {
	s := fixture(t, "eu-actions")
	var hubStmts []map[string]any
	for _, st := range s.roleStatements(t, HubName) {
		for _, a := range asList(st["Action"]) {
			if strings.HasPrefix(a.(string), "securityhub:") {
				hubStmts = append(hubStmts, st)
			}
		}
	}
	if len(hubStmts) != 1 {
		t.Fatalf("got %d securityhub statements, want 1", len(hubStmts))
	}
	st := hubStmts[0]
	if got := asList(st["Action"]); len(got) != 1 || got[0] != "securityhub:BatchImportFindings" {
		t.Errorf("actions: got %v, want only securityhub:BatchImportFindings", got)
	}
	if got := at(st["Resource"], "Fn::Sub"); got != ProductARNTemplate {
		t.Errorf("resource: got %v, want %s", st["Resource"], ProductARNTemplate)
	}
	for _, fn := range append(FunctionNames(), InteractionName) {
		for _, st := range s.roleStatements(t, fn) {
			for _, a := range asList(st["Action"]) {
				if strings.HasPrefix(a.(string), "securityhub:") {
					t.Errorf("%s holds %v; only the hub function may", fn, a)
				}
			}
		}
	}

	// The queue: raw findings only, batches of 100, partial failures, a DLQ with an alarm.
	var sub map[string]any
	for _, r := range s.mainJSON.resources("AWS::SNS::Subscription") {
		if at(r, "Protocol") == "sqs" {
			sub = r
		}
	}
	if sub == nil || at(sub, "RawMessageDelivery") != true ||
		!jsonEqual(t, at(sub, "FilterPolicy"), map[string]any{"rule": []any{map[string]any{"exists": true}}}) {
		t.Errorf("hub subscription: got %v, want raw delivery of messages with a rule attribute", sub)
	}
	var esm map[string]any
	for _, r := range s.mainJSON.resources("AWS::Lambda::EventSourceMapping") {
		if ref(at(r, "FunctionName")) == s.functionID(HubName) {
			esm = r
		}
	}
	if at(esm, "BatchSize") != float64(100) || !slices.Contains(asList(at(esm, "FunctionResponseTypes")), any("ReportBatchItemFailures")) {
		t.Errorf("hub event source: got %v, want batches of 100 with ReportBatchItemFailures", esm)
	}
	dlqAlarm := false
	for id := range s.mainJSON.resources("AWS::CloudWatch::Alarm") {
		if strings.HasPrefix(id, "HubFindingsDLQWaiting") {
			dlqAlarm = true
		}
	}
	if !dlqAlarm {
		t.Error("no alarm on HubFindingsDLQ")
	}
}

func TestInteractionFunction(t *testing.T) {
	s := fixture(t, "eu-actions")
	urls := s.mainJSON.resources("AWS::Lambda::Url")
	if len(urls) != 1 {
		t.Fatalf("got %d function URLs, want 1", len(urls))
	}
	for _, u := range urls {
		if at(u, "AuthType") != "NONE" || getAtt(at(u, "TargetFunctionArn"), "Arn") != s.functionID(InteractionName) {
			t.Errorf("function URL: got %v, want auth NONE on the interaction function", u)
		}
	}
	fns := s.mainJSON.resources("AWS::Lambda::Function")
	env, _ := at(fns[s.functionID(InteractionName)], "Environment", "Variables").(map[string]any)
	for _, k := range []string{config.EnvPolicy, config.EnvTable, config.EnvTopicARN, config.EnvKillSwitchParameter, config.EnvSlackSigningSecretARN} {
		if env[k] == nil {
			t.Errorf("interaction environment lacks %s", k)
		}
	}
	// The built-in policy is notify-only, yet an approved fix is granted.
	var actions []string
	for _, st := range s.roleStatements(t, InteractionName) {
		for _, a := range asList(st["Action"]) {
			actions = append(actions, a.(string))
		}
	}
	for _, want := range []string{finding.ActionDisassociateAccessPolicy, finding.ActionDeleteAccessEntry, "sns:Publish", "ssm:GetParameter", "secretsmanager:GetSecretValue"} {
		if !slices.Contains(actions, want) {
			t.Errorf("interaction role lacks %s (has %v)", want, actions)
		}
	}
	// Its fixes are eksguard's own: every family's loop guard lists its role.
	roleID := getAtt(fns[s.functionID(InteractionName)]["Role"], "Arn")
	for _, fam := range families.All() {
		env, _ := at(fns[s.functionID(fam.Name)], "Environment", "Variables").(map[string]any)
		join, _ := at(env, config.EnvRemediationRoleARN, "Fn::Join").([]any)
		var listed []string
		if len(join) == 2 {
			for _, e := range join[1].([]any) {
				listed = append(listed, getAtt(e, "Arn"))
			}
		}
		if !slices.Contains(listed, roleID) {
			t.Errorf("%s: %s lacks the interaction role %s: %v", fam.Name, config.EnvRemediationRoleARN, roleID, listed)
		}
		if env[config.EnvSlackActions] != "on" {
			t.Errorf("%s: %s = %v, want on", fam.Name, config.EnvSlackActions, env[config.EnvSlackActions])
		}
		reads := false
		for _, st := range s.roleStatements(t, fam.Name) {
			if slices.Contains(asList(st["Action"]), any("dynamodb:GetItem")) {
				reads = true
			}
		}
		if !reads {
			t.Errorf("%s cannot read expected changes (dynamodb:GetItem)", fam.Name)
		}
	}
	nEnv, _ := at(fns[s.functionID(NotifierName)], "Environment", "Variables").(map[string]any)
	if nEnv[config.EnvSlackActions] != "on" {
		t.Errorf("notifier: %s = %v, want on", config.EnvSlackActions, nEnv[config.EnvSlackActions])
	}
}
