//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A function runs as Lambda runs it: the emulator (the Runtime Interface
// Emulator from go.mod's tool directive) starts the bootstrap on the first
// invocation and keeps it for the next ones, with the environment the
// template gives the function plus what Lambda itself sets.

// emulator returns the path of the aws-lambda-rie binary, built by `go
// tool` from go.mod's tool directive.
func emulator(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "tool", "-n", "aws-lambda-rie").Output()
	if err != nil {
		t.Fatalf("go tool -n aws-lambda-rie: %v (is the emulator still a tool in go.mod?)", err)
	}
	return strings.TrimSpace(string(out))
}

// launcher returns the command that runs an arm64 Lambda binary on this
// machine: nothing on arm64, user-mode emulation elsewhere.
func launcher(t *testing.T) []string {
	t.Helper()
	if runtime.GOARCH == "arm64" {
		return nil
	}
	for _, name := range []string{"qemu-aarch64-static", "qemu-aarch64"} {
		if p, err := exec.LookPath(name); err == nil {
			return []string{p}
		}
	}
	t.Fatalf("the functions are linux/arm64 binaries (make build) and this machine is %s/%s: install user-mode emulation "+
		"(Debian: apt-get install qemu-user-static; make e2e does) or run the test on arm64", runtime.GOOS, runtime.GOARCH)
	return nil
}

// lambdaFn is one function under the emulator.
type lambdaFn struct {
	name string
	addr string
	out  *syncBuffer
	cmd  *exec.Cmd
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

// lambdaEnv is what Lambda sets for a function, besides its own variables.
func lambdaEnv(fn *fnSpec) map[string]string {
	env := map[string]string{
		"AWS_REGION":                      region,
		"AWS_DEFAULT_REGION":              region,
		"AWS_LAMBDA_FUNCTION_NAME":        physical(fn.LogicalID),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(fn.Timeout), // read by the emulator: the invocation deadline
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/" + stackName + "/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "e2e",
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
		// The execution role's session credentials.
		"AWS_ACCESS_KEY_ID":     "ASIAE2EFAKE",
		"AWS_SECRET_ACCESS_KEY": "e2e-fake-secret",
		"AWS_SESSION_TOKEN":     "e2e-fake-session",
	}
	if fn.LogFormat != "" {
		env["AWS_LAMBDA_LOG_FORMAT"] = fn.LogFormat
	}
	if fn.LogLevel != "" {
		env["AWS_LAMBDA_LOG_LEVEL"] = fn.LogLevel
	}
	return env
}

// startFunction starts the function's emulator; the bootstrap starts on the
// first invocation. env is laid over the function's environment (the
// fakes' endpoints). The process group is stopped with the test.
func startFunction(t *testing.T, rie string, launch []string, fn *fnSpec, env map[string]string) *lambdaFn {
	t.Helper()
	dir := t.TempDir()
	// The emulator takes the bootstrap command as its arguments and treats
	// the last of several as a handler name, so a wrapper keeps it one.
	wrapper := filepath.Join(dir, "bootstrap")
	script := "#!/bin/sh\nexec " + shellQuote(append(append([]string(nil), launch...), fn.Bootstrap)...) + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	addr, api := freeAddr(t), freeAddr(t)
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, "--log-level", "error", wrapper)
	cmd.Dir = filepath.Dir(fn.Bootstrap) // LAMBDA_TASK_ROOT: the unpacked asset
	vars := map[string]string{"PATH": os.Getenv("PATH"), "HOME": dir, "LAMBDA_TASK_ROOT": cmd.Dir}
	maps.Copy(vars, fn.Env)
	maps.Copy(vars, lambdaEnv(fn))
	maps.Copy(vars, env)
	for _, k := range sortedKeys(vars) {
		cmd.Env = append(cmd.Env, k+"="+vars[k])
	}
	f := &lambdaFn{name: fn.Name, addr: addr, out: &syncBuffer{}, cmd: cmd}
	cmd.Stdout, cmd.Stderr = f.out, f.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the emulator for %s: %v", fn.Name, err)
	}
	t.Cleanup(func() {
		// The emulator, the wrapper's emulation process and the bootstrap
		// share the process group created above.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			out := f.out.String()
			if len(out) > 16000 {
				out = "[...]" + out[len(out)-16000:]
			}
			t.Logf("output of the %s function:\n%s", fn.Name, out)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator for %s did not listen on %s: %v\n%s", fn.Name, addr, err, f.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return f
}

// invoke sends one event (as EventBridge, SNS or SQS would, synchronously
// here) and returns the function's answer: its JSON result, or the
// runtime's error document.
func (f *lambdaFn) invoke(t *testing.T, payload []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+f.addr+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v\n%s", f.name, err, f.out.String())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("invoke %s: read the answer: %v", f.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke %s: the emulator answered %s: %s\n%s", f.name, resp.Status, b, f.out.String())
	}
	return b
}

// mark is a position in the function's output.
func (f *lambdaFn) mark() int { return f.out.Len() }

// since is the output after a mark.
func (f *lambdaFn) since(m int) string { return f.out.String()[m:] }

// waitOutput waits until the output after the mark contains want. The
// emulator answers an invocation before the function's last log lines
// have necessarily been copied from its pipe.
func (f *lambdaFn) waitOutput(m int, want string) bool { return f.waitCount(m, want, 1) }

// waitCount waits until the output after the mark contains want n times.
func (f *lambdaFn) waitCount(m int, want string, n int) bool {
	for deadline := time.Now().Add(20 * time.Second); ; {
		if strings.Count(f.since(m), want) >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func shellQuote(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// answeredNull checks a handler's success answer (no result).
func answeredNull(t *testing.T, what string, out []byte) {
	t.Helper()
	if s := strings.TrimSpace(string(out)); s != "null" {
		t.Fatalf("%s answered %s, want null (success)", what, s)
	}
}
