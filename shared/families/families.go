// Package families is the one list of which CloudTrail events eksguard
// handles and which Lambda handles them. The functions dispatch on it, the
// CDK stack builds its EventBridge patterns from it, and the docs print it.
package families

import "slices"

// DetailType is the EventBridge detail-type of CloudTrail management events.
const DetailType = "AWS API Call via CloudTrail"

// Family is the set of events one Lambda handles.
type Family struct {
	// Name is the function's directory under functions/ and its id in the stack.
	Name string
	// Source is the EventBridge source, e.g. "aws.eks".
	Source string
	// EventSource is the CloudTrail eventSource, e.g. "eks.amazonaws.com".
	EventSource string
	// EventNames are the CloudTrail eventName values the family handles.
	EventNames []string
	// GlobalRegion is set for global services whose events reach EventBridge
	// only in that region (IAM: us-east-1).
	GlobalRegion string
	// Description says what the family watches, for docs and the stack.
	Description string
}

// The families, in deployment order.
var (
	Access = Family{
		Name:        "access",
		Source:      "aws.eks",
		EventSource: "eks.amazonaws.com",
		EventNames: []string{
			"CreateAccessEntry", "UpdateAccessEntry", "DeleteAccessEntry",
			"AssociateAccessPolicy", "DisassociateAccessPolicy",
		},
		Description: "EKS access entries and access policy associations",
	}
	Cluster = Family{
		Name:        "cluster",
		Source:      "aws.eks",
		EventSource: "eks.amazonaws.com",
		EventNames: []string{
			"UpdateClusterConfig", "CreateCluster", "DeleteCluster",
			"AssociateEncryptionConfig", "CreatePodIdentityAssociation",
		},
		Description: "EKS cluster endpoint, logging, authentication and encryption settings",
	}
	IAM = Family{
		Name:        "iam",
		Source:      "aws.iam",
		EventSource: "iam.amazonaws.com",
		EventNames: []string{
			"DetachRolePolicy", "AttachRolePolicy", "PutRolePolicy", "DeleteRolePolicy",
			"UpdateAssumeRolePolicy", "DetachUserPolicy", "DetachGroupPolicy",
		},
		GlobalRegion: "us-east-1",
		Description:  "IAM policies and trust of EKS cluster and node roles",
	}
)

// All returns every family.
func All() []Family { return []Family{Access, Cluster, IAM} }

// Handles reports whether the family handles the CloudTrail event.
func (f Family) Handles(eventSource, eventName string) bool {
	return eventSource == f.EventSource && slices.Contains(f.EventNames, eventName)
}

// For returns the family that handles the event, if any.
func For(eventSource, eventName string) (Family, bool) {
	for _, f := range All() {
		if f.Handles(eventSource, eventName) {
			return f, true
		}
	}
	return Family{}, false
}

// InScope reports whether any family handles the event.
func InScope(eventSource, eventName string) bool {
	_, ok := For(eventSource, eventName)
	return ok
}

// Pattern is the EventBridge event pattern that routes the family's events,
// as the JSON-shaped value the stack deploys.
func (f Family) Pattern() map[string]any {
	return map[string]any{
		"source":      []string{f.Source},
		"detail-type": []string{DetailType},
		"detail": map[string]any{
			"eventSource": []string{f.EventSource},
			"eventName":   slices.Clone(f.EventNames),
		},
	}
}
