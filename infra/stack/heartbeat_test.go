package stack

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/heartbeat"
)

// render flattens a CloudFormation string value: Fn::Join parts joined,
// {"Ref": X} as ${X}, pseudo parameters included.
func render(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		if id := ref(t); id != "" {
			return "${" + id + "}"
		}
		if j, ok := t["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
		if sub, ok := t["Fn::Sub"].(string); ok {
			return sub
		}
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

// The canary: one schedule at the configured rate, calling SSM PutParameter
// on the heartbeat parameter as a role that may do exactly that.
func TestHeartbeatCanary(t *testing.T) {
	for fixtureName, wantRate := range map[string]string{"eu-remediate": "rate(15 minutes)", "us-notify": "rate(5 minutes)"} {
		s := fixture(t, fixtureName)
		scheds := s.mainJSON.resources("AWS::Scheduler::Schedule")
		for id, sc := range scheds {
			if at(sc, "Target", "Arn") != CanaryTarget {
				delete(scheds, id) // the scheduled scan's (scan_test.go)
			}
		}
		if len(scheds) != 1 {
			t.Fatalf("%s: %d schedules, want 1", fixtureName, len(scheds))
		}
		var sched map[string]any
		for _, sc := range scheds {
			sched = sc
		}
		if sched["ScheduleExpression"] != wantRate || sched["State"] != "ENABLED" || at(sched, "FlexibleTimeWindow", "Mode") != "OFF" {
			t.Errorf("%s: schedule %v, want %s, enabled, no flexible window", fixtureName, sched, wantRate)
		}
		if got := at(sched, "Target", "Arn"); got != CanaryTarget {
			t.Errorf("%s: target %v, want %s", fixtureName, got, CanaryTarget)
		}
		raw := at(sched, "Target", "Input").(string)
		if !strings.Contains(raw, `"Value":"`+ScheduledTime+`"`) {
			t.Errorf("%s: target input %s does not hold the context attribute %s literally", fixtureName, raw, ScheduledTime)
		}
		var input map[string]any
		if err := json.Unmarshal([]byte(raw), &input); err != nil {
			t.Fatalf("%s: target input: %v", fixtureName, err)
		}
		want := map[string]any{"Name": heartbeat.Parameter("eksguard"), "Value": "<aws.scheduler.scheduled-time>", "Type": "String", "Overwrite": true}
		if !jsonEqual(t, input, want) {
			t.Errorf("%s: target input %v, want %v", fixtureName, input, want)
		}

		roleID := getAtt(at(sched, "Target", "RoleArn"), "Arn")
		role := s.mainJSON.resources("AWS::IAM::Role")[roleID]
		if role == nil {
			t.Fatalf("%s: schedule role %v is not a role of the stack", fixtureName, at(sched, "Target", "RoleArn"))
		}
		trust := statements(map[string]any{"PolicyDocument": role["AssumeRolePolicyDocument"]})
		wantTrust := map[string]any{
			"Action": "sts:AssumeRole", "Effect": "Allow",
			"Principal": map[string]any{"Service": "scheduler.amazonaws.com"},
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}}},
		}
		if len(trust) != 1 || !jsonEqual(t, trust[0], wantTrust) {
			t.Errorf("%s: canary role trust %v, want only Scheduler of this account", fixtureName, trust)
		}
		if role["Policies"] != nil || role["ManagedPolicyArns"] != nil {
			t.Errorf("%s: canary role has inline or managed policies: %v %v", fixtureName, role["Policies"], role["ManagedPolicyArns"])
		}

		// Exactly ssm:PutParameter on exactly the heartbeat parameter.
		var params []string
		for id, p := range s.mainJSON.resources("AWS::SSM::Parameter") {
			if p["Name"] == heartbeat.Parameter("eksguard") {
				params = append(params, id)
			}
		}
		if len(params) != 1 {
			t.Fatalf("%s: %d heartbeat parameters, want 1", fixtureName, len(params))
		}
		var grants []any
		for _, p := range s.mainJSON.resources("AWS::IAM::Policy") {
			if slices.Contains(refs(p["Roles"]), roleID) {
				grants = append(grants, statements(p)...)
			}
		}
		if len(grants) != 1 {
			t.Fatalf("%s: canary role has %d statements, want 1: %v", fixtureName, len(grants), grants)
		}
		g := grants[0].(map[string]any)
		acct := s.cfg.Account
		if acct == "" {
			acct = "${AWS::AccountId}"
		}
		wantARN := "arn:aws:ssm:" + s.cfg.Region + ":" + acct + ":parameter${" + params[0] + "}"
		if g["Effect"] != "Allow" || g["Action"] != "ssm:PutParameter" || render(g["Resource"]) != wantARN || g["Condition"] != nil {
			t.Errorf("%s: canary grant %v (resource %s), want ssm:PutParameter on %s only", fixtureName, g, render(g["Resource"]), wantARN)
		}

		// The tamper function knows the canary's role; no other function does.
		for _, name := range FunctionNames() {
			env, _ := at(s.mainJSON.resources("AWS::Lambda::Function")[s.functionID(name)], "Environment", "Variables").(map[string]any)
			got := getAtt(env[config.EnvCanaryRoleARN], "Arn")
			if name == families.Tamper.Name && got != roleID {
				t.Errorf("%s: tamper %s = %v, want the canary role %s", fixtureName, config.EnvCanaryRoleARN, env[config.EnvCanaryRoleARN], roleID)
			}
			if name != families.Tamper.Name && env[config.EnvCanaryRoleARN] != nil {
				t.Errorf("%s: %s has %s", fixtureName, name, config.EnvCanaryRoleARN)
			}
		}
	}
}

// The alarm: no heartbeat heard in a whole window, missing data breaching,
// to the topic (and back to OK there).
func TestHeartbeatAlarm(t *testing.T) {
	for fixtureName, wantPeriod := range map[string]float64{"eu-remediate": 1800, "us-notify": 1200} {
		s := fixture(t, fixtureName)
		var topic string
		for id := range s.mainJSON.resources("AWS::SNS::Topic") {
			topic = id
		}
		var found []map[string]any
		for _, a := range s.mainJSON.resources("AWS::CloudWatch::Alarm") {
			if a["MetricName"] == heartbeat.MetricName {
				found = append(found, a)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%s: %d heartbeat alarms, want 1", fixtureName, len(found))
		}
		a := found[0]
		if a["Namespace"] != "eksguard" || a["Statistic"] != "Sum" || a["Period"] != wantPeriod || a["EvaluationPeriods"] != 1.0 ||
			a["Threshold"] != 1.0 || a["ComparisonOperator"] != "LessThanThreshold" || a["TreatMissingData"] != "breaching" || a["Dimensions"] != nil {
			t.Errorf("%s: heartbeat alarm %v, want Sum of eksguard/%s < 1 over %v s, missing data breaching", fixtureName, a, heartbeat.MetricName, wantPeriod)
		}
		if !slices.Equal(refs(a["AlarmActions"]), []string{topic}) || !slices.Equal(refs(a["OKActions"]), []string{topic}) {
			t.Errorf("%s: heartbeat alarm actions %v / OK %v, want the topic %s", fixtureName, a["AlarmActions"], a["OKActions"], topic)
		}
		desc := render(a["AlarmDescription"])
		wantDesc := "eksguard has not heard from CloudTrail in " + map[float64]string{1800: "30", 1200: "20"}[wantPeriod] +
			" minutes in account ${AWS::AccountId} region ${AWS::Region}"
		if !strings.HasPrefix(desc, wantDesc) {
			t.Errorf("%s: alarm description %q, want it to start %q", fixtureName, desc, wantDesc)
		}
	}
}
