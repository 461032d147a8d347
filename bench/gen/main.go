// Command gen writes a deterministic, CloudTrail-shaped S3 archive for the
// replay benchmarks: gzip'd {"Records":[...]} files laid out the way
// CloudTrail delivers them (AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/),
// filled with the management-event noise an EKS account produces (EC2, STS,
// KMS, ECR, S3, CloudWatch Logs, read-only EKS and IAM calls, throttles and
// denials) and about one in-scope event (an EKS access or cluster change, an
// IAM policy change) per hundred records.
//
// The same flags always produce byte-identical files.
//
//	go run ./bench/gen -out bench/out/archive -size 1GiB
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

func main() {
	out := flag.String("out", "bench/out/archive", "directory to write the archive into (emptied first)")
	size := flag.String("size", "1GiB", "uncompressed size to reach, e.g. 1GiB, 200MiB, 50MB")
	seed := flag.Uint64("seed", 1, "random seed; the same seed and size give the same bytes")
	inScope := flag.Float64("in-scope", 0.01, "share of records that some eksguard rule looks at")
	flag.Parse()
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: -size: %v\n", err)
		os.Exit(2)
	}
	sum, err := Generate(*out, Options{Size: n, Seed: *seed, InScope: *inScope})
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d files, %d records (%d in scope), %d bytes uncompressed, %d bytes gzip'd to %s\n",
		sum.Files, sum.Records, sum.InScope, sum.Raw, sum.Compressed, *out)
}

// Options set what Generate writes.
type Options struct {
	Size    int64   // uncompressed bytes to reach (the last file may overshoot)
	Seed    uint64  // random seed
	InScope float64 // share of in-scope records
}

// Summary says what Generate wrote.
type Summary struct {
	Files, Records, InScope int
	Raw, Compressed         int64
}

type file struct {
	path string
	body []byte
}

// Generate writes the archive into dir, replacing whatever was there. File
// bodies are produced in order on one goroutine (so the content depends on
// the seed alone) and compressed on the others.
func Generate(dir string, o Options) (Summary, error) {
	var sum Summary
	if o.Size <= 0 {
		return sum, errors.New("size must be positive")
	}
	if err := os.RemoveAll(dir); err != nil {
		return sum, err
	}
	files := make(chan file, 4)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range max(1, numCPU()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range files {
				n, err := writeGzip(f.path, f.body)
				mu.Lock()
				sum.Compressed += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	g := newGenerator(o.Seed, o.InScope)
	for i := 0; sum.Raw < o.Size; i++ {
		name, body, recs, in := g.file(i)
		sum.Files++
		sum.Records += recs
		sum.InScope += in
		sum.Raw += int64(len(body))
		files <- file{path: filepath.Join(dir, name), body: body}
	}
	close(files)
	wg.Wait()
	return sum, firstErr
}

func writeGzip(path string, body []byte) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
	if err != nil {
		return 0, err
	}
	if _, err := zw.Write(body); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(b.Len()), os.WriteFile(path, b.Bytes(), 0o644)
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || f <= 0 {
				return 0, fmt.Errorf("bad size %q", s)
			}
			return int64(f * float64(u.mult)), nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 1GiB or 200MB)", s)
	}
	return n, nil
}
