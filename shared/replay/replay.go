// Package replay runs the rule catalogue over CloudTrail files, directories
// and streams, so a team can see what eksguard would have flagged and done.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/trailfile"
)

// InputError is a record or file that could not be read.
type InputError struct {
	File  string
	Index int // record index within the file, -1 for the file itself
	Err   error
}

func (e *InputError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s: record %d: %v", e.File, e.Index, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// Stats counts what a replay saw. Fields are updated atomically while it runs.
type Stats struct {
	Listed      atomic.Int64 // inputs found (files, objects)
	ListedBytes atomic.Int64 // their sizes, where known
	Files       atomic.Int64 // inputs opened
	Done        atomic.Int64 // inputs finished with, read or not
	Bytes       atomic.Int64 // compressed bytes read from them
	Records     atomic.Int64
	InScope     atomic.Int64 // records some rule looks at
	Outside     atomic.Int64 // records skipped as outside the time window
	Findings    atomic.Int64
	Errors      atomic.Int64
}

// Options configure a replay.
type Options struct {
	Engine *rules.Engine
	// Workers is how many inputs are read at once; 0 means one per CPU.
	Workers int
	// OnFinding receives findings in input order (file order, then record
	// order), then, once every input is read, the correlation rules'
	// findings (judged in event-time order; delivered in input order).
	// Called from one goroutine.
	OnFinding func(*finding.Finding)
	// OnError receives unreadable records and files. Called from one goroutine.
	OnError func(*InputError)
	// Window bounds the records assessed by time (Since, Until); records of
	// inputs marked CheckTime outside it are skipped.
	Window trailfile.Filter
}

// Input is one thing to read: a file, an S3 object, a stream.
type Input struct {
	Name string // how errors name it: a path, s3://bucket/key, <stdin>
	Size int64  // bytes, -1 if unknown
	// Open starts reading it.
	Open func(ctx context.Context) (io.ReadCloser, error)
	// Err, when set, is why the input could not even be listed (a
	// directory or prefix); it is reported in its place, and Open unused.
	Err error
	// CheckTime says the records must be checked one by one against
	// Options.Window: the input's day straddles the window or is unknown.
	CheckTime bool
}

// Inputs expands local paths into inputs: files as given (read whatever
// their name), directories walked recursively for the CloudTrail files f
// selects (.json, .jsonl, .ndjson and their .gz forms; no digest or Insights
// files; directories of the CloudTrail layout f excludes are not entered),
// "-" for stdin.
func Inputs(paths []string, f trailfile.Filter, stdin io.Reader) iter.Seq[Input] {
	return func(yield func(Input) bool) {
		for _, p := range paths {
			if !localInputs(p, f, stdin, yield) {
				return
			}
		}
	}
}

func localInputs(p string, f trailfile.Filter, stdin io.Reader, yield func(Input) bool) bool {
	if p == "-" {
		if stdin == nil {
			stdin = os.Stdin
		}
		return yield(Input{Name: "<stdin>", Size: -1, CheckTime: f.Windowed(),
			Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(stdin), nil }})
	}
	info, err := os.Stat(p)
	if err != nil {
		return yield(Input{Name: p, Err: err})
	}
	if !info.IsDir() {
		return yield(fileInput(p, info.Size(), f, true))
	}
	var found []Input
	var errs []Input
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, Input{Name: path, Err: err})
			return nil
		}
		slash := filepath.ToSlash(path)
		if d.IsDir() {
			if path != p && !f.Admits(trailfile.Locate(slash+"/")) {
				return fs.SkipDir
			}
			return nil
		}
		if !f.IsLogFile(slash) {
			return nil
		}
		size := int64(-1)
		if info, err := d.Info(); err == nil {
			size = info.Size()
		}
		found = append(found, fileInput(path, size, f, false))
		return nil
	})
	if err != nil {
		errs = append(errs, Input{Name: p, Err: err})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Name < found[j].Name })
	for _, in := range append(errs, found...) {
		if !yield(in) {
			return false
		}
	}
	return true
}

func fileInput(path string, size int64, f trailfile.Filter, explicit bool) Input {
	check := f.Straddles(trailfile.Locate(filepath.ToSlash(path)))
	return Input{Name: path, Size: size, CheckTime: check || explicit && f.Windowed(),
		Open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }}
}

// fileResult is what one worker found in one input.
type fileResult struct {
	findings []finding.Finding
	errs     []*InputError
	// marked are the records that leave a correlation mark, for the
	// correlation rules to judge in event-time order at the end.
	marked []*cloudtrail.Record
}

// Run replays the inputs in order and reports findings and errors through
// opts. It returns when every input is read or ctx is done. The inputs are
// pulled as the workers need them, so a listing can run while earlier
// inputs are read.
func Run(ctx context.Context, inputs iter.Seq[Input], opts Options, st *Stats) error {
	if opts.Engine == nil {
		return errors.New("replay: no rules engine")
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	// At most window inputs are in flight (being read, or read and waiting
	// for the inputs before them to be delivered), so memory stays bounded
	// whatever the number of inputs; input i uses result slot i%window.
	window := 4 * workers
	results := make([]chan fileResult, window)
	for i := range results {
		results[i] = make(chan fileResult, 1)
	}
	type job struct {
		i  int
		in Input
	}
	slots := make(chan struct{}, window)
	next := make(chan job)
	fed := make(chan struct{}, window) // one per input handed out, in order
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				results[j.i%window] <- replayInput(ctx, j.in, opts, st)
			}
		}()
	}
	go func() {
		defer close(fed)
		defer close(next)
		i := 0
		for in := range inputs {
			st.Listed.Add(1)
			if in.Size > 0 {
				st.ListedBytes.Add(in.Size)
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- job{i, in}:
			case <-ctx.Done():
				return
			}
			fed <- struct{}{}
			i++
		}
	}()
	// Deliver in input order.
	var err error
	var marked []*cloudtrail.Record
	i := 0
	for range fed {
		select {
		case r := <-results[i%window]:
			<-slots
			marked = append(marked, r.marked...)
			for j := range r.findings {
				if opts.OnFinding != nil {
					opts.OnFinding(&r.findings[j])
				}
			}
			for _, e := range r.errs {
				if opts.OnError != nil {
					opts.OnError(e)
				}
			}
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
		i++
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		// Let the feeder see the cancellation and stop.
		for range fed {
		}
	}
	// Result channels are buffered, so workers never block on them; they stop
	// once the feeder closes next.
	wg.Wait()
	if err == nil {
		for _, fs := range opts.Engine.CorrelateInOrder(marked) {
			st.Findings.Add(int64(len(fs)))
			for j := range fs {
				if opts.OnFinding != nil {
					opts.OnFinding(&fs[j])
				}
			}
		}
	}
	return err
}

// replayInput reads one input.
func replayInput(ctx context.Context, in Input, opts Options, st *Stats) fileResult {
	defer st.Done.Add(1)
	var res fileResult
	fail := func(err error) fileResult {
		st.Errors.Add(1)
		res.errs = append(res.errs, &InputError{File: in.Name, Index: -1, Err: err})
		return res
	}
	if in.Err != nil {
		return fail(in.Err)
	}
	if ctx.Err() != nil {
		return res
	}
	rc, err := in.Open(ctx)
	if err != nil {
		return fail(err)
	}
	defer rc.Close()
	st.Files.Add(1)
	var window *trailfile.Filter
	if in.CheckTime && opts.Window.Windowed() {
		window = &opts.Window
	}
	res.findings, res.marked, res.errs = stream(&countingReader{r: rc, n: &st.Bytes}, in.Name, opts.Engine, window, st)
	return res
}

// Stream replays one stream: each in-scope record is decoded and assessed;
// the rest are skipped without decoding. The correlation rules judge the
// stream's grants and removals at its end, in event-time order.
func Stream(src io.Reader, name string, eng *rules.Engine, st *Stats) ([]finding.Finding, []*InputError) {
	fs, marked, errs := stream(src, name, eng, nil, st)
	for _, c := range eng.CorrelateInOrder(marked) {
		st.Findings.Add(int64(len(c)))
		fs = append(fs, c...)
	}
	return fs, errs
}

// stream is Stream without the correlation rules, skipping the records
// outside window when it is not nil; it returns the records that leave a
// correlation mark.
func stream(src io.Reader, name string, eng *rules.Engine, window *trailfile.Filter, st *Stats) ([]finding.Finding, []*cloudtrail.Record, []*InputError) {
	var out []finding.Finding
	var marked []*cloudtrail.Record
	var errs []*InputError
	rd, err := trailfile.NewReader(src)
	if err != nil {
		st.Errors.Add(1)
		return nil, nil, []*InputError{{File: name, Index: -1, Err: err}}
	}
	defer rd.Close()
	var records int64 // not yet added to st
	defer func() { st.Records.Add(records) }()
	for {
		if records == statsEvery {
			st.Records.Add(records)
			records = 0
		}
		raw, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			st.Errors.Add(1)
			errs = append(errs, &InputError{File: name, Index: rd.Index() + 1, Err: err})
			break
		}
		records++
		src, evName := cloudtrail.Peek(raw) // once per record: the hot path
		if len(src) == 0 {
			if fs, ok, err := assessAudit(eng, raw, window, st); ok {
				if err != nil {
					st.Errors.Add(1)
					errs = append(errs, &InputError{File: name, Index: rd.Index(), Err: err})
				}
				st.Findings.Add(int64(len(fs)))
				out = append(out, fs...)
				continue
			}
			// Neither a CloudTrail record nor an envelope of one: skipping it
			// in silence would count a file of anything else as clean.
			st.Errors.Add(1)
			errs = append(errs, &InputError{File: name, Index: rd.Index(), Err: errNotARecord})
			continue
		}
		if window != nil && !inWindow(raw, window) {
			st.Outside.Add(1)
			continue
		}
		rec, fs, inScope, err := assessPeeked(eng, raw, src, evName)
		if !inScope {
			continue
		}
		st.InScope.Add(1)
		if err != nil {
			st.Errors.Add(1)
			errs = append(errs, &InputError{File: name, Index: rd.Index(), Err: err})
			continue
		}
		st.Findings.Add(int64(len(fs)))
		out = append(out, fs...)
		if _, ok := eng.MarkOf(rec); ok {
			marked = append(marked, rec)
		}
	}
	return out, marked, errs
}

var errNotARecord = errors.New("not a CloudTrail record, EventBridge event, log file, lookup-events output, Kubernetes audit event or CloudWatch Logs subscription payload: no eventSource")

// statsEvery is how many records Stream reads between updates of
// Stats.Records, which progress displays read while a file is replayed.
const statsEvery = 4096

// Assess handles one raw record or envelope: records no rule looks at are
// skipped without decoding (inScope false); the rest are decoded and assessed.
func Assess(eng *rules.Engine, raw []byte) (fs []finding.Finding, inScope bool, err error) {
	src, name := cloudtrail.Peek(raw)
	_, fs, inScope, err = assessPeeked(eng, raw, src, name)
	return fs, inScope, err
}

// assessPeeked is Assess for a record already peeked at; it returns the
// decoded record too.
func assessPeeked(eng *rules.Engine, raw, src, name []byte) (rec *cloudtrail.Record, fs []finding.Finding, inScope bool, err error) {
	if !eng.Relevant(src, name) {
		return nil, nil, false, nil
	}
	rec, err = cloudtrail.DecodeEvent(raw)
	if err != nil {
		return nil, nil, true, err
	}
	return rec, eng.Assess(rec), true, nil
}

// inWindow reports whether a raw record's eventTime is inside the window.
// A record without a readable eventTime is kept: the rules see it, and
// its decoding reports what is wrong with it.
func inWindow(raw []byte, w *trailfile.Filter) bool {
	s := cloudtrail.PeekTime(raw)
	if s == nil {
		return true
	}
	t, err := time.Parse(time.RFC3339, string(s))
	if err != nil {
		return true
	}
	return w.InWindow(t)
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
