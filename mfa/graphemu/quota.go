package graphemu

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// The identity and access service's throttling limits, from Microsoft Graph's "service-specific
// throttling limits" page (concepts/throttling-limits.md, "Identity and access service limits"):
//
//	limit type                 resource units                      writes
//	application+tenant pair    S 3,500 / M 5,000 / L 8,000 per 10 s  3,000 per 2 min 30 s
//	application                150,000 per 20 s                    70,000 per 5 min
//	tenant (all applications)  —                                   18,000 per 5 min
//
// where the tenant sizes are "S - under 50 users, M - between 50 and 500 users, and L - above 500
// users".
const (
	SmallTenantUnitsPer10s  = 3500
	MediumTenantUnitsPer10s = 5000
	LargeTenantUnitsPer10s  = 8000
	DefaultWritesPer150s    = 3000
	DefaultAppUnitsPer20s   = 150_000
	DefaultAppWritesPer5m   = 70_000
	DefaultTenantWritesPer5 = 18_000

	readWindow      = 10 * time.Second
	writeWindow     = 150 * time.Second
	appReadWindow   = 20 * time.Second
	longWriteWindow = 5 * time.Minute
)

// ReadUnitsForTenant is the resource-unit quota per application+tenant pair per 10 s for a tenant
// of n users (the S, M, L sizes of throttling-limits.md).
func ReadUnitsForTenant(n int) int {
	switch {
	case n < 50:
		return SmallTenantUnitsPer10s
	case n <= 500:
		return MediumTenantUnitsPer10s
	}
	return LargeTenantUnitsPer10s
}

// bucket is a token bucket: it holds up to capacity units and refills at capacity per window, so
// the sustained rate is exactly the documented quota and a full bucket allows one window's burst
// ("Throttling is based on a token bucket algorithm", throttling-limits.md).
type bucket struct {
	capacity float64
	perSec   float64
	tokens   float64
	last     time.Time
}

func newBucket(capacity int, window time.Duration, now time.Time) *bucket {
	b := &bucket{last: now}
	b.resize(capacity, window)
	b.tokens = b.capacity
	return b
}

// resize changes the quota (a tenant that grew into another size), keeping what was spent.
func (b *bucket) resize(capacity int, window time.Duration) {
	c := float64(capacity)
	if c == b.capacity {
		return
	}
	b.tokens += c - b.capacity
	b.capacity, b.perSec = c, c/window.Seconds()
	b.tokens = math.Min(b.tokens, c)
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

// meter is one limit: its scope and kind as x-ms-throttle-scope names them, and its bucket.
type meter struct {
	scope string // Tenant_Application, Application, Tenant
	limit string // Read (resource units) or Write
	b     *bucket
}

type quotaSet struct {
	disabled bool
	cfg      Quotas
	scale    float64

	mu     sync.Mutex
	meters map[string]*meter // by scope/limit/key
}

func (q *quotaSet) init(o Quotas) {
	q.disabled, q.cfg, q.scale = o.Disabled, o, o.TimeScale
	if q.scale <= 0 {
		q.scale = 1
	}
	q.meters = make(map[string]*meter)
}

func (q *quotaSet) window(d time.Duration) time.Duration { return time.Duration(float64(d) * q.scale) }

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// charge is the outcome of metering one call.
type charge struct {
	ok      bool
	retry   time.Duration // when !ok
	scope   string        // x-ms-throttle-scope's <Scope>/<Limit> part, e.g. Tenant_Application/Read
	info    string        // x-ms-throttle-information
	usedPct float64       // fraction of the tightest quota in use after the call
}

// meterFor returns (creating it full) the meter of a limit; q.mu is held.
func (q *quotaSet) meterFor(scope, limit, key string, capacity int, window time.Duration, now time.Time) *meter {
	k := scope + "/" + limit + "/" + key
	m := q.meters[k]
	if m == nil {
		m = &meter{scope: scope, limit: limit, b: newBucket(capacity, q.window(window), now)}
		q.meters[k] = m
	}
	m.b.resize(capacity, q.window(window))
	m.b.refill(now)
	return m
}

// take charges a call of units resource units (and one write when write is set) to every limit it
// counts against: the application+tenant pair (sized by the tenant's users), the application
// across tenants and, for a write, the tenant across applications. When any of them cannot cover
// it, nothing is charged and the answer says which limit and how long to wait ("The first limit to
// be reached triggers throttling behavior", throttling-limits.md).
func (q *quotaSet) take(app, tenant string, tenantUsers, units int, write bool, now time.Time) charge {
	c := charge{ok: true}
	if q.disabled {
		return c
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	pairKey := app + "/" + tenant
	type need struct {
		m    *meter
		cost float64
	}
	needs := []need{
		{q.meterFor("Tenant_Application", "Read", pairKey, orDefault(q.cfg.ReadUnitsPer10s, ReadUnitsForTenant(tenantUsers)), readWindow, now), float64(units)},
		{q.meterFor("Application", "Read", app, orDefault(q.cfg.AppUnitsPer20s, DefaultAppUnitsPer20s), appReadWindow, now), float64(units)},
	}
	if write {
		needs = append(needs,
			need{q.meterFor("Tenant_Application", "Write", pairKey, orDefault(q.cfg.WritesPer150s, DefaultWritesPer150s), writeWindow, now), 1},
			need{q.meterFor("Application", "Write", app, orDefault(q.cfg.AppWritesPer5m, DefaultAppWritesPer5m), longWriteWindow, now), 1},
			need{q.meterFor("Tenant", "Write", tenant, orDefault(q.cfg.TenantWritesPer5m, DefaultTenantWritesPer5), longWriteWindow, now), 1})
	}
	var worst *meter
	for _, n := range needs {
		if w := n.m.b.wait(n.cost); w > c.retry {
			c.retry, worst = w, n.m
		}
	}
	if worst != nil {
		c.ok, c.usedPct = false, 1
		limit := worst.limit
		if limit == "Read" && write {
			limit = "ReadWrite" // a write over the resource-unit quota: all requests of the scope
		}
		c.scope = worst.scope + "/" + limit
		c.info = "ResourceUnitLimitExceeded"
		if worst.limit == "Write" {
			c.info = "WriteLimitExceeded"
		}
		return c
	}
	for _, n := range needs {
		n.m.b.tokens -= n.cost
		c.usedPct = max(c.usedPct, n.m.b.used())
	}
	return c
}

// retryAfterHeader sets Retry-After as Graph sends it: a whole number of seconds, rounded up and at
// least 1 ("Wait the number of seconds specified in the Retry-After header", concepts/throttling.md).
// Graph sends no millisecond variant, so neither does the emulator.
func retryAfterHeader(h map[string]string, d time.Duration) {
	secs := int64(math.Ceil(d.Seconds()))
	h["Retry-After"] = strconv.FormatInt(max(secs, 1), 10)
}
