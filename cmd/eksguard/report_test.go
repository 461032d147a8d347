package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/report"
	"github.com/eksguard/eksguard/shared/rules"
)

var updateReport = flag.Bool("update-report", false, "rewrite the golden report in testdata/")

// replayReport runs `eksguard replay --report` and returns the page.
func runReport(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.html")
	code, _, errOut := runCLI(t, stdin, append([]string{"replay", "--fail-on", "none", "--report", out}, args...)...)
	if code != 0 {
		t.Fatalf("replay --report exit %d, want 0; stderr %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReportGolden is the report of `eksguard replay --report FILE events/`
// run from the repository root (go test ./cmd/eksguard -update-report rewrites it).
// The page holds nothing of the run's time or machine, so it is the same
// on every run.
func TestReportGolden(t *testing.T) {
	golden, err := filepath.Abs("testdata/report-events.html")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..")
	got := runReport(t, "", "events/")
	if again := runReport(t, "", "--workers", "1", "events/"); again != got {
		t.Fatal("two replays of events/ (default workers, one worker) gave different reports")
	}
	if *updateReport {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("report differs from %s at line %d:\ngot  %s\nwant %s\n(go test ./cmd/eksguard -run TestReportGolden -update-report rewrites it)", golden, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("report has %d lines, want %d (go test ./cmd/eksguard -run TestReportGolden -update-report)", len(gl), len(wl))
	}
}

var countRE = regexp.MustCompile(`data-k="([^"]*)" data-n="(-?\d+)"`)

// counts reads every count the page shows (each is marked data-k, data-n).
func counts(t *testing.T, page string) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	for _, m := range countRE.FindAllStringSubmatch(page, -1) {
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		k := html.UnescapeString(m[1])
		out[k] = append(out[k], n)
	}
	return out
}

func jsonFindings(t *testing.T, out string) []finding.Finding {
	t.Helper()
	var fs []finding.Finding
	for l := range strings.Lines(out) {
		var f finding.Finding
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("not a finding: %v: %s", err, l)
		}
		fs = append(fs, f)
	}
	return fs
}

var summaryRE = regexp.MustCompile(`(\d+) files, (\d+) records(?:, (\d+) outside --since/--until)?, (\d+) in scope, \d+ findings.*, (\d+) unreadable`)

// TestReportCountsMatchJSON recounts, from `--output json` for the same
// input, every number the report shows.
func TestReportCountsMatchJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default policy", []string{events}},
		{"example policy", []string{"--policy", "../../policy.example.yaml", events}},
		{"since", []string{"--since", "2025-05-06", events}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := runReport(t, "", tc.args...)
			_, out, _ := runCLI(t, "", append([]string{"replay", "--fail-on", "none", "--output", "json"}, tc.args...)...)
			_, table, _ := runCLI(t, "", append([]string{"replay", "--fail-on", "none"}, tc.args...)...)
			fs := jsonFindings(t, out)
			want := expectedCounts(t, fs, page)
			sum := summaryRE.FindStringSubmatch(table)
			if sum == nil {
				t.Fatalf("no summary line in the table output:\n%s", table)
			}
			for i, k := range []string{"files", "records", "outside", "inscope", "unreadable"} {
				if sum[i+1] != "" {
					n, _ := strconv.ParseInt(sum[i+1], 10, 64)
					want[k] = n
				}
			}
			got := counts(t, page)
			if len(got) < 50 {
				t.Fatalf("the report marks %d counts, want at least 50", len(got))
			}
			for k, ns := range got {
				w, ok := want[k]
				if !ok {
					t.Errorf("report shows %q = %v, a count the JSON output does not give", k, ns)
					continue
				}
				for _, n := range ns {
					if n != w {
						t.Errorf("%s: got %d, want %d", k, n, w)
					}
				}
			}
			if _, ok := want["outside"]; ok {
				if _, ok := got["outside"]; !ok {
					t.Error("the table counts records outside --since/--until, the report does not")
				}
			}
			for _, k := range []string{"findings", "plans", "severity/critical", "severity/info", "records", "unreadable", "clusters/distinct", "actors/distinct"} {
				if _, ok := got[k]; !ok {
					t.Errorf("report lacks the count %q", k)
				}
			}
			for _, f := range fs {
				if _, ok := got["rule/"+f.Rule]; !ok {
					t.Errorf("report lacks the count of rule %s", f.Rule)
				}
			}
		})
	}
}

// expectedCounts derives from the JSON findings every count the report
// may show. The timeline's bucket width is read from the page.
func expectedCounts(t *testing.T, fs []finding.Finding, page string) map[string]int64 {
	t.Helper()
	want := map[string]int64{"findings": int64(len(fs))}
	m := regexp.MustCompile(`data-bucket="(\d+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("report has no timeline (data-bucket)")
	}
	bucket, _ := strconv.ParseInt(m[1], 10, 64)
	for _, s := range []string{"info", "low", "medium", "high", "critical"} {
		want["severity/"+s] = 0
	}
	byRule := map[string]int64{}
	clusters, accounts, actors := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, f := range fs {
		byRule[f.Rule]++
		want["severity/"+f.Severity.String()]++
		want["rule/"+f.Rule]++
		c := f.Cluster + "/" + f.Account + "/" + f.Region
		clusters[c] = true
		want["cluster/"+c]++
		accounts[f.Account] = true
		want["account/"+f.Account]++
		actor := f.Actor.Role
		if actor == "" {
			actor = f.Actor.ARN
		}
		actors[actor] = true
		want["actor/"+actor]++
		if f.Plan != nil {
			want["plans"]++
			want["rule/"+f.Rule+"/plans"]++
		}
		if f.Principal != "" {
			want["rule/"+f.Rule+"/allow/"+f.Principal]++
		}
		tm, err := time.Parse(time.RFC3339, f.EventTime)
		if err != nil {
			want["untimed"]++
		} else {
			start := time.Unix(tm.Unix()/bucket*bucket, 0).UTC().Format(time.RFC3339)
			want["time/"+start+"/"+f.Severity.String()]++
			want["ruletime/"+start+"/"+f.Rule]++
		}
	}
	// An automation entry for an actor removes the findings of events it
	// made: those whose role or ARN is the entry.
	for a := range actors {
		for _, f := range fs {
			if f.Actor.Role == a || f.Actor.ARN == a {
				want["automation/"+a]++
				want["rule/"+f.Rule+"/automation/"+a]++
			}
		}
	}
	for rule, n := range byRule {
		want["rule/"+rule+"/unlisted"] = max(0, n-int64(report.DefaultLimits.PerRule))
	}
	for _, id := range rules.IDs() {
		want["rule/"+id] += 0
		want["rule/"+id+"/plans"] += 0
		want["whatif/"+id+"/notify"] = byRule[id] // shown only for rules the policy does not set off
		want["whatif/"+id+"/off"] = 0
		want["whatif/"+id+"/total-if-off"] = int64(len(fs)) - byRule[id]
	}
	want["plans/unlisted"] = max(0, want["plans"]-int64(report.DefaultLimits.Remediations))
	want["clusters/distinct"] = int64(len(clusters))
	want["accounts/distinct"] = int64(len(accounts))
	want["actors/distinct"] = int64(len(actors))
	return want
}

// TestReportWhatIfHolds replays events/ again with each change the "what
// if" sections predict an effect of, and checks the findings drop by as
// many as the report said.
func TestReportWhatIfHolds(t *testing.T) {
	page := counts(t, runReport(t, "", events))
	total := page["findings"][0]
	dir := t.TempDir()
	findingsUnder := func(policyYAML string) int64 {
		t.Helper()
		path := filepath.Join(dir, "policy.yaml")
		if err := os.WriteFile(path, []byte("version: 1\n"+policyYAML), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCLI(t, "", "replay", "--fail-on", "none", "--output", "json", "--policy", path, events)
		if code != 0 {
			t.Fatalf("replay under %q: exit %d: %s", policyYAML, code, errOut)
		}
		return int64(len(jsonFindings(t, out)))
	}
	checked := map[string]int{}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range page {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		n := page[k][0]
		var pol, kind string
		var removed int64
		switch {
		case strings.HasPrefix(k, "automation/"):
			kind, removed = "automation", n
			pol = fmt.Sprintf("principals:\n  automation: [%q]\n", strings.TrimPrefix(k, "automation/"))
		case strings.HasPrefix(k, "whatif/") && strings.HasSuffix(k, "/total-if-off"):
			kind, removed = "off", total-n
			pol = fmt.Sprintf("rules:\n  %s: {mode: off}\n", strings.TrimSuffix(strings.TrimPrefix(k, "whatif/"), "/total-if-off"))
		case strings.HasPrefix(k, "rule/") && strings.Contains(k, "/allow/"):
			rule, entry, _ := strings.Cut(strings.TrimPrefix(k, "rule/"), "/allow/")
			kind, removed = "allow", n
			pol = fmt.Sprintf("rules:\n  %s: {allow: [%q]}\n", rule, entry)
		default:
			continue
		}
		checked[kind]++
		if got := findingsUnder(pol); got != total-removed {
			t.Errorf("under %q: got %d findings, want %d (the report said %s removes %d of %d)", pol, got, total-removed, k, removed, total)
		}
	}
	for _, kind := range []string{"automation", "off", "allow"} {
		if checked[kind] == 0 {
			t.Errorf("the report predicts no %s change to check", kind)
		}
	}
}

// TestReportUnwritablePath fails before replaying anything.
func TestReportUnwritablePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no-such-dir", "report.html")
	code, out, errOut := runCLI(t, "", "replay", "--report", path, events)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(errOut, "--report: open "+path) {
		t.Errorf("stderr %q, want it to name --report and the path", errOut)
	}
	if out != "" {
		t.Errorf("replayed anyway: stdout %q, want nothing", out)
	}
}

// The page says which records a filtered replay read, and says nothing of
// a selection for a replay of everything.
func TestReportShowsTheSelection(t *testing.T) {
	events := filepath.Join("..", "..", "events")
	page := runReport(t, "", "--since", "2025-05-06", "--region", "eu-west-1", events)
	if want := "<dt>Selection</dt><dd>since 2025-05-06T00:00:00Z; regions eu-west-1</dd>"; !strings.Contains(page, want) {
		t.Errorf("the filtered report does not show %q", want)
	}
	if page := runReport(t, "", events); strings.Contains(page, "<dt>Selection</dt>") {
		t.Error("a replay of everything shows a selection")
	}
}
