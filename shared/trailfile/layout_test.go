package trailfile

import (
	"slices"
	"testing"
	"time"
)

func TestLocate(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Place
	}{
		{"", Place{}},
		{"logs/", Place{}},
		{"logs/AWSLogs/", Place{Level: LevelAWSLogs}},
		{"AWSLogs/o-abc123/111122223333/", Place{Level: LevelAccount, Account: "111122223333"}},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/", Place{Level: LevelRegion, Account: "111122223333", Service: "CloudTrail", Region: "eu-west-1"}},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/", Place{Level: LevelMonth, Account: "111122223333", Service: "CloudTrail", Region: "eu-west-1", Year: 2026, Month: 11}},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/02/111122223333_CloudTrail_eu-west-1_20261102T1000Z_x.json.gz",
			Place{Level: LevelDay, Account: "111122223333", Service: "CloudTrail", Region: "eu-west-1", Year: 2026, Month: 11, Day: 2}},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/13/", Place{Level: LevelYear, Account: "111122223333", Service: "CloudTrail", Region: "eu-west-1", Year: 2026}},
	} {
		if got := Locate(c.in); got != c.want {
			t.Errorf("Locate(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestFilter(t *testing.T) {
	f := Filter{
		Since:    time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC),
		Until:    time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC),
		Accounts: []string{"111122223333"},
	}
	const base = "AWSLogs/111122223333/CloudTrail/eu-west-1/"
	for _, c := range []struct {
		path                       string
		admits, narrows, straddles bool
	}{
		{"AWSLogs/", true, true, true},
		{"AWSLogs/444455556666/", false, true, true},
		{"AWSLogs/111122223333/CloudTrail-Digest/", false, true, true},
		{base, true, true, true},
		{base + "2025/", false, true, true},
		{base + "2026/11/", true, true, true},
		{base + "2026/10/", false, true, true},
		{base + "2026/11/01/", false, false, true},
		{base + "2026/11/02/", true, false, true}, // from noon
		{base + "2026/11/03/", true, false, false},
		{base + "2026/11/04/", false, false, true},
	} {
		pl := Locate(c.path)
		if got := f.Admits(pl); got != c.admits {
			t.Errorf("Admits(%q) = %v, want %v", c.path, got, c.admits)
		}
		if got := f.Narrows(pl); got != c.narrows {
			t.Errorf("Narrows(%q) = %v, want %v", c.path, got, c.narrows)
		}
		if got := f.Straddles(pl); got != c.straddles {
			t.Errorf("Straddles(%q) = %v, want %v", c.path, got, c.straddles)
		}
	}
	if got, want := f.Days(time.Now()), []string{"2026/11/02/", "2026/11/03/"}; !slices.Equal(got, want) {
		t.Errorf("Days = %v, want %v", got, want)
	}
	open := Filter{Since: time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)}
	if got, want := open.Days(time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)), []string{"2026/11/29/", "2026/11/30/"}; !slices.Equal(got, want) {
		t.Errorf("Days without Until = %v, want %v", got, want)
	}
	if (Filter{}).Days(time.Now()) != nil || (Filter{}).Narrows(Place{}) || (Filter{}).Straddles(Place{}) {
		t.Error("an empty filter bounds nothing")
	}
}

func TestIsLogFile(t *testing.T) {
	all := Filter{}
	east := Filter{Regions: []string{"us-east-1"}}
	for _, c := range []struct {
		path      string
		f         Filter
		want      bool
		narrative string
	}{
		{"AWSLogs/1/CloudTrail/us-east-1/2026/11/02/1_CloudTrail_us-east-1_20261102T1000Z_x.json.gz", all, true, "a log file"},
		{"events/sample.json", all, true, "a file outside the layout, no filter"},
		{"events/sample.json", east, false, "a file outside the layout, a region filter"},
		{"AWSLogs/1/CloudTrail/eu-west-1/2026/11/02/1_CloudTrail_eu-west-1_20261102T1000Z_x.json.gz", east, false, "another region"},
		{"AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/02/1_CloudTrail-Digest_us-east-1_t_us-east-1_20261102T100000Z.json.gz", all, false, "a digest"},
		{"AWSLogs/1/CloudTrail-Insight/us-east-1/2026/11/02/1_CloudTrail-Insight_us-east-1_20261102T1000Z_x.json.gz", all, false, "an Insights file"},
		{"AWSLogs/1/CloudTrail/us-east-1/ConfigWritabilityCheckFile", all, false, "not a log name"},
		{"x/1_CloudTrail-Digest_us-east-1_t.json.gz", all, false, "a digest by name alone"},
	} {
		if got := c.f.IsLogFile(c.path); got != c.want {
			t.Errorf("IsLogFile(%q) (%s) = %v, want %v", c.path, c.narrative, got, c.want)
		}
	}
}
