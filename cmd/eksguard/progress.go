package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/eksguard/eksguard/shared/replay"
)

// isTerminal reports whether w is a terminal (not a file or a pipe).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressEvery is how often the bar is redrawn.
const progressEvery = 200 * time.Millisecond

// progress draws a replay's progress on a terminal: a bar over the bytes
// of the inputs listed so far (local files and S3 objects; the listing runs
// while they are read), the inputs read of those listed, the records read
// per second and the findings so far. Everything else the replay writes to
// that terminal goes through pause, so that lines do not mix with the bar.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	st    *replay.Stats
	total int64 // the bar's length: bytes listed, 0 while unknown (a spinner)
	now   func() time.Time
	start time.Time
	stop  chan struct{}
	done  chan struct{}
}

// startProgress draws the bar on w and redraws it every progressEvery
// until finish.
func startProgress(w io.Writer, st *replay.Stats, now func() time.Time) *progress {
	p := &progress{st: st, now: now, start: now(), stop: make(chan struct{}), done: make(chan struct{})}
	p.bar = progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(p.describe()),
		progressbar.OptionShowBytes(true), // compressed bytes read, of those listed
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(progressEvery/2),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	go func() {
		defer close(p.done)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.update()
			case <-p.stop:
				return
			}
		}
	}()
	return p
}

// describe is the text before the bar:
// "12/340 files, 1,234,567 records (456,789/s), 12 findings".
func (p *progress) describe() string {
	records := p.st.Records.Load()
	rate := int64(0)
	if d := p.now().Sub(p.start); d > 0 {
		rate = int64(float64(records) / d.Seconds())
	}
	return fmt.Sprintf("%s/%s files, %s records (%s/s), %s findings", thousands(p.st.Done.Load()),
		thousands(p.st.Listed.Load()), thousands(records), thousands(rate), thousands(p.st.Findings.Load()))
}

func (p *progress) update() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.Describe(p.describe())
	if listed := p.st.ListedBytes.Load(); listed > p.total {
		p.total = listed
		p.bar.ChangeMax64(listed)
	}
	if p.total > 0 {
		_ = p.bar.Set64(min(p.st.Bytes.Load(), p.total))
	} else {
		_ = p.bar.Add64(1) // spin
	}
}

// pause clears the bar, runs write (which prints to the same terminal),
// and lets the next tick draw the bar again below what write printed.
func (p *progress) pause(write func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Clear()
	write()
}

// finish stops the redraws and leaves the final figures on the terminal:
// the bar full when the replay read everything, as it stood otherwise.
func (p *progress) finish(complete bool) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.Describe(p.describe())
	if listed := p.st.ListedBytes.Load(); listed > p.total {
		p.total = listed
		p.bar.ChangeMax64(listed)
	}
	if p.total > 0 {
		_ = p.bar.Set64(min(p.st.Bytes.Load(), p.total))
	}
	if complete {
		_ = p.bar.Finish()
		return
	}
	_ = p.bar.Exit() // prints the newline
}

// thousands writes n with thousands separators.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var b []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, c)
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}
