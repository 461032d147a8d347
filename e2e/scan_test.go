//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/ekstatefake"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/scanjob"
)

// scheduled-scan: the scan function as the schedule invokes it, with the
// input the template gives the schedule, against an account whose
// clusters the state fake holds (EKS and IAM reads; DynamoDB, SNS and SSM
// are the IAM-enforced fakes, with the scan role's policy from the
// template). The first run publishes its findings as new; the second,
// with nothing changed, publishes nothing; after a cluster is fixed the
// third publishes that finding as resolved and nothing else.
func scenarioScheduledScan(t *testing.T, s *stand) string {
	s.reset()
	sc := s.dep.Scan
	if sc.Target != "scan" || sc.Expression != "rate(1 day)" {
		t.Fatalf("scan schedule: got %q targeting %q, want rate(1 day) targeting the scan function", sc.Expression, sc.Target)
	}
	fake := ekstatefake.New(account)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	on, off := true, false
	seed := func(name string, public bool, logs ...string) {
		enabled := map[string]bool{}
		for _, l := range logs {
			enabled[l] = true
		}
		fake.Seed(account, region, ekstatefake.Cluster{Name: name, RoleARN: "arn:aws:iam::" + account + ":role/payments-cluster-role",
			PrivateAccess: true, PublicAccess: public, Logs: enabled, AuthenticationMode: "API", BootstrapAdmin: &off,
			DeletionProtection: &on, SecretsKeyARN: "arn:aws:kms:" + region + ":" + account + ":key/k"})
	}
	seed("payments-prod", true, "api", "audit", "authenticator")
	seed("payments-dev", false, "api")
	fake.SeedRole(account, ekstatefake.Role{Name: "payments-cluster-role", Attached: []string{"arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}})

	env := maps.Clone(s.fakeEnv)
	env["AWS_ENDPOINT_URL_EKS"], env["AWS_ENDPOINT_URL_IAM"] = srv.URL, srv.URL
	fn := startFunction(t, s.rie, s.launch, s.dep.Functions["scan"], env)

	run := func(at string) (scanjob.Report, []finding.Finding) {
		t.Helper()
		seen := len(s.world.SNS.Published())
		out := invoke(t, fn, []byte(strings.ReplaceAll(sc.Input, "<aws.scheduler.scheduled-time>", at)))
		var rep scanjob.Report
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("scan at %s answered %s: %v\n%s", at, out, err, fn.Output())
		}
		var fs []finding.Finding
		for _, p := range s.world.SNS.Published()[seen:] {
			var f finding.Finding
			if err := json.Unmarshal([]byte(p.Message), &f); err != nil {
				t.Fatalf("published message is not a finding: %v\n%s", err, p.Message)
			}
			fs = append(fs, f)
		}
		return rep, fs
	}
	where := func(fs []finding.Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Rule+"@"+f.Cluster)
		}
		slices.Sort(out)
		return out
	}

	rep1, first := run("2025-05-12T03:00:00Z")
	if rep1.Clusters != 2 || rep1.New != len(first) || len(first) == 0 || rep1.Unreadable != 0 {
		t.Fatalf("first run: report %+v, published %v; want 2 clusters and every new finding published", rep1, where(first))
	}
	for _, f := range first {
		if f.Source != finding.SourceScan || f.ID == "" || f.Account != account || f.Outcome == nil {
			t.Errorf("%s on %s: got source %q id %q account %q outcome %+v", f.Rule, f.Cluster, f.Source, f.ID, f.Account, f.Outcome)
		}
	}
	if !slices.Contains(where(first), "control-plane-logging-disabled@payments-dev") || !slices.Contains(where(first), "public-endpoint-opened@payments-prod") {
		t.Fatalf("first run published %v, want dev's logging and prod's endpoint among them", where(first))
	}

	// prod's audit log is on and not yet sent to eksguard: the scan puts
	// the filter (creating the group EKS has not made in the fake), with
	// the scan role's grant.
	k8sARN := "arn:aws:lambda:" + region + ":" + account + ":function:" + physical(s.dep.Functions["kubernetes"].LogicalID)
	if fs, _ := s.world.Logs.Filters("/aws/eks/payments-prod/cluster"); rep1.AuditSubscribed != 1 || rep1.AuditUnsubscribed != 0 ||
		len(fs) != 1 || fs[0].Destination != k8sARN || fs[0].Name != "eksguard-kubernetes-audit" {
		t.Fatalf("first run: report %+v, prod's filters %+v; want prod's audit log subscribed to %s", rep1, fs, k8sARN)
	}

	rep2, second := run("2025-05-13T03:00:00Z")
	if rep2.AuditSubscribed != 0 || rep2.AuditUnsubscribed != 0 {
		t.Errorf("unchanged run: report %+v, want no audit log to subscribe", rep2)
	}
	if len(second) != 0 || rep2.New != 0 || rep2.Unchanged != rep1.New {
		t.Fatalf("unchanged run: report %+v, published %v; want nothing published and %d unchanged", rep2, where(second), rep1.New)
	}

	fake.SetLogs(account, region, "payments-dev", "api", "audit", "authenticator")
	rep3, third := run("2025-05-14T03:00:00Z")
	if rep3.Resolved != 1 || len(third) != 1 || third[0].Rule != "control-plane-logging-disabled" || third[0].Outcome == nil ||
		third[0].Outcome.Status != finding.StatusResolved || !strings.HasPrefix(third[0].Title, "Resolved: ") {
		t.Fatalf("resolved run: report %+v, published %+v; want dev's logging finding published once as resolved", rep3, third)
	}
	if fs, _ := s.world.Logs.Filters("/aws/eks/payments-dev/cluster"); rep3.AuditSubscribed != 1 || len(fs) != 1 || fs[0].Destination != k8sARN {
		t.Errorf("resolved run: report %+v, dev's filters %+v; want dev's newly on audit log subscribed", rep3, fs)
	}
	return fmt.Sprintf("2 clusters: %d new (%s), then %d unchanged and nothing sent, then 1 resolved; audit logs subscribed %d, %d, %d", rep1.New,
		strings.Join(where(first), ", "), rep2.Unchanged, rep1.AuditSubscribed, rep2.AuditSubscribed, rep3.AuditSubscribed)
}
