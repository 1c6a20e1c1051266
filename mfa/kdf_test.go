package mfa

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestPasswordHashSlotsFor(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		memory uint64
		cpus   int
		want   int
	}{
		{24 << 30, 2, 2},      // plenty of memory: the processors bound it
		{24 << 30, 64, 64},    // ... however many
		{512 * mib, 8, 3},     // 64 MiB for hashes: three of 19 MiB
		{128 * mib, 8, 1},     // less than one hash's share: still one
		{0, 0, 1},             // nothing known: one
		{1 << 40, 1000, 1000}, // a big machine
	}
	for _, tt := range tests {
		if got := PasswordHashSlotsFor(tt.memory, tt.cpus); got != tt.want {
			t.Errorf("PasswordHashSlotsFor(%d MiB, %d) = %d, want %d", tt.memory/mib, tt.cpus, got, tt.want)
		}
	}
	if n := PasswordHashSlots(); n < 1 || n > max(runtime.NumCPU(), 1) {
		t.Errorf("this process has %d hashing slots for %d processors", n, runtime.NumCPU())
	}
}

// However many hashes are asked for at once, no more than the slots run together, and when the
// slots stay busy the callers are refused with ErrBusy rather than queued for ever.
func TestPasswordHashingIsBounded(t *testing.T) {
	old := PasswordHashSlots()
	defer SetPasswordHashSlots(old)
	defer func(w time.Duration) { kdf.wait = w }(kdf.wait)
	kdf.wait = 50 * time.Millisecond
	SetPasswordHashSlots(1)
	release, err := kdf.acquire() // the one slot is taken
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckPassword("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$c2FsdHNhbHRzYWx0c2FsdA", "x"); err != ErrBusy {
		t.Fatalf("all slots busy: CheckPassword answered %v, want ErrBusy", err)
	}
	if _, err := HashPassword("a password long enough"); err != ErrBusy {
		t.Fatalf("all slots busy: HashPassword answered %v, want ErrBusy", err)
	}
	if ErrorCode(ErrBusy) != EUNAVAILABLE || ErrorRetryAfter(ErrBusy) <= 0 {
		t.Fatal("ErrBusy is not 503 with a Retry-After")
	}
	release()

	SetPasswordHashSlots(2)
	var mu sync.Mutex
	running, most := 0, 0
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			release, err := kdf.acquire()
			if err != nil {
				return
			}
			mu.Lock()
			running++
			most = max(most, running)
			mu.Unlock()
			hashWork()
			mu.Lock()
			running--
			mu.Unlock()
			release()
		})
	}
	wg.Wait()
	if most > 2 {
		t.Fatalf("%d hashes ran at once with 2 slots", most)
	}
}

// hashWork does a hash's work without taking a slot (the caller holds one).
func hashWork() { argon2IDForTest("pw", "saltsaltsaltsalt", argonTime, argonMemory, argonThreads) }
