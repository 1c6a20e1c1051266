package mfa

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// PasswordHashMemory is the memory one password hash (argon2id, HashPassword's parameters) holds
// while it runs: 19 MiB.
const PasswordHashMemory = argonMemory << 10

// ErrBusy is the answer when every password hashing slot stayed busy for kdfWait: the request is
// refused (503 with Retry-After) rather than queued without bound.
var ErrBusy = &Error{Code: EUNAVAILABLE, RetryAfter: 5 * time.Second,
	Message: "The portal is busy checking other sign-ins. Try again in a few seconds."}

// kdfWait is how long a password check waits for a free slot before ErrBusy.
const kdfWait = 3 * time.Second

// kdfGate bounds how many password hashes run at once in the process, whoever calls: the admins'
// sign-in, the users' sign-in, account commands. Each hash holds PasswordHashMemory, so without
// the bound 100 parallel sign-ins held 1.9 GB (issue 12).
type kdfGate struct {
	slots   atomic.Pointer[chan struct{}]
	wait    time.Duration // for a free slot, before ErrBusy
	hashes  atomic.Int64  // hashes computed
	refused atomic.Int64  // ErrBusy answers
}

var kdf = newKDFGate(PasswordHashSlotsFor(memoryLimit(), runtime.NumCPU()))

func newKDFGate(n int) *kdfGate {
	g := &kdfGate{wait: kdfWait}
	g.setSlots(n)
	return g
}

func (g *kdfGate) setSlots(n int) {
	c := make(chan struct{}, max(n, 1))
	g.slots.Store(&c)
}

// acquire takes a slot, waiting up to kdfWait; the returned func gives it back.
func (g *kdfGate) acquire() (func(), error) {
	slots := *g.slots.Load()
	select {
	case slots <- struct{}{}:
	default:
		t := time.NewTimer(g.wait)
		defer t.Stop()
		select {
		case slots <- struct{}{}:
		case <-t.C:
			g.refused.Add(1)
			return nil, ErrBusy
		}
	}
	g.hashes.Add(1)
	return func() { <-slots }, nil
}

// PasswordHashSlots is how many password hashes may run at once in this process.
func PasswordHashSlots() int { return cap(*kdf.slots.Load()) }

// SetPasswordHashSlots changes how many password hashes may run at once (at least 1). Hashes
// already running keep their slot of the old bound.
func SetPasswordHashSlots(n int) { kdf.setSlots(n) }

// PasswordHashStats returns how many password hashes were computed and how many were refused as
// busy since the process started, for metrics and the abuse tests.
func PasswordHashStats() (hashed, refused int64) { return kdf.hashes.Load(), kdf.refused.Load() }

// PasswordHashSlotsFor sizes the bound from the memory the process may use: an eighth of it for
// password hashes, at least one slot and no more than the processors (a hash keeps one busy, so
// more would only queue inside the CPU).
func PasswordHashSlotsFor(memory uint64, cpus int) int {
	n := int(memory / 8 / PasswordHashMemory)
	return max(1, min(n, max(cpus, 1)))
}

// memoryLimit is the memory the process may use: GOMEMLIMIT when set, else the cgroup's limit,
// else the machine's memory, else 1 GiB.
func memoryLimit() uint64 {
	if l := debug.SetMemoryLimit(-1); l > 0 && l < 1<<62 {
		return uint64(l)
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(path); err == nil {
			if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && n < 1<<62 {
				return n
			}
		}
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				if kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64); err == nil {
					return kb << 10
				}
			}
		}
	}
	return 1 << 30
}
