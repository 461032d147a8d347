package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
)

// The SNS body formats (policy notify.sns.format).
const (
	FormatJSON    = "json"
	FormatChatbot = "chatbot"
)

// The message attributes every publication carries, for subscription filter policies.
const (
	AttrSeverity      = "severity"      // String: info, low, medium, high, critical
	AttrSeverityLevel = "severityLevel" // Number: 0 (info) .. 4 (critical)
	AttrRule          = "rule"
	AttrAccount       = "account"
	AttrRegion        = "region"
	AttrCluster       = "cluster" // absent for findings without a cluster
	AttrOutcome       = "outcome" // the outcome status, or "none"
)

// maxSNSBody keeps the body, attributes included, under SNS's 256 KiB.
const maxSNSBody = 250_000

// Attribute is one SNS message attribute.
type Attribute struct {
	DataType string // String or Number
	Value    string
}

// SNSMessage is one publication, as data.
type SNSMessage struct {
	Subject    string
	Body       string
	Attributes map[string]Attribute
}

// BuildSNS renders a finding as an SNS message in the given format (json or chatbot).
func BuildSNS(f *finding.Finding, format string) (SNSMessage, error) {
	var body string
	var err error
	switch format {
	case "", FormatJSON:
		body, err = FindingJSON(f, maxSNSBody, true)
	case FormatChatbot:
		body, err = ChatbotJSON(f)
	default:
		return SNSMessage{}, fmt.Errorf("unknown SNS format %q (want json or chatbot)", format)
	}
	if err != nil {
		return SNSMessage{}, err
	}
	return SNSMessage{Subject: Subject(f), Body: body, Attributes: Attributes(f)}, nil
}

// Attributes are the message attributes of a finding. SNS rejects empty
// values, so empty fields are left out.
func Attributes(f *finding.Finding) map[string]Attribute {
	attrs := map[string]Attribute{
		AttrSeverity:      {"String", f.Severity.String()},
		AttrSeverityLevel: {"Number", strconv.Itoa(int(f.Severity))},
		AttrOutcome:       {"String", OutcomeLabel(f)},
	}
	for name, v := range map[string]string{AttrRule: f.Rule, AttrAccount: f.Account, AttrRegion: f.Region, AttrCluster: f.Cluster} {
		if v != "" {
			attrs[name] = Attribute{"String", v}
		}
	}
	return attrs
}

// FindingJSON is the finding as JSON, shrunk to fit limit bytes: long text
// fields are cut (and say so) rather than the publication failing.
func FindingJSON(f *finding.Finding, limit int, indent bool) (string, error) {
	marshal := func(v any) ([]byte, error) { return EncodeJSON(v, indent) }
	b, err := marshal(f)
	if err != nil {
		return "", fmt.Errorf("encode finding %s: %w", f.Rule, err)
	}
	for _, n := range []int{8192, 2048, 512, 128} {
		if len(b) <= limit {
			return string(b), nil
		}
		if b, err = marshal(shrink(f, n)); err != nil {
			return "", fmt.Errorf("encode finding %s: %w", f.Rule, err)
		}
	}
	if len(b) <= limit {
		return string(b), nil
	}
	return "", fmt.Errorf("encode finding %s on %s: %d bytes even with every text field cut, over the %d-byte limit",
		f.Rule, Resource(f), len(b), limit)
}

// truncatedMark ends every field shrink cuts.
const truncatedMark = " [truncated by eksguard]"

// shrink copies f with every free-text field cut to n runes.
func shrink(f *finding.Finding, n int) *finding.Finding {
	c := *f
	cut := func(s string) string {
		if len([]rune(s)) <= n {
			return s
		}
		return string([]rune(s)[:n]) + truncatedMark
	}
	c.Summary, c.Before, c.After, c.NeedsCheck = cut(c.Summary), cut(c.Before), cut(c.After), cut(c.NeedsCheck)
	c.Actor.UserAgent = cut(c.Actor.UserAgent)
	if c.Outcome != nil {
		o := *c.Outcome
		o.Message = cut(o.Message)
		c.Outcome = &o
	}
	if c.Plan != nil {
		p := *c.Plan
		p.Reason = cut(p.Reason)
		c.Plan = &p
	}
	return &c
}

// SNSClient is the SNS call the publisher makes.
type SNSClient interface {
	Publish(ctx context.Context, params *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ SNSClient = (*sns.Client)(nil)

// SNSPublisher publishes findings to the eksguard topic.
type SNSPublisher struct {
	// SNS is the client (required).
	SNS SNSClient
	// TopicARN is the topic (required).
	TopicARN string
	// Policy gives the thresholds and the SNS format (policy.Default()
	// when nil).
	Policy *policy.Policy
}

func (p *SNSPublisher) policy() *policy.Policy {
	if p.Policy != nil {
		return p.Policy
	}
	return policy.Default()
}

// PublishThreshold is the lowest severity published to the topic: the
// lower of the Slack and SNS thresholds, since the Slack notifier listens
// on the topic.
func PublishThreshold(pol *policy.Policy) finding.Severity {
	return min(pol.Notify.Slack.MinSeverity, pol.Notify.SNS.MinSeverity)
}

// Wants reports whether the finding is severe enough to publish.
func (p *SNSPublisher) Wants(f *finding.Finding) bool {
	return f.Severity >= PublishThreshold(p.policy())
}

// Publish sends the finding to the topic when it is at or above the threshold.
func (p *SNSPublisher) Publish(ctx context.Context, f *finding.Finding) error {
	if !p.Wants(f) {
		return nil
	}
	m, err := BuildSNS(f, p.policy().Notify.SNS.Format)
	if err != nil {
		return fmt.Errorf("publish %s on %s (event %s): %w", f.Rule, Resource(f), f.EventID, err)
	}
	in := &sns.PublishInput{
		TopicArn:          aws.String(p.TopicARN),
		Subject:           aws.String(m.Subject),
		Message:           aws.String(m.Body),
		MessageAttributes: map[string]types.MessageAttributeValue{},
	}
	for name, a := range m.Attributes {
		in.MessageAttributes[name] = types.MessageAttributeValue{DataType: aws.String(a.DataType), StringValue: aws.String(a.Value)}
	}
	if _, err := p.SNS.Publish(ctx, in); err != nil {
		return fmt.Errorf("publish %s on %s (event %s) to %s: %w", f.Rule, Resource(f), f.EventID, p.TopicARN, err)
	}
	return nil
}

// EncodeJSON is json.Marshal(Indent) without HTML escaping, so that the
// URLs and <link|label> markup in payloads stay readable.
func EncodeJSON(v any, indent bool) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return unescapeHTML(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// unescapeHTML turns the \u003c, \u003e and \u0026 escapes encoding/json
// writes (also inside values with their own MarshalJSON, such as slack-go's
// blocks) back into <, > and &. Other escapes are kept as they are.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) {
			switch string(b[i+2 : i+6]) {
			case "003c":
				out = append(out, '<')
			case "003e":
				out = append(out, '>')
			case "0026":
				out = append(out, '&')
			default:
				out = append(out, b[i:i+6]...)
			}
			i += 5
			continue
		}
		out = append(out, b[i], b[i+1]) // \", \\, \n, ...: keep, and skip the escaped character
		i++
	}
	return out
}

// AttributeNames lists attribute names in a stable order, for previews.
func AttributeNames(m map[string]Attribute) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
