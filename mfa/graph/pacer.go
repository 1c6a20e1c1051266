package graph

import (
	"context"
	"sync"
	"time"
)

// pacer keeps requests under Graph's quotas on the client side, so that a large job runs at the
// quota instead of into a storm of 429s. It holds two token buckets, like Graph's own meters: one of
// resource units and one of writes, each refilled at its quota's rate (times the pace) and holding
// at most one window's worth. A caller reserves what its request costs and waits until the
// buckets cover it (reservations are served in order: a bucket may go negative, and the next caller
// waits for the debt to be repaid). A 429 for the application's quota pauses every caller for its
// Retry-After.
type pacer struct {
	mu          sync.Mutex
	now         func() time.Time
	units       bucket
	writes      bucket
	pausedUntil time.Time
}

type bucket struct {
	capacity, perSec, tokens float64
	last                     time.Time
}

func newBucket(q Quota, pace float64, now time.Time) bucket {
	c := float64(q.Units) * pace
	return bucket{capacity: c, perSec: c / q.Window.Seconds(), tokens: c, last: now}
}

// resize changes the quota, keeping what was spent of it.
func (b *bucket) resize(q Quota, pace float64) {
	c := float64(q.Units) * pace
	b.tokens = min(c, b.tokens+c-b.capacity)
	b.capacity, b.perSec = c, c/q.Window.Seconds()
}

func (b *bucket) refill(now time.Time) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.capacity, b.tokens+dt*b.perSec)
		b.last = now
	}
}

// take reserves n and answers how long until the bucket is back to zero (0: now).
func (b *bucket) take(n float64) time.Duration {
	b.tokens -= n
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.perSec * float64(time.Second))
}

func newPacer(read, write Quota, pace float64, now func() time.Time) *pacer {
	t := now()
	return &pacer{now: now, units: newBucket(read, pace, t), writes: newBucket(write, pace, t)}
}

// wait reserves units and writes and blocks until they may be spent, or ctx ends.
func (p *pacer) wait(ctx context.Context, units, writes int) error {
	p.mu.Lock()
	now := p.now()
	p.units.refill(now)
	p.writes.refill(now)
	d := p.units.take(float64(units))
	if writes > 0 {
		d = max(d, p.writes.take(float64(writes)))
	}
	if pause := p.pausedUntil.Sub(now); pause > d {
		d = pause
	}
	p.mu.Unlock()
	return sleep(ctx, d)
}

// setReadQuota changes the resource-unit quota (the tenant's size became known).
func (p *pacer) setReadQuota(q Quota, pace float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.units.refill(p.now())
	p.units.resize(q, pace)
}

// readRate is the resource-unit quota paced under now, in units per second.
func (p *pacer) readRate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.units.perSec
}

// pause holds every caller back for d (a 429's Retry-After): Graph throttles the application and
// tenant as a whole, so nobody should ask before then.
func (p *pacer) pause(d time.Duration) {
	p.mu.Lock()
	if until := p.now().Add(d); until.After(p.pausedUntil) {
		p.pausedUntil = until
	}
	p.mu.Unlock()
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
