package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/ekstatefake"
	"github.com/eksguard/eksguard/shared/finding"
)

const scanAccount = "111122223333"

// scanWorld starts the fake and points the SDK's standard configuration
// at it, with static credentials and no shared config files.
func scanWorld(t *testing.T) *ekstatefake.Fake {
	t.Helper()
	f := ekstatefake.New(scanAccount)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": srv.URL, "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_PROFILE": "", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	return f
}

func seedScanCluster(f *ekstatefake.Fake, account, region, name string, public bool) {
	on, off := true, false
	f.Seed(account, region, ekstatefake.Cluster{
		Name: name, RoleARN: "arn:aws:iam::" + account + ":role/prod-cluster-role", PrivateAccess: true, PublicAccess: public,
		Logs: map[string]bool{"api": true, "audit": true, "authenticator": true}, AuthenticationMode: "API",
		BootstrapAdmin: &off, DeletionProtection: &on, SecretsKeyARN: "arn:aws:kms:" + region + ":" + account + ":key/k",
	})
	f.SeedRole(account, ekstatefake.Role{Name: "prod-cluster-role", Attached: []string{"arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"}})
}

func runScan(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"scan"}, args...), strings.NewReader(""), &out, &errOut)
	t.Logf("eksguard scan %s (exit %d):\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

func scanFindings(t *testing.T, out string) []finding.Finding {
	t.Helper()
	var fs []finding.Finding
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var f finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		fs = append(fs, f)
	}
	return fs
}

func TestScanTable(t *testing.T) {
	f := scanWorld(t)
	seedScanCluster(f, scanAccount, "eu-west-1", "open", true)
	seedScanCluster(f, scanAccount, "eu-west-1", "closed", false)
	code, out, _ := runScan(t)
	if code != 1 {
		t.Errorf("exit: got %d, want 1 (a high finding at the default --fail-on high)", code)
	}
	for _, want := range []string{
		"HIGH      public-endpoint-opened  open (111122223333 eu-west-1)  public-endpoint-opened-",
		"  what      public endpoint of cluster open is open to the whole internet (every public IPv4 address)",
		"  would do  ",
		"aws eks update-cluster-config --name open",
		"2 clusters in 1 account/region pairs, 1 findings (1 high), 0 unreadable (policy: built-in defaults)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output: got no %q", want)
		}
	}
	if strings.Contains(out, "  who ") {
		t.Errorf("output: got a who line for a scan finding, want none (nobody made a change)")
	}
	if strings.Contains(out, "  event ") {
		t.Errorf("output: got an event line for a scan finding, want none")
	}
}

func TestScanJSONAndFailOn(t *testing.T) {
	f := scanWorld(t)
	seedScanCluster(f, scanAccount, "eu-west-1", "open", true)
	code, out, _ := runScan(t, "--output", "json", "--fail-on", "none")
	if code != 0 {
		t.Errorf("exit: got %d, want 0 with --fail-on none", code)
	}
	fs := scanFindings(t, out)
	if len(fs) != 1 || fs[0].Source != finding.SourceScan || !strings.HasPrefix(fs[0].ID, "public-endpoint-opened-") || fs[0].Account != scanAccount {
		t.Fatalf("got %+v, want one scan finding of public-endpoint-opened with an id, in %s", fs, scanAccount)
	}
	_, again, _ := runScan(t, "--output", "json", "--fail-on", "none")
	if fs2 := scanFindings(t, again); len(fs2) != 1 || fs2[0].ID != fs[0].ID {
		t.Errorf("second scan: got %+v, want the same id %s", fs2, fs[0].ID)
	}
}

func TestScanCleanExitsZero(t *testing.T) {
	f := scanWorld(t)
	seedScanCluster(f, scanAccount, "eu-west-1", "closed", false)
	code, out, _ := runScan(t)
	if code != 0 || !strings.Contains(out, "no findings") {
		t.Errorf("got exit %d and %q, want 0 and no findings", code, out)
	}
}

func TestScanUnreadableCluster(t *testing.T) {
	f := scanWorld(t)
	seedScanCluster(f, scanAccount, "eu-west-1", "open", true)
	seedScanCluster(f, scanAccount, "eu-west-1", "locked", true)
	f.Deny["locked"] = true
	code, out, errOut := runScan(t, "--fail-on", "none")
	if code != 2 {
		t.Errorf("exit: got %d, want 2 (a cluster could not be read)", code)
	}
	if !strings.Contains(errOut, "could not read cluster locked (account 111122223333, region eu-west-1): DescribeCluster") || !strings.Contains(errOut, "AccessDeniedException") {
		t.Errorf("stderr: got %q, want it to name cluster locked, DescribeCluster and AccessDeniedException", errOut)
	}
	if !strings.Contains(out, "public-endpoint-opened  open ") || !strings.Contains(out, "1 unreadable") {
		t.Errorf("output: got %q, want the finding on open and 1 unreadable", out)
	}
}

func TestScanAccountsRegionsClusters(t *testing.T) {
	f := scanWorld(t)
	for _, a := range []string{"444455556666", "777788889999"} {
		for _, r := range []string{"eu-west-1", "us-east-1"} {
			seedScanCluster(f, a, r, "prod", true)
			seedScanCluster(f, a, r, "dev", true)
		}
	}
	seedScanCluster(f, scanAccount, "eu-west-1", "own", true) // not scanned: --account names others
	code, out, _ := runScan(t, "--account", "444455556666", "--account", "777788889999", "--region", "eu-west-1", "--region", "us-east-1",
		"--cluster", "prod", "--output", "json", "--fail-on", "none")
	if code != 0 {
		t.Errorf("exit: got %d, want 0", code)
	}
	var got []string
	for _, f := range scanFindings(t, out) {
		got = append(got, f.Account+"/"+f.Region+"/"+f.Cluster)
	}
	slices.Sort(got)
	want := []string{"444455556666/eu-west-1/prod", "444455556666/us-east-1/prod", "777788889999/eu-west-1/prod", "777788889999/us-east-1/prod"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if n := f.Calls()["AssumeRole"]; n != 2 {
		t.Errorf("AssumeRole calls: got %d, want 2 (one per account)", n)
	}
}

func TestScanUsage(t *testing.T) {
	scanWorld(t)
	for _, args := range [][]string{{"--output", "xml"}, {"--fail-on", "severe"}, {"extra"}} {
		if code, _, _ := runScan(t, args...); code != 2 {
			t.Errorf("%v: got exit %d, want 2", args, code)
		}
	}
}

// `eksguard rules` says which rules the scan judges, and why not the others.
func TestRulesSayWhichJudgeState(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"rules", "--output", "json"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	got := map[string]struct {
		Scan   bool   `json:"scan"`
		Reason string `json:"noScanReason"`
	}{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r struct {
			ID     string `json:"id"`
			Scan   bool   `json:"scan"`
			Reason string `json:"noScanReason"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		got[r.ID] = struct {
			Scan   bool   `json:"scan"`
			Reason string `json:"noScanReason"`
		}{r.Scan, r.Reason}
	}
	if r := got["public-endpoint-opened"]; !r.Scan || r.Reason != "" {
		t.Errorf("public-endpoint-opened: got %+v, want scan true", r)
	}
	if r := got["authentication-mode-changed"]; r.Scan || r.Reason == "" {
		t.Errorf("authentication-mode-changed: got %+v, want scan false with a reason", r)
	}
}

// scan --output asff prints the documents Security Hub would import: one
// per finding, its Id stable per rule and resource, scan after scan.
func TestScanASFF(t *testing.T) {
	f := scanWorld(t)
	seedScanCluster(f, scanAccount, "eu-west-1", "open", true)
	ids := map[string]bool{}
	for range 2 {
		code, out, _ := runScan(t, "--output", "asff", "--fail-on", "none")
		if code != 0 {
			t.Fatalf("exit: got %d, want 0", code)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 1 {
			t.Fatalf("got %d lines, want one document:\n%s", len(lines), out)
		}
		var doc struct{ SchemaVersion, Id, GeneratorId, AwsAccountId, ProductArn string }
		if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.SchemaVersion != "2018-10-08" || doc.GeneratorId != "public-endpoint-opened" || doc.AwsAccountId != scanAccount ||
			doc.ProductArn != "arn:aws:securityhub:eu-west-1:"+scanAccount+":product/"+scanAccount+"/default" {
			t.Errorf("got %+v, want a 2018-10-08 document of public-endpoint-opened in %s's default product", doc, scanAccount)
		}
		ids[doc.Id] = true
	}
	if len(ids) != 1 {
		t.Errorf("two scans gave document Ids %v, want one", ids)
	}
}
