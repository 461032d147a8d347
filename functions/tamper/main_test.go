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

// The real binary under the Lambda runtime emulator: a function of the
// stack throttled to zero by hand is reported; the same kind of change
// made by CloudFormation (the deployment) is not.
func TestTamperFunctionUnderTheLambdaRuntime(t *testing.T) {
	w := awsfake.New(t)
	env := w.Env()
	maps.Copy(env, map[string]string{
		config.EnvPolicy:             `{"version":1,"self":{"stackName":"eksguard"}}`,
		config.EnvTable:              "eksguard",
		config.EnvTopicARN:           "arn:aws:sns:eu-west-1:111122223333:eksguard-findings",
		config.EnvRemediationRoleARN: "arn:aws:iam::111122223333:role/eksguard-*",
	})
	fn := lambdatest.Start(t, ".", env)

	for _, file := range []string{"update-function-configuration-by-cloudformation.json", "put-function-concurrency-zero.json"} {
		ev, err := os.ReadFile("../../events/tamper/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if out := strings.TrimSpace(string(fn.Invoke(t, ev))); out != "null" {
			t.Fatalf("%s answered %s", file, out)
		}
	}
	pub := w.SNS.Published()
	if len(pub) != 1 {
		t.Fatalf("%d alerts, want 1 (the concurrency change, not CloudFormation's)", len(pub))
	}
	f, err := notify.DecodeMessage(pub[0].Message)
	if err != nil {
		t.Fatal(err)
	}
	if f.Rule != "eksguard-tampered" || f.EventName != "PutFunctionConcurrency20171031" ||
		f.Resource != "function/eksguard-AccessFunction9C8D7E6F-AbCdEfGh1234" {
		t.Errorf("alert = %s %s on %s, want eksguard-tampered PutFunctionConcurrency20171031 on function/eksguard-AccessFunction9C8D7E6F-AbCdEfGh1234",
			f.Rule, f.EventName, f.Resource)
	}
	if !fn.WaitOutput(`"message":"finding"`) {
		t.Fatalf("no finding log line:\n%s", fn.Output())
	}
}
