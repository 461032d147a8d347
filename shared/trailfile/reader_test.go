package trailfile

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/eksguard/eksguard/shared/cloudtrail"
)

func rec(i int) string {
	return fmt.Sprintf(`{"eventID":"id-%d","eventSource":"eks.amazonaws.com","eventName":"DeleteCluster","requestParameters":{"name":"c{%d}\"]"}}`, i, i)
}

// readAll drains a reader and returns the event IDs it saw.
func readAll(t *testing.T, in []byte) ([]string, error) {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var ids []string
	for {
		raw, err := rd.Next()
		if err == io.EOF {
			return ids, nil
		}
		if err != nil {
			return ids, err
		}
		r, err := cloudtrail.DecodeEvent(raw)
		if err != nil {
			return ids, fmt.Errorf("item %d: %w", rd.Index(), err)
		}
		ids = append(ids, r.EventID)
	}
}

// quote writes s as a JSON string, as lookup-events does with CloudTrailEvent.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func TestReaderFormats(t *testing.T) {
	envelope := `{"version":"0","id":"env","detail-type":"AWS API Call via CloudTrail","source":"aws.eks","detail":` + rec(9) + `}`
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"bare record", []byte(rec(1)), "id-1"},
		{"envelope", []byte(envelope), "id-9"},
		{"array", []byte("[" + rec(1) + ",\n " + rec(2) + "]"), "id-1,id-2"},
		{"array of envelopes", []byte("[" + envelope + "," + envelope + "]"), "id-9,id-9"},
		{"S3 log file", []byte(`{"Records":[` + rec(1) + "," + rec(2) + "," + rec(3) + `]}`), "id-1,id-2,id-3"},
		{"S3 log file with spaces", []byte("{ \"Records\" :\n [ " + rec(1) + " ] , \"extra\": {\"a\":[1]} }"), "id-1"},
		{"Records not the first key", []byte(`{"x":1,"Records":[` + rec(1) + "," + rec(2) + `]}`), "id-1,id-2"},
		{"gzip S3 log file", gz(`{"Records":[` + rec(1) + "," + rec(2) + `]}`), "id-1,id-2"},
		{"JSON lines", []byte(rec(1) + "\n" + rec(2) + "\n\n" + envelope + "\n"), "id-1,id-2,id-9"},
		{"several S3 files concatenated", []byte(`{"Records":[` + rec(1) + `]}{"Records":[` + rec(2) + `]}`), "id-1,id-2"},
		{"empty Records", []byte(`{"Records":[]}`), ""},
		{"lookup-events output", []byte(`{"Events":[{"EventId":"id-1","EventName":"DeleteCluster","CloudTrailEvent":` + quote(rec(1)) + `},{"EventId":"id-2","CloudTrailEvent":` + quote(rec(2)) + `}],"NextToken":"t"}`), "id-1,id-2"},
		{"lookup-events output, Events not first", []byte(`{"NextToken":"t","Events":[{"CloudTrailEvent":` + quote(rec(3)) + `}]}`), "id-3"},
		{"one lookup-events event (jq .Events[])", []byte(`{"EventId":"id-4","CloudTrailEvent":` + quote(rec(4)) + "}\n" + `{"CloudTrailEvent":` + quote(rec(5)) + `}`), "id-4,id-5"},
		{"empty lookup-events output", []byte(`{"Events":[]}`), ""},
		{"empty input", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := readAll(t, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids, ","); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReaderLargeInputCrossesBuffers(t *testing.T) {
	// Records larger than the initial buffer, and many of them, so that
	// values straddle refills.
	big := strings.Repeat("x", 400<<10)
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	n := 50
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"eventID":"id-%d","eventSource":"s","eventName":"n","pad":"%s\\\"}"}`, i, big[:i*7000])
	}
	b.WriteString("]}")
	ids, err := readAll(t, gz(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != n || ids[n-1] != fmt.Sprintf("id-%d", n-1) {
		t.Fatalf("read %d records, last %v", len(ids), ids[len(ids)-1:])
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
		okBefore       int
	}{
		{"truncated S3 file", `{"Records":[` + rec(1) + `,{"eventID":"x"`, "unexpected end of input", 1},
		{"garbage", `hello`, "unexpected 'h'", 0},
		{"number in Records", `{"Records":[1]}`, "want a record object", 0},
		{"stray brace", `} ` + rec(1), "unexpected '}'", 0},
		{"unbalanced in array", `[` + rec(1) + `]]`, "unexpected ']'", 1},
		{"unterminated array", `[` + rec(1), "unexpected end of input inside array", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := readAll(t, []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to mention %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "offset") && !strings.Contains(err.Error(), "item") {
				t.Errorf("error %q does not say where", err)
			}
			if len(ids) != tt.okBefore {
				t.Errorf("read %d good records before the error, want %d", len(ids), tt.okBefore)
			}
		})
	}
}

// FuzzReader checks that no input makes the reader or decoder panic or loop.
func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"Records":[` + rec(1) + `]}`))
	f.Add([]byte(`{"version":"0","id":"env","detail-type":"AWS API Call via CloudTrail","source":"aws.eks","detail":` + rec(9) + `}`))
	f.Add([]byte(`[{"a":"\\"}, 1, "x"]`))
	f.Add([]byte(`{"Records":[{"eventSource":"eks.amazonaws.com","eventName":"UpdateClusterConfig","requestParameters":{"logging":{"clusterLogging":[{"enabled":"x"}]}}}]}`))
	f.Add([]byte(`{"Records":[{"eventVersion":"1","a":{"eventVersion":"2"}},{"eventVersion":"3","b":"},{\"eventVersion\":"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		// On valid JSON the shortcut through CloudTrail records splits as the full scan does.
		if json.Valid(in) {
			fast, errFast := items(in, false)
			slow, errSlow := items(in, true)
			if !slices.Equal(fast, slow) || (errFast == nil) != (errSlow == nil) {
				t.Fatalf("shortcut %q (%v), full scan %q (%v)", fast, errFast, slow, errSlow)
			}
			// Reads of one byte: every record straddles the buffer's end,
			// so the shortcut reads again and falls back at every offset.
			bytewise, errBytewise := itemsFrom(iotest.OneByteReader(bytes.NewReader(in)), false)
			if !slices.Equal(bytewise, slow) || (errBytewise == nil) != (errSlow == nil) {
				t.Fatalf("shortcut on one-byte reads %q (%v), full scan %q (%v)", bytewise, errBytewise, slow, errSlow)
			}
		}
		rd, err := NewReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		for range 10000 {
			raw, err := rd.Next()
			if err != nil {
				return
			}
			_, _ = cloudtrail.DecodeEvent(raw)
		}
		t.Fatalf("more than 10000 items from %d bytes", len(in))
	})
}

func TestReaderLookupEventsWithoutRecord(t *testing.T) {
	_, err := readAll(t, []byte(`{"Events":[{"CloudTrailEvent":`+quote(rec(1))+`},{"EventId":"x"}]}`))
	if err == nil || !strings.Contains(err.Error(), "Events[1] has no CloudTrailEvent") {
		t.Fatalf("err = %v, want one naming Events[1]", err)
	}
}

// items drains a reader, the shortcut through CloudTrail records allowed or not.
func items(in []byte, slow bool) ([]string, error) {
	return itemsFrom(bytes.NewReader(in), slow)
}

func itemsFrom(src io.Reader, slow bool) ([]string, error) {
	rd, err := NewReader(src)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	rd.slow = slow
	var out []string
	for {
		raw, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(raw))
	}
}

// The shortcut through CloudTrail records splits as the full scan does,
// including where it must give up: an object nested in a record that looks
// like a record, braces and the next record's start inside strings.
func TestCloudTrailRecordShortcutSplitsAsTheFullScan(t *testing.T) {
	recs := []string{
		`{"eventVersion":"1.09","eventID":"a","requestParameters":{"x":[{"eventVersion":"nested"},{"eventVersion":"nested2"}]}}`,
		`{"eventVersion":"1.09","eventID":"b","requestParameters":{"policy":"{\"s\":\"},{\\\"eventVersion\\\":\"}}"}}`,
		`{"eventVersion":"1.09","eventID":"c","note":"unbalanced { in a string","o":{"eventVersion":"x"}}`,
		`{"eventVersion":"1.09","eventID":"d","note":"} and },{ in a string"}`,
		`{"eventID":"e","eventVersion":"1.09"}`,
		`{"eventVersion":"1.09","eventID":"f"}`,
	}
	in := []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
	fast, err := items(in, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fast, recs) {
		t.Errorf("got records\n%q\nwant\n%q", fast, recs)
	}
	slow, err := items(in, true)
	if err != nil || !slices.Equal(slow, fast) {
		t.Errorf("the full scan got %q, %v; want what the shortcut got", slow, err)
	}
}

// indexAt must find exactly what bytes.Index finds.
func TestIndexAtIsBytesIndex(t *testing.T) {
	parts := []string{`},{"eventVersion":`, `},{"eventVersion"`, `{"eventVersion":`, `},{"eventVer`, `,{"eventVersion":`,
		`"tlsVersion":"TLSv1.3"`, `V`, `VV`, `}`, `},`, `},{`, `"`, `:`, `ASIAHVK4HO6V`, ` `}
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 50000 {
		var b bytes.Buffer
		for range rng.IntN(12) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		s := b.Bytes()
		if n%7 == 0 && len(s) > 0 { // cut anywhere, the sequence included
			s = s[:rng.IntN(len(s))]
		}
		if got, want := indexAt(s, nextRecord, 9), bytes.Index(s, nextRecord); got != want {
			t.Fatalf("indexAt(%q) = %d, want %d (bytes.Index)", s, got, want)
		}
	}
}

// The shortcut splits as the full scan does whatever the reads return:
// one byte at a time, halves, or the inflater's own reads.
func TestCloudTrailRecordShortcutOnShortReads(t *testing.T) {
	data := logFile(300)
	want, err := items(data, true)
	if err != nil || len(want) != 300 {
		t.Fatalf("full scan: %d records, %v; want 300", len(want), err)
	}
	for name, src := range map[string]io.Reader{
		"one byte": iotest.OneByteReader(bytes.NewReader(data)),
		"halves":   iotest.HalfReader(bytes.NewReader(data)),
		"gzip":     bytes.NewReader(gz(string(data))),
	} {
		got, err := itemsFrom(src, false)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: got %d records (%v), want the full scan's %d", name, len(got), err, len(want))
		}
	}
}

// A read error after a whole record is reported after that record, not
// in its place: the shortcut, which reads on to find the next record's
// start, leaves the error to the full scan.
func TestReadErrorAfterAWholeRecord(t *testing.T) {
	first := `{"eventVersion":"1.09","eventSource":"s","eventName":"n"}`
	boom := errors.New("connection reset")
	for _, slow := range []bool{false, true} {
		src := io.MultiReader(strings.NewReader(`{"Records":[`+first+`,{"eventVers`), iotest.ErrReader(boom))
		got, err := itemsFrom(src, slow)
		if !slices.Equal(got, []string{first}) || !errors.Is(err, boom) {
			t.Errorf("slow %v: got %q, %v; want the first record, then %v", slow, got, err, boom)
		}
	}
}
