// Package trailfile splits CloudTrail files into raw records without
// decoding them: S3 log files ({"Records":[...]}, plain or gzip), JSON arrays
// of records or EventBridge envelopes, and JSON Lines. Decoding a record is
// shared/cloudtrail's job; this package is for tools that read archives
// (replay), so that the Lambda functions do not link a decompressor.
package trailfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Reader splits a stream into raw CloudTrail items without decoding them:
// a CloudTrail S3 log file ({"Records":[...]}, streamed record by record),
// a JSON array of records or envelopes, a single record or envelope, the
// output of aws cloudtrail lookup-events ({"Events":[{"CloudTrailEvent":
// "<record as a JSON string>",...}]}) or one of its events, or several of
// these one after another (JSON Lines). Gzip input is detected
// by its magic bytes. Memory stays bounded by the largest single record.
type Reader struct {
	src    io.Reader
	closer io.Closer
	buf    []byte
	pos    int   // next unread byte in buf
	end    int   // end of valid data in buf
	base   int64 // stream offset of buf[0]
	eof    bool
	err    error // a read error, returned by every later fill
	mode   int   // modeTop, modeArray or modeRecords
	index  int   // items returned so far
	queue  [][]byte
	pooled *buffers // returned to the pool by Close
	slow   bool     // never take the cloudTrailRecord shortcut (tests compare both ways)
}

const (
	modeTop = iota
	modeArray
	modeRecords
)

// maxItem bounds one record; CloudTrail caps events at 256 KiB, so 64 MiB is
// far beyond anything real and only stops runaway input.
const maxItem = 64 << 20

// buffers are what a Reader needs besides its state: kept in a pool, as a
// replay opens one Reader per file and these are most of its cost to open
// (a 256 KiB buffer, 64 KiB of read-ahead, the inflater's window and tables).
type buffers struct {
	br  *bufio.Reader
	buf []byte
	zr  *gzip.Reader // nil until a gzip stream needed one
}

var pool = sync.Pool{New: func() any {
	return &buffers{br: bufio.NewReaderSize(nil, 64<<10), buf: make([]byte, 256<<10)}
}}

// NewReader wraps r, transparently decompressing gzip.
func NewReader(r io.Reader) (*Reader, error) {
	b := pool.Get().(*buffers)
	b.br.Reset(r)
	magic, _ := b.br.Peek(2)
	rd := &Reader{src: b.br, buf: b.buf, pooled: b}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		var err error
		if b.zr == nil {
			b.zr, err = gzip.NewReader(b.br)
		} else {
			err = b.zr.Reset(b.br)
		}
		if err != nil {
			rd.Close()
			return nil, fmt.Errorf("open gzip: %w", err)
		}
		rd.src, rd.closer = b.zr, b.zr
	}
	return rd, nil
}

// Close releases the decompressor, if any, and the buffers: the slices
// Next returned are invalid after it. It does not close the underlying
// reader.
func (r *Reader) Close() error {
	var err error
	if r.closer != nil {
		err = r.closer.Close()
		r.closer = nil
	}
	if b := r.pooled; b != nil {
		r.pooled = nil
		b.br.Reset(nil)
		if len(r.buf) <= 1<<20 { // one that grew for a huge record is left to the GC
			b.buf = r.buf
		}
		r.buf, r.src = nil, nil
		pool.Put(b)
	}
	return err
}

// Index is the zero-based position of the item Next returned last.
func (r *Reader) Index() int { return r.index - 1 }

// Next returns the next raw item (a record or an envelope), or io.EOF. The
// slice is valid until the following call.
func (r *Reader) Next() ([]byte, error) {
	if len(r.queue) > 0 {
		item := r.queue[0]
		r.queue = r.queue[1:]
		r.index++
		return item, nil
	}
	for {
		c, err := r.skipSpace()
		if err != nil {
			if err == io.EOF && r.mode != modeTop {
				return nil, r.errorf("unexpected end of input inside %s", r.modeName())
			}
			return nil, err
		}
		switch r.mode {
		case modeTop:
			switch c {
			case '[':
				r.pos++
				r.mode = modeArray
				continue
			case '{':
				ok, err := r.enterRecords()
				if err != nil {
					return nil, err
				}
				if ok {
					r.mode = modeRecords
					continue
				}
				v, err := r.value()
				if err != nil {
					return nil, err
				}
				if recs, ok := recordsOf(v); ok { // {"Records":...} with other keys first
					r.queue = recs
					return r.Next()
				}
				recs, ok, err := lookupEventsOf(v)
				if err != nil {
					return nil, r.errorf("%v", err)
				}
				if ok {
					r.queue = recs
					return r.Next()
				}
				r.index++
				return v, nil
			default:
				return nil, r.errorf("unexpected %q: want a JSON object or array", c)
			}
		case modeArray, modeRecords:
			switch c {
			case ',':
				r.pos++
				continue
			case ']':
				r.pos++
				if r.mode == modeRecords {
					if err := r.skipObjectRest(); err != nil {
						return nil, err
					}
				}
				r.mode = modeTop
				continue
			case '{':
				if r.mode == modeRecords && !r.slow {
					if v, ok := r.cloudTrailRecord(); ok {
						r.index++
						return v, nil
					}
				}
				v, err := r.value()
				if err != nil {
					return nil, err
				}
				r.index++
				return v, nil
			default:
				return nil, r.errorf("unexpected %q in %s: want a record object", c, r.modeName())
			}
		}
	}
}

func (r *Reader) modeName() string {
	if r.mode == modeRecords {
		return "Records array"
	}
	return "array"
}

func (r *Reader) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", r.base+int64(r.pos), fmt.Sprintf(format, args...))
}

// fill reads more input, keeping buf[keep:end]. It returns false at EOF.
func (r *Reader) fill(keep int) (bool, error) {
	if r.err != nil {
		return false, r.err
	}
	if r.eof {
		return false, nil
	}
	if keep > 0 {
		n := copy(r.buf, r.buf[keep:r.end])
		r.base += int64(keep)
		r.pos -= keep
		r.end = n
	}
	if r.end == len(r.buf) {
		if len(r.buf) >= maxItem {
			return false, r.errorf("item larger than %d bytes", maxItem)
		}
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	n, err := io.ReadAtLeast(r.src, r.buf[r.end:], 1)
	r.end += n
	if err == io.EOF {
		r.eof = true
		return n > 0, nil
	}
	if err != nil {
		r.err = fmt.Errorf("read: %w", err)
		return false, r.err
	}
	return true, nil
}

func (r *Reader) skipSpace() (byte, error) {
	for {
		for r.pos < r.end {
			switch c := r.buf[r.pos]; c {
			case ' ', '\n', '\r', '\t':
				r.pos++
			default:
				return c, nil
			}
		}
		more, err := r.fill(r.pos)
		if err != nil {
			return 0, err
		}
		if !more {
			return 0, io.EOF
		}
	}
}

var recordsKey = []byte(`"Records"`)

// enterRecords checks whether the object at pos starts with "Records": [ and
// if so consumes up to and including the bracket.
func (r *Reader) enterRecords() (bool, error) {
	// Make sure enough bytes are buffered to see the first key.
	for r.end-r.pos < 64 && !r.eof {
		if _, err := r.fill(r.pos); err != nil {
			return false, err
		}
	}
	i := r.pos + 1
	skip := func() {
		for i < r.end && (r.buf[i] == ' ' || r.buf[i] == '\n' || r.buf[i] == '\r' || r.buf[i] == '\t') {
			i++
		}
	}
	skip()
	if !bytes.HasPrefix(r.buf[i:r.end], recordsKey) {
		return false, nil
	}
	i += len(recordsKey)
	skip()
	if i >= r.end || r.buf[i] != ':' {
		return false, nil
	}
	i++
	skip()
	if i >= r.end || r.buf[i] != '[' {
		return false, nil
	}
	r.pos = i + 1
	return true, nil
}

// skipObjectRest consumes what follows the Records array up to the object's '}'.
func (r *Reader) skipObjectRest() error {
	for {
		c, err := r.skipSpace()
		if err != nil {
			if err == io.EOF {
				return r.errorf("unexpected end of input after Records array")
			}
			return err
		}
		switch c {
		case '}':
			r.pos++
			return nil
		case ',', ':':
			r.pos++
		default:
			if _, err := r.value(); err != nil {
				return err
			}
		}
	}
}

// value returns the complete JSON value starting at pos and moves past it.
func (r *Reader) value() ([]byte, error) {
	start := r.pos
	i := start
	depth := 0
	inStr := false
	for {
		buf := r.buf[:r.end]
		for i < len(buf) {
			c := buf[i]
			if inStr {
				j := bytes.IndexByte(buf[i:], '"')
				if j < 0 {
					i = len(buf)
					break
				}
				i += j
				// Count the backslashes before the quote.
				bs := 0
				for k := i - 1; k > start && buf[k] == '\\'; k-- {
					bs++
				}
				i++
				if bs%2 == 0 {
					inStr = false
					if depth == 0 {
						return r.take(start, i), nil
					}
				}
				continue
			}
			switch c {
			case '"':
				inStr = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth < 0 {
					r.pos = i
					return nil, r.errorf("unbalanced %q", c)
				}
				if depth == 0 {
					return r.take(start, i+1), nil
				}
			case ',', ' ', '\n', '\r', '\t':
				if depth == 0 { // end of a number or literal
					return r.take(start, i), nil
				}
			}
			i++
		}
		// Need more input; keep the value's bytes.
		off := i - start
		r.pos = start
		more, err := r.fill(start)
		if err != nil {
			return nil, err
		}
		start, i = r.pos, r.pos+off
		if !more {
			if depth == 0 && !inStr && i > start {
				return r.take(start, i), nil
			}
			return nil, r.errorf("unexpected end of input inside a JSON value")
		}
	}
}

func (r *Reader) take(start, end int) []byte {
	r.pos = end
	return r.buf[start:end]
}

// The shape of the Records array in the files CloudTrail writes: compact
// JSON, each record starting with its eventVersion.
var (
	recordStart = []byte(`{"eventVersion":`)
	nextRecord  = []byte(`},{"eventVersion":`)
)

// cloudTrailRecord is a shortcut through a record of a CloudTrail log file,
// the bulk of a replay's work after inflating: instead of following every
// string of the record to find its end (value), it looks for where the next
// record starts, `},{"eventVersion":` (vectorised, see indexAt). In valid
// JSON that can only be the end of an object followed by an object opening
// with the key eventVersion: a quote inside a string is escaped, so the
// quote before eventVersion opens a key, and the brace before it is outside
// any string. It is the end of this record, not of an object nested in it,
// when the record's braces balance up to it (a nested end leaves more
// opened than closed; braces inside strings, which could hide that, only
// make the counts differ and fall back). When the next record is not in
// the buffer, it reads once more (a read of the inflater gives up to its
// window, 32 KiB: one record in 44 of the benchmark archive) and looks in what
// came; when any of that fails it reports false and value reads the record
// the long way. A read error is left for value to meet (fill keeps it), so
// a record already whole in the buffer is not lost to it.
//
// It also consumes the comma after the record, which Next would skip.
func (r *Reader) cloudTrailRecord() ([]byte, bool) {
	from := len(recordStart) // where to look for the next record, from pos
	var k int
	for refilled := false; ; refilled = true {
		buf := r.buf[r.pos:r.end]
		if !bytes.HasPrefix(buf, recordStart) {
			return nil, false
		}
		if k = indexAt(buf[from:], nextRecord, 9); k >= 0 {
			k += from
			break
		}
		if refilled || r.eof {
			return nil, false
		}
		from = max(from, len(buf)-len(nextRecord)+1) // what was searched need not be again
		if _, err := r.fill(r.pos); err != nil {
			return nil, false
		}
	}
	rec := r.buf[r.pos : r.pos+k+1]
	if bytes.Count(rec, []byte{'{'}) != bytes.Count(rec, []byte{'}'}) {
		return nil, false
	}
	r.pos += len(rec) + 1
	return rec, true
}

// indexAt is bytes.Index(s, sep), looking first for sep[at], a byte of sep
// chosen rare in s. For nextRecord that is the capital V of eventVersion,
// about 4 per CloudTrail record (tlsVersion, random IDs) against 9 of its
// first byte, the brace, each a restart of bytes.Index's vectorised scan.
func indexAt(s, sep []byte, at int) int {
	c := sep[at]
	for i := at; i < len(s); {
		j := bytes.IndexByte(s[i:], c)
		if j < 0 {
			return -1
		}
		if k := i + j - at; bytes.HasPrefix(s[k:], sep) {
			return k
		}
		i += j + 1
	}
	return -1
}

// recordsOf extracts the records of a {"Records":[...]} object whose
// Records key is not first. It reports false for any other object.
func recordsOf(v []byte) ([][]byte, bool) {
	if !bytes.Contains(v, recordsKey) {
		return nil, false
	}
	var f struct {
		Records []json.RawMessage `json:"Records"`
	}
	if json.Unmarshal(v, &f) != nil || f.Records == nil {
		return nil, false
	}
	out := make([][]byte, len(f.Records))
	for i, rec := range f.Records {
		out[i] = rec
	}
	return out, true
}

var (
	cloudTrailEventKey = []byte(`"CloudTrailEvent"`)
	eventsKey          = []byte(`"Events"`)
)

// lookupEventsOf extracts the records of aws cloudtrail lookup-events
// output, {"Events":[{"CloudTrailEvent":"<record>",...}]}, or of one of its
// events. It reports false for any other object, and an error for an event
// without its record.
func lookupEventsOf(v []byte) ([][]byte, bool, error) {
	if !bytes.Contains(v, cloudTrailEventKey) && !bytes.Contains(v, eventsKey) {
		return nil, false, nil
	}
	type event struct {
		CloudTrailEvent *string `json:"CloudTrailEvent"`
	}
	var page struct {
		Events []event `json:"Events"`
		event
	}
	if json.Unmarshal(v, &page) != nil {
		return nil, false, nil
	}
	if page.CloudTrailEvent != nil {
		return [][]byte{[]byte(*page.CloudTrailEvent)}, true, nil
	}
	if page.Events == nil {
		return nil, false, nil
	}
	out := make([][]byte, len(page.Events))
	for i, e := range page.Events {
		if e.CloudTrailEvent == nil {
			return nil, true, fmt.Errorf("lookup-events output: Events[%d] has no CloudTrailEvent", i)
		}
		out[i] = []byte(*e.CloudTrailEvent)
	}
	return out, true, nil
}
