package replay

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/internal/testsupport/trailtest"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/trailfile"
)

// A local copy of an organization trail (AWSLogs/o-ORGID/ACCOUNT/...) is
// read like the bucket: --account and --region skip whole directories
// (the walk is told fs.SkipDir for a directory the filter does not admit).
func TestInputsPruneOrganizationLayout(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)
	for _, acct := range []string{"111122223333", "444455556666"} {
		for _, reg := range []string{"eu-west-1", "us-east-1"} {
			writeFile(t, filepath.Join(dir, "AWSLogs", "o-a1b2c3d4e5", filepath.FromSlash(strings.TrimPrefix(trailtest.Key(acct, reg, at, 0), "AWSLogs/"))),
				trailtest.LogFile(trailtest.GrantRecord(acct+"-"+reg, at)))
		}
	}
	var names []string
	for in := range Inputs([]string{dir}, trailfile.Filter{Accounts: []string{"444455556666"}, Regions: []string{"eu-west-1"}}, nil) {
		if in.Err != nil {
			t.Errorf("input %s: %v", in.Name, in.Err)
			continue
		}
		rel, _ := filepath.Rel(dir, in.Name)
		names = append(names, filepath.ToSlash(rel))
	}
	want := []string{"AWSLogs/o-a1b2c3d4e5/" + strings.TrimPrefix(trailtest.Key("444455556666", "eu-west-1", at, 0), "AWSLogs/")}
	if !slices.Equal(names, want) {
		t.Errorf("inputs %v, want %v", names, want)
	}
	if pl := trailfile.Locate("AWSLogs/o-a1b2c3d4e5/111122223333/"); (trailfile.Filter{Accounts: []string{"444455556666"}}).Admits(pl) {
		t.Errorf("the filter admits the excluded account's directory %+v", pl)
	}
}

// A replay judges each record with its account's overrides.
func TestAssessAppliesTheAccountsOverrides(t *testing.T) {
	for _, tc := range []struct {
		account string
		want    int
	}{{"111122223333", 0}, {"444455556666", 1}} {
		doc := "version: 1\noverrides:\n  - accounts: [\"" + tc.account + "\"]\n    rules: {cluster-admin-granted: {mode: off}}\n"
		pol, err := policy.Parse([]byte(doc), "policy.yaml", rules.IDs())
		if err != nil {
			t.Fatal(err)
		}
		fs, inScope, err := Assess(rules.NewEngine(pol, rules.All()), inScopeRecord)
		if err != nil || !inScope {
			t.Fatalf("assess: in scope %v, %v", inScope, err)
		}
		n := 0
		for _, f := range fs {
			if f.Rule == "cluster-admin-granted" {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("rule off for %s: %d cluster-admin-granted findings on a 111122223333 record, want %d", tc.account, n, tc.want)
		}
	}
}
