package scanjob_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/ekstatefake"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/scanjob"
)

const (
	acct   = "111122223333"
	region = "eu-west-1"
	table  = "eksguard"
	topic  = "arn:aws:sns:eu-west-1:111122223333:eksguard-findings"
)

type world struct {
	aws   *awsfake.World
	state *ekstatefake.Fake
}

// newWorld points the Lambda environment at the fakes: EKS and IAM at the
// state fake, DynamoDB, SNS and SSM at awsfake.
func newWorld(t *testing.T, policyJSON string) *world {
	t.Helper()
	w := &world{aws: awsfake.New(t), state: ekstatefake.New(acct)}
	srv := httptest.NewServer(w.state)
	t.Cleanup(srv.Close)
	env := w.aws.Env()
	env["AWS_ENDPOINT_URL_EKS"], env["AWS_ENDPOINT_URL_IAM"] = srv.URL, srv.URL
	env[config.EnvPolicy] = policyJSON
	env[config.EnvTable] = table
	env[config.EnvTopicARN] = topic
	env[config.EnvKillSwitchParameter] = "/eksguard/remediation"
	for k, v := range env {
		t.Setenv(k, v)
	}
	w.aws.SSM.Set("/eksguard/remediation", "on")
	w.state.SeedRole(acct, ekstatefake.Role{Name: "prod-cluster-role", Attached: []string{"arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}})
	return w
}

func (w *world) seed(name string, public bool, logs ...string) {
	on, off := true, false
	enabled := map[string]bool{}
	for _, l := range logs {
		enabled[l] = true
	}
	w.state.Seed(acct, region, ekstatefake.Cluster{Name: name, RoleARN: "arn:aws:iam::" + acct + ":role/prod-cluster-role",
		PrivateAccess: true, PublicAccess: public, Logs: enabled, AuthenticationMode: "API", BootstrapAdmin: &off,
		DeletionProtection: &on, SecretsKeyARN: "arn:aws:kms:eu-west-1:111122223333:key/k"})
}

func job(t *testing.T) *scanjob.Job {
	t.Helper()
	j, err := scanjob.FromEnv(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// published returns the findings SNS took since the last call.
func (w *world) published(t *testing.T, seen *int) []finding.Finding {
	t.Helper()
	all := w.aws.SNS.Published()
	var out []finding.Finding
	for _, m := range all[*seen:] {
		var f finding.Finding
		if err := json.Unmarshal([]byte(m.Message), &f); err != nil {
			t.Fatalf("published message is not a finding: %v\n%s", err, m.Message)
		}
		out = append(out, f)
	}
	*seen = len(all)
	return out
}

func rulesOf(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+"@"+f.Cluster)
	}
	slices.Sort(out)
	return out
}

func TestNewUnchangedResolved(t *testing.T) {
	w := newWorld(t, `{"version":1}`)
	w.seed("prod", true, "api", "audit", "authenticator")
	w.seed("dev", false, "api")
	j := job(t)
	in := scanjob.Input{Account: acct, ScheduledTime: "2026-12-02T00:00:00Z"}
	seen := 0

	rep, err := j.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := w.published(t, &seen)
	want := []string{"control-plane-logging-disabled@dev", "public-endpoint-opened@prod"}
	if !slices.Equal(rulesOf(got), want) || rep.New != 2 || rep.Unchanged != 0 || rep.Clusters != 2 {
		t.Fatalf("first scan: got %v, report %+v; want %v published as new", rulesOf(got), rep, want)
	}
	for _, f := range got {
		if f.Source != finding.SourceScan || f.ID == "" || f.Outcome == nil || f.Outcome.Status != finding.StatusSkippedMode {
			t.Errorf("%s: got source %q id %q outcome %+v; want a scan finding with an id, skipped-mode (notify)", f.Rule, f.Source, f.ID, f.Outcome)
		}
	}

	in.ScheduledTime = "2026-12-03T00:00:00Z"
	rep, err = j.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.published(t, &seen); len(got) != 0 || rep.Unchanged != 2 || rep.New != 0 {
		t.Fatalf("unchanged scan: got %v published, report %+v; want nothing published, 2 unchanged", rulesOf(got), rep)
	}

	// dev's logs are turned on; prod stays open.
	fixLogs(w, "dev")
	in.ScheduledTime = "2026-12-04T00:00:00Z"
	rep, err = j.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got = w.published(t, &seen)
	if !slices.Equal(rulesOf(got), []string{"control-plane-logging-disabled@dev"}) || rep.Resolved != 1 || rep.Unchanged != 1 {
		t.Fatalf("resolved scan: got %v, report %+v; want dev's logging finding resolved, 1 unchanged", rulesOf(got), rep)
	}
	if r := got[0]; !strings.HasPrefix(r.Title, "Resolved: ") || r.Outcome == nil || r.Outcome.Status != finding.StatusResolved || r.Plan != nil {
		t.Errorf("resolved message: got title %q outcome %+v plan %v; want Resolved:, status resolved, no plan", r.Title, r.Outcome, r.Plan)
	}
}

// fixLogs turns the required log types of the cluster on, as someone fixing it by hand would.
func fixLogs(w *world, name string) {
	w.state.SetLogs(acct, region, name, "api", "audit", "authenticator")
}

func TestUnreadableClusterKeepsItsFindings(t *testing.T) {
	w := newWorld(t, `{"version":1}`)
	w.seed("prod", true, "api", "audit", "authenticator")
	j := job(t)
	seen := 0
	if _, err := j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t1"}); err != nil {
		t.Fatal(err)
	}
	w.published(t, &seen)
	w.state.Deny["prod"] = true
	rep, err := j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t2"})
	if err == nil || !strings.Contains(err.Error(), "cluster prod") {
		t.Errorf("got error %v, want one naming cluster prod", err)
	}
	if got := w.published(t, &seen); len(got) != 0 || rep.Resolved != 0 || rep.Unreadable != 1 {
		t.Fatalf("got %v published, report %+v; want nothing resolved while prod cannot be read", rulesOf(got), rep)
	}
	delete(w.state.Deny, "prod")
	rep, err = j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t3"})
	if err != nil || rep.Unchanged != 1 || rep.New != 0 {
		t.Errorf("readable again: got report %+v, error %v; want the finding unchanged, not new", rep, err)
	}
}

func TestScanRemediatesOnlyListedRules(t *testing.T) {
	w := newWorld(t, `{"version":1,"defaults":{"mode":"remediate"},"principals":{"admins":["arn:aws:iam::111122223333:role/platform-admins"]},"scan":{"remediate":["control-plane-logging-disabled"]}}`)
	w.seed("prod", true, "api")
	j := job(t)
	seen := 0
	if _, err := j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t1"}); err != nil {
		t.Fatal(err)
	}
	got := map[string]finding.Status{}
	for _, f := range w.published(t, &seen) {
		got[f.Rule] = f.Outcome.Status
	}
	want := map[string]finding.Status{
		"control-plane-logging-disabled": finding.StatusRemediated,  // listed in scan.remediate
		"public-endpoint-opened":         finding.StatusSkippedMode, // remediate for events, not for the scan
	}
	for rule, st := range want {
		if got[rule] != st {
			t.Errorf("%s: got outcome %q, want %q", rule, got[rule], st)
		}
	}
	if logs := w.state.Logs(acct, region, "prod"); !logs["audit"] || !logs["authenticator"] {
		t.Errorf("cluster logs after the fix: got %v, want audit and authenticator on", logs)
	}
	// The next scan finds the fix in place: the finding is resolved.
	rep, err := j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t2"})
	if err != nil || rep.Resolved != 1 {
		t.Errorf("after the fix: got report %+v, error %v; want 1 resolved", rep, err)
	}
}

func TestKillSwitchStopsScanFixes(t *testing.T) {
	w := newWorld(t, `{"version":1,"scan":{"remediate":["control-plane-logging-disabled"]}}`)
	w.aws.SSM.Set("/eksguard/remediation", "off")
	w.seed("prod", false, "api")
	j := job(t)
	seen := 0
	if _, err := j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t1"}); err != nil {
		t.Fatal(err)
	}
	got := w.published(t, &seen)
	if len(got) != 1 || got[0].Outcome.Status != finding.StatusSkippedKill {
		t.Fatalf("got %+v, want one finding with outcome skipped-kill-switch", got)
	}
	if logs := w.state.Logs(acct, region, "prod"); logs["audit"] {
		t.Errorf("got audit logging turned on with the kill switch off")
	}
}

// A role finding has no cluster: while any cluster of the region cannot be
// read, it is not resolved.
func TestRoleFindingStaysOpenWhileAClusterIsUnreadable(t *testing.T) {
	w := newWorld(t, `{"version":1}`)
	w.seed("prod", false, "api", "audit", "authenticator")
	w.state.SeedRole(acct, ekstatefake.Role{Name: "prod-cluster-role"}) // replaces it: AmazonEKSClusterPolicy missing
	j := job(t)
	seen := 0
	if _, err := j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t1"}); err != nil {
		t.Fatal(err)
	}
	if got := rulesOf(w.published(t, &seen)); !slices.Equal(got, []string{"required-policy-detached@"}) {
		t.Fatalf("first scan: got %v, want the role's missing policy (no cluster)", got)
	}
	w.state.Deny["prod"] = true
	rep, _ := j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t2"})
	if got := w.published(t, &seen); len(got) != 0 || rep.Resolved != 0 {
		t.Errorf("cluster unreadable: got %v published, report %+v; want the role finding kept open", rulesOf(got), rep)
	}
}

// Near the invocation's deadline the reads are cut off: the clusters not
// read count as unreadable and their findings stay open; the state is
// still recorded.
func TestDeadlineKeepsFindingsOpen(t *testing.T) {
	w := newWorld(t, `{"version":1}`)
	w.seed("prod", true, "api", "audit", "authenticator")
	j := job(t)
	seen := 0
	if _, err := j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t1"}); err != nil {
		t.Fatal(err)
	}
	w.published(t, &seen)
	j.Reserve = time.Hour // the whole time left is reserved: no read can start
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := j.Run(ctx, scanjob.Input{Account: acct, ScheduledTime: "t2"})
	if err == nil || rep.Unreadable == 0 || rep.Resolved != 0 {
		t.Fatalf("got report %+v, error %v; want the region unreadable, nothing resolved, an error", rep, err)
	}
	if got := w.published(t, &seen); len(got) != 0 {
		t.Errorf("got %v published, want nothing", rulesOf(got))
	}
	j.Reserve = 0
	rep, err = j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t3"})
	if err != nil || rep.Unchanged != 1 || rep.New != 0 {
		t.Errorf("next run: got report %+v, error %v; want the finding still open (unchanged)", rep, err)
	}
}

// With the kubernetes function named, the scan subscribes the audit log of
// every cluster read with audit logging on that lacks eksguard's filter
// (one on before eksguard, a missed event, a removed filter), once.
func TestSubscribesAuditLogs(t *testing.T) {
	const fn = "arn:aws:lambda:eu-west-1:111122223333:function:eksguard-kubernetes"
	w := newWorld(t, `{"version":1}`)
	t.Setenv(config.EnvAuditFunctionARN, fn)
	w.seed("prod", false, "api", "audit", "authenticator")
	w.seed("dev", false, "api")
	w.aws.Logs.PutLogGroup("/aws/eks/prod/cluster")
	j := job(t)
	in := scanjob.Input{Account: acct, ScheduledTime: "2026-12-02T00:00:00Z"}
	rep, err := j.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := w.aws.Logs.Filters("/aws/eks/prod/cluster")
	if rep.AuditSubscribed != 1 || rep.AuditUnsubscribed != 0 || len(fs) != 1 || fs[0].Name != "eksguard-kubernetes-audit" || fs[0].Destination != fn {
		t.Errorf("first scan: report %+v, filters %+v; want prod's audit log subscribed to %s", rep, fs, fn)
	}
	if _, ok := w.aws.Logs.Filters("/aws/eks/dev/cluster"); ok {
		t.Error("dev, whose audit log is off, got a log group")
	}
	in.ScheduledTime = "2026-12-02T06:00:00Z"
	if rep, err = j.Run(context.Background(), in); err != nil || rep.AuditSubscribed != 0 || rep.AuditUnsubscribed != 0 {
		t.Errorf("second scan: report %+v, error %v; want nothing to subscribe", rep, err)
	}
}
