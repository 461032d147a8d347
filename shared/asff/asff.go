// Package asff turns eksguard's findings into AWS Security Finding Format
// documents, the form Security Hub imports (BatchImportFindings) and
// `eksguard replay --output asff` prints.
//
// A document's Id is stable per rule and resource, so that a repeat of the
// same finding updates it instead of adding one; a change finding (one
// that reports an occurrence, not a lasting state: a denied attempt, a
// deletion, a tamper event, a correlated sequence) gets one per event.
// Severity and Types are set both at the top level and under
// FindingProviderFields, where Security Hub wants finding providers to put
// them. Workflow is left to the people working the finding.
package asff

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/identity"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/rules"
)

// SchemaVersion is the ASFF version of every document.
const SchemaVersion = "2018-10-08"

// The record states and compliance statuses eksguard sets.
const (
	RecordActive   = "ACTIVE"
	RecordArchived = "ARCHIVED"

	CompliancePassed = "PASSED"
	ComplianceFailed = "FAILED"
)

// The ASFF resource types eksguard names.
const (
	TypeEksCluster     = "AwsEksCluster"
	TypeIamRole        = "AwsIamRole"
	TypeIamUser        = "AwsIamUser"
	TypeLambdaFunction = "AwsLambdaFunction"
	TypeCloudTrail     = "AwsCloudTrailTrail"
	TypeDynamoDbTable  = "AwsDynamoDbTable"
	TypeSnsTopic       = "AwsSnsTopic"
	TypeOther          = "Other"
)

// ASFF length limits (AwsSecurityFinding in the Security Hub API reference).
const (
	maxTitle          = 256
	maxDescription    = 1024
	maxRecommendation = 512
	maxProductField   = 2048
	maxSourceURL      = 512
)

// Finding is one ASFF document: the attributes eksguard fills.
type Finding struct {
	SchemaVersion         string                 `json:"SchemaVersion"`
	Id                    string                 `json:"Id"`
	ProductArn            string                 `json:"ProductArn"`
	GeneratorId           string                 `json:"GeneratorId"`
	AwsAccountId          string                 `json:"AwsAccountId"`
	Region                string                 `json:"Region,omitempty"`
	Types                 []string               `json:"Types"`
	FirstObservedAt       string                 `json:"FirstObservedAt,omitempty"`
	LastObservedAt        string                 `json:"LastObservedAt,omitempty"`
	CreatedAt             string                 `json:"CreatedAt"`
	UpdatedAt             string                 `json:"UpdatedAt"`
	Severity              Severity               `json:"Severity"`
	Title                 string                 `json:"Title"`
	Description           string                 `json:"Description"`
	SourceUrl             string                 `json:"SourceUrl,omitempty"`
	ProductFields         map[string]string      `json:"ProductFields,omitempty"`
	Resources             []Resource             `json:"Resources"`
	Remediation           *Remediation           `json:"Remediation,omitempty"`
	Compliance            *Compliance            `json:"Compliance,omitempty"`
	RecordState           string                 `json:"RecordState"`
	FindingProviderFields *FindingProviderFields `json:"FindingProviderFields,omitempty"`
}

// Severity is a finding's importance.
type Severity struct {
	Label    string `json:"Label"`
	Original string `json:"Original,omitempty"`
}

// Resource is one AWS resource a finding is about.
type Resource struct {
	Type      string `json:"Type"`
	Id        string `json:"Id"`
	Partition string `json:"Partition,omitempty"`
	Region    string `json:"Region,omitempty"`
}

// Remediation carries the recommended fix.
type Remediation struct {
	Recommendation Recommendation `json:"Recommendation"`
}

// Recommendation is the fix as text (and a link, where there is one).
type Recommendation struct {
	Text string `json:"Text,omitempty"`
	Url  string `json:"Url,omitempty"`
}

// Compliance is the check's status.
type Compliance struct {
	Status string `json:"Status"`
}

// FindingProviderFields are the provider's values of attributes customers may
// later change with BatchUpdateFindings.
type FindingProviderFields struct {
	Severity *Severity `json:"Severity,omitempty"`
	Types    []string  `json:"Types,omitempty"`
}

// Options say where the documents are imported.
type Options struct {
	// Account is the account whose default product receives the findings:
	// the central account in organization mode. Empty: the finding's own.
	Account string
	// Region is the region of that product (the importing function's).
	// Empty: the finding's.
	Region string
	// DefaultRegion is the product's region for a finding that names none
	// (Kubernetes audit events replayed from CloudWatch Logs payloads,
	// which do not carry their region) when Region is empty.
	DefaultRegion string
	// Now stamps CreatedAt and UpdatedAt (time.Now when nil).
	Now func() time.Time
}

// ProductArn is the ARN of an account's default custom product in a region.
func ProductArn(region, account string) string {
	return "arn:" + identity.Partition(region) + ":securityhub:" + region + ":" + account + ":product/" + account + "/default"
}

// ID is the document Id of a finding: stable per rule and resource (the
// finding's Key and, for a plan that names one, the policy it restores or
// removes), and per event for a change finding.
func ID(f *finding.Finding) string {
	key := f.Key()
	if f.Plan != nil && f.Plan.PolicyARN != "" {
		key += "/" + f.Plan.PolicyARN
	}
	sum := sha256.Sum256([]byte(key))
	id := "eksguard/" + f.Account + "/" + f.Rule + "/" + hex.EncodeToString(sum[:12])
	if IsChange(f.Rule) {
		id += "/" + f.EventID
	}
	return id
}

// Resolved reports whether a finding's problem is gone: its fix ran, or the
// resource was found already compliant.
func Resolved(f *finding.Finding) bool {
	return f.Outcome != nil && (f.Outcome.Status == finding.StatusRemediated || f.Outcome.Status == finding.StatusAlreadyCompliant)
}

// From converts a finding. A resolved finding (Resolved) is ARCHIVED with
// compliance PASSED; any other is ACTIVE and FAILED.
func From(f *finding.Finding, o Options) Finding {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	stamp := now().UTC().Format(time.RFC3339Nano)
	account, region := o.Account, o.Region
	if account == "" {
		account = f.Account
	}
	if region == "" {
		region = f.Region
	}
	if region == "" {
		region = o.DefaultRegion
	}
	sev := Severity{Label: Label(f.Severity), Original: f.Severity.String()}
	types := TypesOf(f.Rule)
	doc := Finding{
		SchemaVersion: SchemaVersion,
		Id:            ID(f),
		ProductArn:    ProductArn(region, account),
		GeneratorId:   f.Rule,
		AwsAccountId:  f.Account,
		Region:        f.Region,
		Types:         types,
		CreatedAt:     stamp,
		UpdatedAt:     stamp,
		Severity:      sev,
		Title:         clip(f.Title, maxTitle),
		Description:   clip(description(f), maxDescription),
		ProductFields: productFields(f),
		Resources:     Resources(f),
		RecordState:   RecordActive,
		Compliance:    &Compliance{Status: ComplianceFailed},
		FindingProviderFields: &FindingProviderFields{
			Severity: &sev,
			Types:    types,
		},
	}
	if t, err := time.Parse(time.RFC3339, f.EventTime); err == nil {
		doc.FirstObservedAt = t.UTC().Format(time.RFC3339Nano)
		doc.LastObservedAt = doc.FirstObservedAt
	}
	if Resolved(f) {
		doc.RecordState = RecordArchived
		doc.Compliance.Status = CompliancePassed
	}
	// SourceUrl: the CloudTrail event the finding is about, in the console.
	if links := notify.Links(f); len(links) > 0 && utf8.RuneCountInString(links[0].URL) <= maxSourceURL && strings.HasPrefix(links[0].URL, "https://") {
		doc.SourceUrl = links[0].URL
	}
	if text := recommendation(f); text != "" {
		doc.Remediation = &Remediation{Recommendation: Recommendation{Text: clip(text, maxRecommendation)}}
	}
	return doc
}

// Label is the ASFF severity label of a severity.
func Label(s finding.Severity) string {
	switch s {
	case finding.Info:
		return "INFORMATIONAL"
	case finding.Low:
		return "LOW"
	case finding.Medium:
		return "MEDIUM"
	case finding.High:
		return "HIGH"
	}
	return "CRITICAL"
}

func description(f *finding.Finding) string {
	if f.Summary != "" {
		return f.Summary
	}
	return f.Title
}

// recommendation is the plan and its CLI command, or the rule's fix advice
// when there is no plan.
func recommendation(f *finding.Finding) string {
	if f.Plan != nil {
		return "Fix: " + f.Plan.Summary() + ". Command: " + f.Plan.CLI(f.Region)
	}
	var text string
	if r, ok := rules.ByID(f.Rule); ok {
		text = r.Fix
	}
	if f.Command != "" {
		// What a person runs (kubectl for a Kubernetes finding).
		text = strings.TrimSpace(text + " Command: " + f.Command)
	}
	return text
}

// productFields are the actor, the event and what eksguard did, under the
// eksguard/ prefix (aws/ is reserved for AWS).
func productFields(f *finding.Finding) map[string]string {
	pf := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			pf["eksguard/"+k] = clip(v, maxProductField)
		}
	}
	set("rule", f.Rule)
	set("eventId", f.EventID)
	set("eventName", f.EventName)
	set("eventTime", f.EventTime)
	set("actor", f.Actor.ARN)
	set("actorType", f.Actor.Type)
	set("actorRole", f.Actor.Role)
	set("actorAccount", f.Actor.AccountID)
	set("sourceIp", f.Actor.SourceIP)
	set("userAgent", f.Actor.UserAgent)
	set("invokedBy", f.Actor.InvokedBy)
	set("mode", string(f.Mode))
	set("before", f.Before)
	set("after", f.After)
	set("needsCheck", f.NeedsCheck)
	if o := f.Outcome; o != nil {
		set("outcome", string(o.Status))
		set("outcomeMessage", o.Message)
		set("errorCode", o.ErrorCode)
	}
	if f.Plan != nil {
		set("planAction", f.Plan.Action)
	}
	return pf
}

// Resources are what a finding is about, the most specific first: the
// principal (a role or user), the cluster, then any other resource. A
// finding naming none is about its account.
func Resources(f *finding.Finding) []Resource {
	part := identity.Partition(f.Region)
	var out []Resource
	if p := f.Principal; p != "" {
		t := TypeOther
		switch {
		case strings.Contains(p, ":role/"):
			t = TypeIamRole
		case strings.Contains(p, ":user/"):
			t = TypeIamUser
		}
		out = append(out, Resource{Type: t, Id: p, Partition: part, Region: f.Region})
	}
	if f.Plan != nil && f.Plan.RoleName != "" && f.Principal == "" {
		out = append(out, Resource{Type: TypeIamRole, Id: "arn:" + part + ":iam::" + f.Account + ":role/" + f.Plan.RoleName, Partition: part, Region: f.Region})
	}
	if f.Cluster != "" {
		out = append(out, Resource{Type: TypeEksCluster, Id: "arn:" + part + ":eks:" + f.Region + ":" + f.Account + ":cluster/" + f.Cluster, Partition: part, Region: f.Region})
	}
	if f.Resource != "" {
		out = append(out, otherResource(f, part))
	}
	if len(out) == 0 {
		out = append(out, Resource{Type: TypeOther, Id: "arn:" + part + ":iam::" + f.Account + ":root", Partition: part, Region: f.Region})
	}
	return out
}

// otherResource types one of the resources tamper findings name
// ("kind/name") and writes its ARN.
func otherResource(f *finding.Finding, part string) Resource {
	kind, name, _ := strings.Cut(f.Resource, "/")
	prefix := "arn:" + part + ":"
	r := Resource{Type: TypeOther, Partition: part, Region: f.Region}
	switch kind {
	case "function":
		r.Type, r.Id = TypeLambdaFunction, prefix+"lambda:"+f.Region+":"+f.Account+":function:"+name
	case "trail":
		r.Type, r.Id = TypeCloudTrail, prefix+"cloudtrail:"+f.Region+":"+f.Account+":trail/"+name
	case "table":
		r.Type, r.Id = TypeDynamoDbTable, prefix+"dynamodb:"+f.Region+":"+f.Account+":table/"+name
	case "topic":
		r.Type, r.Id = TypeSnsTopic, prefix+"sns:"+f.Region+":"+f.Account+":"+name
	case "rule":
		r.Id = prefix + "events:" + f.Region + ":" + f.Account + ":rule/" + name
	case "parameter":
		r.Id = prefix + "ssm:" + f.Region + ":" + f.Account + ":parameter/" + strings.TrimPrefix(name, "/")
	default:
		r.Id = f.Resource
	}
	return r
}

// clip shortens s to at most n characters (ASFF counts characters).
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
