package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileEvent is a sample event whose attacker-chosen strings (cluster
// name, principal, caller, user agent) are markup.
func hostileEvent(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(events, "access/associate-cluster-admin-to-dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	d := ev["detail"].(map[string]any)
	rp := d["requestParameters"].(map[string]any)
	rp["name"] = `<script>alert(1)</script>`
	rp["principalArn"] = `arn:aws:iam::111122223333:role/dev"onmouseover="alert(2)`
	d["userAgent"] = `</style><script>alert(4)</script>`
	d["userIdentity"].(map[string]any)["arn"] = `arn:aws:sts::111122223333:assumed-role/platform-admins/o'neil"><img src=x onerror=alert(3)>`
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestReportEscapesEventStrings: a replayed event's markup reaches the
// page as text only.
func TestReportEscapesEventStrings(t *testing.T) {
	_, out, _ := runCLI(t, hostileEvent(t), "replay", "--fail-on", "none", "--output", "json", "-")
	if n := strings.Count(out, "\n"); n == 0 {
		t.Fatal("the hostile event gives no finding: it tests nothing")
	}
	page := runReport(t, hostileEvent(t), "-")
	lower := strings.ToLower(page)
	for _, tag := range []string{"<script", "<img"} {
		if n := strings.Count(lower, tag); n != 0 {
			t.Errorf("page holds %d %s, want 0", n, tag)
		}
	}
	if n := strings.Count(lower, "</style"); n != 1 {
		t.Errorf("page holds %d </style, want 1", n)
	}
	for _, s := range []string{`&lt;script&gt;alert(1)&lt;/script&gt;`, `role/dev&#34;onmouseover=&#34;alert(2)`, `&lt;/style&gt;&lt;script&gt;alert(4)`} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks the escaped %s", s)
		}
	}
}

// chromium runs Debian's chromium headless with a fresh profile and no
// network services, and returns its stderr.
func chromium(t *testing.T, args ...string) (stdout []byte, stderr string) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (%v): this test renders the report in Debian's chromium; as root: apt-get install -y chromium (.ci/run installs it)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
	}, args...)...)
	// chromium starts helper processes: end the whole group on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.Bytes(), errOut.String()
}

// consoleLines are the page's console messages in chromium's log: CSP
// violations, script errors ("Uncaught ..."), failed loads.
func consoleLines(log string) []string {
	var out []string
	for l := range strings.Lines(log) {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") || strings.Contains(l, "Content Security Policy") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

func TestReportInBrowser(t *testing.T) {
	dir := t.TempDir()
	page := runReport(t, hostileEvent(t), events, "-")
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + file

	// The console check catches what it must: a page breaking the same CSP.
	bad := filepath.Join(dir, "bad.html")
	badPage := strings.Replace(page, "<h1>", `<h1 style="color:red">`, 1)
	if err := os.WriteFile(bad, []byte(badPage), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, log := chromium(t, "--dump-dom", "file://"+bad); len(consoleLines(log)) == 0 {
		t.Fatalf("an inline style attribute under the report's CSP logged no console message; the check below would see nothing:\n%s", log)
	}

	dom, log := chromium(t, "--dump-dom", url)
	if lines := consoleLines(log); len(lines) > 0 {
		t.Errorf("the report logged %d console messages, want none:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	d := string(dom)
	for _, want := range []string{`<svg id="timeline-chart"`, `<svg id="rule-heatmap"`, `<rect class="critical"`, `&lt;script&gt;alert(1)&lt;/script&gt;`} {
		if !strings.Contains(d, want) {
			t.Errorf("the rendered DOM lacks %s", want)
		}
	}
	if n := strings.Count(strings.ToLower(d), "<script"); n != 0 {
		t.Errorf("the rendered DOM holds %d script elements, want 0", n)
	}

	shot := filepath.Join(dir, "report.png")
	if _, log := chromium(t, "--window-size=1100,1400", "--hide-scrollbars", "--screenshot="+shot, url); len(consoleLines(log)) > 0 {
		t.Errorf("console messages while taking the screenshot:\n%s", strings.Join(consoleLines(log), "\n"))
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	// Not blank: the grey levels vary, and the severity colours of the
	// cards and the timeline chart are drawn.
	var n, sum, sumSq, critical, high float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			l := 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)
			n++
			sum += l
			sumSq += l * l
			switch {
			case near(r, g, bl, 0x7b, 0x1d, 0x1d):
				critical++
			case near(r, g, bl, 0xd6, 0x45, 0x45):
				high++
			}
		}
	}
	mean := sum / n
	if variance := sumSq/n - mean*mean; variance < 100 {
		t.Errorf("screenshot %dx%d: grey-level variance %.1f, want at least 100 (a blank page is 0)", b.Dx(), b.Dy(), variance)
	}
	if critical < 200 || high < 200 {
		t.Errorf("screenshot shows %.0f critical-red and %.0f high-red pixels, want at least 200 each (the charts)", critical, high)
	}
}

func near(r, g, b uint32, wr, wg, wb uint32) bool {
	d := func(a, w uint32) bool { return a+6 >= w && a <= w+6 }
	return d(r, wr) && d(g, wg) && d(b, wb)
}
