package replay

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/trailfile"
)

// auditLine is one audit event as the API server writes it: a binding of
// cluster-admin to a user (a finding) or, with verb get, a read (none).
func auditLine(id, verb string) string {
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"` + id + `","stage":"ResponseComplete","verb":"` + verb + `",` +
		`"user":{"username":"dev","extra":{"arn":["arn:aws:sts::111122223333:assumed-role/dev-team/alice"],"canonicalArn":["arn:aws:iam::111122223333:role/dev-team"]}},` +
		`"objectRef":{"resource":"clusterrolebindings","name":"b","apiGroup":"rbac.authorization.k8s.io"},"responseStatus":{"code":201},` +
		`"requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"b"},"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"dev"}]},` +
		`"requestReceivedTimestamp":"2025-05-06T12:00:00.100000Z","stageTimestamp":"2025-05-06T12:00:00.200000Z"}`
}

func subscriptionOf(t *testing.T, lines ...string) string {
	t.Helper()
	var les []map[string]any
	for i, l := range lines {
		les = append(les, map[string]any{"id": strings.Repeat("3", 55) + string(rune('0'+i)), "timestamp": 1746532800200, "message": l})
	}
	b, err := json.Marshal(map[string]any{"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "/aws/eks/prod/cluster",
		"logStream": "kube-apiserver-audit-1", "subscriptionFilters": []string{"eksguard"}, "logEvents": les})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStreamAuditInputs(t *testing.T) {
	sub := subscriptionOf(t, auditLine("s-1", "create"), auditLine("s-2", "get"))
	lambdaEvent, _ := json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(gzipped(sub))}})
	for _, c := range []struct {
		name              string
		in                []byte
		findings, inScope int64
		cluster           string
		errs              int
	}{
		{"JSON Lines of audit events", []byte(auditLine("a-1", "create") + "\n" + auditLine("a-2", "get") + "\n" + auditLine("a-3", "update") + "\n"), 2, 2, "", 0},
		{"subscription payloads, as a Firehose stores them", gzipped(sub + sub), 2, 2, "prod", 0},
		{"the Lambda event", lambdaEvent, 1, 1, "prod", 0},
		{"an audit event that does not decode", []byte(strings.Replace(auditLine("", "create"), `"auditID":"",`, "", 1) + "\n" + auditLine("a-4", "create")), 1, 1, "", 1},
		{"a subscription with a bad log event", []byte(subscriptionOf(t, `{"kind":"Pod"}`, auditLine("s-3", "create"))), 1, 1, "prod", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var st Stats
			fs, errs := Stream(bytes.NewReader(c.in), "in", rules.NewEngine(policy.Default(), rules.All()), &st)
			if int64(len(fs)) != c.findings || st.Findings.Load() != c.findings || st.InScope.Load() != c.inScope || len(errs) != c.errs {
				t.Fatalf("got %d findings (stats %d), %d in scope, errors %v; want %d, %d, %d errors", len(fs), st.Findings.Load(), st.InScope.Load(), errs, c.findings, c.inScope, c.errs)
			}
			for _, f := range fs {
				if f.Rule != rules.ClusterAdminBound.ID || f.Cluster != c.cluster || f.Actor.Role != "arn:aws:iam::111122223333:role/dev-team" {
					t.Errorf("got %s on cluster %q by %q, want %s on %q by the dev-team role", f.Rule, f.Cluster, f.Actor.Role, rules.ClusterAdminBound.ID, c.cluster)
				}
			}
			for _, e := range errs {
				if !strings.Contains(e.Error(), "audit event") {
					t.Errorf("error %v does not say which audit event failed", e)
				}
			}
		})
	}
}

func TestAssessAuditWindow(t *testing.T) {
	var st Stats
	w := &trailfile.Filter{Since: time.Date(2025, 5, 7, 0, 0, 0, 0, time.UTC)}
	fs, ok, err := assessAudit(rules.NewEngine(policy.Default(), rules.All()), []byte(auditLine("w-1", "create")), w, &st)
	if !ok || err != nil || len(fs) != 0 || st.Outside.Load() != 1 {
		t.Errorf("got ok=%v err=%v %d findings, %d outside; want the event skipped as outside the window", ok, err, len(fs), st.Outside.Load())
	}
	if _, ok, _ := assessAudit(rules.NewEngine(policy.Default(), rules.All()), []byte(`{"foo":1}`), nil, &st); ok {
		t.Error("a record of neither kind was taken as audit input")
	}
	if _, _, err := assessAudit(rules.NewEngine(policy.Default(), rules.All()), []byte(`{"messageType":"DATA_MESSAGE","logEvents":[]}`), nil, &st); err == nil {
		t.Error("a DATA_MESSAGE without a log group gave no error")
	}
}
