package scan

import (
	"context"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
)

// PaceEachAction is an SDK client option (append it to APIOptions) that
// spaces the calls of each API operation at most perSecond apart, every
// attempt counted, retries included: matched to a service's per-action
// throttle, a scan then runs at that rate instead of meeting throttling
// errors and backing off. The SDK's adaptive retry mode paces the whole
// client instead, so one busy action slows every other.
func PaceEachAction(perSecond float64) func(*middleware.Stack) error {
	p := &pacer{every: time.Duration(float64(time.Second) / perSecond), next: map[string]time.Time{}}
	return func(s *middleware.Stack) error {
		// After the retry middleware: each attempt waits for its slot.
		return s.Finalize.Insert(middleware.FinalizeMiddlewareFunc("eksguard/PaceEachAction",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if err := p.wait(ctx, middleware.GetServiceID(ctx)+"."+middleware.GetOperationName(ctx)); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				return next.HandleFinalize(ctx, in)
			}), "Retry", middleware.After)
	}
}

// pacer hands out one slot per operation every `every`.
type pacer struct {
	every time.Duration
	mu    sync.Mutex
	next  map[string]time.Time
}

func (p *pacer) wait(ctx context.Context, op string) error {
	p.mu.Lock()
	now := time.Now()
	at := p.next[op]
	if at.Before(now) {
		at = now
	}
	p.next[op] = at.Add(p.every)
	p.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
