package slackalert

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/k8saudit"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/trailfile"
)

var update = flag.Bool("update", false, "rewrite the golden payload files in testdata/golden")

const (
	eventsDir = "../../events"
	// hostileDir holds events only this package's goldens use: values an
	// attacker chooses (the cluster name of a denied call, a user agent)
	// shaped as Slack markup.
	hostileDir = "testdata/events"
	goldenDir  = "testdata/golden"
)

// sampleEvents lists every events/**/*.json, relative to events/, then
// every testdata/events/**/*.json as "testdata/...".
func sampleEvents(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, src := range []struct{ dir, prefix string }{{eventsDir, ""}, {hostileDir, "testdata/"}} {
		err := filepath.WalkDir(src.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(path, ".json") {
				rel, err := filepath.Rel(src.dir, path)
				if err != nil {
					return err
				}
				out = append(out, src.prefix+filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("list %s: %v", src.dir, err)
		}
	}
	return out
}

// samplePath is the file of a sampleEvents entry.
func samplePath(rel string) string {
	if r, ok := strings.CutPrefix(rel, "testdata/"); ok {
		return filepath.Join(hostileDir, r)
	}
	return filepath.Join(eventsDir, rel)
}

// goldenName turns "access/cluster-admin.json" into "access__cluster-admin".
func goldenName(rel string) string {
	return strings.ReplaceAll(strings.TrimSuffix(rel, ".json"), "/", "__")
}

// assess decodes every record of a sample file and runs the rules with the default policy.
func assess(t *testing.T, path string) []finding.Finding {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	rd, err := trailfile.NewReader(file)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer rd.Close()
	var out []finding.Finding
	for {
		raw, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if k8saudit.LooksLikeSubscription(raw) { // events/kubernetes: audit log payloads
			sub, err := k8saudit.DecodeSubscription(raw)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			evs, err := sub.Events("eu-west-1")
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, ev := range evs {
				out = append(out, rules.AssessAudit(ev, policy.Default())...)
			}
			continue
		}
		rec, err := cloudtrail.DecodeEvent(raw)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, rules.Assess(rec, policy.Default())...)
	}
}

// TestGoldenPayloads checks the Slack and SNS payloads of every sample event
// against testdata/golden. Run with -update after a deliberate change and
// review the diff.
func TestGoldenPayloads(t *testing.T) {
	files := sampleEvents(t)
	if len(files) == 0 {
		t.Fatalf("no sample events under %s: the golden payload tests need at least one events/**/*.json", eventsDir)
	}
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, rel := range files {
		fs := assess(t, samplePath(rel))
		for _, channel := range []string{ChannelSlack, ChannelSNS} {
			name := goldenName(rel) + "." + channel + ".txt"
			want[name] = true
			var got bytes.Buffer
			if err := Preview(&got, channel, fs, policy.Default()); err != nil {
				t.Errorf("%s: %v", rel, err)
				continue
			}
			path := filepath.Join(goldenDir, name)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s: no golden file %s (run go test ./shared/slackalert -run TestGoldenPayloads -update): %v", rel, path, err)
				continue
			}
			if !bytes.Equal(got.Bytes(), golden) {
				t.Errorf("%s: %s payload differs from %s (rerun with -update if intended)\n%s", rel, channel, path, firstDiff(string(golden), got.String()))
			}
		}
	}
	// Golden files whose event is gone are stale.
	entries, _ := os.ReadDir(goldenDir)
	for _, e := range entries {
		if want[e.Name()] {
			continue
		}
		if *update {
			_ = os.Remove(filepath.Join(goldenDir, e.Name()))
			continue
		}
		t.Errorf("stale golden file %s: no events/ file produces it (rerun with -update)", e.Name())
	}
}

// firstDiff shows the first differing line.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  golden: " + wl + "\n  got:    " + gl
		}
	}
	return "(only trailing differences)"
}

// TestGoldenActions checks the Slack message, with the Apply fix and
// Expected change buttons, of every sample event's finding that carries
// them (a plan in notify mode), against testdata/golden-actions.
func TestGoldenActions(t *testing.T) {
	const dir = "testdata/golden-actions"
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, rel := range sampleEvents(t) {
		for i, f := range assess(t, samplePath(rel)) {
			if f.Plan == nil || f.Mode != finding.ModeNotify {
				continue
			}
			f.Outcome = &finding.Outcome{Status: finding.StatusSkippedMode, Message: "rule " + f.Rule + " is in notify mode"}
			msg := WithActions(SlackMessage(&f, nil), &f, "0123456789abcdef0123456789abcdef")
			got, err := json.MarshalIndent(msg.Blocks.BlockSet[len(msg.Blocks.BlockSet)-1], "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			name := goldenName(rel) + "." + strconv.Itoa(i) + ".actions.json"
			want[name] = true
			path := filepath.Join(dir, name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s: no golden file %s (run go test ./shared/slackalert -run TestGoldenActions -update): %v", rel, path, err)
				continue
			}
			if !bytes.Equal(got, golden) {
				t.Errorf("%s: actions differ from %s (rerun with -update if intended)\n%s", rel, path, firstDiff(string(golden), string(got)))
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("stale golden file %s (rerun with -update)", e.Name())
		}
	}
	if len(want) < 5 {
		t.Errorf("got %d messages with buttons, want at least 5 (the sample events' notify-mode plans)", len(want))
	}
}
