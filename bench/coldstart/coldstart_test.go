//go:build e2e

package coldstart

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/internal/testsupport/lambdatest"
)

const (
	region      = "eu-west-1"
	topicARN    = "arn:aws:sns:eu-west-1:111122223333:eksguard-findings"
	slackSecret = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:eksguard-slack"
)

// The event each family function answers in the benchmark: one that gives a
// finding, so the first answer includes the idempotency claim, the
// assessment and the SNS publication.
var familyEvents = map[string]string{
	"access":  "access/associate-cluster-admin-to-dev.json",
	"cluster": "cluster/update-config-disable-audit-logging.json",
	"iam":     "iam/attach-administrator-access-to-break-glass.json",
}

// BenchmarkColdStart measures, for each function, the median time from starting
// the Lambda Runtime Interface Emulator (which starts the bootstrap on the
// first invocation) to the answer to the first invocation: the cold start
// a user waits for, emulator start-up included. AWS is internal/testsupport/awsfake and
// Slack a local webhook. The bootstraps are built like `make build` but
// for this machine's architecture, since the linux/arm64 ones would only
// run here under emulation. Each iteration is a new process.
//
//	make bin/aws-lambda-rie
//	LAMBDA_RIE=$PWD/bin/aws-lambda-rie go test -tags e2e -run '^$' -bench ColdStart -benchtime 10x ./bench/coldstart
func BenchmarkColdStart(b *testing.B) {
	rie := lambdatest.Emulator(b)
	bin := b.TempDir()
	fns := []string{"access", "cluster", "iam", "notifier"}
	for _, fn := range fns {
		build(b, fn, filepath.Join(bin, fn, "bootstrap"))
	}
	world := awsfake.New(b)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	b.Cleanup(hook.Close)
	env := map[string]string{
		"EKSGUARD_TABLE":                  "eksguard",
		"EKSGUARD_TOPIC_ARN":              topicARN,
		"EKSGUARD_SLACK_SECRET_ARN":       slackSecret,
		"AWS_DEFAULT_REGION":              region,
		"AWS_SESSION_TOKEN":               "fake-session",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "30",
		"AWS_LAMBDA_LOG_FORMAT":           "JSON",
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
	}
	maps.Copy(env, world.Env())
	payloads := map[string][]byte{}
	for fn, name := range familyEvents {
		raw, err := os.ReadFile(filepath.Join("..", "..", "events", name))
		if err != nil {
			b.Fatal(err)
		}
		payloads[fn] = raw
	}
	// The notifier's event: the SNS message the access function publishes.
	world.SecretsManager.Set(slackSecret, hook.URL)
	start(b, rie, filepath.Join(bin, "access", "bootstrap"), "access", env, payloads["access"])
	pubs := world.SNS.Published()
	if len(pubs) == 0 {
		b.Fatal("the access function published nothing: no event for the notifier")
	}
	payloads["notifier"] = snsEvent(pubs[0])

	for _, fn := range fns {
		b.Run(fn, func(b *testing.B) {
			var answered, afterListen []time.Duration
			for range b.N {
				b.StopTimer()
				world.Reset()
				world.SecretsManager.Set(slackSecret, hook.URL)
				b.StartTimer()
				r := start(b, rie, filepath.Join(bin, fn, "bootstrap"), fn, env, payloads[fn])
				answered = append(answered, r.answered)
				afterListen = append(afterListen, r.answered-r.listening)
			}
			// Medians: a loaded machine makes a few starts much slower.
			b.ReportMetric(median(answered), "ms-to-first-answer")
			b.ReportMetric(median(afterListen), "ms-listening-to-answer")
			b.ReportMetric(float64(slices.Max(answered).Microseconds())/1000, "ms-max-to-first-answer")
		})
	}
}

// median of ds, in milliseconds.
func median(ds []time.Duration) float64 {
	s := slices.Sorted(slices.Values(ds))
	return float64(s[(len(s)-1)/2].Microseconds()) / 1000
}

type run struct {
	listening time.Duration // emulator start to its port accepting connections
	answered  time.Duration // emulator start to the first answer
}

// start runs one function under a new emulator, invokes it once, checks
// the answer and stops it. The stop is not timed.
func start(b *testing.B, rie, bootstrap, name string, env map[string]string, payload []byte) run {
	dir := filepath.Dir(bootstrap)
	vars := map[string]string{"LAMBDA_TASK_ROOT": dir,
		"AWS_LAMBDA_FUNCTION_NAME": "eksguard-" + name, "AWS_LAMBDA_LOG_GROUP_NAME": "/eksguard/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME": "bench"}
	maps.Copy(vars, env)
	fn := lambdatest.Run(b, lambdatest.Spec{Name: name, Emulator: rie, Bootstrap: bootstrap, Dir: dir, Env: vars})
	defer func() {
		b.StopTimer()
		fn.Stop()
		b.StartTimer()
	}()
	status, answer := fn.Call(b, payload)
	r := run{listening: fn.Listening, answered: time.Since(fn.Started)}
	if status != http.StatusOK || bytes.Contains(answer, []byte("errorMessage")) {
		b.Fatalf("invoke %s: %d %s\n%s", name, status, answer, fn.Output())
	}
	return r
}

// build compiles a function as `make build` does, for this machine.
func build(b *testing.B, fn, out string) {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", out, "./functions/"+fn)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", fn, err, msg)
	}
}

// snsEvent is the Lambda event SNS delivers for a published message.
func snsEvent(p awsfake.Published) []byte {
	attrs := map[string]any{}
	for name, v := range p.Attributes {
		typ, val, _ := strings.Cut(v, "=")
		attrs[name] = map[string]string{"Type": typ, "Value": val}
	}
	raw, err := json.Marshal(events.SNSEvent{Records: []events.SNSEventRecord{{
		EventVersion: "1.0", EventSource: "aws:sns", EventSubscriptionArn: p.TopicARN + ":00000000-0000-4000-8000-000000000001",
		SNS: events.SNSEntity{Type: "Notification", MessageID: p.ID, TopicArn: p.TopicARN, Subject: p.Subject,
			Message: p.Message, Timestamp: time.Now().UTC(), SignatureVersion: "1", MessageAttributes: attrs},
	}}})
	if err != nil {
		panic(fmt.Sprint("encode the SNS event: ", err))
	}
	return raw
}
