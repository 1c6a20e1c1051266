package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// The sign-in throttle's counters survive closing and reopening the store (a restart), and old
// ones are forgotten.
func TestThrottleCountersSurviveARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mfaportal.db")
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	open := func() (*DB, *mfa.Throttle) {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		return db, mfa.NewThrottle(db, "admin", mfa.ThrottlePolicy{}, clock)
	}
	db, th := open()
	wrong := func() error { return mfa.ErrBadCredentials }
	for range 10 {
		th.Guard(ctx, "admin", "203.0.113.9", wrong)
	}
	th.Guard(ctx, "admin", "192.0.2.1", func() error { return nil }) // a success leaves nothing
	db.Close()

	db, th = open()
	if err := th.Guard(ctx, "admin", "203.0.113.9", func() error { return nil }); mfa.ErrorCode(err) != mfa.ETOOMANY {
		t.Fatalf("after reopening, the failing address: %v", err)
	}
	var rows int
	db.db.QueryRowContext(ctx, "SELECT count(*) FROM signin_throttle").Scan(&rows)
	if rows != 2 {
		t.Fatalf("%d counters stored, want the account's and the address's", rows)
	}
	// Past the window, the next update forgets them.
	now = now.Add(20 * time.Minute)
	if err := th.Guard(ctx, "reader", "192.0.2.7", wrong); mfa.ErrorCode(err) != mfa.EUNAUTHORIZED {
		t.Fatal(err)
	}
	db.db.QueryRowContext(ctx, "SELECT count(*) FROM signin_throttle WHERE key IN ('a:admin', 'ip:203.0.113.9')").Scan(&rows)
	if rows != 0 {
		t.Fatalf("%d old counters kept", rows)
	}
	db.Close()
}
