// Package replay runs the rule catalogue over CloudTrail files, directories
// and streams, so a team can see what eksguard would have flagged and done.
package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

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
	Files    atomic.Int64
	Bytes    atomic.Int64 // compressed bytes read from files
	Records  atomic.Int64
	InScope  atomic.Int64 // records some rule looks at
	Findings atomic.Int64
	Errors   atomic.Int64
}

// Options configure a replay.
type Options struct {
	Engine *rules.Engine
	// Workers is how many files are read at once; 0 means one per CPU.
	Workers int
	// OnFinding receives findings in input order (file order, then record order). Called from one goroutine.
	OnFinding func(*finding.Finding)
	// OnError receives unreadable records and files. Called from one goroutine.
	OnError func(*InputError)
	// Stdin is read for the path "-".
	Stdin io.Reader
}

// Inputs expands paths into the files to read: files as given, directories
// walked recursively for CloudTrail files (.json, .jsonl, .ndjson and their
// .gz forms), "-" for standard input.
func Inputs(paths []string) ([]string, []*InputError) {
	var files []string
	var errs []*InputError
	for _, p := range paths {
		if p == "-" {
			files = append(files, p)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, &InputError{File: p, Index: -1, Err: err})
			continue
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, &InputError{File: path, Index: -1, Err: err})
				return nil
			}
			if !d.IsDir() && isTrailFile(d.Name()) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, &InputError{File: p, Index: -1, Err: err})
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, errs
}

func isTrailFile(name string) bool {
	name = strings.TrimSuffix(strings.ToLower(name), ".gz")
	return strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".jsonl") || strings.HasSuffix(name, ".ndjson")
}

// fileResult is what one worker found in one file.
type fileResult struct {
	findings []finding.Finding
	errs     []*InputError
}

// Run replays the files in order and reports findings and errors through
// opts. It returns when every file is read or ctx is done.
func Run(ctx context.Context, files []string, opts Options, st *Stats) error {
	if opts.Engine == nil {
		return errors.New("replay: no rules engine")
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(files), 1))

	// At most window files are in flight (being read, or read and waiting
	// for the files before them to be delivered), so memory stays bounded
	// whatever the number of files; file i uses result slot i%window.
	window := 4 * workers
	results := make([]chan fileResult, window)
	for i := range results {
		results[i] = make(chan fileResult, 1)
	}
	slots := make(chan struct{}, window)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i%window] <- replayFile(files[i], opts, st)
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range files {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	// Deliver in input order.
	var err error
	for i := range files {
		select {
		case r := <-results[i%window]:
			<-slots
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
	}
	// Result channels are buffered, so workers never block on them; they stop
	// once the feeder closes next.
	wg.Wait()
	return err
}

// replayFile reads one file.
func replayFile(name string, opts Options, st *Stats) fileResult {
	var res fileResult
	var src io.Reader
	if name == "-" {
		src = opts.Stdin
		if src == nil {
			src = os.Stdin
		}
	} else {
		f, err := os.Open(name)
		if err != nil {
			st.Errors.Add(1)
			res.errs = append(res.errs, &InputError{File: name, Index: -1, Err: err})
			return res
		}
		defer f.Close()
		src = &countingReader{r: f, n: &st.Bytes}
	}
	st.Files.Add(1)
	display := name
	if name == "-" {
		display = "<stdin>"
	}
	fs, errs := Stream(src, display, opts.Engine, st)
	res.findings, res.errs = fs, errs
	return res
}

// Stream replays one stream: each in-scope record is decoded and assessed;
// the rest are skipped without decoding.
func Stream(src io.Reader, name string, eng *rules.Engine, st *Stats) ([]finding.Finding, []*InputError) {
	var out []finding.Finding
	var errs []*InputError
	rd, err := trailfile.NewReader(src)
	if err != nil {
		st.Errors.Add(1)
		return nil, []*InputError{{File: name, Index: -1, Err: err}}
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
		if src, _ := cloudtrail.Peek(raw); len(src) == 0 {
			// Neither a CloudTrail record nor an envelope of one: skipping it
			// in silence would count a file of anything else as clean.
			st.Errors.Add(1)
			errs = append(errs, &InputError{File: name, Index: rd.Index(), Err: errNotARecord})
			continue
		}
		fs, inScope, err := Assess(eng, raw)
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
	}
	return out, errs
}

var errNotARecord = errors.New("not a CloudTrail record, EventBridge event, log file or lookup-events output: no eventSource")

// statsEvery is how many records Stream reads between updates of
// Stats.Records, which progress displays read while a file is replayed.
const statsEvery = 4096

// Assess handles one raw record or envelope: records no rule looks at are
// skipped without decoding (inScope false); the rest are decoded and assessed.
func Assess(eng *rules.Engine, raw []byte) (fs []finding.Finding, inScope bool, err error) {
	src, name := cloudtrail.Peek(raw)
	if !eng.Relevant(src, name) {
		return nil, false, nil
	}
	rec, err := cloudtrail.DecodeEvent(raw)
	if err != nil {
		return nil, true, err
	}
	return eng.Assess(rec), true, nil
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
