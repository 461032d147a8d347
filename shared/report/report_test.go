package report

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/policy"
)

func hostileFinding(i int) *finding.Finding {
	return &finding.Finding{
		Rule: "cluster-admin-granted", Severity: finding.Critical, Title: "t",
		Summary:   `granted <b>admin</b> & more`,
		EventID:   fmt.Sprintf("ev-%d", i),
		EventName: "AssociateAccessPolicy",
		EventTime: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour).Format(time.RFC3339),
		Account:   "111122223333", Region: "eu-west-1",
		Cluster:   `<script>alert(1)</script>`,
		Principal: `arn:aws:iam::111122223333:role/x" onmouseover="alert(2)`,
		Actor: finding.Actor{
			ARN:       `arn:aws:iam::111122223333:user/o'neil"><img src=x onerror=alert(3)>`,
			UserAgent: `</style><script>alert(4)</script>`,
		},
		Mode: finding.ModeNotify,
		Plan: &finding.Plan{Action: finding.ActionDisassociateAccessPolicy, Cluster: `<script>alert(1)</script>`,
			PrincipalARN: `arn:aws:iam::111122223333:role/x" onmouseover="alert(2)`, PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"},
	}
}

// TestHostileStringsAreText: strings an attacker picks (cluster names,
// principals, user agents) appear as text, never as markup.
func TestHostileStringsAreText(t *testing.T) {
	b := New(policy.Default(), []string{`in<put>"dir`}, DefaultLimits)
	for i := range 3 {
		b.Add(hostileFinding(i))
	}
	b.AddError(fmt.Errorf(`bad.json: record 1: <script>alert(5)</script>`))
	var out bytes.Buffer
	if err := b.Write(&out, Counts{Files: 1, Records: 3, InScope: 3, Unreadable: 1}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	lower := strings.ToLower(page)
	if n := strings.Count(lower, "<script"); n != 0 {
		t.Errorf("page holds %d <script tags, want 0", n)
	}
	if n := strings.Count(lower, "</style"); n != 1 {
		t.Errorf("page holds %d </style, want 1 (its own style sheet's)", n)
	}
	if n := strings.Count(lower, "<img"); n != 0 {
		t.Errorf("page holds %d <img tags, want 0", n)
	}
	// Text and attribute values escape < and ", so each raw < opens one of
	// the template's tags, whose attributes are all double-quoted.
	attr := regexp.MustCompile(`^\s+([a-zA-Z0-9:-]+)(="[^"<>]*")?`)
	for _, tag := range regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>`).FindAllStringSubmatch(page, -1) {
		rest := strings.TrimSuffix(tag[2], "/")
		for rest != "" {
			m := attr.FindStringSubmatch(rest)
			if m == nil {
				t.Fatalf("tag <%s%s>: cannot read attributes at %q", tag[1], tag[2], rest)
			}
			if name := strings.ToLower(m[1]); strings.HasPrefix(name, "on") || name == "style" || name == "src" || name == "href" && !strings.HasPrefix(m[2], `="#`) {
				t.Errorf("tag <%s> has attribute %s%s", tag[1], m[1], m[2])
			}
			rest = rest[len(m[0]):]
		}
	}
	if strings.Contains(page, `" onmouseover="`) {
		t.Error("a quote in a principal closed an attribute")
	}
	if strings.Contains(page, "<b>admin</b>") {
		t.Error("markup in a summary reached the page")
	}
	text := html.UnescapeString(page)
	for _, s := range []string{`<script>alert(1)</script>`, `role/x" onmouseover="alert(2)`, `user/o'neil"><img src=x onerror=alert(3)>`, `</style><script>alert(4)</script>`, `alert(5)`, `in<put>"dir`} {
		if !strings.Contains(text, s) {
			t.Errorf("page does not show %q as text", s)
		}
	}
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
	if csp == nil {
		t.Fatal("no Content-Security-Policy meta tag")
	}
	if got := html.UnescapeString(csp[1]); got != CSP || !strings.HasPrefix(got, "default-src 'none';") || strings.Contains(got, "unsafe") {
		t.Errorf("CSP %q, want %q: default-src 'none', no unsafe-*", got, CSP)
	}
}

// TestListsAreCappedEarliestFirst: a rule lists its earliest findings in
// time order, and counts the rest, whatever order they arrive in.
func TestListsAreCappedEarliestFirst(t *testing.T) {
	b := New(policy.Default(), nil, Limits{PerRule: 3, Remediations: 2, Errors: 1, Top: 2})
	order := []int{7, 2, 9, 0, 5, 1, 8}
	for _, i := range order {
		f := hostileFinding(i)
		if i%2 == 1 {
			f.Plan = nil
		}
		b.Add(f)
	}
	ra := b.rules["cluster-admin-granted"]
	var got []string
	for _, r := range ra.list.sorted() {
		got = append(got, r.EventID)
	}
	if want := "ev-0 ev-1 ev-2"; strings.Join(got, " ") != want {
		t.Errorf("listed %v, want %s", got, want)
	}
	if ra.list.n != int64(len(order)) || ra.n != int64(len(order)) {
		t.Errorf("counted %d (list %d), want %d", ra.n, ra.list.n, len(order))
	}
	got = nil
	for _, r := range b.remedy.sorted() {
		got = append(got, r.EventID)
	}
	if want := "ev-0 ev-2"; strings.Join(got, " ") != want {
		t.Errorf("remediations %v, want %s", got, want)
	}
	if b.remedy.n != 3 { // ev-2, ev-0, ev-8 have a plan
		t.Errorf("remediations counted %d, want 3", b.remedy.n)
	}
	b.AddError(fmt.Errorf("one"))
	b.AddError(fmt.Errorf("two"))
	if len(b.errs) != 1 || b.nerrs != 2 {
		t.Errorf("errors kept %d of %d, want 1 of 2", len(b.errs), b.nerrs)
	}
}

// TestTimelineBuckets: the bucket grows with the range so the chart keeps
// at most maxBuckets bars, and every finding lands in one.
func TestTimelineBuckets(t *testing.T) {
	for _, tc := range []struct {
		span time.Duration
		want string
	}{
		{30 * time.Hour, "hour"},
		{10 * 24 * time.Hour, "3-hour"},
		{80 * 24 * time.Hour, "day"},
		{92 * 24 * time.Hour, "day"}, // a quarter
		{150 * 24 * time.Hour, "week"},
		{3 * 365 * 24 * time.Hour, "30-day"},
	} {
		b := New(policy.Default(), nil, DefaultLimits)
		start := time.Date(2025, 1, 1, 0, 30, 0, 0, time.UTC)
		for _, at := range []time.Time{start, start.Add(tc.span / 2), start.Add(tc.span)} {
			f := hostileFinding(0)
			f.EventTime = at.Format(time.RFC3339)
			b.Add(f)
		}
		tl := b.timeline()
		if tl.Bucket != tc.want {
			t.Errorf("span %v: bucket %s, want %s", tc.span, tl.Bucket, tc.want)
		}
		var n int64
		buckets := map[float64]bool{}
		for _, bar := range tl.Bars {
			n += bar.N
			buckets[bar.X] = true
		}
		if n != 3 || len(buckets) != 3 {
			t.Errorf("span %v: %d findings in %d bars, want 3 in 3", tc.span, n, len(buckets))
		}
		if tl.Buckets > maxBuckets {
			t.Errorf("span %v: %d buckets, want at most %d", tc.span, tl.Buckets, maxBuckets)
		}
	}
}

// TestPrefilterKeepsEveryMatch: the quick filter never drops a principal
// the exact matchers match.
func TestPrefilterKeepsEveryMatch(t *testing.T) {
	ids := []string{
		"arn:aws:iam::111122223333:role/dev-team",
		"arn:aws:iam::111122223333:role/teams/dev-team",
		"arn:aws:sts::111122223333:assumed-role/dev-team/alex@example.com",
		"arn:aws:iam::111122223333:user/dev-team",
		"arn:aws-cn:iam::111122223333:role/dev-team",
		"dev-team",
		"arn:aws:iam::444455556666:role/ops",
		"arn:aws:iam::111122223333:role/*",
	}
	pol := policy.Default()
	var matched int
	for _, entry := range ids {
		may := prefilter(entry)
		allow := *pol
		allow.Rules = map[string]policy.RuleConfig{"r": {Allow: []string{entry}}}
		for _, p := range ids {
			exact := identity.Matches([]string{entry}, p) || allow.Allowed("r", p)
			if exact {
				matched++
			}
			if exact && !may(p) {
				t.Errorf("entry %s matches %s, but the prefilter drops it", entry, p)
			}
		}
	}
	if matched < len(ids)+4 {
		t.Errorf("only %d matching pairs: the cases test little", matched)
	}
}
