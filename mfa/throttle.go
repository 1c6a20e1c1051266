package mfa

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Throttle slows password (and code) guessing for one kind of sign-in, its namespace: "admin" for
// the portal's own accounts, "user" for the directory's users. It replaces a hard lock-out, which
// let a stranger lock anyone out (issue 12):
//
//   - an address may fail Policy.AddressFailures times within Policy.Window, then it is refused
//     until the window after its last failure has passed;
//   - an account that failed Policy.AccountFree times slows down: an address that has itself
//     failed must wait Policy.AccountDelay (doubled with each further failure of the account, up to
//     Policy.AccountMaxDelay) after its last failure before it may try again;
//   - an address that has not failed is never slowed down by the account's failures, so the right
//     password from it always works;
//   - a failure is counted before the password is checked (and taken back when it was right), so
//     parallel attempts cannot all get through before the first failure is known;
//   - the counters are written to the store as they change, so a restart does not reset them.
//
// Use Guard around the check. A Throttle is safe for concurrent use.
type Throttle struct {
	namespace string
	policy    ThrottlePolicy
	store     ThrottleStore
	now       func() time.Time

	mu       sync.Mutex
	counters map[string]ThrottleCounter
	saveMu   sync.Mutex // saves one at a time, each with the counters' latest values
}

// ThrottlePolicy sets a Throttle's limits; zero fields take DefaultThrottlePolicy's.
type ThrottlePolicy struct {
	AddressFailures int           // failures an address may make within Window
	Window          time.Duration // a counter is forgotten this long after its last failure
	AccountFree     int           // failures of an account before it slows down
	AccountDelay    time.Duration // the first slow-down, doubled with each further failure
	AccountMaxDelay time.Duration // the longest slow-down
	MaxCounters     int           // bound of the counters kept in memory (and in the store)
}

// DefaultThrottlePolicy is the policy of the portal's sign-ins.
var DefaultThrottlePolicy = ThrottlePolicy{AddressFailures: 10, Window: 15 * time.Minute, AccountFree: 5,
	AccountDelay: time.Second, AccountMaxDelay: 5 * time.Minute, MaxCounters: 100_000}

// ThrottleCounter is one account's or address's recent failures. Key is "a:" and the lower-cased
// account name, or "ip:" and the address (an IPv6 address's /64).
type ThrottleCounter struct {
	Key      string
	Failures int
	Last     time.Time // the last failure
}

// ThrottleStore keeps throttle counters across restarts.
type ThrottleStore interface {
	// LoadThrottle returns a namespace's counters whose last failure is at or after since.
	LoadThrottle(ctx context.Context, namespace string, since time.Time) ([]ThrottleCounter, error)
	// SaveThrottle writes counters of a namespace; one with no failures is deleted. Counters whose
	// last failure is before forgetBefore are deleted too, in any namespace.
	SaveThrottle(ctx context.Context, namespace string, cs []ThrottleCounter, forgetBefore time.Time) error
}

// NewThrottle loads the namespace's recent counters from store. now may be nil (time.Now).
func NewThrottle(ctx context.Context, store ThrottleStore, namespace string, p ThrottlePolicy, now func() time.Time) (*Throttle, error) {
	d := DefaultThrottlePolicy
	p.AddressFailures = cmpOr(p.AddressFailures, d.AddressFailures)
	p.Window = cmpOr(p.Window, d.Window)
	p.AccountFree = cmpOr(p.AccountFree, d.AccountFree)
	p.AccountDelay = cmpOr(p.AccountDelay, d.AccountDelay)
	p.AccountMaxDelay = cmpOr(p.AccountMaxDelay, d.AccountMaxDelay)
	p.MaxCounters = cmpOr(p.MaxCounters, d.MaxCounters)
	if now == nil {
		now = time.Now
	}
	t := &Throttle{namespace: namespace, policy: p, store: store, now: now, counters: map[string]ThrottleCounter{}}
	cs, err := store.LoadThrottle(ctx, namespace, now().Add(-p.Window))
	if err != nil {
		return nil, fmt.Errorf("loading the %s sign-in throttle: %w", namespace, err)
	}
	for _, c := range cs {
		t.counters[c.Key] = c
	}
	if len(t.counters) >= p.MaxCounters {
		t.forgetLocked(now())
	}
	return t, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Guard runs check, the password (or code) check of account from address, under the throttle.
// When the account or the address must wait, check does not run and Guard answers ETOOMANY with
// RetryAfter. Otherwise a failure is counted first; check's answer decides what happens to it:
// nil (right) or an error other than EUNAUTHORIZED (not decided: busy, store down) takes it back,
// EUNAUTHORIZED (wrong) keeps it. Guard returns check's error.
func (t *Throttle) Guard(ctx context.Context, account, address string, check func() error) error {
	keys := t.keys(account, address)
	if err := t.reserve(keys); err != nil {
		return err
	}
	if err := t.save(ctx, keys); err != nil {
		t.release(keys)
		return err
	}
	err := check()
	if ErrorCode(err) == EUNAUTHORIZED {
		return err
	}
	t.release(keys)
	if serr := t.save(ctx, keys); serr != nil && err == nil {
		return serr
	}
	return err
}

// Wait returns how long address must wait before it may try account again; 0 when it may now.
func (t *Throttle) Wait(account, address string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waitLocked(t.keys(account, address), t.now())
}

// keys are the counter keys of an attempt: the account's, then the address's.
func (t *Throttle) keys(account, address string) [2]string {
	return [2]string{"a:" + strings.ToLower(strings.TrimSpace(account)), "ip:" + throttleAddress(address)}
}

// throttleAddress is the address counted: an IPv6 address's /64 (one subscriber's usual share).
func throttleAddress(address string) string {
	a, err := netip.ParseAddr(address)
	if err != nil {
		return address
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// counter returns a key's counter, zero once its window has passed; callers hold mu.
func (t *Throttle) counter(key string, now time.Time) ThrottleCounter {
	c, ok := t.counters[key]
	if !ok || now.Sub(c.Last) >= t.policy.Window {
		return ThrottleCounter{Key: key}
	}
	return c
}

// waitLocked is the wait for keys; callers hold mu.
func (t *Throttle) waitLocked(keys [2]string, now time.Time) time.Duration {
	account, addr := t.counter(keys[0], now), t.counter(keys[1], now)
	var wait time.Duration
	if addr.Failures >= t.policy.AddressFailures {
		wait = addr.Last.Add(t.policy.Window).Sub(now)
	}
	if extra := account.Failures - t.policy.AccountFree; extra >= 0 && addr.Failures > 0 {
		delay := t.policy.AccountMaxDelay
		if extra < 30 {
			delay = min(t.policy.AccountDelay<<extra, delay)
		}
		wait = max(wait, addr.Last.Add(delay).Sub(now))
	}
	return max(wait, 0)
}

// reserve counts a failure for keys, or answers ETOOMANY when they must wait.
func (t *Throttle) reserve(keys [2]string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if wait := t.waitLocked(keys, now); wait > 0 {
		return &Error{Code: ETOOMANY, RetryAfter: wait,
			Message: "Too many failed sign-ins. Try again in " + roundUpWait(wait) + "."}
	}
	if len(t.counters) >= t.policy.MaxCounters {
		t.forgetLocked(now)
	}
	for _, k := range keys {
		c := t.counter(k, now)
		c.Failures++
		c.Last = now
		t.counters[k] = c
	}
	return nil
}

// release takes a reserved failure back.
func (t *Throttle) release(keys [2]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		if c, ok := t.counters[k]; ok {
			if c.Failures--; c.Failures <= 0 {
				delete(t.counters, k)
			} else {
				t.counters[k] = c
			}
		}
	}
}

// forgetLocked makes room: counters whose window has passed go, and if that is not enough, the
// tenth with the oldest last failure. Callers hold mu.
func (t *Throttle) forgetLocked(now time.Time) {
	var oldest time.Time
	for k, c := range t.counters {
		if now.Sub(c.Last) >= t.policy.Window {
			delete(t.counters, k)
		} else if oldest.IsZero() || c.Last.Before(oldest) {
			oldest = c.Last
		}
	}
	if len(t.counters) < t.policy.MaxCounters*9/10 {
		return
	}
	// Forget by age: the cut-off moves forward until a tenth is gone.
	cut := oldest.Add(t.policy.Window / 10)
	for len(t.counters) >= t.policy.MaxCounters*9/10 {
		for k, c := range t.counters {
			if c.Last.Before(cut) {
				delete(t.counters, k)
			}
		}
		cut = cut.Add(t.policy.Window / 10)
	}
}

// save writes the keys' current counters (zero ones are deleted).
func (t *Throttle) save(ctx context.Context, keys [2]string) error {
	t.saveMu.Lock()
	defer t.saveMu.Unlock()
	t.mu.Lock()
	now := t.now()
	cs := make([]ThrottleCounter, 0, len(keys))
	for _, k := range keys {
		cs = append(cs, t.counter(k, now))
	}
	t.mu.Unlock()
	return t.store.SaveThrottle(context.WithoutCancel(ctx), t.namespace, cs, now.Add(-t.policy.Window))
}

// roundUpWait says a wait in words: "a few seconds", "a minute", "3 minutes".
func roundUpWait(d time.Duration) string {
	switch {
	case d <= 10*time.Second:
		return "a few seconds"
	case d <= time.Minute:
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}
