package mfa

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memThrottleStore is a ThrottleStore in memory, for the throttle's own tests (the stores' own
// are tested by the conformance suite, mfa/storetest).
type memThrottleStore struct {
	mu   sync.Mutex
	rows map[string]ThrottleCounter
}

func (m *memThrottleStore) LoadThrottle(_ context.Context, ns string, keys []string) ([]ThrottleCounter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ThrottleCounter
	for _, k := range keys {
		if c, ok := m.rows[ns+"/"+k]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memThrottleStore) UpdateThrottle(_ context.Context, ns string, keys []string, forget time.Time, update func([]ThrottleCounter) ([]ThrottleCounter, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string]ThrottleCounter{}
	}
	cs := make([]ThrottleCounter, len(keys))
	for i, k := range keys {
		cs[i] = m.rows[ns+"/"+k]
		cs[i].Key = k
	}
	cs, err := update(cs)
	if err != nil {
		return err
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
	tt.th = NewThrottle(tt.store, "admin", ThrottlePolicy{}, func() time.Time { return tt.now })
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
	if w, _ := tt.th.Wait(context.Background(), "admin", "192.0.2.1"); w != 0 {
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
	other := NewThrottle(tt.store, "user", ThrottlePolicy{}, func() time.Time { return tt.now })
	if w, _ := other.Wait(context.Background(), "reader", "203.0.113.9"); w != 0 {
		t.Fatalf("the user namespace inherited the admin one's failures: %v", w)
	}
}

// Two replicas sharing a store share the counters: an address gets its tries in all, not on each.
func TestThrottleIsSharedByReplicas(t *testing.T) {
	tt := newThrottleTest(t)
	other := NewThrottle(tt.store, "admin", ThrottlePolicy{}, func() time.Time { return tt.now })
	for i := range 10 {
		th := tt.th
		if i%2 == 1 {
			th = other
		}
		err := th.Guard(context.Background(), "guess"+strconv.Itoa(i), "203.0.113.9", func() error { return ErrBadCredentials })
		if ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	for _, th := range []*Throttle{tt.th, other} {
		if err := th.Guard(context.Background(), "reader", "203.0.113.9", func() error { return nil }); ErrorCode(err) != ETOOMANY {
			t.Fatalf("the 11th try, on either replica: %v", err)
		}
	}
}

// The store keeps a window's worth of counters: older ones go at the next attempt.
func TestThrottleForgetsOldCounters(t *testing.T) {
	tt := newThrottleTest(t)
	for i := range 500 {
		tt.try("user"+strconv.Itoa(i), "10.0."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250), false)
	}
	if n := len(tt.store.rows); n != 1000 {
		t.Fatalf("%d counters stored, want 1000", n)
	}
	tt.now = tt.now.Add(DefaultThrottlePolicy.Window + time.Second)
	tt.try("late", "192.0.2.1", false)
	if n := len(tt.store.rows); n != 2 {
		t.Fatalf("%d counters stored after the window, want the last attempt's 2", n)
	}
}

// A code's throttle speaks of codes, a password's of sign-ins; both count the same way.
func TestThrottleRefusalNamesWhatFailed(t *testing.T) {
	tt := newThrottleTest(t)
	ctx := context.Background()
	for i := range 10 {
		if err := tt.th.GuardCode(ctx, "code:u"+strconv.Itoa(i), "203.0.113.9", func() error { return ErrBadCredentials }); ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if err := tt.th.GuardCode(ctx, "code:reader", "203.0.113.9", func() error { return nil }); ErrorCode(err) != ETOOMANY || !strings.HasPrefix(ErrorMessage(err), "Too many wrong codes. Try again in ") {
		t.Errorf("a code's refusal: %v", err)
	}
	if err := tt.th.Guard(ctx, "reader", "203.0.113.9", func() error { return nil }); ErrorCode(err) != ETOOMANY || !strings.HasPrefix(ErrorMessage(err), "Too many failed sign-ins. Try again in ") {
		t.Errorf("a password's refusal: %v", err)
	}
}
