package mfa

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
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
//     parallel attempts cannot all get through before the first failure is known.
//
// The counters live in the store only, read and changed there atomically at every attempt, so
// that a restart does not reset them and replicas sharing the store share them: a stranger gets
// Policy.AddressFailures tries in all, not as many on each replica. Nothing is kept in memory.
//
// Use Guard around the check. A Throttle is safe for concurrent use.
type Throttle struct {
	namespace string
	policy    ThrottlePolicy
	store     ThrottleStore
	now       func() time.Time
}

// ThrottlePolicy sets a Throttle's limits; zero fields take DefaultThrottlePolicy's.
type ThrottlePolicy struct {
	AddressFailures int           // failures an address may make within Window
	Window          time.Duration // a counter is forgotten this long after its last failure
	AccountFree     int           // failures of an account before it slows down
	AccountDelay    time.Duration // the first slow-down, doubled with each further failure
	AccountMaxDelay time.Duration // the longest slow-down
}

// DefaultThrottlePolicy is the policy of the portal's sign-ins.
var DefaultThrottlePolicy = ThrottlePolicy{AddressFailures: 10, Window: 15 * time.Minute, AccountFree: 5,
	AccountDelay: time.Second, AccountMaxDelay: 5 * time.Minute}

// ThrottleCounter is one account's or address's recent failures. Key is "a:" and the lower-cased
// account name, or "ip:" and the address (an IPv6 address's /64).
type ThrottleCounter struct {
	Key      string
	Failures int
	Last     time.Time // the last failure
}

// ThrottleStore keeps throttle counters, shared by every replica that uses the store.
type ThrottleStore interface {
	// LoadThrottle returns the namespace's stored counters of keys (a key without one is absent).
	LoadThrottle(ctx context.Context, namespace string, keys []string) ([]ThrottleCounter, error)
	// UpdateThrottle changes the namespace's counters of keys atomically: update gets them as
	// stored, in the order of keys (a key without one as a zero counter with its Key), and returns
	// them as they must be written (one with no failures is deleted); no other update of these
	// keys, by this process or another sharing the store, comes in between. When update returns an
	// error nothing is written and UpdateThrottle returns that error as it is. Counters whose last
	// failure is before forgetBefore are deleted too, in any namespace, so that the store keeps
	// only a window's worth of counters.
	UpdateThrottle(ctx context.Context, namespace string, keys []string, forgetBefore time.Time,
		update func(cs []ThrottleCounter) ([]ThrottleCounter, error)) error
}

// NewThrottle makes the throttle of namespace over store. now may be nil (time.Now).
func NewThrottle(store ThrottleStore, namespace string, p ThrottlePolicy, now func() time.Time) *Throttle {
	d := DefaultThrottlePolicy
	p.AddressFailures = cmpOr(p.AddressFailures, d.AddressFailures)
	p.Window = cmpOr(p.Window, d.Window)
	p.AccountFree = cmpOr(p.AccountFree, d.AccountFree)
	p.AccountDelay = cmpOr(p.AccountDelay, d.AccountDelay)
	p.AccountMaxDelay = cmpOr(p.AccountMaxDelay, d.AccountMaxDelay)
	if now == nil {
		now = time.Now
	}
	return &Throttle{namespace: namespace, policy: p, store: store, now: now}
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
	return t.guard(ctx, "failed sign-ins", account, address, check)
}

// GuardCode is Guard for a one-time code's check: its refusal speaks of codes ("Too many wrong
// codes"), since the person on a code page has already signed in with their password and a
// message about sign-ins reads as if the password had been wrong.
func (t *Throttle) GuardCode(ctx context.Context, account, address string, check func() error) error {
	return t.guard(ctx, "wrong codes", account, address, check)
}

// guard is Guard whose refusal says "Too many " + failures.
func (t *Throttle) guard(ctx context.Context, failures, account, address string, check func() error) error {
	// The counters are written even when the client goes away meanwhile: a guess is a guess.
	ctx = context.WithoutCancel(ctx)
	keys := t.keys(account, address)
	reserve := func(cs []ThrottleCounter, now time.Time) error { return t.reserve(cs, now, failures) }
	if err := t.update(ctx, keys, reserve); err != nil {
		return err
	}
	err := check()
	if ErrorCode(err) == EUNAUTHORIZED {
		return err
	}
	if uerr := t.update(ctx, keys, t.release); uerr != nil && err == nil {
		return uerr
	}
	return err
}

// Wait returns how long address must wait before it may try account again; 0 when it may now.
func (t *Throttle) Wait(ctx context.Context, account, address string) (time.Duration, error) {
	keys := t.keys(account, address)
	stored, err := t.store.LoadThrottle(ctx, t.namespace, keys)
	if err != nil {
		return 0, err
	}
	return t.wait(ThrottleCountersOf(keys, stored), t.now()), nil
}

// ThrottleCountersOf is the counters of keys, in their order, from those stored: a zero counter
// with its key for a key that has none (for stores' UpdateThrottle).
func ThrottleCountersOf(keys []string, stored []ThrottleCounter) []ThrottleCounter {
	cs := make([]ThrottleCounter, len(keys))
	for i, k := range keys {
		cs[i].Key = k
		for _, c := range stored {
			if c.Key == k {
				cs[i] = c
			}
		}
	}
	return cs
}

// keys are the counter keys of an attempt: the account's, then the address's.
func (t *Throttle) keys(account, address string) []string {
	return []string{"a:" + strings.ToLower(strings.TrimSpace(account)), "ip:" + throttleAddress(address)}
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

// update changes the counters of keys in the store with fn, at the throttle's now.
func (t *Throttle) update(ctx context.Context, keys []string, fn func(cs []ThrottleCounter, now time.Time) error) error {
	now := t.now()
	return t.store.UpdateThrottle(ctx, t.namespace, keys, now.Add(-t.policy.Window), func(cs []ThrottleCounter) ([]ThrottleCounter, error) {
		for i := range cs {
			if now.Sub(cs[i].Last) >= t.policy.Window { // its window has passed: forgotten
				cs[i] = ThrottleCounter{Key: cs[i].Key}
			}
		}
		return cs, fn(cs, now)
	})
}

// reserve counts a failure in cs (the account's, then the address's counter), or answers ETOOMANY
// when they must wait, saying "Too many " + failures.
func (t *Throttle) reserve(cs []ThrottleCounter, now time.Time, failures string) error {
	if wait := t.wait(cs, now); wait > 0 {
		return &Error{Code: ETOOMANY, RetryAfter: wait,
			Message: "Too many " + failures + ". Try again in " + roundUpWait(wait) + "."}
	}
	for i := range cs {
		cs[i].Failures++
		cs[i].Last = now
	}
	return nil
}

// release takes a reserved failure back.
func (t *Throttle) release(cs []ThrottleCounter, _ time.Time) error {
	for i := range cs {
		cs[i].Failures = max(cs[i].Failures-1, 0)
	}
	return nil
}

// wait is how long the attempt whose counters are cs (the account's, then the address's) must
// wait.
func (t *Throttle) wait(cs []ThrottleCounter, now time.Time) time.Duration {
	account, addr := cs[0], cs[1]
	if now.Sub(account.Last) >= t.policy.Window {
		account = ThrottleCounter{}
	}
	if now.Sub(addr.Last) >= t.policy.Window {
		addr = ThrottleCounter{}
	}
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
