package k8saudit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// SubscriptionFilterName is the name of the subscription filter that
// sends a cluster's audit log to the kubernetes function (put by the stack
// and by the cluster function).
const SubscriptionFilterName = "eksguard-kubernetes-audit"

// DestinationFilterName is the name of the subscription filter that sends
// the audit log of a cluster in region to the central account's CloudWatch
// Logs destination (organization mode). What arrives through the
// destination's Kinesis stream names no region, and the stream's is the
// central one; the filter's name, which the payload lists, carries it.
func DestinationFilterName(region string) string {
	return SubscriptionFilterName + "-" + region
}

// IsFilterName reports whether name is one of eksguard's subscription
// filter names: the kubernetes function's, or a destination filter's.
func IsFilterName(name string) bool {
	r, ok := strings.CutPrefix(name, SubscriptionFilterName+"-")
	return name == SubscriptionFilterName || ok && regionRE.MatchString(r)
}

// regionRE is the form of an AWS region name (eu-west-1, us-gov-west-1).
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// The messageType values of a CloudWatch Logs subscription payload.
const (
	DataMessage    = "DATA_MESSAGE"
	ControlMessage = "CONTROL_MESSAGE"
)

// MaxPayload is the most bytes a subscription payload may inflate to. A
// Lambda event is at most 256 KB (1 MB when invoked synchronously) of
// base64; gzip'd JSON log events rarely compress beyond 20:1, so a payload
// that inflates past this is refused rather than read into memory.
const MaxPayload = 64 << 20

// Subscription is a CloudWatch Logs subscription payload, decoded.
type Subscription struct {
	MessageType         string     `json:"messageType"`
	Owner               string     `json:"owner"`
	LogGroup            string     `json:"logGroup"`
	LogStream           string     `json:"logStream"`
	SubscriptionFilters []string   `json:"subscriptionFilters"`
	LogEvents           []LogEvent `json:"logEvents"`
}

// LogEvent is one log event of a subscription payload: for an EKS audit
// log stream, Message is one audit event.
type LogEvent struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// lambdaEvent is the event a subscription invokes a Lambda function with.
type lambdaEvent struct {
	AWSLogs *struct {
		Data string `json:"data"`
	} `json:"awslogs"`
}

// IsLambdaEvent reports whether raw is a CloudWatch Logs subscription's
// Lambda event ({"awslogs":{"data":...}}).
func IsLambdaEvent(raw []byte) bool {
	var ev lambdaEvent
	return json.Unmarshal(raw, &ev) == nil && ev.AWSLogs != nil
}

// DecodeLambdaEvent reads the event a CloudWatch Logs subscription invokes
// a Lambda function with: {"awslogs":{"data": base64(gzip(JSON))}}.
func DecodeLambdaEvent(raw []byte) (*Subscription, error) {
	var ev lambdaEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decode CloudWatch Logs event: %w", err)
	}
	if ev.AWSLogs == nil {
		return nil, errors.New("decode CloudWatch Logs event: no awslogs key")
	}
	return DecodeData(ev.AWSLogs.Data)
}

// DecodeData reads awslogs.data: base64 of the gzip'd subscription JSON.
func DecodeData(data string) (*Subscription, error) {
	if data == "" {
		return nil, errors.New("decode awslogs.data: empty")
	}
	zipped, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("decode awslogs.data: base64: %w", err)
	}
	sub, err := DecodeGzipped(zipped)
	if err != nil {
		return nil, fmt.Errorf("decode awslogs.data: %w", err)
	}
	return sub, nil
}

// DecodeGzipped reads a gzip'd subscription payload: what awslogs.data
// holds once base64-decoded, and what a Kinesis record's data is when a
// subscription filter delivers to a stream (organization mode).
func DecodeGzipped(zipped []byte) (*Subscription, error) {
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	plain, err := io.ReadAll(io.LimitReader(zr, MaxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if len(plain) > MaxPayload {
		return nil, fmt.Errorf("inflates past %d bytes", MaxPayload)
	}
	return DecodeSubscription(plain)
}

// Region is the region of the log group, when one of the subscription
// filters that matched is eksguard's destination filter (which names it),
// else "": a filter that delivers to a Lambda function is in the
// function's region.
func (s *Subscription) Region() string {
	for _, name := range s.SubscriptionFilters {
		if r, ok := strings.CutPrefix(name, SubscriptionFilterName+"-"); ok && regionRE.MatchString(r) {
			return r
		}
	}
	return ""
}

// DecodeSubscription reads the subscription JSON (what awslogs.data holds
// once inflated; also the form a subscription to Firehose or S3 stores).
func DecodeSubscription(plain []byte) (*Subscription, error) {
	var s Subscription
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, fmt.Errorf("decode CloudWatch Logs subscription payload: %w", err)
	}
	switch s.MessageType {
	case DataMessage, ControlMessage:
	default:
		return nil, fmt.Errorf("decode CloudWatch Logs subscription payload: messageType %q (want %s or %s)", s.MessageType, DataMessage, ControlMessage)
	}
	if s.MessageType == DataMessage && s.LogGroup == "" {
		return nil, errors.New("decode CloudWatch Logs subscription payload: DATA_MESSAGE without a logGroup")
	}
	return &s, nil
}

// LooksLikeSubscription reports, without decoding, whether raw may be a
// subscription payload, or the Lambda event that carries one: replay uses
// it to tell them from other records. The keys may come in any order, so
// the whole record is searched (the messages inside hold their quotes
// escaped, so they cannot match).
func LooksLikeSubscription(raw []byte) bool {
	return (bytes.Contains(raw, []byte(`"messageType"`)) && bytes.Contains(raw, []byte(`"logEvents"`))) ||
		bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte(`{"awslogs"`))
}

// Cluster is the EKS cluster whose control plane log group this is
// (/aws/eks/<cluster>/cluster), or "".
func Cluster(logGroup string) string {
	rest, ok := strings.CutPrefix(logGroup, "/aws/eks/")
	if !ok {
		return ""
	}
	name, ok := strings.CutSuffix(rest, "/cluster")
	if !ok || name == "" || strings.Contains(name, "/") {
		return ""
	}
	return name
}

// AuditStream reports whether a log stream of an EKS control plane log
// group holds the API server's audit log (kube-apiserver-audit-*).
func AuditStream(logStream string) bool {
	return strings.HasPrefix(logStream, "kube-apiserver-audit-")
}

// Events decodes the audit events of a DATA_MESSAGE, each with the
// cluster (from the log group), account (the owner) and region set. A
// CONTROL_MESSAGE (CloudWatch Logs checking the destination) holds none.
// A log event that is not an audit event is an error naming its ID; the
// others are still returned.
func (s *Subscription) Events(region string) ([]*Event, error) {
	if s.MessageType != DataMessage {
		return nil, nil
	}
	cluster := Cluster(s.LogGroup)
	var out []*Event
	var errs []error
	for _, le := range s.LogEvents {
		ev, err := Decode([]byte(le.Message))
		if err != nil {
			errs = append(errs, fmt.Errorf("log group %s stream %s event %s: %w", s.LogGroup, s.LogStream, le.ID, err))
			continue
		}
		ev.Cluster, ev.Account, ev.Region = cluster, s.Owner, region
		out = append(out, ev)
	}
	return out, errors.Join(errs...)
}
