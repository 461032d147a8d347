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

// Only the cluster function may put subscription filters (and create the
// log group EKS has not made yet), on EKS control plane log groups only; it
// is told the kubernetes function's ARN.
func TestOnlyTheClusterFunctionSubscribes(t *testing.T) {
	for _, name := range []string{"eu-remediate", "us-notify"} {
		s := fixture(t, name)
		for _, fn := range FunctionNames() {
			for _, st := range s.roleStatements(t, fn) {
				for _, a := range asList(st["Action"]) {
					if a != "logs:PutSubscriptionFilter" && a != "logs:CreateLogGroup" {
						continue
					}
					if fn != families.Cluster.Name {
						t.Errorf("%s: the %s function may call %s", name, fn, a)
					} else if !sameSet(t, asList(st["Resource"]), eksLogGroups) {
						t.Errorf("%s: cluster may call %s on %v, want the EKS control plane log groups only", name, a, st["Resource"])
					}
				}
			}
		}
		var granted bool
		for _, st := range s.roleStatements(t, families.Cluster.Name) {
			granted = granted || slices.Contains(asList(st["Action"]), any("logs:PutSubscriptionFilter"))
		}
		if !granted {
			t.Errorf("%s: the cluster function may not put subscription filters", name)
		}
		env, _ := at(s.mainJSON.resources("AWS::Lambda::Function")[s.functionID(families.Cluster.Name)], "Environment", "Variables").(map[string]any)
		if getAtt(env[config.EnvAuditFunctionARN], "Arn") != s.functionID(families.Kubernetes.Name) {
			t.Errorf("%s: cluster %s = %v, want the kubernetes function's ARN", name, config.EnvAuditFunctionARN, env[config.EnvAuditFunctionARN])
		}
	}
}
