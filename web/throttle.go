package web

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// throttle slows password guessing: after maxFailures failed sign-ins within window, for one
// account or from one client address, further attempts are refused until the window has passed.
type throttle struct {
	mu          sync.Mutex
	failures    map[string][]time.Time
	maxFailures int
	window      time.Duration
	now         func() time.Time
}

func newThrottle(maxFailures int, window time.Duration) *throttle {
	return &throttle{failures: map[string][]time.Time{}, maxFailures: maxFailures, window: window, now: time.Now}
}

func (t *throttle) keys(account, ip string) []string {
	return []string{"a:" + strings.ToLower(account), "ip:" + ip}
}

// recent drops failures older than the window; callers hold mu.
func (t *throttle) recent(key string, now time.Time) []time.Time {
	fs := t.failures[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) > t.window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(t.failures, key)
	} else {
		t.failures[key] = fs
	}
	return fs
}

// blocked returns how long the account or address must wait, 0 if not blocked.
func (t *throttle) blocked(account, ip string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range t.keys(account, ip) {
		if fs := t.recent(k, now); len(fs) >= t.maxFailures {
			wait = max(wait, t.window-now.Sub(fs[len(fs)-t.maxFailures]))
		}
	}
	return wait
}

func (t *throttle) fail(account, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.failures) > 100000 { // bound memory under a flood: forget everything old
		for k := range t.failures {
			t.recent(k, now)
		}
	}
	for _, k := range t.keys(account, ip) {
		t.failures[k] = append(t.recent(k, now), now)
	}
}

func (t *throttle) succeed(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, "a:"+strings.ToLower(account))
}

func roundUpMinutes(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}
