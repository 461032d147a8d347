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

// The real binary under the Lambda runtime emulator detaches an admin
// policy from a node role and publishes the finding; without a table it
// refuses to start.
func TestIAMFunctionUnderTheLambdaRuntime(t *testing.T) {
	const admin = "arn:aws:iam::aws:policy/AdministratorAccess"
	const worker = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
	w := awsfake.New(t)
	env := w.Env()
	maps.Copy(env, map[string]string{
		config.EnvPolicy:   `{"version":1,"defaults":{"mode":"remediate"},"principals":{"admins":["arn:aws:iam::111122223333:role/platform-admins"]}}`,
		config.EnvTable:    "eksguard",
		config.EnvTopicARN: "arn:aws:sns:eu-west-1:111122223333:eksguard-findings",
	})
	w.IAM.PutRole("payments-prod-node-role", worker, admin)
	fn := lambdatest.Start(t, ".", env)

	ev, err := os.ReadFile("../../events/iam/attach-administrator-access-to-node-role.json")
	if err != nil {
		t.Fatal(err)
	}
	if out := strings.TrimSpace(string(fn.Invoke(t, ev))); out != "null" {
		t.Fatalf("answered %s", out)
	}
	if got, _ := w.IAM.Attached("payments-prod-node-role"); len(got) != 1 || got[0] != worker {
		t.Fatalf("attached after = %v", got)
	}
	pub := w.SNS.Published()
	if len(pub) != 1 {
		t.Fatalf("%d alerts, want 1", len(pub))
	}
	f, err := notify.DecodeMessage(pub[0].Message)
	if err != nil || f.Rule != "admin-policy-attached-to-eks-role" || f.Outcome == nil || f.Outcome.Status != "remediated" {
		t.Fatalf("alert = %+v, %v", f, err)
	}

	delete(env, config.EnvTable)
	broken := lambdatest.Start(t, ".", env)
	out := strings.TrimSpace(string(broken.Invoke(t, ev)))
	if out == "null" || !broken.WaitOutput(`"message":"cannot start the iam function","error":"EKSGUARD_TABLE is not set`) {
		t.Fatalf("started without a table: %s\n%s", out, broken.Output())
	}
}
