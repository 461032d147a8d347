package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// listFlag is a repeatable string flag; commas separate values too.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// parseTime reads a --since or --until value: an RFC 3339 time, a date
// (midnight UTC; for an end, the end of that day, so that the day is
// included), or a duration before now in days, hours, minutes or seconds
// (30d, 36h, 90m). The empty string is the zero time: no bound.
func parseTime(s string, now time.Time, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.UTC().AddDate(0, 0, -days), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.UTC().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-11-01), an RFC 3339 time (2026-11-01T09:30:00Z) or a duration (30d, 12h)", s)
}
