package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// TestAbuse reproduces each measurement of issue 12 against the real server and asserts the
// bound that now holds. Memory and counts only, never time. The figures are logged (go test -v
// -run TestAbuse ./web/) and kept in docs/PERFORMANCE.md, "Limits under abuse".
func TestAbuse(t *testing.T) {
	t.Run("100 parallel wrong sign-ins", abuseParallelSignIns)
	t.Run("40 parallel wrong passwords from one address", abuseParallelFailures)
	t.Run("a stranger's failures do not lock the admin out", abuseStranger)
	t.Run("a 50 MB file of commas", abuseCommaFile)
}

// peakHeap runs fn while sampling the heap in use, and answers the peak above the heap before.
func peakHeap(fn func()) (peak, before uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before = ms.HeapInuse
	done := make(chan struct{})
	var max uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > max {
				max = ms.HeapInuse
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	return max - min(max, before), before
}

const mib = 1 << 20

// Measured before: 70 MB → 1.9 GB, each argon2id hash holding 19 MiB and nothing bounding how many
// ran. Now at most PasswordHashSlots run; the others wait, then get 503 with Retry-After.
func abuseParallelSignIns(t *testing.T) {
	e := newTestEnvWith(t, behindProxy)
	hashed0, refused0 := mfa.PasswordHashStats()
	codes := map[int]int{}
	var mu sync.Mutex
	peak, before := peakHeap(func() {
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				c := e.from(fmt.Sprintf("198.51.%d.%d", i/250, i%250+1)) // 100 addresses: the throttle lets each try
				resp, err := c.PostForm(e.srv.URL+"/signin", url.Values{"username": {"global-admin"}, "password": {"wrong password!"}})
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			})
		}
		wg.Wait()
	})
	hashed, refused := mfa.PasswordHashStats()
	slots := mfa.PasswordHashSlots()
	// The hashes running at once, each 19 MiB, collected garbage of the ones before (the GC runs
	// at twice the live heap), and the requests themselves.
	ceiling := uint64(4*slots)*mfa.PasswordHashMemory + 48*mib
	t.Logf("100 parallel wrong sign-ins: heap peak +%d MiB over %d MiB (ceiling +%d MiB, %d hashing slots); %d hashed, %d refused busy; answers %v",
		peak/mib, before/mib, ceiling/mib, slots, hashed-hashed0, refused-refused0, codes)
	if peak > ceiling {
		t.Errorf("heap grew %d MiB, ceiling %d MiB", peak/mib, ceiling/mib)
	}
	if codes[http.StatusUnauthorized]+codes[http.StatusServiceUnavailable] != 100 {
		t.Errorf("answers %v: want only 401 and 503", codes)
	}
}

// Measured before: 40 of 40 parallel wrong passwords were checked (the failure was counted after
// the hash). Now the failure is reserved first: at most AccountFree reach the hash.
func abuseParallelFailures(t *testing.T) {
	e := newTestEnvWith(t, behindProxy)
	c := e.from("203.0.113.40")
	hashed0, _ := mfa.PasswordHashStats()
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 40 {
		wg.Go(func() {
			<-start
			resp, err := c.PostForm(e.srv.URL+"/signin", url.Values{"username": {"reader"}, "password": {"wrong password!"}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	hashed, _ := mfa.PasswordHashStats()
	checks := hashed - hashed0
	t.Logf("40 parallel wrong passwords from one address: %d checked (bound %d); answers %v", checks, mfa.DefaultThrottlePolicy.AccountFree, codes)
	if checks > int64(mfa.DefaultThrottlePolicy.AccountFree) {
		t.Errorf("%d passwords checked, bound %d", checks, mfa.DefaultThrottlePolicy.AccountFree)
	}
	if codes[http.StatusUnauthorized]+codes[http.StatusTooManyRequests] != 40 || codes[http.StatusUnauthorized] != int(checks) {
		t.Errorf("answers %v for %d checks", codes, checks)
	}
}

// Measured before: ten wrong passwords from anywhere locked admin out, even against the right
// password; behind a proxy, for everyone. Now the right password from an address that has not
// failed always works, however many failures a stranger made from however many addresses.
func abuseStranger(t *testing.T) {
	e := newTestEnvWith(t, behindProxy)
	for i := range 30 {
		addr := fmt.Sprintf("192.0.2.%d", i+1)
		for range 12 {
			e.signIn(e.from(addr), "global-admin", "wrong password!", "")
		}
	}
	e.now = e.now.Add(time.Second)
	if resp := e.signIn(e.from("203.0.113.7"), "global-admin", testPassword, ""); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right password from a fresh address after 360 failures from 30 addresses: %d", resp.StatusCode)
	}
	if resp := e.signIn(e.from("192.0.2.1"), "global-admin", testPassword, ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the stranger's own address: %d", resp.StatusCode)
	}
	// A restart keeps the counters: a new server over the same store still refuses the stranger.
	cfg := e.app.cfg
	cfg.Now = func() time.Time { return e.now }
	restarted, err := New(cfg, e.app.svc, e.db, e.db.Ping, e.app.log)
	if err != nil {
		t.Fatal(err)
	}
	if w, err := restarted.throttle.Wait(context.Background(), "global-admin", "192.0.2.1"); err != nil || w <= 0 {
		t.Fatal("a restart reset the stranger's failures")
	}
	t.Logf("360 wrong passwords from 30 addresses: the right password from a fresh address signs in; the failing addresses wait (also after a restart)")
}

// commaReader is n bytes of a header line and then commas, generated as read.
type commaReader struct{ n, off int }

func (r *commaReader) Read(p []byte) (int, error) {
	const head = "Username,MFA Status\n"
	if r.off >= r.n {
		return 0, io.EOF
	}
	i := 0
	for ; i < len(p) && r.off < r.n; i, r.off = i+1, r.off+1 {
		if r.off < len(head) {
			p[i] = head[r.off]
		} else {
			p[i] = ','
		}
	}
	return i, nil
}

// Measured before: a 52 MB bulk file of commas took one request to 4.27 GB. Now a row's fields
// are limited while it is read: the file is refused after a few kilobytes.
func abuseCommaFile(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	var status int
	var body string
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	peak, _ := peakHeap(func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, e.srv.URL+"/api/v1/bulk?dryRun=true", &commaReader{n: 50 << 20})
		req.Header.Set("Content-Type", "text/csv")
		req.ContentLength = 50 << 20
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status, body = resp.StatusCode, string(b)
	})
	runtime.ReadMemStats(&ms1)
	alloc := ms1.TotalAlloc - ms0.TotalAlloc
	const ceiling = 32 * mib
	t.Logf("a 50 MB file of commas: %d %q; heap peak +%d MiB, %d MiB allocated in all (ceiling %d MiB)",
		status, strings.TrimSpace(body), peak/mib, alloc/mib, ceiling/mib)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(body, "more than 64 fields") {
		t.Errorf("answer %d %q", status, body)
	}
	if peak > ceiling || alloc > ceiling {
		t.Errorf("heap peak %d MiB, allocated %d MiB: ceiling %d MiB", peak/mib, alloc/mib, ceiling/mib)
	}
}
