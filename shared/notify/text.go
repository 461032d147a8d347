// Package notify turns findings into alerts an on-call engineer can act on
// from a phone: the words of an alert (shared by every channel, escaped for
// Slack's mrkdwn) and the SNS publication every family function makes
// (subject, filterable attributes, JSON or AWS Chatbot body). It links no
// Slack client: the Slack message and the notifier Lambda that posts it are
// in shared/slackalert.
package notify

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/rules"
)

// Resource names what a finding is about in a few characters: the cluster,
// else the role or principal name.
func Resource(f *finding.Finding) string {
	switch {
	case f.Cluster != "":
		return f.Cluster
	case f.Resource != "":
		return f.Resource
	case f.Plan != nil && f.Plan.RoleName != "":
		return f.Plan.RoleName
	case f.Principal != "":
		return identity.Name(f.Principal)
	}
	return "-"
}

// Subject is the SNS subject: "[HIGH] rule: resource (account region)".
// SNS wants it under 100 characters, on one line, without control
// characters (and its e-mail subscribers read it as a mail header): it is
// printable ASCII only, every other character, and the Slack control
// characters <, > and &, shown as '?'.
func Subject(f *finding.Finding) string {
	where := strings.TrimSpace(f.AccountLabel() + " " + f.Region)
	s := fmt.Sprintf("[%s] %s: %s", strings.ToUpper(f.Severity.String()), f.Rule, Resource(f))
	if where != "" {
		s += " (" + where + ")"
	}
	return truncate(asciiLine(s), 99)
}

// MaxHeadline is the most runes of a Headline: Slack allows more in a
// message's text, phones show far less.
const MaxHeadline = 3000

// Headline is the one-line notification text a phone shows (Slack's
// top-level text): mrkdwn-escaped, like every string eksguard sends to
// Slack, since the resource name comes from the event.
func Headline(f *finding.Finding) string {
	s := fmt.Sprintf("[%s] %s on %s", strings.ToUpper(f.Severity.String()), TitleOf(f), Resource(f))
	if where := strings.TrimSpace(f.AccountLabel() + " " + f.Region); where != "" {
		s += " (" + where + ")"
	}
	return EscapeCut(OneLine(s+": "+OutcomeShort(f)), MaxHeadline)
}

// TitleOf is the rule's title, or its ID.
func TitleOf(f *finding.Finding) string {
	if f.Title != "" {
		return f.Title
	}
	return f.Rule
}

// SeverityEmoji is the Slack emoji shortcode for a severity.
func SeverityEmoji(s finding.Severity) string {
	switch s {
	case finding.Critical:
		return ":rotating_light:"
	case finding.High:
		return ":red_circle:"
	case finding.Medium:
		return ":large_orange_circle:"
	case finding.Low:
		return ":large_yellow_circle:"
	}
	return ":information_source:"
}

// OutcomeLabel is the value of the outcome message attribute: the status,
// or "none" when eksguard only notified.
func OutcomeLabel(f *finding.Finding) string {
	if f.Outcome == nil || f.Outcome.Status == "" {
		return "none"
	}
	return string(f.Outcome.Status)
}

// OutcomeShort says in a few words what eksguard did.
func OutcomeShort(f *finding.Finding) string {
	o := f.Outcome
	if o == nil {
		if f.Plan != nil && f.Mode == finding.ModeNotify {
			return "not fixed (notify mode)"
		}
		return "notified only"
	}
	switch o.Status {
	case finding.StatusRemediated:
		return "reverted by eksguard"
	case finding.StatusAlreadyCompliant:
		return "already compliant, nothing to do"
	case finding.StatusDeferred:
		return "fix deferred until the cluster update ends"
	case finding.StatusSuppressed:
		return "NOT fixed: eksguard stopped acting"
	case finding.StatusFailed:
		return "FIX FAILED"
	case finding.StatusNeedsReview:
		return "NOT fixed: needs a person"
	case finding.StatusSkippedMode:
		return "not fixed (notify mode)"
	case finding.StatusSkippedKill:
		return "not fixed (kill switch on)"
	case finding.StatusNoPlan:
		return "no automatic fix"
	case finding.StatusIgnored:
		return "ignored (caused by eksguard)"
	}
	return string(o.Status)
}

// Did says what eksguard did, in a sentence or two (mrkdwn-escaped).
func Did(f *finding.Finding) string {
	plan := "apply the fix"
	if f.Plan != nil {
		plan = Escape(f.Plan.Summary())
	}
	o := f.Outcome
	if o == nil {
		if f.Plan != nil {
			if f.Mode == finding.ModeNotify {
				return ":eyes: *Notify mode*: nothing was changed. In remediate mode eksguard would " + plan + "."
			}
			return ":eyes: *Notified only*: nothing was changed. The fix would be to " + plan + "."
		}
		return ":eyes: *Notified only*: this change has no automatic fix."
	}
	var s string
	switch o.Status {
	case finding.StatusRemediated:
		s = ":white_check_mark: *Reverted*: eksguard " + pastTense(plan) + "."
		if o.Attempts > 1 {
			s += fmt.Sprintf(" (after %d attempts)", o.Attempts)
		}
	case finding.StatusAlreadyCompliant:
		s = ":ballot_box_with_check: *Already compliant*: when eksguard checked, the change was already undone; it did nothing."
	case finding.StatusDeferred:
		s = ":hourglass_flowing_sand: *Deferred*: the cluster is busy with another update; eksguard will " + plan + " when it ends."
	case finding.StatusSuppressed:
		s = ":no_entry: *Not fixed*: eksguard stopped acting on this resource (its circuit breaker: fixed too often in the last hour); a person has to decide."
	case finding.StatusFailed:
		s = ":x: *Fix FAILED*: eksguard tried to " + plan
		if o.Attempts > 0 {
			s += fmt.Sprintf(" (%d attempts)", o.Attempts)
		}
		if o.ErrorCode != "" {
			s += " and got " + Code(o.ErrorCode)
		} else {
			s += " and failed"
		}
		s += ". The change is still in place."
	case finding.StatusNeedsReview:
		s = ":raised_hand: *Held for a person*: eksguard did not " + plan + " because it could not confirm the fix is safe; nothing was changed."
	case finding.StatusSkippedMode:
		s = ":eyes: *Notify mode*: nothing was changed. In remediate mode eksguard would " + plan + "."
	case finding.StatusSkippedKill:
		s = ":octagonal_sign: *Kill switch on*: remediation is switched off, so nothing was changed. eksguard would " + plan + "."
	case finding.StatusNoPlan:
		s = ":eyes: *No automatic fix* for this change: nothing was changed."
	case finding.StatusIgnored:
		s = ":robot_face: *Ignored*: eksguard made this change itself."
	default:
		s = "*" + Escape(string(o.Status)) + "*"
	}
	if o.Message != "" {
		s += "\n> " + Escape(OneLine(o.Message))
	}
	return s
}

// Next says what the on-call should do now.
func Next(f *finding.Finding) string {
	status := finding.Status("")
	if f.Outcome != nil {
		status = f.Outcome.Status
	}
	who := "whoever made it"
	if f.Actor.ARN != "" {
		who = Code(actorName(f.Actor))
	}
	switch status {
	case finding.StatusRemediated:
		return "Ask " + who + " why. If the change was intended, add an exception to the policy (`rules." + f.Rule +
			".allow`), or eksguard will revert it again."
	case finding.StatusAlreadyCompliant, finding.StatusIgnored:
		return "Nothing to do now; if this repeats, find out who keeps making the change."
	case finding.StatusDeferred:
		return "Nothing yet: a follow-up alert reports the fix. Undo by hand (command below) if it cannot wait."
	case finding.StatusSuppressed:
		return "Find out who keeps making this change and stop it; then undo it by hand (command below)."
	case finding.StatusNeedsReview:
		return "Read why eksguard held back (above), check the resource, and undo the change by hand (command below) if it is safe."
	case finding.StatusFailed:
		if f.Outcome.ErrorCode == "" {
			return "Undo the change by hand (command below), then find out why eksguard's fix failed (its logs have the error)."
		}
		return "Undo the change by hand (command below), then fix eksguard's error (" + Code(f.Outcome.ErrorCode) + ")."
	}
	if f.Plan != nil || f.Command != "" {
		return "Ask " + who + " whether the change was intended; if not, undo it by hand (command below)."
	}
	if r, ok := rules.ByID(f.Rule); ok && r.Fix != "" {
		return "Ask " + who + " whether the change was intended; if not: " + Escape(r.Fix)
	}
	return "Ask " + who + " whether the change was intended."
}

// pastTense turns the plan summary ("disassociate X from Y") into what was done.
func pastTense(summary string) string {
	for _, p := range [][2]string{
		{"disassociate ", "disassociated "}, {"delete ", "deleted "}, {"set ", "set "},
		{"re-enable ", "re-enabled "}, {"turn off ", "turned off "}, {"restrict ", "restricted "},
		{"re-attach ", "re-attached "}, {"detach ", "detached "},
	} {
		if strings.HasPrefix(summary, p[0]) {
			return p[1] + summary[len(p[0]):]
		}
	}
	return "ran: " + summary
}

// Who describes the actor: identity, source IP, console or CLI, MFA (mrkdwn-escaped).
func Who(a finding.Actor) string {
	if a.ARN == "" && a.InvokedBy == "" {
		return "unknown (CloudTrail recorded no identity)"
	}
	var b strings.Builder
	b.WriteString(Code(a.ARN))
	if a.Role != "" && a.Role != a.ARN {
		b.WriteString(" via role " + Code(a.Role))
	}
	if a.AccountID != "" && !strings.Contains(a.ARN, ":"+a.AccountID+":") {
		b.WriteString(" from account " + Code(a.AccountID))
	}
	var how []string
	if a.InvokedBy != "" {
		how = append(how, "invoked by "+Escape(a.InvokedBy))
	}
	if a.SourceIP != "" {
		how = append(how, "IP "+Code(a.SourceIP))
	}
	how = append(how, Client(a))
	switch {
	case a.KubernetesUser != "":
		// The audit log does not tell MFA: the user is what it tells.
		if a.KubernetesUser != a.ARN {
			how = append(how, "Kubernetes user "+Code(a.KubernetesUser))
		}
	case a.MFA:
		how = append(how, "MFA yes")
	default:
		how = append(how, "MFA no")
	}
	b.WriteString("\n" + strings.Join(how, " · "))
	if a.UserAgent != "" && !a.Console {
		b.WriteString("\nUser agent: " + Code(truncate(a.UserAgent, 200)))
	}
	return b.String()
}

// Client names the tool the call came from.
func Client(a finding.Actor) string {
	ua := strings.ToLower(a.UserAgent)
	switch {
	case a.Console:
		return "AWS console"
	case strings.Contains(ua, "aws-cli"):
		return "AWS CLI"
	case strings.Contains(ua, "terraform"):
		return "Terraform"
	case strings.HasPrefix(ua, "kubectl/"):
		return "kubectl"
	case strings.HasPrefix(ua, "helm/"):
		return "Helm"
	case strings.Contains(ua, "eksctl"):
		return "eksctl"
	case strings.Contains(ua, "cloudformation"):
		return "CloudFormation"
	case strings.Contains(ua, "aws-cdk") || strings.Contains(ua, "cdk/"):
		return "CDK"
	case strings.Contains(ua, "pulumi"):
		return "Pulumi"
	case strings.Contains(ua, "boto") || strings.Contains(ua, "aws-sdk") || strings.Contains(ua, "aws-internal"):
		return "SDK"
	case ua == "":
		return "unknown client"
	}
	return "other client"
}

// Changed describes before and after (mrkdwn-escaped), or "" when unknown.
func Changed(f *finding.Finding) string {
	var lines []string
	if f.Before != "" {
		lines = append(lines, "*Before:* "+Escape(f.Before))
	}
	if f.After != "" {
		lines = append(lines, "*After:* "+Escape(f.After))
	}
	if f.NeedsCheck != "" {
		lines = append(lines, ":mag: "+Escape(f.NeedsCheck))
	}
	return strings.Join(lines, "\n")
}

// actorName is the short form of an actor: the session of an assumed role,
// the user name, or the ARN.
func actorName(a finding.Actor) string {
	if i := strings.Index(a.ARN, ":assumed-role/"); i >= 0 {
		parts := strings.SplitN(a.ARN[i+len(":assumed-role/"):], "/", 2)
		if len(parts) == 2 {
			return parts[1] + " (" + parts[0] + ")"
		}
	}
	return identity.Name(a.ARN)
}

// Link is a console link.
type Link struct{ Label, URL string }

// Links are the console pages an on-call opens: the CloudTrail event, the
// cluster's access tab, the IAM role.
func Links(f *finding.Finding) []Link {
	var out []Link
	if r, ok := rules.ByID(f.Rule); ok && len(r.Audit) > 0 {
		// A Kubernetes audit event: it is in the cluster's log group, not CloudTrail.
		if f.Cluster != "" && f.Region != "" {
			group := strings.ReplaceAll(url.PathEscape("/aws/eks/"+f.Cluster+"/cluster"), "%", "$25")
			group = strings.ReplaceAll(group, "/", "$252F")
			out = append(out, Link{"Audit log", fmt.Sprintf("https://%s/cloudwatch/home?region=%s#logsV2:log-groups/log-group/%s",
				consoleHost(f.Region), f.Region, group)})
		}
		return out
	}
	if f.EventID != "" && f.Region != "" {
		out = append(out, Link{"CloudTrail event", fmt.Sprintf("https://%s/cloudtrailv2/home?region=%s#/events/%s",
			consoleHost(f.Region), f.Region, url.PathEscape(f.EventID))})
	}
	if f.Cluster != "" && f.Region != "" {
		out = append(out, Link{"Cluster access", fmt.Sprintf("https://%s/eks/clusters/%s?region=%s&selectedTab=cluster-access-tab",
			consoleHost(f.Region), url.PathEscape(f.Cluster), f.Region)})
	}
	if role := roleName(f); role != "" {
		out = append(out, Link{"IAM role", fmt.Sprintf("https://%s/iam/home#/roles/details/%s",
			globalConsoleHost(f.Region), url.PathEscape(role))})
	}
	return out
}

// roleName is the IAM role the finding is about: the plan's role, else a
// role principal.
func roleName(f *finding.Finding) string {
	if f.Plan != nil && f.Plan.RoleName != "" {
		return f.Plan.RoleName
	}
	if strings.Contains(f.Principal, ":role/") {
		return identity.Name(f.Principal)
	}
	return ""
}

// consoleHost is the regional console host, by partition.
func consoleHost(region string) string { return region + "." + globalConsoleHost(region) }

// globalConsoleHost is the console host of the region's partition.
func globalConsoleHost(region string) string {
	switch identity.Partition(region) {
	case "aws-cn":
		return "console.amazonaws.cn"
	case "aws-us-gov":
		return "console.amazonaws-us-gov.com"
	}
	return "console.aws.amazon.com"
}

// escaper replaces the three characters Slack treats as control.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Escape is the one escaping of text for Slack (and Chatbot's client
// markdown): &, < and > become &amp;, &lt; and &gt;, as Slack asks. Values
// from CloudTrail (cluster names of denied calls, user agents, session
// names) are attacker-chosen and must not become links or @channel
// mentions. Every string that reaches Slack passes through it (links:
// their URL and label), once.
func Escape(s string) string { return escaper.Replace(s) }

// EscapeCut is Escape(s) cut to at most n runes, never inside an entity, with
// the cut marked by "…".
func EscapeCut(s string, n int) string {
	e := Escape(s)
	if utf8.RuneCountInString(e) <= n {
		return e
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		piece := Escape(string(r))
		if used+utf8.RuneCountInString(piece) > n-1 {
			break
		}
		b.WriteString(piece)
		used += utf8.RuneCountInString(piece)
	}
	return b.String() + "…"
}

// LinkText is a Slack link to a console page, URL and label escaped.
func LinkText(l Link) string { return "<" + Escape(l.URL) + "|" + Escape(l.Label) + ">" }

// Code renders an inline code span that its content cannot close.
func Code(s string) string {
	if s == "" {
		return "`-`"
	}
	return "`" + strings.ReplaceAll(Escape(OneLine(s)), "`", "'") + "`"
}

func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// asciiLine keeps printable ASCII but <, > and &, replacing anything else
// (line breaks and tabs after folding white space) with '?'.
func asciiLine(s string) string {
	b := []byte(OneLine(s))
	out := make([]byte, 0, len(b))
	for _, r := range string(b) {
		if r >= 0x20 && r < 0x7f && r != '<' && r != '>' && r != '&' {
			out = append(out, byte(r))
		} else {
			out = append(out, '?')
		}
	}
	return string(out)
}

// truncate cuts s to at most n runes, marking the cut with "...".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 3 {
		return string([]rune(s)[:n])
	}
	return string([]rune(s)[:n-3]) + "..."
}

// CutMrkdwn cuts mrkdwn to n runes without leaving a link, code span
// or code block open, and marks the cut.
func CutMrkdwn(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := string([]rune(s)[:max(n-6, 0)]) // room for the ellipsis and a closing fence
	if i := strings.LastIndexByte(cut, '<'); i > strings.LastIndexByte(cut, '>') {
		cut = cut[:i] // never half a <url|label>
	}
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i] // never half an &amp;, which would leave a bare &
	}
	if strings.Count(cut, "```")%2 == 1 {
		return cut + ellipsis + "\n```"
	}
	if strings.Count(strings.ReplaceAll(cut, "```", ""), "`")%2 == 1 {
		return cut + ellipsis + "`"
	}
	return cut + ellipsis
}
