package slackalert

import (
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/eksguard/eksguard/shared/finding"
)

// The action IDs of the buttons (setting slackActions), which the
// interaction function dispatches on, and the block that holds them.
const (
	ActionApplyFix       = "eksguard_apply_fix"
	ActionExpectedChange = "eksguard_expected_change"
	ActionsBlockID       = "eksguard_actions"
)

// Block Kit limits of a confirmation dialog.
const (
	maxConfirmText  = 300
	maxConfirmTitle = 100
)

// Actionable reports whether a finding's message carries the buttons: it
// has a plan that was not run because the rule is in notify mode, or that
// eksguard held back for review.
func Actionable(f *finding.Finding) bool {
	return f.Plan != nil && f.Outcome != nil &&
		(f.Outcome.Status == finding.StatusSkippedMode || f.Outcome.Status == finding.StatusNeedsReview)
}

// WithActions adds the Apply fix and Expected change buttons to an
// actionable finding's message; their value is the finding's reference
// (shared/slackref). Apply fix asks to confirm, showing the exact call.
func WithActions(msg *slack.WebhookMessage, f *finding.Finding, ref string) *slack.WebhookMessage {
	if !Actionable(f) || msg.Blocks == nil || len(msg.Blocks.BlockSet) >= maxBlocks {
		return msg
	}
	confirm := slack.NewConfirmationBlockObject(
		slack.NewTextBlockObject(slack.PlainTextType, clipRunes("Apply the fix for "+f.Rule+"?", maxConfirmTitle), false, false),
		slack.NewTextBlockObject(slack.MarkdownType, ConfirmText(f), false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Apply", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
	).WithStyle(slack.StyleDanger)
	apply := slack.NewButtonBlockElement(ActionApplyFix, ref, slack.NewTextBlockObject(slack.PlainTextType, "Apply fix", false, false)).
		WithStyle(slack.StylePrimary).WithConfirm(confirm)
	expected := slack.NewButtonBlockElement(ActionExpectedChange, ref, slack.NewTextBlockObject(slack.PlainTextType, "Expected change", false, false))
	msg.Blocks.BlockSet = append(msg.Blocks.BlockSet, slack.NewActionBlock(ActionsBlockID, apply, expected))
	return msg
}

// ConfirmText is the confirmation dialog's text: the exact call, as its
// CLI command, or (when that is longer than a dialog shows) the API action
// and what it does.
func ConfirmText(f *finding.Finding) string {
	cli := f.Plan.CLI(f.Region)
	if t := "eksguard will run:\n```" + cli + "```"; cli != "" && utf8.RuneCountInString(t) <= maxConfirmText {
		return t
	}
	return clipRunes("eksguard will call "+f.Plan.Action+": "+f.Plan.Summary(), maxConfirmText)
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(strings.TrimSpace(s))
	return string(r[:n-1]) + "…"
}
