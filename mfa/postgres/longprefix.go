package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// Searches longer than the prefix indexes (prefixIndexes characters) whose range matches many
// users have their prefix counted in prefix_counts like the short ones (mfa.LongPrefixMatches;
// migration 003): listed in long_prefixes, counted from scratch once by countLongPrefix, and from
// then on by the same triggers. With a status filter such a search reads its total from the counts,
// and its page walks the first matches in the sort's order probing each for the state only until it
// is full (countedPage). Prefixes that match few users are not counted: their range is read fast
// enough, and they cost the writers nothing.

// isLongPrefix reports whether prefix is counted in prefix_counts.
func (d *DB) isLongPrefix(ctx context.Context, prefix string) (bool, error) {
	var ok bool
	err := d.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM long_prefixes WHERE prefix = $1)", prefix).Scan(&ok)
	return ok, err
}

// countLongPrefix lists prefix in long_prefixes and counts its matches into prefix_counts, unless
// mfa.MaxLongPrefixes are counted already. The writers of users and user_terms are held off meanwhile
// (a SHARE lock: they take ROW EXCLUSIVE), so that no change is counted twice or lost: those
// before it are in the count, those after it are counted by their triggers, which see the listed
// prefix. Waiting for the lock is bounded by mfa.LongPrefixWait, well under deadlock_timeout, so
// that of a writer and this it is always this that gives up (a vacuum of either table, whose lock
// conflicts with SHARE too, is waited for as briefly); counting by mfa.LongPrefixCountTime.
func (d *DB) countLongPrefix(ctx context.Context, prefix string) error {
	now := time.Now()
	if !d.longPrefixTries.MayTry(prefix, now) {
		return nil
	}
	if listed, err := d.isLongPrefix(ctx, prefix); err != nil || listed {
		return err // listed: no lock taken again
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", mfa.LongPrefixWait.Milliseconds())); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", mfa.LongPrefixCountTime.Milliseconds())); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "LOCK TABLE users, user_terms IN SHARE MODE"); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO long_prefixes (prefix) SELECT $1
			WHERE (SELECT count(*) FROM long_prefixes) < $2 ON CONFLICT DO NOTHING`, prefix, mfa.MaxLongPrefixes)
		if err != nil || tag.RowsAffected() == 0 {
			return err // listed by another search meanwhile, or enough are
		}
		// A user matches once (one of its terms with lcp under the prefix's length), and is read
		// by id: joined, the planner read all of users (330 ms for 12,347 matches).
		_, err = tx.Exec(ctx, `INSERT INTO prefix_counts AS c (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
			SELECT $1, u.account_enabled, u.privileged, u.methods_class, u.ca_covered, u.state, count(*)
			FROM users u WHERE u.id = ANY(ARRAY(SELECT t.user_id FROM user_terms t WHERE t.term >= $1 AND t.term < $2 AND t.lcp < length($1)))
			GROUP BY 2, 3, 4, 5, 6
			ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = excluded.n`,
			prefix, prefix+maxPrefixRune)
		return err
	})
	if err != nil {
		d.longPrefixTries.Failed(prefix, now)
	}
	return err
}
