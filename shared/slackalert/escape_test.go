package slackalert

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/eksguard/eksguard/internal/testsupport/findingtest"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
)

// consoleLink is the one markup eksguard writes itself: a link to an AWS
// console page, its URL escaped.
var consoleLink = regexp.MustCompile(`<https://([a-z0-9-]+\.)?console\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com)/(?:[^<>|\s&]|&amp;)*\|[A-Za-z ]+>`)

// quoteMark is a mrkdwn block quote eksguard opens (before an error message).
var quoteMark = regexp.MustCompile(`(^|\n)> `)

// unescaped returns what in s Slack would read as markup (a link, a
// mention, an entity) that eksguard did not write itself, or "".
func unescaped(s string) string {
	rest := quoteMark.ReplaceAllString(consoleLink.ReplaceAllString(s, ""), "$1")
	if i := strings.IndexAny(rest, "<>"); i >= 0 {
		return rest[max(i-20, 0):min(i+30, len(rest))]
	}
	for i := strings.IndexByte(rest, '&'); i >= 0; {
		tail := rest[i:]
		if !strings.HasPrefix(tail, "&amp;") && !strings.HasPrefix(tail, "&lt;") && !strings.HasPrefix(tail, "&gt;") {
			return rest[max(i-20, 0):min(i+30, len(rest))]
		}
		j := strings.IndexByte(tail[1:], '&')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return ""
}

// walkStrings calls fn with the path and value of every string in a JSON document.
func walkStrings(path string, v any, fn func(path, s string)) {
	switch v := v.(type) {
	case string:
		fn(path, v)
	case []any:
		for i, e := range v {
			walkStrings(fmt.Sprintf("%s[%d]", path, i), e, fn)
		}
	case map[string]any:
		for k, e := range v {
			walkStrings(path+"."+k, e, fn)
		}
	}
}

func TestUnescaped(t *testing.T) {
	for s, bad := range map[string]bool{
		"plain": false, "a &amp; b &lt;c&gt;": false, "*x*\n> quoted": false,
		"<https://eu-west-1.console.aws.amazon.com/eks/clusters/a?region=eu-west-1&amp;x=y|Cluster access>": false,
		"<!channel>": true, "a & b": true, "&lt;http://x|y>": true, "<http://evil.example|click>": true,
		"<https://eu-west-1.console.aws.amazon.com/x?a=1&b=2|Cluster access>": true, "a > b": true, "&quot;": true,
	} {
		if got := unescaped(s) != ""; got != bad {
			t.Errorf("unescaped(%q) = %q, want flagged %v", s, unescaped(s), bad)
		}
	}
}

// TestGoldenSlackPayloadsAreEscaped walks every string of every golden
// Slack payload (the fallback text, every block, field and context) for a
// <, > or & that eksguard did not write as markup itself.
func TestGoldenSlackPayloadsAreEscaped(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.slack.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden Slack payloads in %s: %v", goldenDir, err)
	}
	docs := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, body := range previewBodies(string(raw)) {
			if body == "" || strings.HasPrefix(body, "not posted:") {
				continue
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(body), &doc); err != nil {
				t.Errorf("%s, payload %d: not JSON: %v", file, i+1, err)
				continue
			}
			docs++
			strs := 0
			walkStrings("", doc, func(path, s string) {
				strs++
				if bad := unescaped(s); bad != "" {
					t.Errorf("%s, payload %d, %s: unescaped markup in %q", filepath.Base(file), i+1, path, bad)
				}
			})
			if text, _ := doc["text"].(string); text == "" || strs < 5 {
				t.Errorf("%s, payload %d: fallback text %q, %d strings: not a Slack message", file, i+1, text, strs)
			}
		}
	}
	t.Logf("%d files, %d Slack payloads walked", len(files), docs)
}

// previewBodies splits a preview into what follows each "--- " line.
func previewBodies(preview string) []string {
	var out []string
	for _, part := range strings.Split("\n"+preview, "\n--- ")[1:] {
		_, body, _ := strings.Cut(part, "\n")
		out = append(out, strings.TrimSpace(body))
	}
	return out
}

// TestGoldenSNSSubjectsFitSNS checks every golden SNS subject: one line
// of printable ASCII, under 100 characters, without Slack markup.
func TestGoldenSNSSubjectsFitSNS(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.sns.txt"))
	n := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\n") {
			subject, ok := strings.CutPrefix(line, "Subject: ")
			if !ok {
				continue
			}
			n++
			if len(subject) >= 100 || len(subject) == 0 {
				t.Errorf("%s: subject of %d characters: %q", filepath.Base(file), len(subject), subject)
			}
			for _, r := range subject {
				if r < 0x20 || r > 0x7e || strings.ContainsRune("<>&", r) {
					t.Errorf("%s: subject has %q: %q", filepath.Base(file), r, subject)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no subjects in the golden SNS files")
	}
}

// TestChatbotFieldsAreEscapedAndBounded renders every sample's findings in
// the chatbot format and checks each field Chatbot shows.
func TestChatbotFieldsAreEscapedAndBounded(t *testing.T) {
	n := 0
	for _, rel := range sampleEvents(t) {
		for _, f := range assess(t, samplePath(rel)) {
			c, err := notify.BuildChatbot(&f)
			if err != nil {
				t.Fatal(err)
			}
			n++
			check := func(what, s string, limit int, multiline bool) {
				if bad := unescaped(s); bad != "" {
					t.Errorf("%s %s: %s has unescaped markup %q", rel, f.Rule, what, bad)
				}
				if utf8.RuneCountInString(s) > limit {
					t.Errorf("%s %s: %s is %d characters, over %d", rel, f.Rule, what, utf8.RuneCountInString(s), limit)
				}
				if !multiline && strings.ContainsAny(s, "\r\n\t") {
					t.Errorf("%s %s: %s is not one line: %q", rel, f.Rule, what, s)
				}
			}
			check("title", c.Content.Title, notify.MaxChatbotTitle, false)
			check("description", c.Content.Description, notify.MaxChatbotDescription, true)
			for i, s := range c.Content.NextSteps {
				check(fmt.Sprintf("nextSteps[%d]", i), s, maxSectionText, false)
			}
			for i, s := range c.Content.Keywords {
				check(fmt.Sprintf("keywords[%d]", i), s, notify.MaxChatbotKeyword, false)
			}
			check("metadata.summary", c.Metadata.Summary, 100, false)
			for i, s := range c.Metadata.RelatedResources {
				check(fmt.Sprintf("relatedResources[%d]", i), s, notify.MaxChatbotField, false)
			}
		}
	}
	if n == 0 {
		t.Fatal("no findings rendered")
	}
}

// The cluster name of issue 17: a denied call needs no permission, so any
// caller of the EKS API chooses it. Through the notifier, nothing of it
// can ping the channel, mention anyone or link anywhere.
func TestHostileClusterNameCannotPingOrLink(t *testing.T) {
	const name = "prod<!channel>*bold*<http://evil.example|click>&<@U0LBBEVIL><!here>"
	fs := assess(t, filepath.Join(hostileDir, "access", "associate-access-policy-denied-hostile-cluster-name.json"))
	if len(fs) != 1 || fs[0].Cluster != name {
		t.Fatalf("findings = %+v, want one on cluster %q", fs, name)
	}
	for _, format := range []string{notify.FormatJSON, notify.FormatChatbot} {
		t.Run(format, func(t *testing.T) {
			r := newRig(t, policy.Default())
			f := fs[0]
			if err := r.deliver(t, &f, "m1", format); err != nil {
				t.Fatal(err)
			}
			posts := r.hook.received()
			if len(posts) != 1 {
				t.Fatalf("%d posts, want 1", len(posts))
			}
			walkStrings("", posts[0], func(path, s string) {
				if bad := unescaped(s); bad != "" {
					t.Errorf("posted %s has unescaped markup %q", path, bad)
				}
			})
			body := allText(posts[0])
			for _, live := range []string{"<!channel>", "<!here>", "<@U0LBBEVIL>", "<http://evil.example", "<!everyone>", "<https://evil.example"} {
				if strings.Contains(body, live) {
					t.Errorf("the post contains %s", live)
				}
			}
			want := "[MEDIUM] Denied attempt to change cluster access on prod&lt;!channel&gt;*bold*&lt;http://evil.example|click&gt;&amp;&lt;@U0LBBEVIL&gt;&lt;!here&gt; (111122223333 eu-west-1): notified only"
			if got := posts[0]["text"]; got != want {
				t.Errorf("text = %q\nwant %q", got, want)
			}
			m, _ := notify.BuildSNS(&f, format)
			if m.Subject != "[MEDIUM] access-change-denied: prod?!channel?*bold*?http://evil.example|click???@U0LBBEVIL??!her..." {
				t.Errorf("SNS subject = %q", m.Subject)
			}
		})
	}
}

// Control characters, line breaks and bidirectional overrides in event
// values stay out of the SNS subject, and out of Slack's one-line fields.
func TestControlCharactersStayOutOfSubjectAndHeadline(t *testing.T) {
	f := findingtest.LoggingFinding()
	f.Cluster = "prod\r\nBcc: victim@example.com\x00\x1b[31m\u202egnp.exe\t"
	s := notify.Subject(f)
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			t.Errorf("subject has %q: %q", r, s)
		}
	}
	if !strings.HasPrefix(s, "[HIGH] control-plane-logging-disabled: prod Bcc: victim@example.com??[31m?gnp.exe") {
		t.Errorf("subject = %q", s)
	}
	if h := notify.Headline(f); strings.ContainsAny(h, "\r\n\t") {
		t.Errorf("headline is not one line: %q", h)
	}
}
