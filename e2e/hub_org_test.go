//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/stsfake"
	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/hubimport"
	"github.com/eksguard/eksguard/shared/notify"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

// security-hub-organization: a synthesis with organization settings and
// securityHub on; its hub function, under the emulator with its
// environment from the template, gets one SQS batch with findings of the
// central account and of three member accounts. Security Hub takes a
// default-product finding only from its own account, so each member's
// findings are imported through that account's remediation role (a fake
// STS issues per-account keys; the fakes authorize them against the
// StackSet member template's grant, and the fake Security Hub refuses a
// finding of another account than the caller's), in the finding's member
// region or else the central one. The member whose role is refused gets
// its findings back as batch item failures; the others are imported.
func scenarioSecurityHubOrganization(t *testing.T, s *stand) string {
	buildDir := filepath.Join(s.root, "build")
	w := awsfake.New(t)
	assembly := synth(t, s.root, writePolicy(t, s.root), buildDir, "securityHub=on",
		"organizationId="+orgID, "memberOrganizationalUnits="+orgOU, "memberRegions="+region+",eu-west-1")
	path := filepath.Join(assembly, stackName+".template.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var central, member template
	if err := json.Unmarshal(raw, &central); err != nil {
		t.Fatal(err)
	}
	// The central bus's rules are the organization scenario's; this one
	// reads the functions only, which loadDeployment does for a template
	// whose rules are all on the default bus.
	var tm map[string]any
	if err := json.Unmarshal(raw, &tm); err != nil {
		t.Fatal(err)
	}
	res := tm["Resources"].(map[string]any)
	for id, r := range res {
		rm := r.(map[string]any)
		if rm["Type"] == "AWS::Events::Rule" && rm["Properties"].(map[string]any)["EventBusName"] != nil {
			delete(res, id)
		}
	}
	if raw, err = json.Marshal(tm); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	d := loadDeployment(t, assembly, buildDir, w.SQS.URL)
	fn := d.Functions[hubimport.Name]
	if fn == nil {
		t.Fatalf("no hub function: %v", sortedKeys(d.Functions))
	}
	for _, id := range central.ids("AWS::CloudFormation::StackSet") {
		if err := json.Unmarshal([]byte(str(central.Resources[id].Properties["TemplateBody"])), &member); err != nil {
			t.Fatalf("StackSet TemplateBody: %v", err)
		}
	}
	var roleID string
	for _, id := range member.ids("AWS::IAM::Role") {
		if str(member.Resources[id].Properties["RoleName"]) == orgRoleName {
			roleID = id
		}
	}
	if roleID == "" {
		t.Fatal("the member template has no remediation role")
	}
	const refused = "121212121212"
	principals := []awsfake.Principal{principal(fn)}
	for _, acct := range []string{memberA, memberB, refused} {
		pol := rolePolicy(t, member, &resolver{tm: member, in: acct}, roleID)
		principals = append(principals, awsfake.Principal{AccessKey: stsfake.AccessKeyFor(acct), RoleARN: memberRoleARN(acct), Session: "eksguard", Policy: pol})
	}
	if err := w.Enforce(principals...); err != nil {
		t.Fatal(err)
	}
	sts := stsfake.New(t)
	sts.Deny(memberRoleARN(refused))
	env := map[string]string{"AWS_ENDPOINT_URL_STS": sts.URL}
	for k, v := range w.Env() {
		if k == "AWS_ENDPOINT_URL_SECURITYHUB" || k == "AWS_ENDPOINT_URL_DYNAMODB" || k == "AWS_EC2_METADATA_DISABLED" || k == "AWS_CONFIG_FILE" || k == "AWS_SHARED_CREDENTIALS_FILE" {
			env[k] = v
		}
	}
	lf := startFunction(t, s.rie, s.launch, fn, env)

	var fs []finding.Finding
	for _, ev := range s.events {
		rec, err := cloudtrail.DecodeEvent(ev.Raw)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, rules.Assess(rec, policy.Default())...)
	}
	if len(fs) < 5 {
		t.Fatalf("%d sample findings, want at least 5", len(fs))
	}
	// account, region of each finding sent, and the product it must reach.
	sent := []struct{ account, region, product string }{
		{account, region, region},
		{memberA, region, region},
		{memberA, "ap-south-1", region}, // not a member region: the central one
		{memberB, "eu-west-1", "eu-west-1"},
		{refused, region, ""},
	}
	var sqs events.SQSEvent
	want := map[string]bool{}
	for i, c := range sent {
		f := fs[i]
		f.Account, f.Region = c.account, c.region
		body, err := notify.FindingJSON(&f, 250_000, true)
		if err != nil {
			t.Fatal(err)
		}
		sqs.Records = append(sqs.Records, events.SQSMessage{MessageId: fmt.Sprint("m", i), Body: body, EventSource: "aws:sqs"})
		if c.product != "" {
			want["arn:aws:securityhub:"+c.product+":"+c.account+":product/"+c.account+"/default"] = true
		}
	}
	rawEv, _ := json.Marshal(sqs)
	var resp events.SQSEventResponse
	if err := json.Unmarshal(invoke(t, lf, rawEv), &resp); err != nil {
		t.Fatalf("the hub function's answer is not a partial batch response: %v\n%s", err, lf.Output())
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"m4"}) {
		t.Fatalf("batch item failures: got %v, want [m4] (the refused member's finding)\n%s", failed, lf.Output())
	}
	got := map[string]bool{}
	for key := range w.SecurityHub.Findings() {
		got[key[:strings.IndexByte(key, '|')]] = true
	}
	if len(got) != len(want) {
		t.Errorf("products holding findings: got %v, want %v", sortedKeys(got), sortedKeys(want))
	}
	for p := range want {
		if !got[p] {
			t.Errorf("no finding in %s; products: %v", p, sortedKeys(got))
		}
	}
	calls := w.Log.Of("securityhub")
	for _, c := range calls {
		if c.Denied {
			t.Errorf("BatchImportFindings signed by %s in %s was refused", c.AccessKey, c.Region)
		}
	}
	for _, a := range w.Denied() {
		t.Errorf("IAM denied a call the stack should grant: %s", a)
	}
	if !strings.Contains(lf.Output(), refused) || !strings.Contains(lf.Output(), "AccessDenied") {
		t.Errorf("the hub function's log does not name the refused account %s and AccessDenied:\n%s", refused, lf.Output())
	}
	return fmt.Sprintf("%d findings of 4 accounts in one batch: %d calls, each signed by the finding's account, into %d default products; the refused member's finding the one batch item failure",
		len(sent), len(calls), len(got))
}
