package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eksguard/eksguard/internal/testsupport/s3fake"
	"github.com/eksguard/eksguard/internal/testsupport/trailtest"
)

// eventIDs reads the eventID of each JSON finding line.
func eventIDs(t *testing.T, out string) []string {
	t.Helper()
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var f struct{ EventID string }
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("not a JSON finding: %v: %s", err, l)
		}
		ids = append(ids, f.EventID)
	}
	return ids
}

// s3Env points the standard AWS configuration at srv with static
// credentials and nothing read from this machine's files or metadata.
func s3Env(t *testing.T, srv *s3fake.Server) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_S3":         srv.URL,
		"AWS_ACCESS_KEY_ID":           "AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "eu-west-1",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_MAX_ATTEMPTS":            "1",
	} {
		t.Setenv(k, v)
	}
}

// S3 prefixes and local paths in one replay, in the order given; an
// object that fails is reported by key, counted, and the rest is read.
func TestReplayS3AndLocalPaths(t *testing.T) {
	srv := s3fake.New()
	defer srv.Close()
	s3Env(t, srv)
	day := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	srv.Put("trails", trailtest.Key("111122223333", "eu-west-1", day, 0), trailtest.LogFile(trailtest.GrantRecord("s3-a", day)))
	srv.Put("trails", trailtest.Key("111122223333", "eu-west-1", day.Add(time.Hour), 0), trailtest.LogFile(trailtest.GrantRecord("s3-b", day)))
	broken := trailtest.Key("111122223333", "eu-west-1", day.Add(2*time.Hour), 0)
	srv.Put("trails", broken, trailtest.LogFile(trailtest.GrantRecord("s3-c", day)))
	srv.Fail("trails", broken, -1)
	srv.Put("other", "x/"+trailtest.Key("444455556666", "us-east-1", day, 0), trailtest.LogFile(trailtest.GrantRecord("s3-d", day)))

	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "local.json"), []byte(trailtest.GrantRecord("local", day)))

	code, out, errOut := runCLI(t, "", "replay", "--output", "json", "--fail-on", "none",
		"s3://trails/AWSLogs/", dir, "s3://other/x")
	if code != 2 {
		t.Errorf("got exit %d, want 2 (an object unreadable); stderr %s", code, errOut)
	}
	if got, want := eventIDs(t, out), []string{"s3-a", "s3-b", "local", "s3-d"}; !slices.Equal(got, want) {
		t.Errorf("got findings %v, want %v", got, want)
	}
	if want := "eksguard: s3://trails/" + broken + ": get object: "; !strings.Contains(errOut, want) || !strings.Contains(errOut, "500") {
		t.Errorf("got stderr %q, want it to report %q with the status", errOut, want)
	}
	for _, l := range srv.Lists() {
		if l.Delimiter != "" {
			t.Errorf("listed %+v with a delimiter; without filters a prefix is listed at once", l)
		}
	}
}

// --since, --until, --account and --region prune a local copy of the
// CloudTrail layout as they prune a bucket; a straddling day's records are
// checked one by one.
func TestReplayFiltersLocalLayout(t *testing.T) {
	dir := t.TempDir()
	for _, acct := range []string{"111122223333", "444455556666"} {
		for _, reg := range []string{"eu-west-1", "us-east-1"} {
			for d := 1; d <= 4; d++ {
				at := time.Date(2026, 11, d, 6, 0, 0, 0, time.UTC)
				id := fmt.Sprintf("%s-%s-%d", acct[:1], reg[:2], d)
				writeTestFile(t, filepath.Join(dir, filepath.FromSlash(trailtest.Key(acct, reg, at, 0))),
					trailtest.LogFile(trailtest.GrantRecord(id+"-early", at), trailtest.GrantRecord(id+"-late", at.Add(12*time.Hour))))
			}
		}
	}
	// Digest files hold no API calls, whatever their name ends with.
	writeTestFile(t, filepath.Join(dir, "AWSLogs/444455556666/CloudTrail-Digest/eu-west-1/2026/11/02/444455556666_CloudTrail-Digest_eu-west-1_t_eu-west-1_20261102T060000Z.json.gz"),
		trailtest.LogFile(trailtest.GrantRecord("digest", time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC))))

	code, out, errOut := runCLI(t, "", "replay", "--output", "json", "--fail-on", "none",
		"--since", "2026-11-02T12:00:00Z", "--until", "2026-11-03", "--account", "444455556666", "--region", "eu-west-1", dir)
	if code != 0 {
		t.Errorf("got exit %d, want 0; stderr %s", code, errOut)
	}
	if got, want := eventIDs(t, out), []string{"4-eu-2-late", "4-eu-3-early", "4-eu-3-late"}; !slices.Equal(got, want) {
		t.Errorf("got findings %v, want %v", got, want)
	}
	code, out, _ = runCLI(t, "", "replay", "--since", "2026-11-02T12:00:00Z", "--until", "2026-11-03",
		"--account", "444455556666", "--region", "eu-west-1", dir)
	if code != 1 || !strings.Contains(out, "2 files, 4 records, 1 outside --since/--until, 3 in scope, 3 findings") {
		t.Errorf("got exit %d, summary\n%s\nwant 2 files read, 1 record outside the window", code, out)
	}
}

func TestReplayRejectsBadWindow(t *testing.T) {
	for _, args := range [][]string{
		{"--since", "last tuesday"},
		{"--since", "2026-11-05", "--until", "2026-11-01"},
	} {
		code, _, errOut := runCLI(t, "", append(append([]string{"replay"}, args...), events)...)
		if code != 2 || !strings.Contains(errOut, "--") {
			t.Errorf("%v: got exit %d, stderr %q; want 2 and the flag named", args, code, errOut)
		}
	}
}

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 30, 15, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		in   string
		end  bool
		want time.Time
	}{
		{"", false, time.Time{}},
		{"2026-11-01", false, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01", true, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01T09:30:00+02:00", false, time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC)},
		{"30d", false, time.Date(2026, 10, 31, 15, 4, 5, 0, time.UTC)},
		{"36h", false, time.Date(2026, 11, 29, 3, 4, 5, 0, time.UTC)},
		{"90m", true, time.Date(2026, 11, 30, 13, 34, 5, 0, time.UTC)},
	} {
		got, err := parseTime(c.in, now, c.end)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseTime(%q, end %v) = %v, %v; want %v", c.in, c.end, got, err, c.want)
		}
	}
	for _, bad := range []string{"yesterday", "-3d", "2026-13-01", "3x"} {
		if _, err := parseTime(bad, now, false); err == nil {
			t.Errorf("parseTime(%q): got no error, want one", bad)
		}
	}
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
