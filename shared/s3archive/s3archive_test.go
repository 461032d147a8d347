package s3archive

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eksguard/eksguard/internal/testsupport/s3fake"
	"github.com/eksguard/eksguard/internal/testsupport/trailtest"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/replay"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/trailfile"
)

const noise = `{"eventTime":"2026-11-02T03:04:05Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","readOnly":true}`

func client(t *testing.T, srv *s3fake.Server) *s3.Client {
	t.Helper()
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxBackoff = time.Millisecond
		}),
	})
}

type result struct {
	ids  []string
	errs []string
	st   *replay.Stats
}

func runReplay(t *testing.T, a *Archive, loc Location) result {
	t.Helper()
	var r result
	r.st = &replay.Stats{}
	err := replay.Run(context.Background(), a.Inputs(context.Background(), loc), replay.Options{
		Engine:    rules.NewEngine(policy.Default(), rules.All()),
		Workers:   4,
		Window:    a.Filter,
		OnFinding: func(f *finding.Finding) { r.ids = append(r.ids, f.EventID) },
		OnError:   func(e *replay.InputError) { r.errs = append(r.errs, e.Error()) },
	}, r.st)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in       string
		want     Location
		ok, fail bool
	}{
		{"s3://trail-bucket/AWSLogs/", Location{"trail-bucket", "AWSLogs/"}, true, false},
		{"s3://trail-bucket", Location{"trail-bucket", ""}, true, false},
		{"s3:///AWSLogs", Location{}, true, true},
		{"events/", Location{}, false, false},
	} {
		got, ok, err := ParseURL(c.in)
		if got != c.want || ok != c.ok || (err != nil) != c.fail {
			t.Errorf("ParseURL(%q) = %v, %v, %v; want %v, %v, error %v", c.in, got, ok, err, c.want, c.ok, c.fail)
		}
	}
}

// Without filters the prefix is listed at once, across pages; digest,
// Insights and other objects are skipped by key, never fetched.
func TestInputsListsAcrossPagesAndSkipsNonLogs(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	srv.MaxKeys = 3
	day := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var want []string
	for i := range 7 {
		k := trailtest.Key("111122223333", "eu-west-1", day.Add(time.Duration(i)*time.Hour), i)
		srv.Put("trails", k, trailtest.LogFile(noise, trailtest.GrantRecord(fmt.Sprintf("e%d", i), day)))
		want = append(want, "trails/"+k)
	}
	srv.Put("trails", "AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/11/02/111122223333_CloudTrail-Digest_eu-west-1_t_eu-west-1_20261102T100000Z.json.gz", trailtest.LogFile(trailtest.GrantRecord("digest", day)))
	srv.Put("trails", "AWSLogs/111122223333/CloudTrail-Insight/eu-west-1/2026/11/02/111122223333_CloudTrail-Insight_eu-west-1_20261102T1000Z_x.json.gz", trailtest.LogFile(trailtest.GrantRecord("insight", day)))
	srv.Put("trails", "AWSLogs/111122223333/CloudTrail/eu-west-1/ConfigWritabilityCheckFile", []byte("x"))

	r := runReplay(t, &Archive{Client: client(t, srv)}, Location{"trails", "AWSLogs/"})
	if got := strings.Join(r.ids, " "); got != "e0 e1 e2 e3 e4 e5 e6" {
		t.Errorf("got findings %q, want e0 to e6 in key order", got)
	}
	if len(r.errs) != 0 {
		t.Errorf("got errors %v, want none", r.errs)
	}
	if got := srv.Gets(); !slices.Equal(got, want) {
		t.Errorf("got GETs %v, want the 7 log files only", got)
	}
	lists := srv.Lists()
	// 10 keys, 3 a page: 4 pages of one listing, no delimiter.
	if len(lists) != 4 || lists[0].Continued || !lists[3].Continued || lists[0].Delimiter != "" || lists[0].Prefix != "AWSLogs/" {
		t.Errorf("got listings %+v, want 4 pages of AWSLogs/ without delimiter", lists)
	}
	if r.st.Listed.Load() != 7 || r.st.Files.Load() != 7 || r.st.Records.Load() != 14 {
		t.Errorf("got listed %d, read %d, records %d; want 7, 7, 14", r.st.Listed.Load(), r.st.Files.Load(), r.st.Records.Load())
	}
}

// A --since 7d over 90 days of logs lists the accounts and regions, then
// the 8 day prefixes the window touches, and nothing else; the records of
// the first day before the window's start are skipped.
func TestInputsSinceListsOnlyDaysInWindow(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	srv.MaxKeys = 5
	now := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
	since := now.Add(-7 * 24 * time.Hour) // 2026-11-23T15:00Z
	accounts := []string{"111122223333", "444455556666"}
	regions := []string{"eu-west-1", "us-east-1"}
	for d := range 90 {
		t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -d)
		for _, acct := range accounts {
			for _, reg := range regions {
				// One file per day, its records at 09:00 and 21:00.
				early, late := t0.Add(9*time.Hour), t0.Add(21*time.Hour)
				srv.Put("org-trail", "o-abc123/"+trailtest.Key(acct, reg, early, 0),
					trailtest.LogFile(trailtest.GrantRecord(fmt.Sprintf("%s-%s-%s-am", acct, reg, t0.Format("0102")), early),
						trailtest.GrantRecord(fmt.Sprintf("%s-%s-%s-pm", acct, reg, t0.Format("0102")), late)))
			}
		}
	}
	a := &Archive{Client: client(t, srv), Filter: trailfile.Filter{Since: since, Accounts: []string{"444455556666"}},
		Now: func() time.Time { return now }}
	loc, _, _ := ParseURL("s3://org-trail/o-abc123/AWSLogs/")
	r := runReplay(t, a, loc)

	var dayLists []string
	for _, l := range srv.Lists() {
		if l.Delimiter == "" {
			dayLists = append(dayLists, l.Prefix)
		}
	}
	var want []string
	for _, reg := range regions {
		for d := 23; d <= 30; d++ {
			want = append(want, fmt.Sprintf("o-abc123/AWSLogs/444455556666/CloudTrail/%s/2026/11/%02d/", reg, d))
		}
	}
	slices.Sort(dayLists) // listed 8 at a time, in no set order
	if !slices.Equal(dayLists, want) {
		t.Errorf("got day listings\n%v\nwant the 8 days of each region\n%v", dayLists, want)
	}
	// Delivered in key order all the same (the IDs sort as their keys do).
	if !slices.IsSorted(r.ids) {
		t.Errorf("got findings out of key order: %v", r.ids)
	}
	for _, l := range srv.Lists() {
		if l.Delimiter == "/" && strings.Contains(l.Prefix, "111122223333") {
			t.Errorf("listed %q of an account the filter excludes", l.Prefix)
		}
	}
	gets := srv.Gets()
	if len(gets) != 16 {
		t.Errorf("got %d GETs, want 16 (8 days, 2 regions)", len(gets))
	}
	for _, g := range gets {
		if !strings.Contains(g, "/444455556666/") {
			t.Errorf("fetched %s of another account", g)
		}
	}
	// 16 files of 2 grants, less the 09:00 record of each region's 23rd.
	if len(r.ids) != 30 || slices.Contains(r.ids, "444455556666-eu-west-1-1123-am") ||
		!slices.Contains(r.ids, "444455556666-eu-west-1-1123-pm") {
		t.Errorf("got %d findings %v; want 30, without the records of 11-23 before 15:00", len(r.ids), r.ids)
	}
	if r.st.Outside.Load() != 2 {
		t.Errorf("got %d records outside the window, want 2", r.st.Outside.Load())
	}
}

// --region and an --until without --since: the year and month levels are
// listed one by one and pruned.
func TestInputsRegionAndUntil(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	for _, at := range []time.Time{
		time.Date(2025, 12, 31, 1, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC),
		time.Date(2026, 2, 1, 1, 0, 0, 0, time.UTC),
	} {
		for _, reg := range []string{"eu-west-1", "us-east-1"} {
			srv.Put("b", trailtest.Key("111122223333", reg, at, 0), trailtest.LogFile(trailtest.GrantRecord(reg+at.Format("-0102"), at)))
		}
	}
	a := &Archive{Client: client(t, srv), Filter: trailfile.Filter{
		Until: time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC), Regions: []string{"us-east-1"}}}
	r := runReplay(t, a, Location{"b", ""})
	if got := strings.Join(r.ids, " "); got != "us-east-1-1231 us-east-1-0105" {
		t.Errorf("got findings %q, want the two us-east-1 ones before 2026-01-06", got)
	}
	for _, l := range srv.Lists() {
		if strings.Contains(l.Prefix, "eu-west-1") || strings.Contains(l.Prefix, "2026/02") {
			t.Errorf("listed %q, which the filter excludes", l.Prefix)
		}
	}
	if n := len(srv.Gets()); n != 2 {
		t.Errorf("got %d GETs, want 2", n)
	}
}

// One object answering 500 every time is reported (key, reason) and
// counted; one answering 500 once is retried and read; a truncated gzip
// object is reported after its readable records; a denied prefix is
// reported; everything else is read.
func TestFailuresAreReportedAndTheRestGoesOn(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	day := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for _, acct := range []string{"111111111111", "222222222222"} {
		for i := range 4 {
			srv.Put("b", trailtest.Key(acct, "eu-west-1", day, i), trailtest.LogFile(trailtest.GrantRecord(fmt.Sprintf("%s-%d", acct[:1], i), day)))
		}
	}
	broken := trailtest.Key("111111111111", "eu-west-1", day, 1)
	flaky := trailtest.Key("111111111111", "eu-west-1", day, 2)
	truncated := trailtest.Key("111111111111", "eu-west-1", day, 3)
	srv.Fail("b", broken, -1)
	srv.Fail("b", flaky, 1)
	// Records that compress poorly, so that half the object holds the first ones whole.
	recs := []string{trailtest.GrantRecord("t-a", day), trailtest.GrantRecord("t-b", day)}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		recs = append(recs, fmt.Sprintf(`{"eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","requestID":"%x"}`, rnd.Uint64()))
	}
	whole := trailtest.LogFile(recs...)
	srv.Put("b", truncated, whole[:len(whole)/2])
	srv.Deny("b", "AWSLogs/222222222222/")

	a := &Archive{Client: client(t, srv), Filter: trailfile.Filter{Regions: []string{"eu-west-1"}}}
	r := runReplay(t, a, Location{"b", "AWSLogs/"})
	if got := strings.Join(r.ids, " "); got != "1-0 1-2 t-a t-b" {
		t.Errorf("got findings %q, want 1-0 1-2 t-a t-b", got)
	}
	if len(r.errs) != 3 {
		t.Fatalf("got errors %q, want 3", r.errs)
	}
	for i, want := range []string{
		"s3://b/" + broken + ": get object: ", // then the SDK's words
		"s3://b/" + truncated + ": record ",
		"s3://b/AWSLogs/222222222222/: list objects: ",
	} {
		if !strings.HasPrefix(r.errs[i], want) {
			t.Errorf("got error %q, want it to start %q", r.errs[i], want)
		}
	}
	for i, want := range []string{"StatusCode: 500", "unexpected EOF", "AccessDenied"} {
		if !strings.Contains(r.errs[i], want) {
			t.Errorf("got error %q, want it to say %q", r.errs[i], want)
		}
	}
	if r.st.Errors.Load() != 3 {
		t.Errorf("got %d errors counted, want 3", r.st.Errors.Load())
	}
	// The standard retryer tries 3 times; the flaky object twice.
	var brokenGets, flakyGets int
	for _, g := range srv.Gets() {
		switch g {
		case "b/" + broken:
			brokenGets++
		case "b/" + flaky:
			flakyGets++
		}
	}
	if brokenGets != 3 || flakyGets != 2 {
		t.Errorf("got %d GETs of the broken object and %d of the flaky one, want 3 and 2", brokenGets, flakyGets)
	}
}

// A server that answers Delimiter listings without their common prefixes
// (s3rver 3.7) gets the filtered prefix listed whole, the filter applied to
// each key: the same findings, more listing.
func TestInputsWithoutCommonPrefixes(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	srv.NoCommonPrefixes = true
	for d := 1; d <= 3; d++ {
		at := time.Date(2026, 11, d, 10, 0, 0, 0, time.UTC)
		for _, reg := range []string{"eu-west-1", "us-east-1"} {
			srv.Put("b", trailtest.Key("111122223333", reg, at, 0), trailtest.LogFile(trailtest.GrantRecord(fmt.Sprintf("%s-%d", reg, d), at)))
		}
	}
	a := &Archive{Client: client(t, srv), Filter: trailfile.Filter{
		Since: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Regions: []string{"us-east-1"}}}
	r := runReplay(t, a, Location{"b", "AWSLogs/"})
	if got := strings.Join(r.ids, " "); got != "us-east-1-2 us-east-1-3" {
		t.Errorf("got findings %q, want us-east-1-2 us-east-1-3", got)
	}
	lists := srv.Lists()
	if len(lists) != 2 || lists[0].Delimiter != "/" || lists[1].Delimiter != "" || lists[1].Prefix != "AWSLogs/" {
		t.Errorf("got listings %+v, want AWSLogs/ with a delimiter, then without", lists)
	}
	if n := len(srv.Gets()); n != 2 {
		t.Errorf("got %d GETs, want 2", n)
	}
}
