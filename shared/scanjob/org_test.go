package scanjob_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/ekstatefake"
	"github.com/eksguard/eksguard/internal/testsupport/stsfake"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/scanjob"
)

const (
	payments = "444455556666" // member, in eu-west-1
	web      = "777788889999" // member, in us-east-1
	roleName = "eksguard-remediation"
)

// newOrgWorld is newWorld in organization mode: this account is the
// central one, the policy lists the two members, STS is stsfake, and each
// account has one cluster with bad state in a member region.
func newOrgWorld(t *testing.T) (*world, *stsfake.STS) {
	t.Helper()
	w := newWorld(t, `{"version":1,"accounts":{"trusted":["`+acct+`","`+payments+`","`+web+`"],"names":{"`+payments+`":"payments-prod"}}}`)
	s := stsfake.New(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", s.URL)
	t.Setenv(config.EnvAccount, acct)
	t.Setenv(config.EnvMemberRoleName, roleName)
	t.Setenv(config.EnvMemberRegions, "eu-west-1,us-east-1")
	w.seed("central", true, "api", "audit", "authenticator") // public endpoint
	for _, m := range []struct{ account, region, cluster string }{{payments, "eu-west-1", "pay"}, {web, "us-east-1", "shop"}} {
		w.state.SeedRole(m.account, ekstatefake.Role{Name: "prod-cluster-role", Attached: []string{"arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}})
		on, off := true, false
		w.state.Seed(m.account, m.region, ekstatefake.Cluster{Name: m.cluster, RoleARN: "arn:aws:iam::" + m.account + ":role/prod-cluster-role",
			PrivateAccess: true, PublicAccess: m.account == payments, Logs: map[string]bool{"api": true, "authenticator": true},
			AuthenticationMode: "API", BootstrapAdmin: &off, DeletionProtection: &on, SecretsKeyARN: "arn:aws:kms:" + m.region + ":" + m.account + ":key/k"})
	}
	return w, s
}

func orgJob(t *testing.T, logs *bytes.Buffer) *scanjob.Job {
	t.Helper()
	j, err := scanjob.FromEnv(context.Background(), slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func placesOf(t *testing.T, w *world, seen *int) []string {
	t.Helper()
	var out []string
	for _, f := range w.published(t, seen) {
		out = append(out, f.Account+"/"+f.AccountName+"/"+f.Region+"/"+f.Cluster+"/"+f.Rule)
	}
	slices.Sort(out)
	return out
}

// The central account and both members are scanned; each member's EKS and
// IAM reads are made with its role's credentials (the fake serves an
// account's clusters only to its keys).
func TestOrgScanCoversEveryMember(t *testing.T) {
	w, s := newOrgWorld(t)
	var logs bytes.Buffer
	j := orgJob(t, &logs)
	seen := 0
	rep, err := j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "2026-12-02T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		acct + "//eu-west-1/central/public-endpoint-opened",
		payments + "/payments-prod/eu-west-1/pay/control-plane-logging-disabled",
		payments + "/payments-prod/eu-west-1/pay/public-endpoint-opened",
		web + "//us-east-1/shop/control-plane-logging-disabled",
	}
	if got := placesOf(t, w, &seen); !slices.Equal(got, want) {
		t.Fatalf("got findings\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Accounts != 3 || rep.Unreachable != 0 || rep.Clusters != 3 {
		t.Errorf("got report %+v, want 3 accounts, 3 clusters, none unreachable", rep)
	}
	var assumed []string
	for _, c := range s.Calls() {
		if c.Caller != "AKIDFAKE" || !strings.HasPrefix(c.RoleSessionName, "eksguard-scan-2026-12-02T00-00-00Z") {
			t.Errorf("AssumeRole of %s: got caller %q session %q; want the function's own key, a session named after the run", c.RoleARN, c.Caller, c.RoleSessionName)
		}
		assumed = append(assumed, c.RoleARN)
	}
	wantRoles := []string{"arn:aws:iam::" + payments + ":role/" + roleName, "arn:aws:iam::" + web + ":role/" + roleName}
	if slices.Sort(assumed); !slices.Equal(assumed, wantRoles) {
		t.Errorf("got roles assumed %v, want each member's once (credentials cached across its regions): %v", assumed, wantRoles)
	}

	// The next run reads the members again with the cached credentials.
	rep, err = j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "2026-12-03T00:00:00Z"})
	if err != nil || rep.Unchanged != 4 || rep.New != 0 || len(s.Calls()) != 2 {
		t.Errorf("second run: got report %+v, error %v, %d AssumeRole calls; want 4 unchanged, still 2 calls", rep, err, len(s.Calls()))
	}
}

// A member whose role cannot be assumed is reported, with its account and
// the error code; the others are scanned, and its findings stay open.
func TestOrgScanGoesOnWhenAMemberRoleIsDenied(t *testing.T) {
	w, s := newOrgWorld(t)
	var logs bytes.Buffer
	seen := 0
	if _, err := orgJob(t, &logs).Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t1"}); err != nil {
		t.Fatal(err)
	}
	w.published(t, &seen)
	// The web account's clusters are fixed, but its role is now denied:
	// the scan cannot tell, so its finding must not be resolved.
	w.state.SetLogs(web, "us-east-1", "shop", "api", "audit", "authenticator")
	w.state.SetLogs(payments, "eu-west-1", "pay", "api", "audit", "authenticator")
	s.Deny("arn:aws:iam::" + web + ":role/" + roleName)
	j := orgJob(t, &logs) // a new instance: no cached credentials
	rep, err := j.Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t2"})
	if err == nil || !strings.Contains(err.Error(), "account "+web) {
		t.Errorf("got error %v, want one naming account %s", err, web)
	}
	want := []string{payments + "/payments-prod/eu-west-1/pay/control-plane-logging-disabled"} // resolved
	if got := placesOf(t, w, &seen); !slices.Equal(got, want) || rep.Unreachable != 1 || rep.Accounts != 2 || rep.Resolved != 1 || rep.Unchanged != 2 {
		t.Fatalf("got %v published, report %+v; want only payments' logging finding resolved, 2 accounts scanned, 1 unreachable, 2 unchanged", got, rep)
	}
	var logged bool
	for line := range strings.SplitSeq(logs.String(), "\n") {
		var e struct{ Msg, Account, Code string }
		if json.Unmarshal([]byte(line), &e) == nil && strings.HasPrefix(e.Msg, "cannot assume the member role") {
			logged = e.Account == web && e.Code == "AccessDenied"
		}
	}
	if !logged {
		t.Errorf("got logs\n%s\nwant an error line with account %s and code AccessDenied", logs.String(), web)
	}

	// Allowed again: the web finding was open all along and is now resolved.
	s.Reset()
	rep, err = orgJob(t, &logs).Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t3"})
	if got := placesOf(t, w, &seen); err != nil || !slices.Equal(got, []string{web + "//us-east-1/shop/control-plane-logging-disabled"}) || rep.Resolved != 1 {
		t.Errorf("role allowed again: got %v published, report %+v, error %v; want web's finding resolved", got, rep, err)
	}
}

// A member's scan finding that scan.remediate lists is fixed in that
// account, through its role: the fake applies an update to the account
// whose key signed it.
func TestOrgScanFixesAMemberInItsAccount(t *testing.T) {
	w, s := newOrgWorld(t)
	t.Setenv(config.EnvPolicy, `{"version":1,"accounts":{"trusted":["`+acct+`","`+payments+`","`+web+`"]},"scan":{"remediate":["control-plane-logging-disabled"]}}`)
	var logs bytes.Buffer
	seen := 0
	if _, err := orgJob(t, &logs).Run(context.Background(), scanjob.Input{Account: acct, ScheduledTime: "t1"}); err != nil {
		t.Fatal(err)
	}
	fixed := map[string]finding.Status{}
	for _, f := range w.published(t, &seen) {
		if f.Rule == "control-plane-logging-disabled" {
			fixed[f.Account] = f.Outcome.Status
		}
	}
	want := map[string]finding.Status{payments: finding.StatusRemediated, web: finding.StatusRemediated}
	if len(fixed) != 2 || fixed[payments] != want[payments] || fixed[web] != want[web] {
		t.Errorf("got outcomes %v, want %v", fixed, want)
	}
	for _, m := range []struct{ account, region, cluster string }{{payments, "eu-west-1", "pay"}, {web, "us-east-1", "shop"}} {
		if logs := w.state.Logs(m.account, m.region, m.cluster); !logs["audit"] {
			t.Errorf("%s/%s after the fix: got logs %v, want audit on", m.account, m.cluster, logs)
		}
	}
	if n := len(s.Calls()); n < 2 {
		t.Errorf("got %d AssumeRole calls, want the members' roles assumed", n)
	}
}
