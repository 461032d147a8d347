package rules

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/k8saudit"
)

// exampleAuditEvent is an Example's Audit fields over a completed,
// successful update of kube-system/aws-auth by a dev-team session of the
// example account, decoded by the real decoder, on cluster prod.
func exampleAuditEvent(t *testing.T, fields string) *k8saudit.Event {
	t.Helper()
	ev := map[string]any{
		"kind": "Event", "apiVersion": k8saudit.APIVersion, "level": "RequestResponse", "auditID": "example-1",
		"stage": k8saudit.StageResponseComplete, "verb": "update",
		"user": map[string]any{
			"username": "arn:aws:sts::" + ExampleAccount + ":assumed-role/dev-team/alice",
			"groups":   []string{"system:authenticated"},
			"extra": map[string][]string{
				"arn":          {"arn:aws:sts::" + ExampleAccount + ":assumed-role/dev-team/alice"},
				"canonicalArn": {"arn:aws:iam::" + ExampleAccount + ":role/dev-team"},
				"sessionName":  {"alice"},
			},
		},
		"sourceIPs": []string{"198.51.100.7"}, "userAgent": "kubectl/v1.31.0 (linux/amd64) kubernetes/abc1234",
		"objectRef":                map[string]any{"resource": "configmaps", "namespace": "kube-system", "name": "aws-auth", "apiVersion": "v1"},
		"responseStatus":           map[string]any{"metadata": map[string]any{}, "code": 200},
		"requestReceivedTimestamp": "2025-05-06T09:21:03.112233Z", "stageTimestamp": "2025-05-06T09:21:03.145566Z",
	}
	var over map[string]any
	if err := json.Unmarshal([]byte(fields), &over); err != nil {
		t.Fatalf("example audit fields: %v", err)
	}
	maps.Copy(ev, over)
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	e, err := k8saudit.Decode(raw)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	e.Cluster, e.Account, e.Region = "prod", ExampleAccount, "eu-west-1"
	return e
}

func fired(fs []finding.Finding, rule string) int {
	n := 0
	for _, f := range fs {
		if f.Rule == rule {
			n++
		}
	}
	return n
}
