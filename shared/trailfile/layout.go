package trailfile

import (
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The CloudTrail delivery layout, in S3 keys and in local copies of them:
//
//	[PREFIX/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/FILE.json.gz
//
// Digest files (CloudTrail-Digest) and Insights events (CloudTrail-Insight)
// sit beside CloudTrail under the account; they are not logs of API calls.

// Level is how far into the layout a path reaches.
type Level int

const (
	LevelNone    Level = iota // no AWSLogs segment yet
	LevelAWSLogs              // AWSLogs/ (and the organization, if any)
	LevelAccount              // .../ACCOUNT/
	LevelService              // .../ACCOUNT/CloudTrail/ (or CloudTrail-Digest/, ...)
	LevelRegion               // .../CloudTrail/REGION/
	LevelYear                 // .../REGION/YYYY/
	LevelMonth                // .../YYYY/MM/
	LevelDay                  // .../MM/DD/
)

// Place is where a path sits in the layout: the segments it names.
type Place struct {
	Level   Level
	Account string
	Service string // "CloudTrail" for logs
	Region  string
	Year    int
	Month   int
	Day     int
}

// Locate reads the layout segments of a slash-separated path: a directory
// (its last segment complete) or a file (the file name itself is not a
// segment). A path that strays from the layout after AWSLogs stops there.
func Locate(p string) Place {
	dir := p
	if !strings.HasSuffix(p, "/") {
		dir = path.Dir(p)
	}
	segs := strings.Split(strings.Trim(dir, "/"), "/")
	var pl Place
	start := slices.Index(segs, "AWSLogs")
	if start < 0 {
		return pl
	}
	pl.Level = LevelAWSLogs
	rest := segs[start+1:]
	if len(rest) > 0 && strings.HasPrefix(rest[0], "o-") {
		rest = rest[1:]
	}
	num := func(s string, digits, lo, hi int) (int, bool) {
		if len(s) != digits {
			return 0, false
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= lo && n <= hi
	}
	for i, s := range rest {
		switch Level(i) + LevelAccount {
		case LevelAccount:
			pl.Account = s
		case LevelService:
			pl.Service = s
		case LevelRegion:
			pl.Region = s
		case LevelYear:
			n, ok := num(s, 4, 1970, 9999)
			if !ok {
				return pl
			}
			pl.Year = n
		case LevelMonth:
			n, ok := num(s, 2, 1, 12)
			if !ok {
				return pl
			}
			pl.Month = n
		case LevelDay:
			n, ok := num(s, 2, 1, 31)
			if !ok {
				return pl
			}
			pl.Day = n
		default:
			return pl
		}
		pl.Level = Level(i) + LevelAccount
	}
	return pl
}

// span is the time range [from, to) a place's date segments cover; ok is
// false when the place names no date.
func (pl Place) span() (from, to time.Time, ok bool) {
	switch {
	case pl.Level >= LevelDay:
		from = time.Date(pl.Year, time.Month(pl.Month), pl.Day, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(0, 0, 1), true
	case pl.Level == LevelMonth:
		from = time.Date(pl.Year, time.Month(pl.Month), 1, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(0, 1, 0), true
	case pl.Level == LevelYear:
		from = time.Date(pl.Year, 1, 1, 0, 0, 0, 0, time.UTC)
		return from, from.AddDate(1, 0, 0), true
	}
	return time.Time{}, time.Time{}, false
}

// Filter selects log files by account, region and time. Zero fields select
// everything.
type Filter struct {
	Since, Until time.Time // records at or after Since and before Until
	Accounts     []string
	Regions      []string
}

// Windowed reports whether the filter bounds time.
func (f Filter) Windowed() bool { return !f.Since.IsZero() || !f.Until.IsZero() }

// InWindow reports whether t falls in [Since, Until).
func (f Filter) InWindow(t time.Time) bool {
	return (f.Since.IsZero() || !t.Before(f.Since)) && (f.Until.IsZero() || t.Before(f.Until))
}

// Admits reports whether logs under pl can match: false when pl names an
// account, region or days the filter excludes, or a service other than
// CloudTrail.
func (f Filter) Admits(pl Place) bool {
	if pl.Level >= LevelAccount && len(f.Accounts) > 0 && !slices.Contains(f.Accounts, pl.Account) {
		return false
	}
	if pl.Level >= LevelService && pl.Service != "CloudTrail" {
		return false
	}
	if pl.Level >= LevelRegion && len(f.Regions) > 0 && !slices.Contains(f.Regions, pl.Region) {
		return false
	}
	if from, to, ok := pl.span(); ok {
		if !f.Since.IsZero() && !to.After(f.Since) {
			return false
		}
		if !f.Until.IsZero() && !from.Before(f.Until) {
			return false
		}
	}
	return true
}

// Narrows reports whether the filter still selects among what lies under
// pl: if not, everything under pl can be listed at once.
func (f Filter) Narrows(pl Place) bool {
	return len(f.Accounts) > 0 && pl.Level < LevelAccount ||
		len(f.Regions) > 0 && pl.Level < LevelRegion ||
		f.Windowed() && pl.Level < LevelDay
}

// Straddles reports whether records of a file at pl must be checked one by
// one against the window: its day is not wholly inside it, or unknown.
func (f Filter) Straddles(pl Place) bool {
	if !f.Windowed() {
		return false
	}
	from, to, ok := pl.span()
	if !ok || pl.Level < LevelDay {
		return true
	}
	return !f.Since.IsZero() && from.Before(f.Since) || !f.Until.IsZero() && to.After(f.Until)
}

// Days are the day prefixes ("YYYY/MM/DD/") the window covers, oldest
// first; until is used when the filter has no Until (now, typically). It
// returns nil when the window has no start.
func (f Filter) Days(until time.Time) []string {
	if f.Since.IsZero() {
		return nil
	}
	if !f.Until.IsZero() {
		until = f.Until
	}
	var days []string
	d := f.Since.UTC().Truncate(24 * time.Hour)
	for d.Before(until) {
		days = append(days, d.Format("2006/01/02/"))
		d = d.AddDate(0, 0, 1)
	}
	return days
}

// IsLogName reports whether a file name is one a CloudTrail archive holds
// records in: .json, .jsonl, .ndjson, plain or .gz.
func IsLogName(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".gz")
	return strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".ndjson")
}

// IsLogFile reports whether a path or key is a log file that f selects:
// a log name, not a digest or Insights file, under a place f admits.
func (f Filter) IsLogFile(p string) bool {
	base := path.Base(p)
	if !IsLogName(base) || strings.Contains(base, "_CloudTrail-Digest_") || strings.Contains(base, "_CloudTrail-Insight_") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "CloudTrail-Digest" || seg == "CloudTrail-Insight" {
			return false
		}
	}
	pl := Locate(p)
	if (len(f.Accounts) > 0 || len(f.Regions) > 0) && pl.Level < LevelRegion {
		return false // a filter on accounts or regions selects only files whose place says which
	}
	return f.Admits(pl)
}
