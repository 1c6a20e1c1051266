package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.ThrottleStore = (*DB)(nil)

// LoadThrottle returns the namespace's stored counters of keys.
func (d *DB) LoadThrottle(ctx context.Context, namespace string, keys []string) ([]mfa.ThrottleCounter, error) {
	return loadThrottle(ctx, d.db, namespace, keys)
}

func loadThrottle(ctx context.Context, q querier, namespace string, keys []string) ([]mfa.ThrottleCounter, error) {
	var out []mfa.ThrottleCounter
	for _, k := range keys {
		c := mfa.ThrottleCounter{Key: k}
		var last int64
		err := q.QueryRowContext(ctx, "SELECT failures, last FROM signin_throttle WHERE namespace = ? AND key = ?", namespace, k).Scan(&c.Failures, &last)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		c.Last = fromMillis(last)
		out = append(out, c)
	}
	return out, nil
}

// UpdateThrottle changes counters in one immediate transaction: writers are serialized, so no
// other update comes between the read and the write.
func (d *DB) UpdateThrottle(ctx context.Context, namespace string, keys []string, forgetBefore time.Time,
	update func([]mfa.ThrottleCounter) ([]mfa.ThrottleCounter, error)) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		stored, err := loadThrottle(ctx, tx, namespace, keys)
		if err != nil {
			return err
		}
		cs, err := update(mfa.ThrottleCountersOf(keys, stored))
		if err != nil {
			return err
		}
		for _, c := range cs {
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
		_, err = tx.ExecContext(ctx, "DELETE FROM signin_throttle WHERE last < ?", toMillis(forgetBefore))
		return err
	})
}
