package slackalert

import (
	"fmt"
	"io"
	"strings"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
)

// The preview channels.
const (
	ChannelSlack = "slack"
	ChannelSNS   = "sns"
)

// Preview writes, for each finding, the exact payload the channel would
// receive under the policy: for SNS the subject, message attributes and
// body; for Slack the webhook JSON (indented; the notifier sends the same
// document compact). Findings below the channel's threshold get a line
// saying so. The output depends on nothing but its inputs (no clock, no
// dedup window), so it can be kept as golden files.
func Preview(w io.Writer, channel string, fs []finding.Finding, pol *policy.Policy) error {
	if channel != ChannelSlack && channel != ChannelSNS {
		return fmt.Errorf("preview: unknown channel %q (want slack or sns)", channel)
	}
	if pol == nil {
		pol = policy.Default()
	}
	var b strings.Builder
	for i := range fs {
		f := &fs[i]
		fmt.Fprintf(&b, "--- %s %d/%d: %s on %s (event %s)\n", channel, i+1, len(fs), f.Rule, notify.Resource(f), f.EventID)
		var err error
		if channel == ChannelSlack {
			err = previewSlack(&b, f, pol)
		} else {
			err = previewSNS(&b, f, pol)
		}
		if err != nil {
			return fmt.Errorf("preview %s for %s on %s: %w", channel, f.Rule, notify.Resource(f), err)
		}
	}
	if len(fs) == 0 {
		fmt.Fprintf(&b, "--- %s: no findings, nothing would be sent\n", channel)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func previewSlack(b *strings.Builder, f *finding.Finding, pol *policy.Policy) error {
	if th := pol.Notify.Slack.MinSeverity; f.Severity < th {
		fmt.Fprintf(b, "not posted: severity %s is below notify.slack.minSeverity %s\n", f.Severity, th)
		return nil
	}
	doc, err := notify.EncodeJSON(SlackMessage(f, nil), true)
	if err != nil {
		return err
	}
	b.Write(doc)
	b.WriteString("\n")
	return nil
}

func previewSNS(b *strings.Builder, f *finding.Finding, pol *policy.Policy) error {
	if th := notify.PublishThreshold(pol); f.Severity < th {
		fmt.Fprintf(b, "not published: severity %s is below %s (the lower of notify.slack and notify.sns minSeverity)\n", f.Severity, th)
		return nil
	}
	m, err := notify.BuildSNS(f, pol.Notify.SNS.Format)
	if err != nil {
		return err
	}
	if f.Severity >= pol.Notify.SNS.MinSeverity {
		fmt.Fprintf(b, "Delivered to: every subscription (severity %s >= notify.sns.minSeverity %s)\n", f.Severity, pol.Notify.SNS.MinSeverity)
	} else {
		fmt.Fprintf(b, "Delivered to: the Slack notifier only; e-mail/HTTPS subscriptions filter it out (severity %s < notify.sns.minSeverity %s)\n",
			f.Severity, pol.Notify.SNS.MinSeverity)
	}
	fmt.Fprintf(b, "Subject: %s\nMessageAttributes:\n", m.Subject)
	for _, name := range notify.AttributeNames(m.Attributes) {
		a := m.Attributes[name]
		fmt.Fprintf(b, "  %s (%s): %s\n", name, a.DataType, a.Value)
	}
	fmt.Fprintf(b, "Message (%s):\n%s\n", formatName(pol.Notify.SNS.Format), m.Body)
	return nil
}

func formatName(f string) string {
	if f == "" {
		return notify.FormatJSON
	}
	return f
}
