package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.LeaseStore = (*DB)(nil)

// Leases are written through the bulk connection (bulkPool): renewed every few seconds while a bulk
// job runs, from any other connection they would empty its page cache each time.

// AcquireLease takes or renews a lease (one machine: its clock is every holder's).
func (d *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (mfa.Lease, bool, error) {
	l := mfa.Lease{Name: name, Holder: holder}
	ok := false
	err := d.inTxOn(ctx, d.bulk, func(tx *sql.Tx) error {
		now := time.Now()
		var cur string
		var epoch, expires int64
		err := tx.QueryRowContext(ctx, "SELECT holder, epoch, expires_at FROM leases WHERE name = ?", name).Scan(&cur, &epoch, &expires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			epoch = 1
		case err != nil:
			return err
		case cur == holder:
		case expires < now.UnixMilli():
			epoch++
		default:
			return nil
		}
		ok, l.Epoch = true, epoch
		_, err = tx.ExecContext(ctx, `INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at`,
			name, holder, epoch, now.Add(ttl).UnixMilli())
		return err
	})
	if err != nil || !ok {
		return mfa.Lease{}, false, err
	}
	return l, true, nil
}

// RenewLease extends a held lease; ECONFLICT once it has moved on.
func (d *DB) RenewLease(ctx context.Context, l mfa.Lease, ttl time.Duration) error {
	now := time.Now()
	res, err := d.bulk.ExecContext(ctx, "UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND epoch = ? AND expires_at >= ?",
		now.Add(ttl).UnixMilli(), l.Name, l.Holder, l.Epoch, now.UnixMilli())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mfa.Errorf(mfa.ECONFLICT, "the lease %s was lost by %s", l.Name, l.Holder)
	}
	return nil
}

// ReleaseLease ends a held lease now.
func (d *DB) ReleaseLease(ctx context.Context, l mfa.Lease) error {
	_, err := d.bulk.ExecContext(ctx, "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND epoch = ?", l.Name, l.Holder, l.Epoch)
	return err
}

// checkFence refuses a write whose context carries a lease no longer held (writers are serialized:
// no take-over can happen before this transaction ends).
func checkFence(ctx context.Context, tx *sql.Tx) error {
	l, ok := mfa.LeaseFromContext(ctx)
	if !ok {
		return nil
	}
	var n int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM leases WHERE name = ? AND holder = ? AND epoch = ? AND expires_at >= ?",
		l.Name, l.Holder, l.Epoch, time.Now().UnixMilli()).Scan(&n)
	if err == nil && n == 0 {
		return mfa.Errorf(mfa.ECONFLICT, "the lease %s has passed from %s to another process: this write is refused", l.Name, l.Holder)
	}
	return err
}
