package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.ThrottleStore = (*DB)(nil)

// LoadThrottle returns a namespace's counters whose last failure is at or after since.
func (d *DB) LoadThrottle(ctx context.Context, namespace string, since time.Time) ([]mfa.ThrottleCounter, error) {
	rows, err := d.pool.Query(ctx, "SELECT key, failures, last FROM signin_throttle WHERE namespace = $1 AND last >= $2",
		namespace, toMillis(since))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (mfa.ThrottleCounter, error) {
		var c mfa.ThrottleCounter
		var last int64
		err := r.Scan(&c.Key, &c.Failures, &last)
		c.Last = fromMillis(last)
		return c, err
	})
}

// SaveThrottle writes counters (deleting those with no failures) and forgets old ones.
func (d *DB) SaveThrottle(ctx context.Context, namespace string, cs []mfa.ThrottleCounter, forgetBefore time.Time) error {
	var keys, gone []string
	var failures []int32
	var lasts []int64
	for _, c := range cs {
		if c.Failures <= 0 {
			gone = append(gone, c.Key)
			continue
		}
		keys, failures, lasts = append(keys, c.Key), append(failures, int32(c.Failures)), append(lasts, toMillis(c.Last))
	}
	return d.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM signin_throttle WHERE namespace = $1 AND key = ANY($2::text[])", namespace, gone); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO signin_throttle (namespace, key, failures, last)
			SELECT $1, * FROM unnest($2::text[], $3::integer[], $4::bigint[])
			ON CONFLICT (namespace, key) DO UPDATE SET failures = excluded.failures, last = excluded.last`,
			namespace, keys, failures, lasts); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM signin_throttle WHERE last < $1", toMillis(forgetBefore))
		return err
	})
}
