package graphemu

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// Documented identity-service quotas per application+tenant pair (tenants over 500 users).
const (
	DefaultReadUnitsPer10s = 8000
	DefaultWritesPer150s   = 3000
	readWindow             = 10 * time.Second
	writeWindow            = 150 * time.Second
)

// bucket is a token bucket: it holds up to capacity units and refills at capacity per window, so
// the sustained rate is exactly the documented quota and a full bucket allows one window's burst.
type bucket struct {
	capacity float64
	perSec   float64
	tokens   float64
	last     time.Time
}

func newBucket(capacity int, window time.Duration, now time.Time) *bucket {
	c := float64(capacity)
	return &bucket{capacity: c, perSec: c / window.Seconds(), tokens: c, last: now}
}

func (b *bucket) refill(now time.Time) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(b.capacity, b.tokens+dt*b.perSec)
		b.last = now
	}
}

// wait is how long until cost units are available (0: now).
func (b *bucket) wait(cost float64) time.Duration {
	if b.tokens >= cost {
		return 0
	}
	return time.Duration((cost - b.tokens) / b.perSec * float64(time.Second))
}

func (b *bucket) used() float64 { return 1 - b.tokens/b.capacity }

type quotaPair struct{ read, write *bucket }

type quotaSet struct {
	disabled    bool
	readUnits   int
	writes      int
	readWindow  time.Duration
	writeWindow time.Duration
	scale       float64

	mu    sync.Mutex
	pairs map[string]*quotaPair
}

func (q *quotaSet) init(o Quotas) {
	q.disabled = o.Disabled
	q.readUnits, q.writes, q.scale = o.ReadUnitsPer10s, o.WritesPer150s, o.TimeScale
	if q.readUnits <= 0 {
		q.readUnits = DefaultReadUnitsPer10s
	}
	if q.writes <= 0 {
		q.writes = DefaultWritesPer150s
	}
	if q.scale <= 0 {
		q.scale = 1
	}
	q.readWindow = time.Duration(float64(readWindow) * q.scale)
	q.writeWindow = time.Duration(float64(writeWindow) * q.scale)
	q.pairs = make(map[string]*quotaPair)
}

// charge is the outcome of metering one call.
type charge struct {
	ok       bool
	retry    time.Duration // when !ok
	scope    string        // x-ms-throttle-scope limit part: Read, Write
	info     string        // x-ms-throttle-information
	usedPct  float64       // fraction of the tighter quota in use after the call
	units    int
	isWrites bool
}

// take charges units (and a write when write is set) to the application+tenant pair, or says how
// long to wait when either quota cannot cover it; nothing is charged then.
func (q *quotaSet) take(key string, units int, write bool, now time.Time) charge {
	c := charge{ok: true, units: units, isWrites: write}
	if q.disabled {
		return c
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	p := q.pairs[key]
	if p == nil {
		p = &quotaPair{read: newBucket(q.readUnits, q.readWindow, now), write: newBucket(q.writes, q.writeWindow, now)}
		q.pairs[key] = p
	}
	p.read.refill(now)
	p.write.refill(now)
	rw := p.read.wait(float64(units))
	var ww time.Duration
	if write {
		ww = p.write.wait(1)
	}
	if rw > 0 || ww > 0 {
		c.ok = false
		c.retry = max(rw, ww)
		if ww >= rw {
			c.scope, c.info = "Write", "WriteLimitExceeded"
		} else {
			c.scope, c.info = "Read", "ResourceUnitLimitExceeded"
			if write {
				c.scope = "ReadWrite"
			}
		}
		c.usedPct = 1
		return c
	}
	p.read.tokens -= float64(units)
	c.usedPct = p.read.used()
	if write {
		p.write.tokens--
		c.usedPct = max(c.usedPct, p.write.used())
	}
	return c
}

// retryAfterHeaders are the headers announcing a wait: Retry-After in whole seconds (rounded up, at
// least 1) as Graph sends it, and x-ms-retry-after-ms with the exact wait.
func retryAfterHeaders(h map[string]string, d time.Duration) {
	secs := int64(math.Ceil(d.Seconds()))
	if secs < 1 {
		secs = 1
	}
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	h["Retry-After"] = strconv.FormatInt(secs, 10)
	h["x-ms-retry-after-ms"] = strconv.FormatInt(ms, 10)
}
