package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/shared/replay"
)

// summaryCounts reads "N files, R records, I in scope, F findings" from
// the table output.
func summaryCounts(t *testing.T, out string) (records, findings int64) {
	t.Helper()
	m := regexp.MustCompile(`(\d+) records, \d+ in scope, (\d+) findings`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line in\n%s", out)
	}
	r, _ := strconv.ParseInt(m[1], 10, 64)
	f, _ := strconv.ParseInt(m[2], 10, 64)
	return r, f
}

func TestReplayQuietWhenPiped(t *testing.T) {
	// stderr a pipe, as in `eksguard replay ... 2>&1 | less`.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	code := run(context.Background(), []string{"replay", events}, strings.NewReader(""), &stdout, w)
	w.Close()
	stderr, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if code != 1 || len(stderr) != 0 {
		t.Errorf("exit %d, stderr %q: want 1 and nothing on a piped stderr", code, stderr)
	}
	// stderr not a file at all, and stdout piped: no control characters anywhere.
	code, out, errOut := runCLI(t, "", "replay", events)
	if code != 1 || errOut != "" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if strings.ContainsAny(out, "\r\x1b") || out != stdout.String() {
		t.Errorf("stdout carries terminal control characters or differs between runs:\n%q", out)
	}
}

func TestProgressDescription(t *testing.T) {
	var st replay.Stats
	t0 := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	now := t0
	p := &progress{st: &st, start: t0, now: func() time.Time { return now }}
	if got := p.describe(); got != "0/0 files, 0 records (0/s), 0 findings" {
		t.Errorf("at start: %q", got)
	}
	st.Listed.Store(3_400)
	st.Done.Store(1_200)
	st.Records.Store(1_234_500)
	st.Findings.Store(1_003)
	now = t0.Add(2 * time.Second)
	if got, want := p.describe(), "1,200/3,400 files, 1,234,500 records (617,250/s), 1,003 findings"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 123456: "123,456",
		1234567: "1,234,567", -1234: "-1,234", -999: "-999"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
