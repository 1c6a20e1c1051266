package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.ThrottleStore = (*DB)(nil)

// LoadThrottle returns a namespace's counters whose last failure is at or after since.
func (d *DB) LoadThrottle(ctx context.Context, namespace string, since time.Time) ([]mfa.ThrottleCounter, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT key, failures, last FROM signin_throttle WHERE namespace = ? AND last >= ?",
		namespace, toMillis(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mfa.ThrottleCounter
	for rows.Next() {
		var c mfa.ThrottleCounter
		var last int64
		if err := rows.Scan(&c.Key, &c.Failures, &last); err != nil {
			return nil, err
		}
		c.Last = fromMillis(last)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SaveThrottle writes counters (deleting those with no failures) and forgets old ones.
func (d *DB) SaveThrottle(ctx context.Context, namespace string, cs []mfa.ThrottleCounter, forgetBefore time.Time) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range cs {
			var err error
			if c.Failures <= 0 {
				_, err = tx.ExecContext(ctx, "DELETE FROM signin_throttle WHERE namespace = ? AND key = ?", namespace, c.Key)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO signin_throttle (namespace, key, failures, last) VALUES (?, ?, ?, ?)
					ON CONFLICT (namespace, key) DO UPDATE SET failures = excluded.failures, last = excluded.last`,
					namespace, c.Key, c.Failures, toMillis(c.Last))
			}
			if err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM signin_throttle WHERE last < ?", toMillis(forgetBefore))
		return err
	})
}
