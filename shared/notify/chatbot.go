package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/eksguard/eksguard/shared/finding"
)

// Chatbot is an AWS Chatbot (Amazon Q Developer in chat applications)
// custom notification.
type Chatbot struct {
	Version  string          `json:"version"`
	Source   string          `json:"source"`
	ID       string          `json:"id,omitempty"`
	Content  ChatbotContent  `json:"content"`
	Metadata ChatbotMetadata `json:"metadata"`
}

// ChatbotContent is what the chat channel shows.
type ChatbotContent struct {
	TextType    string   `json:"textType"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	NextSteps   []string `json:"nextSteps,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
}

// ChatbotMetadata threads and annotates the notification. The whole finding
// travels in AdditionalContext[ChatbotFindingKey] as a JSON string, so the
// Slack notifier (and any other subscriber) can recover it.
type ChatbotMetadata struct {
	ThreadID          string            `json:"threadId,omitempty"`
	Summary           string            `json:"summary,omitempty"`
	EventType         string            `json:"eventType,omitempty"`
	RelatedResources  []string          `json:"relatedResources,omitempty"`
	AdditionalContext map[string]string `json:"additionalContext,omitempty"`
}

// ChatbotFindingKey is the additionalContext key holding the finding JSON.
const ChatbotFindingKey = "finding"

// Chatbot renders a notification in Slack: the description within one
// section; title, keywords and related resources as single short lines.
// Every field is one line (but the description), escaped with esc and cut
// within these lengths, so that Chatbot shows it as written.
const (
	MaxChatbotDescription = 3000
	MaxChatbotTitle       = 250
	MaxChatbotKeyword     = 75
	MaxChatbotField       = 1000
)

// BuildChatbot renders a finding as a custom notification. Notifications of
// the same rule on the same resource share a thread.
func BuildChatbot(f *finding.Finding) (*Chatbot, error) {
	fj, err := FindingJSON(f, maxSNSBody/2, false)
	if err != nil {
		return nil, err
	}
	var d strings.Builder
	if f.Summary != "" {
		d.WriteString("*" + Escape(OneLine(f.Summary)) + "*\n")
	}
	d.WriteString(where(f) + "\n")
	d.WriteString("*Who:* " + Who(f.Actor) + "\n")
	if c := Changed(f); c != "" {
		d.WriteString("*What changed:*\n" + c + "\n")
	}
	d.WriteString("*What eksguard did:* " + Did(f) + "\n")
	var links []string
	for _, l := range Links(f) {
		links = append(links, LinkText(l))
	}
	if len(links) > 0 {
		d.WriteString(strings.Join(links, " · "))
	}
	next := []string{Next(f)}
	if cmd := undoCommand(f); cmd != "" {
		next = append(next, "Undo by hand: "+Code(cmd))
	}
	var related []string
	for _, r := range []string{f.Principal, f.Actor.ARN} {
		if r != "" {
			related = append(related, EscapeCut(OneLine(r), MaxChatbotField))
		}
	}
	keywords := []string{f.Severity.String(), EscapeCut(OneLine(f.Rule), MaxChatbotKeyword)}
	if r := Resource(f); r != "-" {
		keywords = append(keywords, EscapeCut(OneLine(r), MaxChatbotKeyword))
	}
	return &Chatbot{
		Version: "1.0",
		Source:  "custom",
		ID:      f.EventID,
		Content: ChatbotContent{
			TextType:    "client-markdown",
			Title:       EscapeCut(OneLine(SeverityEmoji(f.Severity)+" ["+strings.ToUpper(f.Severity.String())+"] "+TitleOf(f)+": "+Resource(f)), MaxChatbotTitle),
			Description: CutMrkdwn(strings.TrimSpace(d.String()), MaxChatbotDescription),
			NextSteps:   next,
			Keywords:    keywords,
		},
		Metadata: ChatbotMetadata{
			ThreadID:          "eksguard/" + f.Rule + "/" + f.Key(),
			Summary:           Escape(Subject(f)),
			EventType:         "eksguard." + f.Rule,
			RelatedResources:  related,
			AdditionalContext: map[string]string{ChatbotFindingKey: fj},
		},
	}, nil
}

// ChatbotJSON is BuildChatbot encoded.
func ChatbotJSON(f *finding.Finding) (string, error) {
	c, err := BuildChatbot(f)
	if err != nil {
		return "", err
	}
	b, err := EncodeJSON(c, true)
	if err != nil {
		return "", fmt.Errorf("encode chatbot notification for %s: %w", f.Rule, err)
	}
	return string(b), nil
}

// DecodeMessage recovers the finding from an SNS message body in either
// format: the finding JSON, or a chatbot notification carrying it.
func DecodeMessage(body string) (*finding.Finding, error) {
	var probe struct {
		Source   string `json:"source"`
		Version  string `json:"version"`
		Metadata struct {
			AdditionalContext map[string]string `json:"additionalContext"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(body), &probe); err != nil {
		return nil, fmt.Errorf("decode SNS message: not JSON: %w", err)
	}
	raw := body
	if probe.Source == "custom" && probe.Version != "" {
		fj, ok := probe.Metadata.AdditionalContext[ChatbotFindingKey]
		if !ok {
			return nil, errors.New("decode SNS message: chatbot notification without metadata.additionalContext." + ChatbotFindingKey)
		}
		raw = fj
	}
	f := new(finding.Finding)
	if err := json.Unmarshal([]byte(raw), f); err != nil {
		return nil, fmt.Errorf("decode SNS message: finding: %w", err)
	}
	if f.Rule == "" {
		return nil, errors.New("decode SNS message: not an eksguard finding (no rule)")
	}
	return f, nil
}

// where is the cluster, account and region line.
func where(f *finding.Finding) string {
	var parts []string
	if f.Cluster != "" {
		parts = append(parts, "*Cluster:* "+Code(f.Cluster))
	} else if r := Resource(f); r != "-" {
		parts = append(parts, "*Resource:* "+Code(r))
	}
	parts = append(parts, "*Account:* "+Code(f.AccountLabel()), "*Region:* "+Code(f.Region))
	return strings.Join(parts, " · ")
}

// undoCommand is the AWS CLI command that undoes the change, when there is
// one and it is still needed (not after a successful fix); for a finding
// without a plan, the command a person runs (Command).
func undoCommand(f *finding.Finding) string {
	if f.Plan == nil {
		return f.Command
	}
	if f.Outcome != nil && (f.Outcome.Status == finding.StatusRemediated || f.Outcome.Status == finding.StatusAlreadyCompliant) {
		return ""
	}
	return f.Plan.CLI(f.Region)
}
