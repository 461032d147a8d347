//go:build e2e

// Package lambdatest is test support: it runs Lambda function binaries
// under the AWS Lambda Runtime Interface Emulator, for the tests and
// benchmarks that check a function as Lambda runs it: its start-up wiring,
// its handler signature, the JSON it answers with and the logs it writes.
// It exists only under the e2e build tag (`make e2e`), so no Lambda
// bootstrap (`make build`) can link it.
//
// The emulator is the binary named by $LAMBDA_RIE, which the Makefile
// builds from the version tools/go.mod pins and sets for `make e2e` and
// `make bench`.
package lambdatest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EmulatorEnv names the variable that holds the emulator's path.
const EmulatorEnv = "LAMBDA_RIE"

// Emulator returns the path of the aws-lambda-rie binary named by
// $LAMBDA_RIE, and fails the test when it is unset or not a file.
func Emulator(t testing.TB) string {
	t.Helper()
	const how = "run the test through `make e2e` (or `make bench`), which builds the emulator from tools/go.mod into bin/ and sets it, " +
		"or `make bin/aws-lambda-rie` and set " + EmulatorEnv + "=$PWD/bin/aws-lambda-rie"
	p := os.Getenv(EmulatorEnv)
	if p == "" {
		t.Fatalf("the Lambda runtime emulator: %s is not set: %s", EmulatorEnv, how)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatalf("the Lambda runtime emulator: %s: %v: %s", EmulatorEnv, err, how)
	}
	if fi.IsDir() {
		t.Fatalf("the Lambda runtime emulator: %s=%s is a directory, not the binary: %s", EmulatorEnv, p, how)
	}
	return p
}

// Spec says how to run one function.
type Spec struct {
	Name      string // for messages
	Emulator  string // path of aws-lambda-rie (Emulator)
	Bootstrap string // the command the emulator runs as the function
	Dir       string // working directory (LAMBDA_TASK_ROOT); a temporary one when empty
	// Env is the function's whole environment; PATH and HOME are added when missing.
	Env map[string]string
}

// Function is a running function.
type Function struct {
	Name string
	addr string
	out  *syncBuffer
	cmd  *exec.Cmd
	stop sync.Once
	// Started is when the emulator process was started, and Listening how
	// long it took until it accepted connections.
	Started   time.Time
	Listening time.Duration
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

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// Run starts the emulator with spec's function in a process group of its
// own and waits (bounded) until it accepts invocations. The bootstrap
// starts on the first invocation. The group is stopped with the test, and
// the output logged if the test failed.
func Run(t testing.TB, spec Spec) *Function {
	t.Helper()
	dir := spec.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	addr, api := freeAddr(t), freeAddr(t)
	cmd := exec.Command(spec.Emulator, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, "--log-level", "error", spec.Bootstrap)
	cmd.Dir = dir
	vars := map[string]string{"PATH": os.Getenv("PATH"), "HOME": dir}
	maps.Copy(vars, spec.Env)
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		cmd.Env = append(cmd.Env, k+"="+vars[k])
	}
	f := &Function{Name: spec.Name, addr: addr, out: &syncBuffer{}, cmd: cmd}
	cmd.Stdout, cmd.Stderr = f.out, f.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	f.Started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the emulator for %s: %v", spec.Name, err)
	}
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			out := f.out.String()
			if len(out) > 16000 {
				out = "[...]" + out[len(out)-16000:]
			}
			t.Logf("output of the %s function:\n%s", spec.Name, out)
		}
	})
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			f.Listening = time.Since(f.Started)
			return f
		}
		if time.Since(f.Started) > 60*time.Second {
			t.Fatalf("the emulator for %s did not listen on %s: %v\n%s", spec.Name, addr, err, f.out.String())
		}
		time.Sleep(200 * time.Microsecond) // fine-grained: cold-start benchmarks read Listening
	}
}

// Start builds the main package in pkgDir (as `make build` does, with
// -tags lambda.norpc, for this machine) and runs it under the emulator with
// the given environment plus AWS_LAMBDA_LOG_FORMAT=JSON (the stack deploys
// the functions with JSON logging).
func Start(t *testing.T, pkgDir string, env map[string]string) *Function {
	t.Helper()
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, pkgDir)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkgDir, err, out)
	}
	vars := map[string]string{"AWS_LAMBDA_LOG_FORMAT": "JSON"}
	maps.Copy(vars, env)
	return Run(t, Spec{Name: filepath.Base(pkgDir), Emulator: Emulator(t), Bootstrap: bootstrap, Dir: dir, Env: vars})
}

// Stop kills the emulator, its function and anything they started. It is
// safe to call more than once.
func (f *Function) Stop() {
	f.stop.Do(func() {
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		_ = f.cmd.Wait()
	})
}

// Call sends one event as a synchronous invocation and returns the
// emulator's HTTP status and answer: the handler's JSON output, or the
// runtime's error document.
func (f *Function) Call(t testing.TB, payload []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+f.addr+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v\n%s", f.Name, err, f.out.String())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("invoke %s: read the answer: %v", f.Name, err)
	}
	return resp.StatusCode, b
}

// Invoke is Call without the status.
func (f *Function) Invoke(t testing.TB, payload []byte) []byte {
	t.Helper()
	_, b := f.Call(t, payload)
	return b
}

// Output is what the function and the emulator printed so far (the
// function's JSON logs among them).
func (f *Function) Output() string { return f.out.String() }

// Mark is the current end of the output, for Since and WaitCount.
func (f *Function) Mark() int { return f.out.Len() }

// Since is the output after a mark.
func (f *Function) Since(mark int) string { return f.out.String()[mark:] }

// WaitOutput waits until the output contains want, and reports whether it
// did within 30 seconds. The emulator answers an invocation before the
// function's last log lines have necessarily reached its output pipe.
func (f *Function) WaitOutput(want string) bool { return f.WaitCount(0, want, 1) }

// WaitCount waits until the output after mark contains want n times, and
// reports whether it did within 30 seconds.
func (f *Function) WaitCount(mark int, want string, n int) bool {
	for deadline := time.Now().Add(30 * time.Second); ; {
		if strings.Count(f.Since(mark), want) >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}
