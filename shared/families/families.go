// Package families names the Lambda functions that handle CloudTrail events
// and decides which of them handles an event. It lists no event names: which
// events are routed follows from the rules that read them (rules.EventNames,
// rules.Pattern), so an event no rule reads is never routed.
package families

import "strings"

// DetailType is the EventBridge detail-type of CloudTrail management events.
const DetailType = "AWS API Call via CloudTrail"

// Family is one function and the part of the CloudTrail event space it owns.
type Family struct {
	// Name is the function's directory under functions/ and its id in the stack.
	Name string
	// Source is the EventBridge source, e.g. "aws.eks".
	Source string
	// EventSource is the CloudTrail eventSource, e.g. "eks.amazonaws.com".
	EventSource string
	// GlobalRegion is set for global services whose events reach EventBridge
	// only in that region (IAM: us-east-1).
	GlobalRegion string
	// Description says what the family watches, for docs and the stack.
	Description string
	// owns reports whether an event name of EventSource belongs to the family.
	owns func(eventName string) bool
}

// The families, in deployment order. For returns the first that owns an event.
var (
	Access = Family{
		Name:        "access",
		Source:      "aws.eks",
		EventSource: "eks.amazonaws.com",
		Description: "EKS access entries and access policy associations",
		owns: func(name string) bool {
			return strings.Contains(name, "AccessEntry") || strings.Contains(name, "AccessPolicy")
		},
	}
	Cluster = Family{
		Name:        "cluster",
		Source:      "aws.eks",
		EventSource: "eks.amazonaws.com",
		Description: "EKS cluster endpoint, logging, authentication and encryption settings",
		owns:        func(string) bool { return true },
	}
	IAM = Family{
		Name:         "iam",
		Source:       "aws.iam",
		EventSource:  "iam.amazonaws.com",
		GlobalRegion: "us-east-1",
		Description:  "IAM policies and trust of EKS cluster and node roles",
		owns:         func(string) bool { return true },
	}
)

// All returns every family.
func All() []Family { return []Family{Access, Cluster, IAM} }

// For returns the family that owns the CloudTrail event, if any. Whether the
// event is routed at all depends on whether a rule reads it.
func For(eventSource, eventName string) (Family, bool) {
	for _, f := range All() {
		if f.Owns(eventSource, eventName) {
			return f, true
		}
	}
	return Family{}, false
}

// Owns reports whether the event belongs to the family (and to no family
// listed before it).
func (f Family) Owns(eventSource, eventName string) bool {
	if eventSource != f.EventSource {
		return false
	}
	for _, g := range All() {
		if g.EventSource == eventSource && g.owns(eventName) {
			return g.Name == f.Name
		}
	}
	return false
}
