package cloudtrail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Bool is a boolean that CloudTrail sometimes writes as a string ("true",
// "False"). Use *Bool where absence matters.
type Bool bool

// UnmarshalJSON accepts true, false, null and their string forms.
func (b *Bool) UnmarshalJSON(data []byte) error {
	s := string(data)
	if len(data) > 1 && data[0] == '"' {
		s = s[1 : len(s)-1]
	}
	switch strings.ToLower(s) {
	case "true":
		*b = true
	case "false", "null", "":
		*b = false
	default:
		return &json.UnmarshalTypeError{Value: truncate(string(data), 40), Type: reflect.TypeFor[Bool]()}
	}
	return nil
}

// Ptr returns a pointer to a copy of the boolean.
func (b Bool) Ptr() *Bool { return &b }

// Time is a timestamp written either as an RFC 3339 string or as epoch
// seconds (older EKS responses), possibly fractional.
type Time struct{ time.Time }

// UnmarshalJSON accepts RFC 3339 strings, epoch seconds (or milliseconds) and null.
func (t *Time) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	if len(data) > 1 && data[0] == '"' {
		s := string(data[1 : len(data)-1])
		if s == "" {
			return nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05"} {
			if v, err := time.Parse(layout, s); err == nil {
				t.Time = v.UTC()
				return nil
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			t.Time = epoch(f)
			return nil
		}
		return &json.UnmarshalTypeError{Value: truncate(string(data), 40), Type: reflect.TypeFor[Time]()}
	}
	f, err := strconv.ParseFloat(string(data), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return &json.UnmarshalTypeError{Value: truncate(string(data), 40), Type: reflect.TypeFor[Time]()}
	}
	t.Time = epoch(f)
	return nil
}

// MarshalJSON writes RFC 3339, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(time.RFC3339) + `"`), nil
}

func epoch(f float64) time.Time {
	if f > 1e11 { // milliseconds
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// unescapeARN decodes an ARN that arrived URL-encoded because it was an API
// path parameter (arn%3Aaws%3Aiam%3A%3A...). Plain ARNs are returned as is.
func unescapeARN(field, s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	v, err := url.PathUnescape(s)
	if err != nil {
		return "", fmt.Errorf("%s: bad URL encoding in %q: %w", field, truncate(s, 80), err)
	}
	return v, nil
}
