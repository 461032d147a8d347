package rules_test

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/trailfile"
)

var update = flag.Bool("update", false,
	"rewrite testdata/golden*, the S3 sample and events/README.md from the events/ corpus")

// The corpus and what is derived from it. Paths are relative to this package.
const (
	eventsDir    = "../../events"
	readmePath   = eventsDir + "/README.md"
	casesPath    = "testdata/cases.json"
	policyPath   = "testdata/policy.yaml"
	s3SamplePath = "testdata/s3/111122223333_CloudTrail_us-east-1_sample.json.gz"
	updateHint   = "go test ./shared/rules -run Golden -update"
)

// A pass assesses the whole corpus under one policy and keeps its findings
// under its own golden directory.
type pass struct {
	heading string // README column
	dir     string
	policy  *policy.Policy
}

func passes(t *testing.T) []pass {
	t.Helper()
	example, err := policy.Load(policyPath, rules.IDs())
	if err != nil {
		t.Fatalf("load example policy: %v", err)
	}
	return []pass{
		{heading: "Fires under the built-in policy", dir: "testdata/golden", policy: policy.Default()},
		{heading: "Fires under [testdata/policy.yaml](../shared/rules/testdata/policy.yaml)", dir: "testdata/golden-policy", policy: example},
	}
}

// corpusCase is one event file and what each pass made of it.
type corpusCase struct {
	path     string // under events/, slash-separated: "access/x.json"
	desc     string
	rec      *cloudtrail.Record // nil for an audit log case (kubernetes_golden_test.go)
	audit    []*k8saudit.Event
	detail   json.RawMessage // the CloudTrail record inside the envelope
	findings [][]finding.Finding
	golden   [][]byte // findings per pass, as stored
}

// loadCorpus reads, checks, decodes and assesses every event file.
func loadCorpus(t *testing.T, ps []pass) []*corpusCase {
	t.Helper()
	files := eventFiles(t)
	descs := descriptions(t)
	for _, f := range files {
		if strings.TrimSpace(descs[f]) == "" {
			t.Errorf("events/%s has no description in %s", f, casesPath)
		}
	}
	for f := range descs {
		if !slices.Contains(files, f) {
			t.Errorf("%s describes %s, which is not a file under events/", casesPath, f)
		}
	}
	engines := make([]*rules.Engine, len(ps))
	for i, p := range ps {
		engines[i] = rules.NewEngine(p.policy, rules.All())
	}
	seen := map[string]string{} // event and envelope IDs -> file
	var out []*corpusCase
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(eventsDir, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		c := &corpusCase{path: f, desc: descs[f]}
		if path.Dir(f) == families.Kubernetes.Name {
			loadAuditCase(t, c, raw, engines, seen)
			out = append(out, c)
			continue
		}
		env := checkEnvelope(t, f, raw)
		c.detail = env.Detail
		if c.rec, err = cloudtrail.DecodeEvent(raw); err != nil {
			t.Errorf("events/%s: %v", f, err)
			continue
		}
		checkRecord(t, f, env, c.rec)
		for _, id := range []string{env.ID, c.rec.EventID} {
			if prev, dup := seen[id]; dup {
				t.Errorf("events/%s: id %s is also used by events/%s", f, id, prev)
			}
			seen[id] = f
		}
		for _, e := range engines {
			fs := sorted(e.Assess(c.rec))
			c.findings = append(c.findings, fs)
			c.golden = append(c.golden, marshalFindings(t, fs))
		}
		out = append(out, c)
	}
	// The correlation rules read the corpus as a replay of events/ does:
	// in event-time order, each event against those before it. A pair in
	// the corpus fires on its second event, whose golden holds the finding.
	var recs []*cloudtrail.Record
	var at []int
	for i, c := range out {
		if c.rec != nil {
			recs, at = append(recs, c.rec), append(at, i)
		}
	}
	for i, e := range engines {
		for j, fs := range e.CorrelateInOrder(recs) {
			if c := out[at[j]]; len(fs) > 0 {
				c.findings[i] = sorted(append(c.findings[i], fs...))
				c.golden[i] = marshalFindings(t, c.findings[i])
			}
		}
	}
	return out
}

// eventFiles lists events/**/*.json, slash-separated and sorted.
func eventFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(eventsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel, err := filepath.Rel(eventsDir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	if len(files) == 0 {
		t.Fatalf("no event files under %s: the golden test needs the corpus", eventsDir)
	}
	slices.Sort(files)
	return files
}

func descriptions(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(casesPath)
	if err != nil {
		t.Fatalf("read case descriptions: %v", err)
	}
	var d map[string]string
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", casesPath, err)
	}
	return d
}

// checkEnvelope holds every file to the corpus conventions: one pretty-printed
// EventBridge envelope per file, under the directory of its family.
func checkEnvelope(t *testing.T, file string, raw []byte) *cloudtrail.Envelope {
	t.Helper()
	var compact, pretty bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatalf("events/%s: %v", file, err)
	}
	if err := json.Indent(&pretty, compact.Bytes(), "", "  "); err != nil {
		t.Fatalf("events/%s: %v", file, err)
	}
	pretty.WriteByte('\n')
	if !bytes.Equal(pretty.Bytes(), raw) {
		t.Errorf("events/%s is not pretty-printed with two-space indentation and a final newline", file)
	}
	env := new(cloudtrail.Envelope)
	if err := json.Unmarshal(raw, env); err != nil {
		t.Fatalf("events/%s: %v", file, err)
	}
	if env.DetailType != families.DetailType || len(env.Detail) == 0 || env.ID == "" {
		t.Errorf("events/%s is not an EventBridge %q envelope with an id and a detail", file, families.DetailType)
	}
	return env
}

// checkRecord checks the envelope against its record and the family it is filed under.
func checkRecord(t *testing.T, file string, env *cloudtrail.Envelope, r *cloudtrail.Record) {
	t.Helper()
	fam, ok := families.For(r.EventSource, r.EventName)
	switch {
	case !ok:
		t.Errorf("events/%s: %s %s is not in scope of any family", file, r.EventSource, r.EventName)
		return
	case path.Dir(file) != fam.Name:
		t.Errorf("events/%s: %s belongs under events/%s/", file, r.EventName, fam.Name)
	}
	if want, _ := fam.Source(r.EventSource); env.Source != want {
		t.Errorf("events/%s: envelope source %q, want %q", file, env.Source, want)
	}
	if env.Region != r.AWSRegion || env.Account != r.Account() {
		t.Errorf("events/%s: envelope region/account %s/%s differ from the record's %s/%s",
			file, env.Region, env.Account, r.AWSRegion, r.Account())
	}
	if fam.GlobalRegion != "" && r.AWSRegion != fam.GlobalRegion {
		t.Errorf("events/%s: %s events arrive only in %s, not %s", file, fam.Name, fam.GlobalRegion, r.AWSRegion)
	}
	if !env.Time.Equal(r.EventTime.Time) || r.EventID == "" {
		t.Errorf("events/%s: envelope time %v vs eventTime %v, eventID %q", file, env.Time, r.EventTime, r.EventID)
	}
}

func marshalFindings(t *testing.T, fs []finding.Finding) []byte {
	t.Helper()
	if fs == nil {
		fs = []finding.Finding{}
	}
	b, err := json.MarshalIndent(fs, "", "  ")
	if err != nil {
		t.Fatalf("marshal findings: %v", err)
	}
	return append(b, '\n')
}

// TestGolden compares each event's findings, under each pass, with its
// golden file, and events/README.md with the table rendered from them.
func TestGolden(t *testing.T) {
	ps := passes(t)
	corpus := loadCorpus(t, ps)
	for i, p := range ps {
		want := map[string]bool{}
		for _, c := range corpus {
			golden := filepath.Join(p.dir, filepath.FromSlash(c.path))
			want[filepath.ToSlash(golden)] = true
			if *update {
				writeFile(t, golden, c.golden[i])
				continue
			}
			stored, err := os.ReadFile(golden)
			if err != nil {
				t.Errorf("events/%s: no golden findings (%v); run %s", c.path, err, updateHint)
				continue
			}
			if d := firstDifference(stored, c.golden[i]); d != "" {
				t.Errorf("events/%s: findings differ from %s (%s); review and run %s",
					c.path, golden, d, updateHint)
			}
		}
		// Golden files whose event is gone.
		err := filepath.WalkDir(p.dir, func(f string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || want[filepath.ToSlash(f)] {
				return err
			}
			if *update {
				return os.Remove(f)
			}
			t.Errorf("%s has no event file under events/; run %s", f, updateHint)
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	readme := renderReadme(ps, corpus)
	if *update {
		writeFile(t, readmePath, readme)
		return
	}
	stored, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatalf("read %s: %v; run %s", readmePath, err, updateHint)
	}
	if d := firstDifference(stored, readme); d != "" {
		t.Errorf("events/README.md is out of date (%s); run %s", d, updateHint)
	}
}

// TestGoldenCoverage checks that the corpus exercises everything: every
// in-scope event name, every rule firing, and every rule staying quiet on
// at least one event it looks at.
func TestGoldenCoverage(t *testing.T) {
	ps := passes(t)
	corpus := loadCorpus(t, ps)
	for _, fam := range families.All() {
		for _, svc := range fam.Services {
			for _, name := range rules.ServiceEventNames(fam, svc.EventSource) {
				if !slices.ContainsFunc(corpus, func(c *corpusCase) bool {
					return c.rec != nil && c.rec.EventSource == svc.EventSource && c.rec.EventName == name
				}) {
					t.Errorf("no event file for %s %s (family %s)", svc.EventSource, name, fam.Name)
				}
			}
		}
	}
	for _, r := range rules.All() {
		var fired []string
		quiet := 0
		for _, c := range corpus {
			for i, fs := range c.findings {
				if slices.ContainsFunc(fs, func(f finding.Finding) bool { return f.Rule == r.ID }) {
					fired = append(fired, ps[i].dir+"/"+c.path)
				} else if i == 0 && reads(&r, c) {
					quiet++
				}
			}
		}
		if len(fired) == 0 {
			t.Errorf("rule %s fires on no event in the corpus under any policy", r.ID)
		}
		if quiet == 0 {
			t.Errorf("rule %s has no event among %v where it stays quiet under the built-in policy", r.ID, r.Events())
		}
	}
}

// TestGoldenS3Sample reads the CloudTrail S3 log file sample (the corpus's
// us-east-1 records, gzip'd as {"Records":[...]}) through trailfile.Reader
// and checks that each record gives the same findings as its envelope.
func TestGoldenS3Sample(t *testing.T) {
	ps := passes(t)
	corpus := loadCorpus(t, ps)
	var want []*corpusCase
	for _, c := range corpus {
		if c.rec != nil && c.rec.AWSRegion == "us-east-1" {
			want = append(want, c)
		}
	}
	if len(want) == 0 {
		t.Fatal("no us-east-1 events in the corpus to build the S3 sample from")
	}
	slices.SortStableFunc(want, func(a, b *corpusCase) int { return a.rec.EventTime.Compare(b.rec.EventTime.Time) })
	if *update {
		writeFile(t, s3SamplePath, s3LogFile(t, want))
	}
	f, err := os.Open(s3SamplePath)
	if err != nil {
		t.Fatalf("open S3 sample: %v; run %s", err, updateHint)
	}
	defer f.Close()
	rd, err := trailfile.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	byID := map[string]*corpusCase{}
	for _, c := range want {
		byID[c.rec.EventID] = c
	}
	got := 0
	for {
		raw, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s record %d: %v", s3SamplePath, got, err)
		}
		got++
		if cloudtrail.IsEnvelope(raw) {
			t.Errorf("%s record %d is an EventBridge envelope; S3 log files hold bare records", s3SamplePath, got)
		}
		rec, err := cloudtrail.DecodeEvent(raw)
		if err != nil {
			t.Errorf("%s record %d: %v", s3SamplePath, got, err)
			continue
		}
		c, ok := byID[rec.EventID]
		if !ok {
			t.Errorf("%s record %d (%s %s) matches no us-east-1 event under events/; run %s",
				s3SamplePath, got, rec.EventName, rec.EventID, updateHint)
			continue
		}
		delete(byID, rec.EventID)
		if !bytes.Equal(compactJSON(t, raw), compactJSON(t, c.detail)) {
			t.Errorf("%s: record %s differs from the detail of events/%s; run %s", s3SamplePath, rec.EventID, c.path, updateHint)
		}
		for i, p := range ps {
			if d := firstDifference(c.golden[i], marshalFindings(t, sorted(rules.NewEngine(p.policy, rules.All()).Assess(rec)))); d != "" {
				t.Errorf("%s: record %s gives other findings than events/%s under %s (%s)", s3SamplePath, rec.EventID, c.path, p.dir, d)
			}
		}
	}
	for id, c := range byID {
		t.Errorf("%s lacks the record of events/%s (%s); run %s", s3SamplePath, c.path, id, updateHint)
	}
}

// sorted puts findings in a stable order: by rule, cluster and principal.
func sorted(fs []finding.Finding) []finding.Finding {
	slices.SortStableFunc(fs, func(a, b finding.Finding) int {
		return cmp.Or(strings.Compare(a.Rule, b.Rule), strings.Compare(a.Cluster, b.Cluster),
			strings.Compare(a.Principal, b.Principal))
	})
	return fs
}

// s3LogFile builds a CloudTrail log file as delivered to S3: gzip'd compact
// JSON, {"Records":[...]}.
func s3LogFile(t *testing.T, cs []*corpusCase) []byte {
	t.Helper()
	var body bytes.Buffer
	body.WriteString(`{"Records":[`)
	for i, c := range cs {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(compactJSON(t, c.detail))
	}
	body.WriteString("]}")
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(body.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func compactJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// renderReadme prints the table of cases from the corpus and its findings.
func renderReadme(ps []pass, corpus []*corpusCase) []byte {
	var b bytes.Buffer
	b.WriteString("# Sample events\n\n")
	fmt.Fprintf(&b, "<!-- Generated by `%s` from the event files and shared/rules/testdata. Do not edit. -->\n\n", updateHint)
	b.WriteString("Each file is one EventBridge event (\"" + families.DetailType + "\") as an eksguard function receives it,\n" +
		"filed under the function (family) that handles it; those under kubernetes/ are CloudWatch Logs subscription\n" +
		"payloads (as the kubernetes function reads them once un-base64'd and gunzip'd) of the clusters' audit logs,\n" +
		"one audit event each. `make demo` replays them all with the built-in policy.\n\n" +
		"The rule columns list the findings (rule and severity) each event gives under the built-in policy and under\n" +
		"the example policy in shared/rules/testdata/policy.yaml, which names admins, protected principals, the\n" +
		"terraform-deployer automation role and an approved public-endpoint CIDR. The full findings are in\n" +
		"shared/rules/testdata/golden/ and golden-policy/.\n\n")
	b.WriteString("| File | Event | What it shows |")
	for _, p := range ps {
		b.WriteString(" " + p.heading + " |")
	}
	b.WriteString("\n|---|---|---|")
	for range ps {
		b.WriteString("---|")
	}
	b.WriteByte('\n')
	for _, c := range corpus {
		fmt.Fprintf(&b, "| [%s](%s) | %s | %s |", c.path, c.path, c.eventName(), cell(c.desc))
		for _, fs := range c.findings {
			var names []string
			for _, f := range fs {
				names = append(names, fmt.Sprintf("%s (%s)", f.Rule, f.Severity))
			}
			if len(names) == 0 {
				names = []string{"—"}
			}
			b.WriteString(" " + cell(strings.Join(names, ", ")) + " |")
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstDifference describes the first line where got differs from want, or "".
func firstDifference(want, got []byte) string {
	if bytes.Equal(want, got) {
		return ""
	}
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d: want %q, got %q", i+1, strings.TrimSpace(w), strings.TrimSpace(g))
		}
	}
	return "they differ"
}
