package hubimport

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/stsfake"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/notify"
)

const (
	central  = "111122223333"
	memberA  = "444455556666"
	memberB  = "777788889999"
	roleName = "eksguard-remediation"
	hubRole  = "arn:aws:iam::" + central + ":role/eksguard-hub-eu-west-1"
)

func memberRole(account string) string { return "arn:aws:iam::" + account + ":role/" + roleName }

func defaultProduct(region, account string) string {
	return "arn:aws:securityhub:" + region + ":" + account + ":product/" + account + "/default"
}

// orgImporter is the hub function of an organization deployment's central
// account, built by FromEnv against the fakes, with IAM enforced: the hub
// role may import into the central account's product only, each member
// role into its own account's product in the member regions.
func orgImporter(t *testing.T) (*Importer, *awsfake.World, *stsfake.STS, *bytes.Buffer) {
	t.Helper()
	w := awsfake.New(t)
	sts := stsfake.New(t)
	for k, v := range w.Env() {
		t.Setenv(k, v)
	}
	for k, v := range map[string]string{
		config.EnvTable:              "eksguard-state",
		config.EnvAccount:            central,
		config.EnvMemberRoleName:     roleName,
		config.EnvMemberRegions:      "eu-west-1,us-east-1",
		config.EnvSecurityHubAccount: central,
		"AWS_ENDPOINT_URL_STS":       sts.URL,
	} {
		t.Setenv(k, v)
	}
	imports := func(account string, regions ...string) awsfake.Statement {
		st := awsfake.Statement{Effect: "Allow", Actions: []string{"securityhub:BatchImportFindings"}}
		for _, r := range regions {
			st.Resources = append(st.Resources, defaultProduct(r, account))
		}
		return st
	}
	if err := w.Enforce(
		awsfake.Principal{AccessKey: "AKIDFAKE", RoleARN: hubRole, Session: "hub", Policy: []awsfake.Statement{
			imports(central, "eu-west-1"),
			{Effect: "Allow", Actions: []string{"dynamodb:UpdateItem"}, Resources: []string{"*"}},
		}},
		awsfake.Principal{AccessKey: stsfake.AccessKeyFor(memberA), RoleARN: memberRole(memberA), Session: "eksguard",
			Policy: []awsfake.Statement{imports(memberA, "eu-west-1", "us-east-1")}},
		awsfake.Principal{AccessKey: stsfake.AccessKeyFor(memberB), RoleARN: memberRole(memberB), Session: "eksguard",
			Policy: []awsfake.Statement{imports(memberB, "eu-west-1", "us-east-1")}},
	); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	im, err := FromEnv(slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	im.Sleep = func(time.Duration) {}
	return im, w, sts, &logs
}

func findingOf(i int, account, region string) *finding.Finding {
	f := clusterFinding(i)
	f.Account, f.Region = account, region
	return f
}

// sqsBatch is one SQS batch of the findings, message "m<i>" holding fs[i].
func sqsBatch(t *testing.T, fs ...*finding.Finding) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	for i, f := range fs {
		body, err := notify.FindingJSON(f, 250_000, true)
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: "m" + strconv.Itoa(i), Body: body})
	}
	return ev
}

// accountOfKey is the account whose credentials signed a call: the hub
// role's key is the central account's, the fake STS names the others'.
func accountOfKey(key string) string {
	if key == "AKIDFAKE" {
		return central
	}
	return strings.TrimPrefix(key, "ASIA")
}

// importCalls checks every BatchImportFindings call the fake received: each
// document's AwsAccountId is the signing account and its ProductArn that
// account's default product in the signing region. It returns the calls
// as "account region findings".
func importCalls(t *testing.T, w *awsfake.World) []string {
	t.Helper()
	var out []string
	for _, c := range w.Log.Of("securityhub") {
		acct := accountOfKey(c.AccessKey)
		var req struct {
			Findings []struct{ Id, ProductArn, AwsAccountId string }
		}
		c.JSON(t, &req)
		for _, f := range req.Findings {
			if f.AwsAccountId != acct || f.ProductArn != defaultProduct(c.Region, acct) {
				t.Errorf("call signed by %s in %s: document %s has AwsAccountId %s, ProductArn %s; want %s, %s",
					c.AccessKey, c.Region, f.Id, f.AwsAccountId, f.ProductArn, acct, defaultProduct(c.Region, acct))
			}
		}
		if c.Denied {
			t.Errorf("call signed by %s in %s was denied", c.AccessKey, c.Region)
		}
		out = append(out, acct+" "+c.Region+" "+strconv.Itoa(len(req.Findings)))
	}
	slices.Sort(out)
	return out
}

func failures(resp events.SQSEventResponse) []string {
	var out []string
	for _, f := range resp.BatchItemFailures {
		out = append(out, f.ItemIdentifier)
	}
	slices.Sort(out)
	return out
}

func TestOrgFindingsAreImportedByTheirAccount(t *testing.T) {
	im, w, sts, _ := orgImporter(t)
	batch := sqsBatch(t,
		findingOf(1, central, "eu-west-1"),
		findingOf(2, memberA, "eu-west-1"),
		findingOf(3, memberB, "us-east-1"),
		findingOf(4, memberA, "eu-west-1"),
	)
	resp, err := im.Handle(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(resp); len(got) != 0 {
		t.Fatalf("batch item failures: got %v, want none", got)
	}
	want := []string{central + " eu-west-1 1", memberA + " eu-west-1 2", memberB + " us-east-1 1"}
	if got := importCalls(t, w); !slices.Equal(got, want) {
		t.Errorf("BatchImportFindings calls (account region findings): got %v, want %v", got, want)
	}
	var roles []string
	for _, c := range sts.Calls() {
		if c.Caller != "AKIDFAKE" || !strings.HasPrefix(c.RoleSessionName, "eksguard-event-") {
			t.Errorf("AssumeRole %+v: want it signed by the hub role, the session named after an event", c)
		}
		roles = append(roles, c.RoleARN)
	}
	slices.Sort(roles)
	if want := []string{memberRole(memberA), memberRole(memberB)}; !slices.Equal(roles, want) {
		t.Errorf("AssumeRole: got %v, want once per member: %v", roles, want)
	}
	if got := len(w.SecurityHub.Findings()); got != 4 {
		t.Errorf("stored: got %d findings, want 4", got)
	}

	// A warm invocation: the member credentials are cached.
	if resp, err := im.Handle(context.Background(), sqsBatch(t, findingOf(5, memberB, "us-east-1"))); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("second batch: %v, failures %v", err, resp.BatchItemFailures)
	}
	if got := len(sts.Calls()); got != 2 {
		t.Errorf("AssumeRole calls after a second batch: got %d, want 2 (cached)", got)
	}
}

func TestOrgFindingOutsideTheMemberRegionsGoesToTheCentralRegion(t *testing.T) {
	im, w, _, _ := orgImporter(t)
	resp, err := im.Handle(context.Background(), sqsBatch(t, findingOf(1, memberA, "ap-south-1")))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(resp); len(got) != 0 {
		t.Fatalf("batch item failures: got %v, want none", got)
	}
	if got, want := importCalls(t, w), []string{memberA + " eu-west-1 1"}; !slices.Equal(got, want) {
		t.Errorf("calls: got %v, want %v (the function's region)", got, want)
	}
}

func TestOrgRoleRefusedFailsOnlyThatAccountsFindings(t *testing.T) {
	im, w, sts, logs := orgImporter(t)
	sts.Deny(memberRole(memberB))
	resp, err := im.Handle(context.Background(), sqsBatch(t,
		findingOf(1, central, "eu-west-1"),
		findingOf(2, memberA, "eu-west-1"),
		findingOf(3, memberB, "us-east-1"),
		findingOf(4, memberB, "eu-west-1"),
	))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := failures(resp), []string{"m2", "m3"}; !slices.Equal(got, want) {
		t.Errorf("batch item failures: got %v, want %v (the refused member's findings)", got, want)
	}
	if got, want := importCalls(t, w), []string{central + " eu-west-1 1", memberA + " eu-west-1 1"}; !slices.Equal(got, want) {
		t.Errorf("calls: got %v, want %v", got, want)
	}
	if got := len(w.SecurityHub.Findings()); got != 2 {
		t.Errorf("stored: got %d findings, want 2", got)
	}
	var logged bool
	for _, line := range bytes.Split(logs.Bytes(), []byte("\n")) {
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil && rec["level"] == "ERROR" && rec["account"] == memberB && rec["errorCode"] == "AccessDenied" {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no error log naming account %s and errorCode AccessDenied:\n%s", memberB, logs)
	}
}

// Without the organization mode, a member's finding sent by the central
// account is refused whole, as Security Hub refuses it.
func TestMemberFindingFromTheCentralAccountIsRefused(t *testing.T) {
	im, w, _, _ := orgImporter(t)
	im.Org = nil
	resp, err := im.Handle(context.Background(), sqsBatch(t, findingOf(1, memberA, "eu-west-1")))
	if err != nil {
		t.Fatal(err)
	}
	if got := failures(resp); !slices.Equal(got, []string{"m0"}) {
		t.Errorf("batch item failures: got %v, want [m0]", got)
	}
	if got := len(w.SecurityHub.Findings()); got != 0 {
		t.Errorf("stored: got %d findings, want none", got)
	}
}
