// Package families names the Lambda functions that handle CloudTrail events
// and decides which of them handles an event. It lists no event names: which
// events are routed follows from the rules that read them (rules.EventNames,
// rules.Pattern), so an event no rule reads is never routed.
package families

import "strings"

// DetailType is the EventBridge detail-type of CloudTrail management events.
const DetailType = "AWS API Call via CloudTrail"

// Service is an AWS service whose CloudTrail events a family reads.
type Service struct {
	// Source is the EventBridge source, e.g. "aws.eks".
	Source string
	// EventSource is the CloudTrail eventSource, e.g. "eks.amazonaws.com".
	EventSource string
}

// The services the families read.
var (
	EKS        = Service{Source: "aws.eks", EventSource: "eks.amazonaws.com"}
	IAMService = Service{Source: "aws.iam", EventSource: "iam.amazonaws.com"}
	CloudTrail = Service{Source: "aws.cloudtrail", EventSource: "cloudtrail.amazonaws.com"}
	Events     = Service{Source: "aws.events", EventSource: "events.amazonaws.com"}
	Lambda     = Service{Source: "aws.lambda", EventSource: "lambda.amazonaws.com"}
	SNS        = Service{Source: "aws.sns", EventSource: "sns.amazonaws.com"}
	DynamoDB   = Service{Source: "aws.dynamodb", EventSource: "dynamodb.amazonaws.com"}
	SSM        = Service{Source: "aws.ssm", EventSource: "ssm.amazonaws.com"}
	Logs       = Service{Source: "aws.logs", EventSource: "logs.amazonaws.com"}
)

// Family is one function and the part of the CloudTrail event space it owns.
type Family struct {
	// Name is the function's directory under functions/ and its id in the stack.
	Name string
	// Services are the services whose events the family may own.
	Services []Service
	// GlobalRegion is set for global services whose events reach EventBridge
	// only in that region (IAM: us-east-1).
	GlobalRegion string
	// Description says what the family watches, for docs and the stack.
	Description string
	// owns reports whether an event name of one of Services belongs to the family.
	owns func(eventSource, eventName string) bool
}

// The families, in deployment order. For returns the first that owns an event.
var (
	Access = Family{
		Name:        "access",
		Services:    []Service{EKS},
		Description: "EKS access entries and access policy associations",
		owns: func(_, name string) bool {
			return strings.Contains(name, "AccessEntry") || strings.Contains(name, "AccessPolicy")
		},
	}
	Cluster = Family{
		Name:        "cluster",
		Services:    []Service{EKS},
		Description: "EKS cluster endpoint, logging, authentication and encryption settings",
		owns:        func(string, string) bool { return true },
	}
	IAM = Family{
		Name:         "iam",
		Services:     []Service{IAMService},
		GlobalRegion: "us-east-1",
		Description:  "IAM policies and trust of EKS cluster and node roles",
		owns:         func(string, string) bool { return true },
	}
	// Tamper watches eksguard's own eyes: the trail, and the stack's rules,
	// functions, topic, table and kill switch. It is a function of its own so
	// that silencing the access, cluster or iam function is seen by another.
	Tamper = Family{
		Name:        "tamper",
		Services:    []Service{CloudTrail, Events, Lambda, SNS, DynamoDB, SSM, Logs},
		Description: "CloudTrail trails and eksguard's own rules, functions, topic, table and kill switch",
		owns:        func(string, string) bool { return true },
	}
)

// Kubernetes reads the clusters' Kubernetes audit logs, which reach it
// through CloudWatch Logs subscription filters, not EventBridge: it owns no
// CloudTrail event and is not in All(), which lists the CloudTrail families.
var Kubernetes = Family{
	Name:        "kubernetes",
	Description: "Kubernetes audit logs: aws-auth, RBAC bindings and impersonation",
	owns:        func(string, string) bool { return false },
}

// All returns every family.
func All() []Family { return []Family{Access, Cluster, IAM, Tamper} }

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
	if !f.Reads(eventSource) {
		return false
	}
	for _, g := range All() {
		if g.Reads(eventSource) && g.owns(eventSource, eventName) {
			return g.Name == f.Name
		}
	}
	return false
}

// Reads reports whether the CloudTrail event source is one of the family's services.
func (f Family) Reads(eventSource string) bool {
	_, ok := f.Source(eventSource)
	return ok
}

// Source is the EventBridge source of one of the family's CloudTrail event sources.
func (f Family) Source(eventSource string) (string, bool) {
	for _, s := range f.Services {
		if s.EventSource == eventSource {
			return s.Source, true
		}
	}
	return "", false
}
