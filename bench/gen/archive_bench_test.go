package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"

	"github.com/eksguard/eksguard/internal/testsupport/s3fake"

	"github.com/eksguard/eksguard/shared/cloudtrail"
	"github.com/eksguard/eksguard/shared/fastjson"
	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/replay"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/s3archive"
	"github.com/eksguard/eksguard/shared/trailfile"
)

// benchArchive is the archive the side-by-side benchmarks read: the one at
// $EKSGUARD_BENCH_ARCHIVE (as `make bench` writes it), or one of
// $EKSGUARD_BENCH_SIZE (default 50MB) generated with seed 1 for this run.
var benchArchive = sync.OnceValues(func() (string, error) {
	if dir := os.Getenv("EKSGUARD_BENCH_ARCHIVE"); dir != "" {
		return dir, nil
	}
	size := os.Getenv("EKSGUARD_BENCH_SIZE")
	if size == "" {
		size = "50MB"
	}
	n, err := parseSize(size)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "eksguard-bench-")
	if err != nil {
		return "", err
	}
	_, err = Generate(dir, Options{Size: n, Seed: 1, InScope: 0.01})
	return dir, err
})

func archiveFiles(b *testing.B) (files []string, size int64) {
	b.Helper()
	dir, err := benchArchive()
	if err != nil {
		b.Fatal(err)
	}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && trailfile.IsLogName(p) {
			files = append(files, p)
			if info, err := d.Info(); err == nil {
				size += info.Size()
			}
		}
		return err
	})
	if err != nil || len(files) == 0 {
		b.Fatalf("archive %s: %d files, %v", dir, len(files), err)
	}
	sort.Strings(files)
	return files, size
}

// BenchmarkArchive is a replay of the archive side by side with what it
// cannot go below: inflating the same files, alone, with the same library
// on as many goroutines (io.Copy to io.Discard). MB/s are of gzip'd bytes.
func BenchmarkArchive(b *testing.B) {
	files, size := archiveFiles(b)
	workers := runtime.GOMAXPROCS(0)
	// The replay decodes as the CLI does (cmd/eksguard's main).
	cloudtrail.UseUnmarshal(fastjson.Unmarshal)
	b.Run("replay", func(b *testing.B) {
		eng := rules.NewEngine(policy.Default(), rules.All())
		b.SetBytes(size)
		defer reportCPU(b)()
		for b.Loop() {
			var st replay.Stats
			var findings int
			err := replay.Run(context.Background(), replay.Inputs(files, trailfile.Filter{}, nil), replay.Options{
				Engine: eng, Workers: workers,
				OnFinding: func(*finding.Finding) { findings++ },
			}, &st)
			if err != nil || st.Errors.Load() != 0 || findings == 0 {
				b.Fatalf("replay: %v, %d errors, %d findings", err, st.Errors.Load(), findings)
			}
		}
	})
	b.Run("s3", func(b *testing.B) {
		// The same files as objects of an in-process S3 (internal/testsupport/s3fake),
		// listed and fetched through the SDK, 4 GETs per core as the CLI does.
		dir, _ := benchArchive()
		srv := s3fake.New()
		defer srv.Close()
		for _, p := range files {
			rel, err := filepath.Rel(dir, p)
			body, err2 := os.ReadFile(p)
			if err != nil || err2 != nil {
				b.Fatal(err, err2)
			}
			srv.Put("bench", filepath.ToSlash(rel), body)
		}
		client := s3.New(s3.Options{
			BaseEndpoint: aws.String(srv.URL),
			UsePathStyle: true,
			Region:       "eu-west-1",
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
			DisableLogOutputChecksumValidationSkipped: true,
		})
		archive := &s3archive.Archive{Client: client}
		eng := rules.NewEngine(policy.Default(), rules.All())
		b.SetBytes(size)
		defer reportCPU(b)()
		for b.Loop() {
			var st replay.Stats
			var findings int
			err := replay.Run(context.Background(), archive.Inputs(context.Background(), s3archive.Location{Bucket: "bench"}), replay.Options{
				Engine: eng, Workers: 4 * workers,
				OnFinding: func(*finding.Finding) { findings++ },
			}, &st)
			if err != nil || st.Errors.Load() != 0 || st.Files.Load() != int64(len(files)) || findings == 0 {
				b.Fatalf("replay: %v, %d errors, %d of %d files, %d findings", err, st.Errors.Load(), st.Files.Load(), len(files), findings)
			}
		}
	})
	b.Run("inflate", func(b *testing.B) {
		b.SetBytes(size)
		defer reportCPU(b)()
		for b.Loop() {
			next := make(chan string)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var firstErr error
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for p := range next {
						if err := inflate(p); err != nil {
							mu.Lock()
							firstErr = err
							mu.Unlock()
						}
					}
				}()
			}
			for _, p := range files {
				next <- p
			}
			close(next)
			wg.Wait()
			if firstErr != nil {
				b.Fatal(firstErr)
			}
		}
	})
}

func inflate(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, zr)
	return err
}

// reportCPU reports the process's CPU time (user and system) per
// operation as cpu-ms/op, from now to the returned function's call: on a
// machine shared with other work it varies less than the wall time.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
