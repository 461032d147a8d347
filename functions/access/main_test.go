//go:build e2e

package main

import (
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/lambdatest"
	"github.com/eksguard/eksguard/shared/config"
	"github.com/eksguard/eksguard/shared/notify"
)

// The real binary under the Lambda runtime emulator remediates a
// cluster-admin grant and publishes the finding.
func TestAccessFunctionUnderTheLambdaRuntime(t *testing.T) {
	const dev = "arn:aws:iam::111122223333:role/dev-team"
	const admin = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	w := awsfake.New(t)
	env := w.Env()
	maps.Copy(env, map[string]string{
		config.EnvPolicy:             `{"version":1,"defaults":{"mode":"remediate"},"principals":{"admins":["arn:aws:iam::111122223333:role/platform-admins"]}}`,
		config.EnvTable:              "eksguard",
		config.EnvTopicARN:           "arn:aws:sns:eu-west-1:111122223333:eksguard-findings",
		config.EnvRemediationRoleARN: "arn:aws:iam::111122223333:role/eksguard-*",
	})
	w.EKS.Put(awsfake.Cluster{Name: "payments-prod", Entries: map[string]*awsfake.AccessEntry{dev: {Policies: []string{admin}}}})
	fn := lambdatest.Start(t, ".", env)

	ev, err := os.ReadFile("../../events/access/associate-cluster-admin-to-dev.json")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // delivered twice: acted on once
		if out := strings.TrimSpace(string(fn.Invoke(t, ev))); out != "null" {
			t.Fatalf("answered %s", out)
		}
	}
	if c, _ := w.EKS.Get("payments-prod"); len(c.Entries[dev].Policies) != 0 {
		t.Fatalf("policies after = %v", c.Entries[dev].Policies)
	}
	pub := w.SNS.Published()
	if len(pub) != 1 {
		t.Fatalf("%d alerts, want 1", len(pub))
	}
	f, err := notify.DecodeMessage(pub[0].Message)
	if err != nil || f.Rule != "cluster-admin-granted" || f.Outcome == nil || f.Outcome.Status != "remediated" {
		t.Fatalf("alert = %+v, %v", f, err)
	}
	// The JSON log line the stack's failed-remediation alarm filters on.
	if !fn.WaitOutput(`"message":"finding"`) || !fn.WaitOutput(`"outcome":"remediated"`) {
		t.Fatalf("no finding log line:\n%s", fn.Output())
	}
	if !fn.WaitOutput(`"message":"duplicate delivery of a completed event: nothing to do"`) {
		t.Fatalf("no JSON log line for the duplicate:\n%s", fn.Output())
	}
}
