package mfa

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memThrottleStore is a ThrottleStore in memory, for the throttle's own tests (mfa/sqlite tests
// the real one, across a reopen).
type memThrottleStore struct {
	mu   sync.Mutex
	rows map[string]ThrottleCounter
}

func (m *memThrottleStore) LoadThrottle(_ context.Context, ns string, since time.Time) ([]ThrottleCounter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ThrottleCounter
	for k, c := range m.rows {
		if k[:len(ns)+1] == ns+"/" && !c.Last.Before(since) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memThrottleStore) SaveThrottle(_ context.Context, ns string, cs []ThrottleCounter, forget time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string]ThrottleCounter{}
	}
	for _, c := range cs {
		if c.Failures <= 0 {
			delete(m.rows, ns+"/"+c.Key)
		} else {
			m.rows[ns+"/"+c.Key] = c
		}
	}
	for k, c := range m.rows {
		if c.Last.Before(forget) {
			delete(m.rows, k)
		}
	}
	return nil
}

type throttleTest struct {
	t     *testing.T
	store *memThrottleStore
	th    *Throttle
	now   time.Time
}

func newThrottleTest(t *testing.T) *throttleTest {
	tt := &throttleTest{t: t, store: &memThrottleStore{}, now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	tt.restart()
	return tt
}

// restart builds a new throttle over the same store, as a restarted process would.
func (tt *throttleTest) restart() {
	th, err := NewThrottle(context.Background(), tt.store, "admin", ThrottlePolicy{}, func() time.Time { return tt.now })
	if err != nil {
		tt.t.Fatal(err)
	}
	tt.th = th
}

// try is one sign-in: right says whether the password is right. It answers the error Guard gave.
func (tt *throttleTest) try(account, addr string, right bool) error {
	return tt.th.Guard(context.Background(), account, addr, func() error {
		if right {
			return nil
		}
		return ErrBadCredentials
	})
}

func TestThrottleNeverLocksOutTheRightPasswordFromAnAddressThatHasNotFailed(t *testing.T) {
	tt := newThrottleTest(t)
	// A stranger fails against admin until refused, from one address, then from many.
	for range 20 {
		tt.try("admin", "203.0.113.9", false)
	}
	for i := range 200 {
		tt.try("admin", "198.51.100."+strconv.Itoa(i), false)
	}
	if err := tt.try("admin", "192.0.2.1", true); err != nil {
		t.Fatalf("right password from a fresh address after a stranger's failures: %v", err)
	}
	// The stranger's own address is refused, even with the right password, and told how long.
	err := tt.try("admin", "203.0.113.9", true)
	if ErrorCode(err) != ETOOMANY || ErrorRetryAfter(err) <= 0 {
		t.Fatalf("the failing address: %v", err)
	}
}

func TestThrottleLimitsAnAddress(t *testing.T) {
	tt := newThrottleTest(t)
	for i := range 10 {
		if err := tt.try("guess"+strconv.Itoa(i), "203.0.113.9", false); ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("failure %d: %v", i+1, err)
		}
		tt.now = tt.now.Add(10 * time.Second)
	}
	err := tt.try("reader", "203.0.113.9", true)
	if ErrorCode(err) != ETOOMANY {
		t.Fatalf("11th attempt from the address: %v", err)
	}
	if w := ErrorRetryAfter(err); w <= 14*time.Minute || w > 15*time.Minute {
		t.Fatalf("wait %v, want the window after the last failure", w)
	}
	// IPv6: the /64 is one address.
	for i := range 10 {
		tt.try("v6-"+strconv.Itoa(i), "2001:db8:1:2::"+strconv.Itoa(i+1), false)
	}
	if err := tt.try("reader", "2001:db8:1:2:ffff::1", true); ErrorCode(err) != ETOOMANY {
		t.Fatalf("another address of the same /64: %v", err)
	}
	tt.now = tt.now.Add(16 * time.Minute)
	if err := tt.try("reader", "203.0.113.9", true); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestThrottleSlowsAnAccountDown(t *testing.T) {
	tt := newThrottleTest(t)
	for i := range 5 { // free failures, each from its own address
		if err := tt.try("admin", "198.51.100."+strconv.Itoa(i), false); ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("free failure %d: %v", i+1, err)
		}
	}
	// Now an address that failed must wait 1 s after its last failure, then 2 s, 4 s...
	addr := "198.51.100.4"
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		if err := tt.try("admin", addr, true); ErrorCode(err) != ETOOMANY || ErrorRetryAfter(err) != want {
			t.Fatalf("right after a failure: %v (wait %v), want wait %v", err, ErrorRetryAfter(err), want)
		}
		tt.now = tt.now.Add(want)
		if err := tt.try("admin", addr, false); ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("after waiting %v: %v", want, err)
		}
	}
	tt.now = tt.now.Add(16 * time.Second)
	if err := tt.try("admin", addr, true); err != nil {
		t.Fatalf("right password after waiting: %v", err)
	}
}

// Failures are counted before the check: 40 parallel wrong passwords from one address reach the
// check at most AccountFree times.
func TestThrottleCountsBeforeTheCheck(t *testing.T) {
	tt := newThrottleTest(t)
	var checks atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			<-start
			tt.th.Guard(context.Background(), "admin", "203.0.113.9", func() error {
				checks.Add(1)
				time.Sleep(10 * time.Millisecond) // the hash
				return ErrBadCredentials
			})
		})
	}
	close(start)
	wg.Wait()
	if n := checks.Load(); n < 1 || n > int32(DefaultThrottlePolicy.AccountFree) {
		t.Fatalf("%d of 40 parallel failures were checked, want 1 to %d", n, DefaultThrottlePolicy.AccountFree)
	}
}

func TestThrottleTakesBackWhatWasNotAFailure(t *testing.T) {
	tt := newThrottleTest(t)
	for range 30 {
		if err := tt.try("admin", "192.0.2.1", true); err != nil {
			t.Fatalf("right password: %v", err)
		}
		if err := tt.th.Guard(context.Background(), "admin", "192.0.2.1", func() error { return ErrBusy }); err != ErrBusy {
			t.Fatalf("busy: %v", err)
		}
	}
	if w := tt.th.Wait("admin", "192.0.2.1"); w != 0 {
		t.Fatalf("successes and busy answers counted as failures: wait %v", w)
	}
	if len(tt.store.rows) != 0 {
		t.Fatalf("counters left in the store: %v", tt.store.rows)
	}
}

func TestThrottleSurvivesARestart(t *testing.T) {
	tt := newThrottleTest(t)
	for i := range 10 {
		tt.try("guess"+strconv.Itoa(i), "203.0.113.9", false)
	}
	tt.restart()
	if err := tt.try("reader", "203.0.113.9", true); ErrorCode(err) != ETOOMANY {
		t.Fatalf("after a restart: %v", err)
	}
	// Other namespaces are separate.
	other, err := NewThrottle(context.Background(), tt.store, "user", ThrottlePolicy{}, func() time.Time { return tt.now })
	if err != nil {
		t.Fatal(err)
	}
	if w := other.Wait("reader", "203.0.113.9"); w != 0 {
		t.Fatalf("the user namespace inherited the admin one's failures: %v", w)
	}
}

func TestThrottleMemoryIsBounded(t *testing.T) {
	store := &memThrottleStore{}
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	th, err := NewThrottle(context.Background(), store, "admin", ThrottlePolicy{MaxCounters: 1000}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		now = now.Add(time.Millisecond)
		th.Guard(context.Background(), "user"+strconv.Itoa(i), "10.0."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250), func() error { return ErrBadCredentials })
	}
	if n := len(th.counters); n > 1000 {
		t.Fatalf("%d counters in memory, bound 1000", n)
	}
}
