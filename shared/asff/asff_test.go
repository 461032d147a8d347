package asff

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/internal/testsupport/findingtest"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/rules"
)

var fixed = time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)

// opts import where the finding is, in eu-west-1 for findings that name no
// region (replayed audit logs).
func opts() Options {
	return Options{DefaultRegion: "eu-west-1", Now: func() time.Time { return fixed }}
}

func readSchema(t *testing.T) *schema {
	t.Helper()
	data, err := os.ReadFile("testdata/asff.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := loadSchema(data)
	if err != nil {
		t.Fatalf("testdata/asff.schema.json: %v", err)
	}
	return s
}

func check(t *testing.T, s *schema, name string, doc Finding) {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, e := range s.validate(s, v, "#") {
		t.Errorf("%s: %s", name, e)
	}
}

// sampleFindings are the findings of every sample event in events/, under
// the built-in policy and the example policy, as the rule goldens hold them.
func sampleFindings(t *testing.T) map[string][]finding.Finding {
	t.Helper()
	events, err := filepath.Glob("../../events/*/*.json")
	if err != nil || len(events) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	out := map[string][]finding.Finding{}
	for _, ev := range events {
		rel, _ := filepath.Rel("../../events", ev)
		for _, dir := range []string{"golden", "golden-policy"} {
			path := filepath.Join("../rules/testdata", dir, rel)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("sample event %s has no golden findings: %v", ev, err)
			}
			var fs []finding.Finding
			if err := json.Unmarshal(data, &fs); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out[dir+"/"+rel] = fs
		}
	}
	return out
}

func TestSampleEventsAgainstSchema(t *testing.T) {
	s := readSchema(t)
	n := 0
	for name, fs := range sampleFindings(t) {
		for i := range fs {
			check(t, s, name+"#"+fs[i].Rule, From(&fs[i], opts()))
			n++
		}
	}
	// Hand-built findings: remediated, in organization mode, and with
	// fields longer than ASFF takes.
	long := findingtest.LoggingFinding()
	long.Summary = strings.Repeat("é", 3000)
	long.Title = strings.Repeat("t", 400)
	long.Before = strings.Repeat("b", 5000)
	for name, f := range map[string]*finding.Finding{
		"remediated": findingtest.LoggingFinding(),
		"admin":      findingtest.AdminFinding(),
		"long":       long,
	} {
		check(t, s, name, From(f, Options{Account: "999988887777", Region: "us-gov-west-1", Now: opts().Now}))
		n++
	}
	if n < 60 {
		t.Errorf("got %d documents checked, want at least 60 (every sample event's findings)", n)
	}
}

// TestSchemaRejects makes sure the validator and schema can fail: documents
// missing a required attribute or with a wrong type are reported.
func TestSchemaRejects(t *testing.T) {
	s := readSchema(t)
	good := From(findingtest.LoggingFinding(), opts())
	b, _ := json.Marshal(good)
	for name, mutate := range map[string]func(m map[string]any){
		"missing Id":          func(m map[string]any) { delete(m, "Id") },
		"missing Resources":   func(m map[string]any) { delete(m, "Resources") },
		"numeric account":     func(m map[string]any) { m["AwsAccountId"] = 111122223333 },
		"bad label":           func(m map[string]any) { m["Severity"] = map[string]any{"Label": "SEVERE"} },
		"bad type namespace":  func(m map[string]any) { m["Types"] = []any{"Checks/Whatever"} },
		"bad timestamp":       func(m map[string]any) { m["UpdatedAt"] = "yesterday" },
		"unknown attribute":   func(m map[string]any) { m["Workflow"] = map[string]any{"Status": "NEW"} },
		"reserved field name": func(m map[string]any) { m["ProductFields"] = map[string]any{"aws/x": "y"} },
		"empty resources":     func(m map[string]any) { m["Resources"] = []any{} },
	} {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		if errs := s.validate(s, m, "#"); len(errs) == 0 {
			t.Errorf("%s: got no violation, want one", name)
		}
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if errs := s.validate(s, m, "#"); len(errs) != 0 {
		t.Errorf("good document: got %v, want no violation", errs)
	}
}

func TestEveryRuleIsTyped(t *testing.T) {
	ids := append(rules.IDs(), "remediation-suppressed", "slack-action-refused")
	for _, id := range ids {
		if _, ok := ruleTypes[id]; !ok {
			t.Errorf("rule %s has no ASFF types in ruleTypes", id)
		}
	}
	for id := range ruleTypes {
		if !slices.Contains(ids, id) {
			t.Errorf("ruleTypes names %s, which is no rule", id)
		}
	}
}

func TestFrom(t *testing.T) {
	f := findingtest.LoggingFinding()
	f.Outcome = nil
	doc := From(f, opts())
	if got, want := doc.ProductArn, "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"; got != want {
		t.Errorf("ProductArn: got %s, want %s", got, want)
	}
	if doc.GeneratorId != f.Rule || doc.AwsAccountId != "111122223333" || doc.SchemaVersion != "2018-10-08" {
		t.Errorf("got GeneratorId %s, AwsAccountId %s, SchemaVersion %s; want %s, 111122223333, 2018-10-08", doc.GeneratorId, doc.AwsAccountId, doc.SchemaVersion, f.Rule)
	}
	if doc.RecordState != RecordActive || doc.Compliance.Status != ComplianceFailed {
		t.Errorf("open finding: got %s/%s, want ACTIVE/FAILED", doc.RecordState, doc.Compliance.Status)
	}
	if got, want := doc.Severity.Label, "HIGH"; got != want || doc.FindingProviderFields.Severity.Label != want {
		t.Errorf("Severity.Label: got %s (provider fields %s), want %s", got, doc.FindingProviderFields.Severity.Label, want)
	}
	if doc.CreatedAt != doc.UpdatedAt || doc.UpdatedAt != "2026-12-02T03:00:00Z" {
		t.Errorf("CreatedAt %s, UpdatedAt %s: want both 2026-12-02T03:00:00Z", doc.CreatedAt, doc.UpdatedAt)
	}
	if doc.FirstObservedAt != "2025-03-14T03:02:11Z" || doc.LastObservedAt != doc.FirstObservedAt {
		t.Errorf("observed: got %s..%s, want the event time 2025-03-14T03:02:11Z", doc.FirstObservedAt, doc.LastObservedAt)
	}
	wantRes := Resource{Type: TypeEksCluster, Id: "arn:aws:eks:eu-west-1:111122223333:cluster/payments-prod", Partition: "aws", Region: "eu-west-1"}
	if len(doc.Resources) != 1 || doc.Resources[0] != wantRes {
		t.Errorf("Resources: got %+v, want [%+v]", doc.Resources, wantRes)
	}
	cli := f.Plan.CLI(f.Region)
	if doc.Remediation == nil || !strings.Contains(doc.Remediation.Recommendation.Text, cli) {
		t.Errorf("Remediation: got %+v, want the command %s", doc.Remediation, cli)
	}
	if want := "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/" + f.EventID; doc.SourceUrl != want {
		t.Errorf("SourceUrl: got %q, want the CloudTrail event %s", doc.SourceUrl, want)
	}
	if got := doc.ProductFields["eksguard/actor"]; got != f.Actor.ARN {
		t.Errorf("ProductFields actor: got %q, want %q", got, f.Actor.ARN)
	}
	if got := doc.ProductFields["eksguard/eventId"]; got != f.EventID {
		t.Errorf("ProductFields eventId: got %q, want %q", got, f.EventID)
	}

	f.Outcome = &finding.Outcome{Status: finding.StatusRemediated}
	if doc := From(f, opts()); doc.RecordState != RecordArchived || doc.Compliance.Status != CompliancePassed {
		t.Errorf("remediated: got %s/%s, want ARCHIVED/PASSED", doc.RecordState, doc.Compliance.Status)
	}
	f.Outcome = &finding.Outcome{Status: finding.StatusSkippedMode}
	if doc := From(f, opts()); doc.RecordState != RecordActive {
		t.Errorf("notify mode: got %s, want ACTIVE", doc.RecordState)
	}
}

func TestOrganizationMode(t *testing.T) {
	f := findingtest.AdminFinding()
	f.Account = "444455556666"
	doc := From(f, Options{Account: "111122223333", Region: "eu-central-1", Now: opts().Now})
	if doc.AwsAccountId != "444455556666" {
		t.Errorf("AwsAccountId: got %s, want the member account 444455556666", doc.AwsAccountId)
	}
	if want := "arn:aws:securityhub:eu-central-1:111122223333:product/111122223333/default"; doc.ProductArn != want {
		t.Errorf("ProductArn: got %s, want the central account's %s", doc.ProductArn, want)
	}
}

func TestIDs(t *testing.T) {
	a := findingtest.AdminFinding()
	b := findingtest.AdminFinding()
	b.EventID, b.EventTime = "another-event", "2026-01-01T00:00:00Z"
	if ID(a) != ID(b) {
		t.Errorf("a state finding on the same resource: got ids %s and %s, want one", ID(a), ID(b))
	}
	c := findingtest.AdminFinding()
	c.Cluster = "other-cluster"
	if ID(a) == ID(c) {
		t.Errorf("another cluster: got the same id %s, want two", ID(a))
	}
	d1 := finding.Finding{Rule: "access-change-denied", Account: "111122223333", Region: "eu-west-1", Cluster: "x", EventID: "e1"}
	d2 := d1
	d2.EventID = "e2"
	if ID(&d1) == ID(&d2) {
		t.Errorf("change finding of two events: got the same id %s, want two", ID(&d1))
	}
	if n := len(ID(&d1)); n > 512 {
		t.Errorf("id length %d, want at most 512", n)
	}
}

func TestResourcesOfTamperFindings(t *testing.T) {
	for res, want := range map[string]Resource{
		"function/eksguard-Fn": {Type: TypeLambdaFunction, Id: "arn:aws:lambda:eu-west-1:111122223333:function:eksguard-Fn"},
		"trail/management":     {Type: TypeCloudTrail, Id: "arn:aws:cloudtrail:eu-west-1:111122223333:trail/management"},
		"table/T":              {Type: TypeDynamoDbTable, Id: "arn:aws:dynamodb:eu-west-1:111122223333:table/T"},
		"topic/Topic":          {Type: TypeSnsTopic, Id: "arn:aws:sns:eu-west-1:111122223333:Topic"},
		"rule/R":               {Type: TypeOther, Id: "arn:aws:events:eu-west-1:111122223333:rule/R"},
		"parameter/eksguard/x": {Type: TypeOther, Id: "arn:aws:ssm:eu-west-1:111122223333:parameter/eksguard/x"},
	} {
		f := finding.Finding{Rule: "eksguard-tampered", Account: "111122223333", Region: "eu-west-1", Resource: res}
		got := Resources(&f)
		want.Partition, want.Region = "aws", "eu-west-1"
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: got %+v, want [%+v]", res, got, want)
		}
	}
}

// A Kubernetes finding replayed from a subscription payload names no
// region: its product is DefaultRegion's, its recommendation the kubectl
// command.
func TestRegionlessKubernetesFinding(t *testing.T) {
	f := &finding.Finding{Rule: "cluster-admin-bound", Severity: finding.Critical, Title: "t", Account: "111122223333",
		Cluster: "payments-prod", Resource: "clusterrolebinding/dev-admin", EventID: "audit-1", EventTime: "2026-11-02T03:04:05Z",
		Command: "kubectl delete clusterrolebinding dev-admin"}
	doc := From(f, Options{DefaultRegion: "eu-central-1", Now: opts().Now})
	if want := "arn:aws:securityhub:eu-central-1:111122223333:product/111122223333/default"; doc.ProductArn != want {
		t.Errorf("ProductArn: got %s, want %s", doc.ProductArn, want)
	}
	if doc.Remediation == nil || !strings.Contains(doc.Remediation.Recommendation.Text, "kubectl delete clusterrolebinding dev-admin") {
		t.Errorf("Remediation: got %+v, want the kubectl command", doc.Remediation)
	}
}
