// Package s3archive lists and opens CloudTrail log files where CloudTrail
// delivers them, in S3, as replay inputs: it lists only the prefixes a
// filter admits (accounts, regions, the day prefixes of a time window) and
// streams each object from its GET, never writing it to disk.
package s3archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/eksguard/eksguard/shared/replay"
	"github.com/eksguard/eksguard/shared/trailfile"
)

// API is the part of the S3 client the archive uses.
type API interface {
	ListObjectsV2(ctx context.Context, params *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, params *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Location is a bucket and a key prefix: s3://BUCKET/PREFIX.
type Location struct {
	Bucket, Prefix string
}

func (l Location) String() string { return "s3://" + l.Bucket + "/" + l.Prefix }

// ParseURL reads s3://BUCKET[/PREFIX]. ok is false for anything that does
// not start with s3://; err says what is wrong with one that does.
func ParseURL(s string) (loc Location, ok bool, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return Location{}, false, nil
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return Location{}, true, fmt.Errorf("%s: no bucket name", s)
	}
	return Location{Bucket: bucket, Prefix: prefix}, true, nil
}

// Archive lists and opens log files in S3.
type Archive struct {
	Client API
	Filter trailfile.Filter
	// Now is the end of a window without Until (default time.Now).
	Now func() time.Time
	// PageSize is the MaxKeys of each listing request (0: the S3 default, 1,000).
	PageSize int32
	// Listers is how many day prefixes are listed at once (default 8): a
	// window over many accounts and regions is thousands of listings, each
	// a round trip.
	Listers int
}

// step is a run of inputs in listing order: those of one page, or those of
// one day prefix listed in the background (ready when done is closed).
type step struct {
	done   chan struct{}
	inputs []replay.Input
}

func ready(inputs []replay.Input) *step {
	s := &step{done: make(chan struct{}), inputs: inputs}
	close(s.done)
	return s
}

// Inputs lists the log files under loc that the filter selects, in key
// order, as replay inputs. A prefix that cannot be listed becomes an input
// carrying the error, and the listing goes on with the next prefix.
func (a *Archive) Inputs(ctx context.Context, loc Location) iter.Seq[replay.Input] {
	return func(yield func(replay.Input) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		listers := a.Listers
		if listers <= 0 {
			listers = 8
		}
		// At most listers steps wait in the queue, so as many day listings
		// run at once, besides the one being delivered.
		steps := make(chan *step, listers)
		go func() {
			defer close(steps)
			a.walk(ctx, loc.Bucket, loc.Prefix, func(s *step) bool {
				select {
				case steps <- s:
					return true
				case <-ctx.Done():
					return false
				}
			})
		}()
		for s := range steps {
			<-s.done
			for _, in := range s.inputs {
				if !yield(in) {
					cancel()
					for range steps { // let the walk see the cancellation and end
					}
					return
				}
			}
		}
	}
}

// walk lists prefix: at once when the filter selects nothing below it, by
// day prefixes (in the background) when it is a region of the layout and the
// window has a start, otherwise one level at a time (Delimiter "/"),
// entering only the common prefixes the filter admits. It returns false
// when emit did.
func (a *Archive) walk(ctx context.Context, bucket, prefix string, emit func(*step) bool) bool {
	pl := trailfile.Locate(prefix[:strings.LastIndex(prefix, "/")+1])
	if !a.Filter.Narrows(pl) {
		ok, _ := a.list(ctx, bucket, prefix, "", emit, nil)
		return ok
	}
	if pl.Level == trailfile.LevelRegion && strings.HasSuffix(prefix, "/") {
		now := time.Now
		if a.Now != nil {
			now = a.Now
		}
		if days := a.Filter.Days(now()); days != nil {
			for _, d := range days {
				s := &step{done: make(chan struct{})}
				go func() {
					defer close(s.done)
					_, _ = a.list(ctx, bucket, prefix+d, "", func(page *step) bool {
						s.inputs = append(s.inputs, page.inputs...)
						return true
					}, nil)
				}()
				if !emit(s) {
					return false
				}
			}
			return true
		}
	}
	var subs []string
	ok, n := a.list(ctx, bucket, prefix, "/", emit, &subs)
	if !ok {
		return false
	}
	if n == 0 && len(subs) == 0 {
		// Nothing at all, or a server that ignores Delimiter without listing
		// the keys either (s3rver 3.7 does): list everything under prefix and
		// let the filter pick the keys. On S3 this is one more request for an
		// empty prefix.
		ok, _ := a.list(ctx, bucket, prefix, "", emit, nil)
		return ok
	}
	for _, sub := range subs {
		if !a.Filter.Admits(trailfile.Locate(sub)) {
			continue
		}
		if !a.walk(ctx, bucket, sub, emit) {
			return false
		}
	}
	return true
}

// list runs one paginated ListObjectsV2, emitting the log files among the
// keys of each page and collecting its common prefixes into subs. It
// reports false when emit did, and how many keys it saw (log files or not).
func (a *Archive) list(ctx context.Context, bucket, prefix, delimiter string, emit func(*step) bool, subs *[]string) (bool, int) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if delimiter != "" {
		in.Delimiter = aws.String(delimiter)
	}
	if a.PageSize > 0 {
		in.MaxKeys = aws.Int32(a.PageSize)
	}
	keys := 0
	pages := s3.NewListObjectsV2Paginator(a.Client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return false, keys
			}
			// Reported in its place; not an empty prefix either.
			return emit(ready([]replay.Input{{Name: "s3://" + bucket + "/" + prefix,
				Err: fmt.Errorf("list objects: %w", err)}})), keys + 1
		}
		keys += len(page.Contents)
		var inputs []replay.Input
		for _, obj := range page.Contents {
			if key := aws.ToString(obj.Key); a.Filter.IsLogFile(key) {
				inputs = append(inputs, a.input(bucket, key, aws.ToInt64(obj.Size)))
			}
		}
		if len(inputs) > 0 && !emit(ready(inputs)) {
			return false, keys
		}
		if subs != nil {
			for _, cp := range page.CommonPrefixes {
				*subs = append(*subs, aws.ToString(cp.Prefix))
			}
		}
	}
	return true, keys
}

func (a *Archive) input(bucket, key string, size int64) replay.Input {
	return replay.Input{
		Name:      "s3://" + bucket + "/" + key,
		Size:      size,
		CheckTime: a.Filter.Straddles(trailfile.Locate(key)),
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			out, err := a.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return nil, fmt.Errorf("get object: %w", err)
			}
			return &body{rc: out.Body}, nil
		},
	}
}

// body names read errors of an object's body (a connection lost mid-way).
type body struct{ rc io.ReadCloser }

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("get object: read body: %w", err)
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

// NewClient is an S3 client from the standard AWS configuration chain
// (environment, shared files, SSO, instance roles) and its retryer. With an
// endpoint set (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL), as for an
// S3-compatible server, buckets are addressed by path rather than by host.
func NewClient(ctx context.Context) (*s3.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	pathStyle := os.Getenv("AWS_ENDPOINT_URL_S3") != "" || os.Getenv("AWS_ENDPOINT_URL") != "" || cfg.BaseEndpoint != nil
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		o.DisableLogOutputChecksumValidationSkipped = true // CloudTrail writes its objects without checksums
		if o.Region == "" {
			o.Region = "us-east-1"
		}
	}), nil
}
