package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.ThrottleStore = (*DB)(nil)

// LoadThrottle returns the namespace's stored counters of keys.
func (d *DB) LoadThrottle(ctx context.Context, namespace string, keys []string) ([]mfa.ThrottleCounter, error) {
	return loadThrottle(ctx, d.pool, namespace, keys)
}

func loadThrottle(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, namespace string, keys []string) ([]mfa.ThrottleCounter, error) {
	rows, err := q.Query(ctx, "SELECT key, failures, last FROM signin_throttle WHERE namespace = $1 AND key = ANY($2::text[])",
		namespace, keys)
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

// UpdateThrottle changes counters atomically across replicas: the transaction first takes an
// advisory lock on each key (in the order of their hashes, so that two attempts never wait on each other), which a
// key without a row yet could not give by row locks; the locks end with the transaction.
func (d *DB) UpdateThrottle(ctx context.Context, namespace string, keys []string, forgetBefore time.Time,
	update func([]mfa.ThrottleCounter) ([]mfa.ThrottleCounter, error)) error {
	locks := make([]string, len(keys))
	for i, k := range keys {
		locks[i] = "signin_throttle/" + namespace + "/" + k
	}
	return d.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(h)
			FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS l`, locks); err != nil {
			return err
		}
		stored, err := loadThrottle(ctx, tx, namespace, keys)
		if err != nil {
			return err
		}
		cs, err := update(mfa.ThrottleCountersOf(keys, stored))
		if err != nil {
			return err
		}
		var set, gone []string
		var failures []int32
		var lasts []int64
		for _, c := range cs {
			if c.Failures <= 0 {
				gone = append(gone, c.Key)
				continue
			}
			set, failures, lasts = append(set, c.Key), append(failures, int32(c.Failures)), append(lasts, toMillis(c.Last))
		}
		if _, err := tx.Exec(ctx, "DELETE FROM signin_throttle WHERE namespace = $1 AND key = ANY($2::text[])", namespace, gone); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO signin_throttle (namespace, key, failures, last)
			SELECT $1, * FROM unnest($2::text[], $3::integer[], $4::bigint[])
			ON CONFLICT (namespace, key) DO UPDATE SET failures = excluded.failures, last = excluded.last`,
			namespace, set, failures, lasts); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "DELETE FROM signin_throttle WHERE last < $1", toMillis(forgetBefore))
		return err
	})
}
