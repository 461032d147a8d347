// Package lambdatest runs a function's real binary under the AWS Lambda
// Runtime Interface Emulator (the aws-lambda-rie tool in go.mod), for tests
// that check a main package end to end: its start-up wiring, its handler
// signature and the JSON it answers with.
package lambdatest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const rie = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// Function is a running function.
type Function struct {
	addr string
	out  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start builds the main package in pkgDir (as `make build` does, with
// -tags lambda.norpc, for this machine) and runs it under the emulator with
// the given environment, plus PATH, HOME and AWS_LAMBDA_LOG_FORMAT=JSON (the
// stack deploys the functions with JSON logging). It stops with the test.
func Start(t *testing.T, pkgDir string, env map[string]string) *Function {
	t.Helper()
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	emulator := filepath.Join(dir, "aws-lambda-rie")
	goBuild(t, "-tags", "lambda.norpc", "-o", bootstrap, pkgDir)
	goBuild(t, "-o", emulator, rie)

	addr, api := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, emulator, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, "--log-level", "error", bootstrap)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_LAMBDA_LOG_FORMAT=JSON"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	f := &Function{addr: addr, out: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = f.out, f.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start the emulator: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("function output:\n%s", f.out.String())
		}
	})
	// Wait (bounded) until the emulator accepts connections.
	for deadline := time.Now().Add(60 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator did not listen on %s: %v\n%s", addr, err, f.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return f
}

// Invoke sends one event and returns the function's answer (the handler's
// JSON output, or the runtime's error document).
func (f *Function) Invoke(t *testing.T, payload []byte) []byte {
	t.Helper()
	resp, err := http.Post("http://"+f.addr+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("invoke: read answer: %v", err)
	}
	return b
}

// Output is what the function and the emulator printed so far (the
// function's JSON logs among them).
func (f *Function) Output() string { return f.out.String() }

// WaitOutput waits until the output contains want, and reports whether it
// did within 30 seconds. The emulator answers an invocation before the
// function's last log lines have necessarily reached its output pipe.
func (f *Function) WaitOutput(want string) bool {
	for deadline := time.Now().Add(30 * time.Second); ; {
		if strings.Contains(f.out.String(), want) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func goBuild(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}
