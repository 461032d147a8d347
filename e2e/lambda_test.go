//go:build e2e

package e2e

import (
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/internal/testsupport/lambdatest"
)

// A function runs as Lambda runs it: the emulator (the Runtime Interface
// Emulator, pinned in tools/go.mod) starts the bootstrap on the first
// invocation and keeps it for the next ones, with the environment the
// template gives the function plus what Lambda itself sets.

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
		"(Debian: apt-get install qemu-user-static; .ci/run does, see docs/e2e.md) or run the test on arm64", runtime.GOOS, runtime.GOARCH)
	return nil
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
		// The execution role's session credentials: a key of the function's
		// own, which the fakes map to its role (IAM is enforced).
		"AWS_ACCESS_KEY_ID":     fn.AccessKey,
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
func startFunction(t *testing.T, rie string, launch []string, fn *fnSpec, env map[string]string) *lambdatest.Function {
	t.Helper()
	// The emulator takes the bootstrap command as its arguments and treats
	// the last of several as a handler name, so a wrapper keeps it one.
	wrapper := filepath.Join(t.TempDir(), "bootstrap")
	script := "#!/bin/sh\nexec " + shellQuote(append(append([]string(nil), launch...), fn.Bootstrap)...) + " \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(fn.Bootstrap) // LAMBDA_TASK_ROOT: the unpacked asset
	vars := map[string]string{"LAMBDA_TASK_ROOT": dir, "HOME": filepath.Dir(wrapper)}
	maps.Copy(vars, fn.Env)
	maps.Copy(vars, lambdaEnv(fn))
	maps.Copy(vars, env)
	return lambdatest.Run(t, lambdatest.Spec{Name: fn.Name, Emulator: rie, Bootstrap: wrapper, Dir: dir, Env: vars})
}

// invoke sends one event (as EventBridge, SNS or SQS would, synchronously
// here) and returns the function's answer: its JSON result, or the
// runtime's error document.
func invoke(t *testing.T, f *lambdatest.Function, payload []byte) []byte {
	t.Helper()
	status, b := f.Call(t, payload)
	if status != http.StatusOK {
		t.Fatalf("invoke %s: the emulator answered %d: %s\n%s", f.Name, status, b, f.Output())
	}
	return b
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
