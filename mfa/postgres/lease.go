package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.LeaseStore = (*DB)(nil)

// AcquireLease takes or renews a lease; expiry is the database's clock (now()), shared by every
// replica.
func (d *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (mfa.Lease, bool, error) {
	l := mfa.Lease{Name: name, Holder: holder}
	err := d.pool.QueryRow(ctx, `INSERT INTO leases AS l (name, holder, epoch, expires_at)
		VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET
			epoch = CASE WHEN l.holder = excluded.holder THEN l.epoch ELSE l.epoch + 1 END,
			holder = excluded.holder, expires_at = excluded.expires_at
		WHERE l.holder = excluded.holder OR l.expires_at < clock_timestamp()
		RETURNING epoch`, name, holder, ttl.Milliseconds()).Scan(&l.Epoch)
	if err == pgx.ErrNoRows {
		return mfa.Lease{}, false, nil
	}
	if err != nil {
		return mfa.Lease{}, false, err
	}
	return l, true, nil
}

// RenewLease extends a held lease; ECONFLICT once it has moved on.
func (d *DB) RenewLease(ctx context.Context, l mfa.Lease, ttl time.Duration) error {
	tag, err := d.pool.Exec(ctx, `UPDATE leases SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
		WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at >= clock_timestamp()`, l.Name, l.Holder, l.Epoch, ttl.Milliseconds())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return mfa.Errorf(mfa.ECONFLICT, "the lease %s was lost by %s", l.Name, l.Holder)
	}
	return nil
}

// ReleaseLease ends a held lease now.
func (d *DB) ReleaseLease(ctx context.Context, l mfa.Lease) error {
	_, err := d.pool.Exec(ctx, `UPDATE leases SET expires_at = '-infinity' WHERE name = $1 AND holder = $2 AND epoch = $3`, l.Name, l.Holder, l.Epoch)
	return err
}

// checkFence refuses a write whose context carries a lease that is no longer held. The lease row
// is read FOR SHARE: a take-over waits for this transaction to end, so the write commits under a
// lease that was still held (or not at all).
func checkFence(ctx context.Context, tx pgx.Tx) error {
	l, ok := mfa.LeaseFromContext(ctx)
	if !ok {
		return nil
	}
	var held bool
	err := tx.QueryRow(ctx, `SELECT expires_at >= clock_timestamp() FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3 FOR SHARE`,
		l.Name, l.Holder, l.Epoch).Scan(&held)
	if err == pgx.ErrNoRows || err == nil && !held {
		return mfa.Errorf(mfa.ECONFLICT, "the lease %s has passed from %s to another replica: this write is refused", l.Name, l.Holder)
	}
	return err
}
