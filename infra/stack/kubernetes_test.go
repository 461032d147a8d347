package stack

import (
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/rules"
)

var eksLogGroups = []any{
	map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/eks/*/cluster"},
	map[string]any{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/eks/*/cluster:*"},
}

// CloudWatch Logs of this account may invoke the kubernetes function, from
// EKS control plane log groups only; nothing else routes to it.
func TestAuditLogsMayInvokeTheKubernetesFunction(t *testing.T) {
	for _, name := range []string{"eu-remediate", "us-notify"} {
		s := fixture(t, name)
		k8s := s.functionID(families.Kubernetes.Name)
		var fromLogs int
		for id, p := range s.mainJSON.resources("AWS::Lambda::Permission") {
			if getAtt(p["FunctionName"], "Arn") != k8s && ref(p["FunctionName"]) != k8s {
				continue
			}
			if p["Principal"] != "logs.amazonaws.com" {
				t.Errorf("%s: %s lets %v invoke the kubernetes function", name, id, p["Principal"])
				continue
			}
			fromLogs++
			if !jsonEqual(t, p["SourceAccount"], map[string]any{"Ref": "AWS::AccountId"}) || !jsonEqual(t, p["SourceArn"], eksLogGroups[1]) {
				t.Errorf("%s: %s from account %v, source %v; want this account's /aws/eks/*/cluster log groups", name, id, p["SourceAccount"], p["SourceArn"])
			}
		}
		if fromLogs != 1 {
			t.Errorf("%s: %d permissions for CloudWatch Logs on the kubernetes function, want 1", name, fromLogs)
		}
		for id, r := range s.mainJSON.resources("AWS::Events::Rule") {
			for _, tg := range asList(r["Targets"]) {
				if getAtt(at(tg, "Arn"), "Arn") == k8s {
					t.Errorf("%s: EventBridge rule %s targets the kubernetes function", name, id)
				}
			}
		}
	}
}

// The clusters in auditLogClusters get the subscription filter at deploy
// time, with the catalogue's filter pattern, after the permission.
func TestDeployTimeSubscriptionFilters(t *testing.T) {
	s := fixture(t, "eu-remediate")
	k8s := s.functionID(families.Kubernetes.Name)
	var groups []string
	for id, f := range s.mainJSON.resources("AWS::Logs::SubscriptionFilter") {
		groups = append(groups, f["LogGroupName"].(string))
		if f["FilterPattern"] != rules.AuditFilterPattern() || f["FilterName"] != k8saudit.SubscriptionFilterName || getAtt(f["DestinationArn"], "Arn") != k8s {
			t.Errorf("%s: pattern %v, name %v, destination %v; want the catalogue's pattern to the kubernetes function", id, f["FilterPattern"], f["FilterName"], f["DestinationArn"])
		}
		deps := asList(s.mainJSON.resource(id)["DependsOn"])
		if !slices.ContainsFunc(deps, func(d any) bool { return strings.HasPrefix(d.(string), "AuditLogsInvokeKubernetes") }) {
			t.Errorf("%s depends on %v, want the invoke permission first", id, deps)
		}
	}
	slices.Sort(groups)
	if want := []string{"/aws/eks/checkout-prod/cluster", "/aws/eks/payments-prod/cluster"}; !slices.Equal(groups, want) {
		t.Errorf("subscription filters on %v, want %v", groups, want)
	}
	if n := len(fixture(t, "us-notify").mainJSON.resources("AWS::Logs::SubscriptionFilter")); n != 0 {
		t.Errorf("us-notify names no cluster and has %d subscription filters", n)
	}
}

// Only the cluster function (on events) and the scan function (clusters it
// finds with the audit log on and no filter) may put subscription filters,
// read them and create the log group EKS has not made yet, on EKS control
// plane log groups only; both are told the kubernetes function's ARN.
func TestOnlyTheClusterAndScanFunctionsSubscribe(t *testing.T) {
	subscribers := []string{families.Cluster.Name, ScanFunctionName}
	for _, name := range []string{"eu-remediate", "us-notify"} {
		s := fixture(t, name)
		for _, fn := range append(FunctionNames(), ScanFunctionName) {
			for _, st := range s.roleStatements(t, fn) {
				for _, a := range asList(st["Action"]) {
					if a != "logs:PutSubscriptionFilter" && a != "logs:CreateLogGroup" && a != "logs:DescribeSubscriptionFilters" {
						continue
					}
					if !slices.Contains(subscribers, fn) {
						t.Errorf("%s: the %s function may call %s", name, fn, a)
					} else if !sameSet(t, asList(st["Resource"]), eksLogGroups) {
						t.Errorf("%s: %s may call %s on %v, want the EKS control plane log groups only", name, fn, a, st["Resource"])
					}
				}
			}
		}
		for _, fn := range subscribers {
			granted := map[any]bool{}
			for _, st := range s.roleStatements(t, fn) {
				for _, a := range asList(st["Action"]) {
					granted[a] = true
				}
			}
			if !granted["logs:PutSubscriptionFilter"] || !granted["logs:DescribeSubscriptionFilters"] || !granted["logs:CreateLogGroup"] {
				t.Errorf("%s: the %s function may not subscribe audit logs (granted %v)", name, fn, granted)
			}
			env, _ := at(s.mainJSON.resources("AWS::Lambda::Function")[s.functionID(fn)], "Environment", "Variables").(map[string]any)
			if getAtt(env[config.EnvAuditFunctionARN], "Arn") != s.functionID(families.Kubernetes.Name) {
				t.Errorf("%s: %s %s = %v, want the kubernetes function's ARN", name, fn, config.EnvAuditFunctionARN, env[config.EnvAuditFunctionARN])
			}
			if env[config.EnvAuditDestination] != nil {
				t.Errorf("%s: %s has %s outside organization mode", name, fn, config.EnvAuditDestination)
			}
		}
	}
}
