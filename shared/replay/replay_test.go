package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/trailfile"
)

func collect(seq iter.Seq[Input]) []Input {
	var out []Input
	for in := range seq {
		out = append(out, in)
	}
	return out
}

// grant returns a record granting cluster admin, with its own event ID.
func grant(id string) string {
	return strings.Replace(string(inScopeRecord), `"eventID":"a1b2c3d4-e5f6-7a8b-9c0d-e1f2a3b4c5d6"`, `"eventID":"`+id+`"`, 1)
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestRunKeepsInputOrderAndReportsErrors(t *testing.T) {
	dir := t.TempDir()
	// Twelve files across nested directories, some gzip'd, each with one
	// finding and noise; one file has a malformed in-scope record.
	for i := range 12 {
		recs := []string{string(irrelevantRecord), grant(fmt.Sprintf("f%02d", i)), string(irrelevantRecord)}
		if i == 5 {
			recs = append(recs, `{"eventSource":"eks.amazonaws.com","eventName":"AssociateAccessPolicy","requestParameters":{"principalArn":7}}`)
		}
		body := `{"Records":[` + strings.Join(recs, ",") + `]}`
		name := filepath.Join(dir, fmt.Sprintf("2026/11/%02d/trail-%02d.json", i%3, i))
		data := []byte(body)
		if i%2 == 0 {
			name += ".gz"
			data = gzipped(body)
		}
		writeFile(t, name, data)
	}
	writeFile(t, filepath.Join(dir, "README.txt"), []byte("not a trail file"))

	files := collect(Inputs([]string{dir}, trailfile.Filter{}, nil))
	if len(files) != 12 {
		t.Fatalf("Inputs: got %d inputs, want 12", len(files))
	}
	var ids []string
	var inputErrs []*InputError
	var st Stats
	err := Run(context.Background(), slices.Values(files), Options{
		Engine:    rules.NewEngine(policy.Default(), rules.All()),
		Workers:   4,
		OnFinding: func(f *finding.Finding) { ids = append(ids, f.EventID) },
		OnError:   func(e *InputError) { inputErrs = append(inputErrs, e) },
	}, &st)
	if err != nil {
		t.Fatal(err)
	}
	// Files sort by path: 2026/11/00/{00,03,06,09}, 01/{01,04,07,10}, 02/{02,05,08,11}.
	want := "f00 f03 f06 f09 f01 f04 f07 f10 f02 f05 f08 f11"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("findings in order %q, want %q", got, want)
	}
	if len(inputErrs) != 1 {
		t.Fatalf("errors %v, want the one malformed record", inputErrs)
	}
	e := inputErrs[0]
	if !strings.HasSuffix(e.File, "trail-05.json") || e.Index != 3 || !strings.Contains(e.Error(), "principalArn") {
		t.Errorf("error %q: want file trail-05.json, record 3, field principalArn", e)
	}
	if st.Files.Load() != 12 || st.Records.Load() != 37 || st.InScope.Load() != 13 || st.Findings.Load() != 12 || st.Errors.Load() != 1 {
		t.Errorf("stats files %d records %d inscope %d findings %d errors %d", st.Files.Load(), st.Records.Load(),
			st.InScope.Load(), st.Findings.Load(), st.Errors.Load())
	}
}

func TestRunStdinAndMissingFiles(t *testing.T) {
	inputs := Inputs([]string{"-", "/does/not/exist"}, trailfile.Filter{}, strings.NewReader(grant("a")+"\n"+grant("b")+"\n"))
	var n int
	var errs []*InputError
	var st Stats
	err := Run(context.Background(), inputs, Options{
		Engine:    rules.NewEngine(policy.Default(), rules.All()),
		OnFinding: func(*finding.Finding) { n++ },
		OnError:   func(e *InputError) { errs = append(errs, e) },
	}, &st)
	if err != nil || n != 2 {
		t.Fatalf("stdin: got %d findings, err %v; want 2, nil", n, err)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "/does/not/exist") || st.Errors.Load() != 1 {
		t.Errorf("got errors %v (%d counted), want the missing path, counted once", errs, st.Errors.Load())
	}
}

func TestRunUnreadableStream(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.json"), []byte(`{"Records":[`+grant("ok")+`, {"eventID":`))
	var errs []*InputError
	var n int
	var st Stats
	_ = Run(context.Background(), Inputs([]string{dir}, trailfile.Filter{}, nil), Options{
		Engine:    rules.NewEngine(policy.Default(), rules.All()),
		OnFinding: func(*finding.Finding) { n++ },
		OnError:   func(e *InputError) { errs = append(errs, e) },
	}, &st)
	if n != 1 {
		t.Errorf("the good record before the damage must still be assessed; got %d findings", n)
	}
	if len(errs) != 1 || errs[0].Index != 1 || !strings.Contains(errs[0].Error(), "unexpected end of input") {
		t.Errorf("errors %v", errs)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	dir := t.TempDir()
	for i := range 5 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("%d.json", i)), []byte(grant("x")))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var st Stats
	err := Run(ctx, Inputs([]string{dir}, trailfile.Filter{}, nil), Options{Engine: rules.NewEngine(policy.Default(), rules.All())}, &st)
	if err == nil {
		t.Fatal("want the context error")
	}
}

// More files than the in-flight window of Run (4 per worker): findings
// still arrive in input order.
func TestRunManyFilesKeepsOrder(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for i := range 60 {
		id := fmt.Sprintf("g%03d", i)
		recs := strings.Repeat(string(irrelevantRecord)+",", i%7) + grant(id)
		writeFile(t, filepath.Join(dir, fmt.Sprintf("%03d.json", i)), []byte(`{"Records":[`+recs+`]}`))
		want = append(want, id)
	}
	var got []string
	var st Stats
	err := Run(context.Background(), Inputs([]string{dir}, trailfile.Filter{}, nil), Options{
		Engine:    rules.NewEngine(policy.Default(), rules.All()),
		Workers:   2,
		OnFinding: func(f *finding.Finding) { got = append(got, f.EventID) },
	}, &st)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("findings out of order:\n%v", got)
	}
	if st.Files.Load() != 60 || st.Findings.Load() != 60 {
		t.Errorf("files %d findings %d", st.Files.Load(), st.Findings.Load())
	}
}

// Stream counts records while it reads (for progress displays) and in total.
func TestStreamCountsEveryRecord(t *testing.T) {
	const n = 3*statsEvery + 5
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(irrelevantRecord)
	}
	b.WriteString(`]}`)
	var st Stats
	fs, errs := Stream(strings.NewReader(b.String()), "big", rules.NewEngine(policy.Default(), rules.All()), &st)
	if len(fs) != 0 || len(errs) != 0 || st.Records.Load() != n || st.InScope.Load() != 0 {
		t.Errorf("findings %d errors %v records %d in scope %d", len(fs), errs, st.Records.Load(), st.InScope.Load())
	}
}

// JSON that is no CloudTrail record (no eventSource) is unreadable, not
// silently out of scope.
func TestStreamReportsItemsWithoutEventSource(t *testing.T) {
	in := `[` + string(irrelevantRecord) + `,{"Items":[1,2]},{"eventName":"CreateAccessEntry"},{"version":"0","detail-type":"EC2 Instance State-change Notification","detail":{"state":"running"}}]`
	var st Stats
	_, errs := Stream(strings.NewReader(in), "odd.json", rules.NewEngine(policy.Default(), rules.All()), &st)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"odd.json: record 1: " + errNotARecord.Error(),
		"odd.json: record 2: " + errNotARecord.Error(),
		"odd.json: record 3: " + errNotARecord.Error(),
	}
	if !slices.Equal(got, want) || st.Errors.Load() != 3 || st.Records.Load() != 4 {
		t.Errorf("errors %q (%d counted), records %d; want %q, 3 counted, 4 records", got, st.Errors.Load(), st.Records.Load(), want)
	}
}

// access builds a successful access call by dev-team's alice.
func access(id, at, event, params string) string {
	return `{"eventVersion":"1.09","eventID":"` + id + `","eventTime":"` + at + `","eventSource":"eks.amazonaws.com","eventName":"` + event +
		`","awsRegion":"eu-west-1","recipientAccountId":"111122223333","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/dev-team/alice","accountId":"111122223333"},"requestParameters":` + params + `}`
}

// The correlation rules see the grants and removals in event-time order,
// whatever order the files are read in and however many workers read
// them: the same findings either way, after every input's own.
func TestRunCorrelatesInEventTimeOrder(t *testing.T) {
	entry := func(cluster string) string {
		return `{"name":"` + cluster + `","principalArn":"arn:aws:iam::111122223333:role/ops-contractor"}`
	}
	// Files sort by name; their events do not.
	files := map[string][]string{
		"a.json": {access("del", "2026-11-02T03:40:00Z", "DeleteAccessEntry", entry("c1"))},
		"b.json": {access("c3", "2026-11-02T03:12:00Z", "CreateAccessEntry", entry("c3")), access("c5", "2026-11-02T03:30:00Z", "CreateAccessEntry", entry("c5"))},
		"c.json": {access("c1", "2026-11-02T03:00:00Z", "CreateAccessEntry", entry("c1")), access("c2", "2026-11-02T03:05:00Z", "CreateAccessEntry", entry("c2"))},
		"d.json": {access("c4", "2026-11-02T03:20:00Z", "CreateAccessEntry", entry("c4")), string(irrelevantRecord)},
	}
	dir := t.TempDir()
	for name, recs := range files {
		writeFile(t, filepath.Join(dir, name), []byte(`{"Records":[`+strings.Join(recs, ",")+`]}`))
	}
	var want string
	for _, workers := range []int{1, 4} {
		var got []string
		var st Stats
		err := Run(context.Background(), Inputs([]string{dir}, trailfile.Filter{}, nil), Options{
			Engine:    rules.NewEngine(policy.Default(), rules.All()),
			Workers:   workers,
			OnFinding: func(f *finding.Finding) { got = append(got, f.Rule+"@"+f.EventID) },
		}, &st)
		if err != nil {
			t.Fatal(err)
		}
		// The deletion of c1's entry 40 minutes after its creation; the
		// fifth cluster, c5, reached at 03:30.
		want = "access-granted-then-removed@del principal-granted-many-clusters@c5"
		if g := strings.Join(got, " "); g != want {
			t.Errorf("%d workers: got findings %q, want %q", workers, g, want)
		}
		if st.Findings.Load() != 2 {
			t.Errorf("%d workers: got %d findings counted, want 2", workers, st.Findings.Load())
		}
	}
	// Stream judges one stream the same way.
	var all []string
	for _, name := range []string{"a.json", "b.json", "c.json", "d.json"} {
		all = append(all, files[name]...)
	}
	var st Stats
	fs, errs := Stream(strings.NewReader(`{"Records":[`+strings.Join(all, ",")+`]}`), "all.json", rules.NewEngine(policy.Default(), rules.All()), &st)
	var got []string
	for _, f := range fs {
		got = append(got, f.Rule+"@"+f.EventID)
	}
	if g := strings.Join(got, " "); len(errs) > 0 || g != want {
		t.Errorf("Stream: got findings %q (errors %v), want %q", g, errs, want)
	}
}
