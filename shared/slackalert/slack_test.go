package slackalert

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/eksguard/eksguard/internal/testsupport/findingtest"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
)

// blockTypes lists the block types of a message.
func blockTypes(m *slack.WebhookMessage) []string {
	var out []string
	for _, b := range m.Blocks.BlockSet {
		out = append(out, string(b.BlockType()))
	}
	return out
}

// sectionTexts maps each section's first line ("*Who*") to its text.
func sectionTexts(m *slack.WebhookMessage) map[string]string {
	out := map[string]string{}
	for _, b := range m.Blocks.BlockSet {
		if s, ok := b.(*slack.SectionBlock); ok && s.Text != nil {
			first, _, _ := strings.Cut(s.Text.Text, "\n")
			out[first] = s.Text.Text
		}
	}
	return out
}

// checkLimits fails when any text of the message breaks a Slack limit.
func checkLimits(t *testing.T, m *slack.WebhookMessage) {
	t.Helper()
	if n := len(m.Blocks.BlockSet); n > maxBlocks {
		t.Errorf("%d blocks, over %d", n, maxBlocks)
	}
	check := func(what string, o *slack.TextBlockObject, limit int) {
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", what, err)
		}
		if n := utf8.RuneCountInString(o.Text); n > limit {
			t.Errorf("%s is %d characters, over %d", what, n, limit)
		}
	}
	for i, b := range m.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			check(fmt.Sprintf("block %d header", i), b.Text, maxHeader)
		case *slack.SectionBlock:
			check(fmt.Sprintf("block %d text", i), b.Text, maxSectionText)
			if len(b.Fields) > maxFields {
				t.Errorf("block %d has %d fields", i, len(b.Fields))
			}
			for j, f := range b.Fields {
				check(fmt.Sprintf("block %d field %d", i, j), f, maxFieldText)
			}
		case *slack.ContextBlock:
			for j, e := range b.ContextElements.Elements {
				if o, ok := e.(*slack.TextBlockObject); ok {
					check(fmt.Sprintf("block %d context %d", i, j), o, maxContextText)
				}
			}
		}
	}
}

func TestSlackMessageAnswersTheOnCallQuestions(t *testing.T) {
	f := findingtest.AdminFinding()
	m := SlackMessage(f, nil)
	checkLimits(t, m)
	if got := strings.Join(blockTypes(m), " "); got != "header section section section section section section context" {
		t.Errorf("blocks = %s", got)
	}
	if want := "[CRITICAL] Cluster-admin access granted to a non-admin principal on payments-prod (111122223333 eu-west-1): FIX FAILED"; m.Text != want {
		t.Errorf("text = %q\nwant %q", m.Text, want)
	}
	h := m.Blocks.BlockSet[0].(*slack.HeaderBlock)
	if h.Text.Text != ":rotating_light: CRITICAL · Cluster-admin access granted to a non-admin principal" || h.Text.Type != slack.PlainTextType {
		t.Errorf("header = %+v", h.Text)
	}
	facts := m.Blocks.BlockSet[1].(*slack.SectionBlock)
	var fields []string
	for _, fl := range facts.Fields {
		fields = append(fields, fl.Text)
	}
	wantFields := []string{"*Cluster*\n`payments-prod`", "*Account*\n`111122223333`", "*Region*\n`eu-west-1`",
		"*Outcome*\nFIX FAILED", "*Principal affected*\n`arn:aws:iam::111122223333:role/ci-runner`",
		"*Event*\nAssociateAccessPolicy at 2025-03-14T03:05:40Z"}
	if fmt.Sprint(fields) != fmt.Sprint(wantFields) {
		t.Errorf("fields = %q\nwant %q", fields, wantFields)
	}
	s := sectionTexts(m)
	who := s["*Who*"]
	for _, want := range []string{"`arn:aws:sts::111122223333:assumed-role/dev-team/alice`", "IP `198.51.100.7`", "AWS console", "MFA yes"} {
		if !strings.Contains(who, want) {
			t.Errorf("who lacks %q:\n%s", want, who)
		}
	}
	if s["*What changed*"] != "*What changed*\n*After:* AmazonEKSClusterAdminPolicy at cluster scope" {
		t.Errorf("what changed = %q", s["*What changed*"])
	}
	did := s["*What eksguard did*"]
	for _, want := range []string{":x: *Fix FAILED*", "(3 attempts)", "`AccessDeniedException`", "The change is still in place", "not authorized to perform", "*Next:* Undo the change by hand"} {
		if !strings.Contains(did, want) {
			t.Errorf("what eksguard did lacks %q:\n%s", want, did)
		}
	}
	if want := "*Undo by hand*\n```" + f.Plan.CLI("eu-west-1") + "```"; s["*Undo by hand*"] != want {
		t.Errorf("undo = %q\nwant %q", s["*Undo by hand*"], want)
	}
	links := s[":link: <https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/9f0e2d41-8c3b-4e6a-b1d2-77aa55cc3e10|CloudTrail event>  ·  <https://eu-west-1.console.aws.amazon.com/eks/clusters/payments-prod?region=eu-west-1&amp;selectedTab=cluster-access-tab|Cluster access>  ·  <https://console.aws.amazon.com/iam/home#/roles/details/ci-runner|IAM role>"]
	if links == "" {
		t.Errorf("links section missing or wrong: %q", s)
	}
}

func TestSlackMessageForIAMFindingsNamesTheRole(t *testing.T) {
	m := SlackMessage(findingtest.IamFinding(), nil)
	checkLimits(t, m)
	facts := m.Blocks.BlockSet[1].(*slack.SectionBlock)
	if facts.Fields[0].Text != "*Resource*\n`payments-node-role`" {
		t.Errorf("first field = %q", facts.Fields[0].Text)
	}
	s := sectionTexts(m)
	if !strings.Contains(s["*What eksguard did*"], ":octagonal_sign: *Kill switch on*") ||
		!strings.Contains(s["*What eksguard did*"], "re-attach AmazonEKSWorkerNodePolicy to role payments-node-role") {
		t.Errorf("did = %q", s["*What eksguard did*"])
	}
	if s["*Undo by hand*"] != "*Undo by hand*\n```aws iam attach-role-policy --role-name payments-node-role --policy-arn arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy```" {
		t.Errorf("undo = %q", s["*Undo by hand*"])
	}
	var links string
	for k := range s {
		if strings.HasPrefix(k, ":link:") {
			links = k
		}
	}
	if links != ":link: <https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/c0ffee00-1111-2222-3333-444455556666|CloudTrail event>  ·  <https://console.aws.amazon.com/iam/home#/roles/details/payments-node-role|IAM role>" {
		t.Errorf("links = %q", links)
	}
}

func TestEveryOutcomeIsSpelledOut(t *testing.T) {
	cases := []struct {
		outcome   *finding.Outcome
		mode      finding.Mode
		short     string
		did, next string
		undoLabel string // "" = no command block
	}{
		{nil, finding.ModeNotify, "not fixed (notify mode)", "*Notify mode*: nothing was changed. In remediate mode eksguard would re-enable audit, authenticator logging on payments-prod.", "undo it by hand", "*Undo by hand*"},
		{&finding.Outcome{Status: finding.StatusRemediated, Attempts: 2}, finding.ModeRemediate, "reverted by eksguard", "*Reverted*: eksguard re-enabled audit, authenticator logging on payments-prod. (after 2 attempts)", "or eksguard will revert it again", "*What eksguard ran, as a CLI command*"},
		{&finding.Outcome{Status: finding.StatusAlreadyCompliant}, finding.ModeRemediate, "already compliant, nothing to do", "*Already compliant*", "Nothing to do now", "*The fix, had it been needed*"},
		{&finding.Outcome{Status: finding.StatusDeferred, Message: "cluster update 1234 in progress"}, finding.ModeRemediate, "fix deferred until the cluster update ends", "*Deferred*: the cluster is busy with another update; eksguard will re-enable audit, authenticator logging on payments-prod when it ends.\n> cluster update 1234 in progress", "a follow-up alert reports the fix", "*Undo by hand*"},
		{&finding.Outcome{Status: finding.StatusSuppressed, Message: "circuit breaker: 3 fixes on this resource in the last hour"}, finding.ModeRemediate, "NOT fixed: eksguard stopped acting", "*Not fixed*: eksguard stopped acting on this resource", "Find out who keeps making this change", "*Undo by hand*"},
		{&finding.Outcome{Status: finding.StatusFailed, ErrorCode: "ResourceInUseException", Message: "busy"}, finding.ModeRemediate, "FIX FAILED", "*Fix FAILED*: eksguard tried to re-enable audit, authenticator logging on payments-prod and got `ResourceInUseException`", "fix eksguard's error (`ResourceInUseException`)", "*Undo by hand*"},
		{&finding.Outcome{Status: finding.StatusSkippedMode}, finding.ModeNotify, "not fixed (notify mode)", "*Notify mode*: nothing was changed. In remediate mode eksguard would re-enable", "undo it by hand", "*Undo by hand*"},
		{&finding.Outcome{Status: finding.StatusSkippedKill}, finding.ModeRemediate, "not fixed (kill switch on)", "*Kill switch on*: remediation is switched off", "undo it by hand", "*Undo by hand*"},
		{&finding.Outcome{Status: finding.StatusNoPlan}, finding.ModeRemediate, "no automatic fix", "*No automatic fix* for this change", "undo it by hand", "*Undo by hand*"},
	}
	for _, c := range cases {
		f := findingtest.LoggingFinding()
		f.Outcome, f.Mode = c.outcome, c.mode
		name := notify.OutcomeLabel(f)
		if notify.OutcomeShort(f) != c.short {
			t.Errorf("%s: short = %q, want %q", name, notify.OutcomeShort(f), c.short)
		}
		m := SlackMessage(f, nil)
		checkLimits(t, m)
		s := sectionTexts(m)
		if did := s["*What eksguard did*"]; !strings.Contains(did, c.did) || !strings.Contains(did, c.next) {
			t.Errorf("%s: what eksguard did = %q\nwant %q and %q", name, did, c.did, c.next)
		}
		if _, ok := s[c.undoLabel]; !ok {
			t.Errorf("%s: no %s block in %q", name, c.undoLabel, blockTypes(m))
		}
		if !strings.HasSuffix(m.Text, ": "+c.short) {
			t.Errorf("%s: text = %q", name, m.Text)
		}
	}
}

func TestNotifyOnlyFindingWithoutPlanPointsAtTheRuleFix(t *testing.T) {
	m := SlackMessage(findingtest.NotifyOnlyFinding(), nil)
	s := sectionTexts(m)
	did := s["*What eksguard did*"]
	if !strings.Contains(did, "*Notified only*: this change has no automatic fix.") ||
		!strings.Contains(did, "Confirm the change was planned") {
		t.Errorf("did = %q", did)
	}
	for k := range s {
		if strings.Contains(k, "Undo") {
			t.Errorf("a finding without a plan has an undo block")
		}
	}
}

func TestAttackerControlledTextCannotPingOrLink(t *testing.T) {
	f := findingtest.LoggingFinding()
	f.Actor.UserAgent = "<!channel> <https://evil.example/login|Reset your password> `` & more"
	f.Summary = "logging off <@U123> on cluster <!here>"
	f.Outcome = &finding.Outcome{Status: finding.StatusFailed, ErrorCode: "<!everyone>", Message: "<https://evil.example|x>"}
	m := SlackMessage(f, nil)
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	_ = json.Unmarshal(raw, &decoded)
	text := fmt.Sprint(decoded)
	for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<@U123>", "<https://evil.example"} {
		if strings.Contains(text, bad) {
			t.Errorf("message contains live markup %q", bad)
		}
	}
	if !strings.Contains(text, "&lt;!channel&gt;") {
		t.Errorf("user agent not shown escaped:\n%s", text)
	}
}

func TestOversizedFindingStaysWithinSlackLimits(t *testing.T) {
	f := findingtest.AdminFinding()
	f.Summary = strings.Repeat("summary ", 1000)
	f.Before = strings.Repeat("b", 5000)
	f.After = strings.Repeat("<a|b> ", 1000)
	f.Outcome.Message = strings.Repeat("m", 10_000)
	f.Plan.PrincipalARN = "arn:aws:iam::111122223333:role/" + strings.Repeat("p", 4000)
	f.Title = strings.Repeat("t", 300)
	f.Actor.UserAgent = strings.Repeat("u", 5000)
	m := SlackMessage(f, &Fold{Count: 5, Folded: 4, Since: time.Unix(0, 0), Window: 15 * time.Minute})
	checkLimits(t, m)
	undo := sectionTexts(m)["*Undo by hand*"]
	if strings.Contains(undo, "```") || strings.Contains(undo, "aws eks disassociate-access-policy --") ||
		!strings.Contains(undo, fmt.Sprintf("The command is %d characters", utf8.RuneCountInString(f.Plan.CLI(f.Region)))) ||
		!strings.Contains(undo, "not shown cut") || !strings.Contains(undo, "SNS message of event `"+f.EventID+"`") {
		t.Errorf("undo section = %q, want no cut command, and where the full one is", undo)
	}
	if utf8.RuneCountInString(m.Text) > notify.MaxHeadline {
		t.Errorf("text is %d characters", utf8.RuneCountInString(m.Text))
	}
}

// The undo command is shown whole whenever it fits, however long the
// principal, and never cut into something that cannot be run.
func TestUndoCommandIsWholeOrNotShown(t *testing.T) {
	for _, n := range []int{100, 1000, 2700, 2900, 5000} {
		f := findingtest.AdminFinding()
		f.Plan.PrincipalARN = "arn:aws:iam::111122223333:role/" + strings.Repeat("p", n)
		cmd := f.Plan.CLI(f.Region)
		undo := sectionTexts(SlackMessage(f, nil))["*Undo by hand*"]
		whole := "*Undo by hand*\n```" + cmd + "```"
		switch fits := utf8.RuneCountInString(whole) <= maxSectionText; {
		case fits && undo != whole:
			t.Errorf("principal of %d: undo = %q, want the whole command", n, undo)
		case !fits && (strings.Contains(undo, "```") || !strings.Contains(undo, "not shown cut")):
			t.Errorf("principal of %d: undo = %q, want a note instead of a cut command", n, undo)
		}
		// SNS carries the full command (chatbot nextSteps) and the plan (json).
		c, err := notify.BuildChatbot(f)
		if err != nil {
			t.Fatal(err)
		}
		if c.Content.NextSteps[1] != "Undo by hand: `"+cmd+"`" {
			t.Errorf("principal of %d: chatbot next step = %.80q..., want the whole command", n, c.Content.NextSteps[1])
		}
	}
}

func TestTruncateMrkdwn(t *testing.T) {
	cases := []struct{ in, want string }{
		{"short", "short"},
		{"abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz"},
		{"abcdefghijklmnopqrstuvwxyz!", "abcdefghijklmnopqrst…"},
		{"see <https://example.com/a/very/long/path|link>", "see …"},
		{"run `aws eks something-long --with args`", "run `aws eks somethi…`"},
		{"```aws eks something-long --with args```", "```aws eks something…\n```"},
		{"a &lt;b&gt; &amp; c &amp; d &amp; e", "a &lt;b&gt; &amp; c …"},
		{"abcdefghijklmnopq &amp; more text", "abcdefghijklmnopq …"}, // never half an entity
	}
	for _, c := range cases {
		if got := notify.CutMrkdwn(c.in, 26); got != c.want {
			t.Errorf("notify.CutMrkdwn(%q) = %q, want %q", c.in, got, c.want)
		}
		if n := utf8.RuneCountInString(notify.CutMrkdwn(c.in, 26)); n > 26 {
			t.Errorf("notify.CutMrkdwn(%q) has %d runes", c.in, n)
		}
	}
}

func TestCapBlocks(t *testing.T) {
	var blocks []slack.Block
	for range 60 {
		blocks = append(blocks, section("x"))
	}
	got := capBlocks(blocks)
	if len(got) != maxBlocks {
		t.Fatalf("%d blocks", len(got))
	}
	last, ok := got[maxBlocks-1].(*slack.ContextBlock)
	if !ok || last.ContextElements.Elements[0].(*slack.TextBlockObject).Text != "… 11 more blocks left out (Slack allows 50)." {
		t.Errorf("last block = %#v", got[maxBlocks-1])
	}
	if len(capBlocks(blocks[:50])) != 50 {
		t.Error("50 blocks were cut")
	}
}

func TestFoldIsShownAsContext(t *testing.T) {
	since := time.Date(2025, 3, 14, 3, 1, 0, 0, time.UTC)
	cases := []struct {
		fold Fold
		want string
	}{
		{Fold{Count: 1, Since: since, Window: 15 * time.Minute}, ""},
		{Fold{Count: 10, Folded: 9, Since: since, Window: 15 * time.Minute},
			":repeat: Seen *10 times* on this resource since 2025-03-14 03:01 UTC; 9 not posted separately (15m window)."},
		{Fold{Count: 3, Folded: 1, Since: since, Window: time.Hour, Changed: true},
			":arrows_counterclockwise: What eksguard did changed since the last alert for this resource.\n" +
				":repeat: Seen *3 times* on this resource since 2025-03-14 03:01 UTC; 1 not posted separately (1h window)."},
		{Fold{Count: 1, Since: since, Window: 15 * time.Minute, PreviousStart: since.Add(-time.Hour), PreviousEnd: since.Add(-45 * time.Minute), PreviousFolded: 4},
			":repeat: The previous window (2025-03-14 02:01 UTC to 2025-03-14 02:16 UTC) had 4 more not posted separately."},
	}
	for _, c := range cases {
		m := SlackMessage(findingtest.LoggingFinding(), &c.fold)
		var got string
		for _, b := range m.Blocks.BlockSet {
			if cb, ok := b.(*slack.ContextBlock); ok {
				if t := cb.ContextElements.Elements[0].(*slack.TextBlockObject).Text; strings.HasPrefix(t, ":") {
					got = t
				}
			}
		}
		if got != c.want {
			t.Errorf("fold %+v: context = %q\nwant %q", c.fold, got, c.want)
		}
	}
}

func TestLinksByPartition(t *testing.T) {
	f := findingtest.AdminFinding()
	f.Region = "cn-north-1"
	got := notify.Links(f)
	if len(got) != 3 || got[0].URL != "https://cn-north-1.console.amazonaws.cn/cloudtrailv2/home?region=cn-north-1#/events/9f0e2d41-8c3b-4e6a-b1d2-77aa55cc3e10" ||
		got[2].URL != "https://console.amazonaws.cn/iam/home#/roles/details/ci-runner" {
		t.Errorf("links = %+v", got)
	}
	f.Cluster = "name with/slash"
	f.Region = "eu-west-1"
	if u := notify.Links(f)[1].URL; u != "https://eu-west-1.console.aws.amazon.com/eks/clusters/name%20with%2Fslash?region=eu-west-1&selectedTab=cluster-access-tab" {
		t.Errorf("cluster link = %s", u)
	}
}

func TestClient(t *testing.T) {
	for ua, want := range map[string]string{
		"aws-cli/2.15.30 Python/3.11.8": "AWS CLI",
		"APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0": "Terraform",
		"eksctl/0.175.0": "eksctl",
		"Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.10": "SDK",
		"aws-sdk-go-v2/1.25.0 os/linux lang/go#1.22":           "SDK",
		"curl/8.0": "other client",
		"":         "unknown client",
	} {
		if got := notify.Client(finding.Actor{UserAgent: ua}); got != want {
			t.Errorf("notify.Client(%q) = %q, want %q", ua, got, want)
		}
	}
	if got := notify.Client(finding.Actor{UserAgent: "aws-cli/2", Console: true}); got != "AWS console" {
		t.Errorf("console = %q", got)
	}
}
