// Package slackalert is the Slack half of alerting: the Block Kit message a
// finding becomes, the notifier Lambda handler that posts it (folding repeats
// through the dedup window), and the preview of every payload, SNS and Slack,
// for `eksguard replay --notify`.
package slackalert

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
)

// Slack's Block Kit limits (characters are runes).
const (
	maxBlocks      = 50
	maxHeader      = 150
	maxSectionText = 3000
	maxFieldText   = 2000
	maxFields      = 10
	maxContextText = 2000
)

// Fold is what the dedup window knows about a posted occurrence.
type Fold struct {
	// Count is the occurrences of the rule on the resource in the window, this one included.
	Count int
	// Folded is how many of them were not posted separately.
	Folded int
	// Since is when the window opened; Window its length.
	Since  time.Time
	Window time.Duration
	// Changed says what eksguard did differs from the previous alert of the window.
	Changed bool
	// Previous reports the window before this one, when it folded repeats.
	PreviousStart, PreviousEnd time.Time
	PreviousFolded             int
}

// SlackMessage builds the Block Kit message for a finding. fold is nil for
// a finding posted on its own (previews, no dedup table).
func SlackMessage(f *finding.Finding, fold *Fold) *slack.WebhookMessage {
	var blocks []slack.Block
	header := notify.SeverityEmoji(f.Severity) + " " + strings.ToUpper(f.Severity.String()) + " · " + notify.TitleOf(f)
	blocks = append(blocks, slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, notify.EscapeCut(notify.OneLine(header), maxHeader), true, false)))

	summary := "*" + notify.Escape(notify.OneLine(f.Summary)) + "*"
	if f.Summary == "" {
		summary = "*" + notify.Escape(f.EventName) + "*"
	}
	blocks = append(blocks, slack.NewSectionBlock(mrkdwn(summary, maxSectionText), facts(f), nil))
	blocks = append(blocks, section("*Who*\n"+notify.Who(f.Actor)))
	if c := notify.Changed(f); c != "" {
		blocks = append(blocks, section("*What changed*\n"+c))
	}
	blocks = append(blocks, section("*What eksguard did*\n"+notify.Did(f)+"\n*Next:* "+notify.Next(f)))
	if f.Plan != nil {
		if cmd := f.Plan.CLI(f.Region); cmd != "" {
			label := "*Undo by hand*"
			switch {
			case f.Outcome != nil && f.Outcome.Status == finding.StatusRemediated:
				label = "*What eksguard ran, as a CLI command*"
			case f.Outcome != nil && f.Outcome.Status == finding.StatusAlreadyCompliant:
				label = "*The fix, had it been needed*"
			}
			blocks = append(blocks, section(undoSection(label, cmd, f)))
		}
	} else if f.Command != "" && utf8.RuneCountInString(f.Command) < maxSectionText-40 {
		blocks = append(blocks, section("*By hand*\n```"+notify.Escape(f.Command)+"```"))
	}
	if links := notify.Links(f); len(links) > 0 {
		parts := make([]string, len(links))
		for i, l := range links {
			parts[i] = notify.LinkText(l)
		}
		blocks = append(blocks, section(":link: "+strings.Join(parts, "  ·  ")))
	}
	if fold != nil {
		if t := foldText(fold); t != "" {
			blocks = append(blocks, contextBlock(t))
		}
	}
	meta := fmt.Sprintf("eksguard · rule %s · mode %s · %s %s", notify.Code(f.Rule), notify.Code(string(f.Mode)), notify.Escape(f.EventName), notify.Code(f.EventID))
	blocks = append(blocks, contextBlock(meta))

	return &slack.WebhookMessage{Text: notify.Headline(f), Blocks: &slack.Blocks{BlockSet: capBlocks(blocks)}}
}

// undoSection shows the CLI command in a code block when the whole of it
// fits in a section. A command cut short could not be run (or would run
// something else), so a longer one is not shown cut: the section says so,
// and where the full command is.
func undoSection(label, cmd string, f *finding.Finding) string {
	s := label + "\n```" + notify.Escape(cmd) + "```"
	if utf8.RuneCountInString(s) <= maxSectionText {
		return s
	}
	return label + "\n" + fmt.Sprintf("The command is %d characters, too long for a Slack message, so it is not shown cut. "+
		"The full command is in the SNS message of event %s: the finding's `plan` holds every parameter of the call "+
		"(`%s`), and with `notify.sns.format: chatbot` its `nextSteps` hold the command itself.",
		utf8.RuneCountInString(cmd), notify.Code(f.EventID), notify.Escape(f.Plan.Action))
}

// facts are the short fields under the summary.
func facts(f *finding.Finding) []*slack.TextBlockObject {
	var fields []*slack.TextBlockObject
	add := func(label, value string) {
		if len(fields) < maxFields {
			fields = append(fields, mrkdwn("*"+label+"*\n"+value, maxFieldText))
		}
	}
	if f.Cluster != "" {
		add("Cluster", notify.Code(f.Cluster))
	} else if r := notify.Resource(f); r != "-" {
		add("Resource", notify.Code(r))
	}
	add("Account", notify.Code(f.AccountLabel()))
	add("Region", notify.Code(f.Region))
	add("Outcome", notify.Escape(notify.OutcomeShort(f)))
	if f.Principal != "" {
		add("Principal affected", notify.Code(f.Principal))
	}
	if f.EventName != "" || f.EventTime != "" {
		add("Event", notify.Escape(strings.TrimSpace(f.EventName+" at "+f.EventTime)))
	}
	return fields
}

// foldText says how often the alert happened in the window.
func foldText(fold *Fold) string {
	var parts []string
	if fold.Changed {
		parts = append(parts, ":arrows_counterclockwise: What eksguard did changed since the last alert for this resource.")
	}
	if fold.Count > 1 {
		s := fmt.Sprintf(":repeat: Seen *%d times* on this resource since %s", fold.Count, notify.Escape(clock(fold.Since)))
		if fold.Folded > 0 {
			s += fmt.Sprintf("; %d not posted separately", fold.Folded)
		}
		parts = append(parts, s+" ("+notify.Escape(windowLabel(fold.Window))+" window).")
	}
	if fold.PreviousFolded > 0 {
		parts = append(parts, fmt.Sprintf(":repeat: The previous window (%s to %s) had %d more not posted separately.",
			notify.Escape(clock(fold.PreviousStart)), notify.Escape(clock(fold.PreviousEnd)), fold.PreviousFolded))
	}
	return strings.Join(parts, "\n")
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func windowLabel(d time.Duration) string {
	switch {
	case d > 0 && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(text, maxSectionText), nil, nil)
}

func contextBlock(text string) *slack.ContextBlock {
	return slack.NewContextBlock("", mrkdwn(text, maxContextText))
}

func mrkdwn(text string, limit int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, notify.CutMrkdwn(text, limit), false, false)
}

// capBlocks keeps a message within Slack's block count, saying what was left out.
func capBlocks(blocks []slack.Block) []slack.Block {
	if len(blocks) <= maxBlocks {
		return blocks
	}
	kept := append([]slack.Block{}, blocks[:maxBlocks-1]...)
	return append(kept, contextBlock(fmt.Sprintf("… %d more blocks left out (Slack allows %d).", len(blocks)-maxBlocks+1, maxBlocks)))
}
