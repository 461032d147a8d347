package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/eksguard/eksguard/internal/testsupport/s3fake"
	"github.com/eksguard/eksguard/internal/testsupport/trailtest"
)

// openPTY opens a pseudo-terminal: what the CLI writes to slave, master reads.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	return master, slave
}

// onTerminal runs the CLI with stderr on a terminal and returns what the
// terminal showed.
func onTerminal(t *testing.T, stdin string, args ...string) (code int, stdout, terminal string) {
	t.Helper()
	master, slave := openPTY(t)
	var shown bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&shown, master) // ends with EIO once the slave is closed
		close(done)
	}()
	var out bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, slave)
	slave.Close()
	<-done
	master.Close()
	return code, out.String(), shown.String()
}

func TestReplayProgressOnTerminal(t *testing.T) {
	code, out, shown := onTerminal(t, "", "replay", events)
	records, findings := summaryCounts(t, out)
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	// The final state of the bar: every record, the findings, 100%.
	for _, want := range []string{fmt.Sprintf("%s records (", thousands(records)), "/s), " + thousands(findings) + " findings", "100%"} {
		if !strings.Contains(shown, want) {
			t.Errorf("terminal lacks %q:\n%q", want, shown)
		}
	}
	// The bar goes to stderr only: stdout is what it is without a terminal.
	_, plain, _ := runCLI(t, "", "replay", events)
	if out != plain {
		t.Errorf("stdout changed by the progress bar:\n%s", out)
	}
}

func TestReplayProgressOnTerminalFromStdin(t *testing.T) {
	// Standard input has no known size: a spinner with the counts.
	rec, err := os.ReadFile(events + "/access/create-access-entry-for-iam-user.json")
	if err != nil {
		t.Fatal(err)
	}
	code, _, shown := onTerminal(t, string(rec)+"\n"+string(rec), "replay", "--fail-on", "none", "-")
	if code != 0 || !strings.Contains(shown, "2 records (") || !strings.Contains(shown, "2 findings") {
		t.Errorf("exit %d, terminal:\n%q", code, shown)
	}
}

// From S3 the bar follows the listing: the files read of those listed, the
// bytes of the objects listed, full at the end.
func TestReplayProgressOnTerminalFromS3(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	s3Env(t, srv)
	day := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		srv.Put("trails", trailtest.Key("111122223333", "eu-west-1", day.Add(time.Duration(i)*time.Hour), 0), trailtest.LogFile(trailtest.GrantRecord(fmt.Sprint(i), day)))
	}
	code, _, shown := onTerminal(t, "", "replay", "--fail-on", "none", "s3://trails/AWSLogs/")
	if code != 0 {
		t.Errorf("got exit %d, want 0; terminal:\n%q", code, shown)
	}
	for _, want := range []string{"3/3 files, 3 records (", "3 findings", "100%"} {
		if !strings.Contains(shown, want) {
			t.Errorf("terminal lacks %q:\n%q", want, shown)
		}
	}
}
