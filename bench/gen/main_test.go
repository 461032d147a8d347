package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/replay"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/trailfile"
)

// readTree maps each file under dir to its content.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		files[strings.TrimPrefix(path, dir)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	opts := Options{Size: 1 << 20, Seed: 7, InScope: 0.01}
	sa, err := Generate(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := Generate(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	ta, tb := readTree(t, a), readTree(t, b)
	if sa != sb || len(ta) != sa.Files || len(ta) != len(tb) {
		t.Fatalf("summaries %+v and %+v, %d and %d files", sa, sb, len(ta), len(tb))
	}
	for name, data := range ta {
		if !bytes.Equal(data, tb[name]) {
			t.Errorf("%s differs between two runs", name)
		}
		if !strings.HasPrefix(name, "/AWSLogs/111122223333/CloudTrail/") || !strings.HasSuffix(name, ".json.gz") {
			t.Errorf("%s is not laid out as CloudTrail delivers", name)
		}
	}
	if sa.Raw < opts.Size {
		t.Errorf("wrote %d bytes, want at least %d", sa.Raw, opts.Size)
	}
	other, err := Generate(t.TempDir(), Options{Size: 1 << 20, Seed: 8, InScope: 0.01})
	if err != nil || other == sa {
		t.Errorf("another seed gave the same archive (%+v), err %v", other, err)
	}
}

// The archive replays without an unreadable record, and the events the
// generator counts as in scope are exactly those some rule looks at.
func TestGeneratedArchiveReplays(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(dir, Options{Size: 3 << 20, Seed: 1, InScope: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	var st replay.Stats
	var fs []finding.Finding
	var bad []*replay.InputError
	err = replay.Run(context.Background(), replay.Inputs([]string{dir}, trailfile.Filter{}, nil), replay.Options{
		Engine:    rules.NewEngine(policy.Default(), rules.All()),
		OnFinding: func(f *finding.Finding) { fs = append(fs, *f) },
		OnError:   func(e *replay.InputError) { bad = append(bad, e) },
	}, &st)
	if err != nil || len(bad) != 0 {
		t.Fatalf("replay: %v, unreadable %v", err, bad)
	}
	if st.Files.Load() != int64(sum.Files) {
		t.Errorf("replay read %d files, generator wrote %d", st.Files.Load(), sum.Files)
	}
	if st.Records.Load() != int64(sum.Records) || st.InScope.Load() != int64(sum.InScope) {
		t.Errorf("replay saw %d records, %d in scope; generator wrote %d, %d in scope",
			st.Records.Load(), st.InScope.Load(), sum.Records, sum.InScope)
	}
	if share := float64(sum.InScope) / float64(sum.Records); share < 0.005 || share > 0.02 {
		t.Errorf("in-scope share %.4f, want about 0.01", share)
	}
	rulesHit := map[string]bool{}
	for _, f := range fs {
		rulesHit[f.Rule] = true
	}
	if len(rulesHit) < 5 {
		t.Errorf("findings from only %d rules (%v): the in-scope events are not varied", len(rulesHit), rulesHit)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "200MiB": 200 << 20, "50MB": 50e6, "1.5KB": 1500, "123": 123, "2B": 2} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1MB", "lots", "0"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): want an error", in)
		}
	}
}
