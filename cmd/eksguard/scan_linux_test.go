package main

import (
	"strings"
	"testing"
)

// On a terminal the scan draws its progress on stderr; piped, stderr gets
// nothing and stdout is the same.
func TestScanProgressOnTerminal(t *testing.T) {
	f := scanWorld(t)
	seedScanCluster(f, scanAccount, "eu-west-1", "open", true)
	seedScanCluster(f, scanAccount, "eu-west-1", "closed", false)
	code, out, shown := onTerminal(t, "", "scan")
	if code != 1 {
		t.Errorf("exit: got %d, want 1", code)
	}
	for _, want := range []string{"2/2 clusters, 1 findings", "100%"} {
		if !strings.Contains(shown, want) {
			t.Errorf("terminal: got no %q in %q", want, shown)
		}
	}
	_, plain, errOut := runScan(t)
	if out != plain {
		t.Errorf("stdout changed by the progress bar:\ngot  %q\nwant %q", out, plain)
	}
	if errOut != "" {
		t.Errorf("piped stderr: got %q, want nothing", errOut)
	}
}
