package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/mfaportal/mfaportal/mfa"
)

// Searches longer than countedPrefix characters whose range matches many users have their prefix
// counted in prefix_counts like the short ones (mfa.LongPrefixMatches; migration 101): listed in
// long_prefixes, counted from scratch once by countLongPrefix, and from then on by the same
// triggers and by a bulk update's batch writer. With a status filter such a search then reads its
// total from the counts instead of probing every match for its state (countSQL).

// isLongPrefix reports whether prefix is counted in prefix_counts.
func (d *DB) isLongPrefix(ctx context.Context, prefix string) (bool, error) {
	var ok bool
	err := d.db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM long_prefixes WHERE prefix = ?)", prefix).Scan(&ok)
	return ok, err
}

// readLongPrefixes reads the long prefixes counted, by their first five characters.
func readLongPrefixes(ctx context.Context, tx *sql.Tx) (map[string][]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT head, prefix FROM long_prefixes")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var head, prefix string
		if err := rows.Scan(&head, &prefix); err != nil {
			return nil, err
		}
		out[head] = append(out[head], prefix)
	}
	return out, rows.Err()
}

// countLongPrefix lists prefix in long_prefixes and counts its matches into prefix_counts, unless
// mfa.MaxLongPrefixes are counted already, in one write transaction: SQLite's writers take turns,
// so no change is counted twice or lost. It waits for the other writers only mfa.LongPrefixWait
// (on a connection of its own with that busy timeout, closed afterwards rather than handed back
// to the pool) and counts for at most mfa.LongPrefixCountTime.
func (d *DB) countLongPrefix(ctx context.Context, prefix string) error {
	now := time.Now()
	if !d.longPrefixTries.MayTry(prefix, now) {
		return nil
	}
	if listed, err := d.isLongPrefix(ctx, prefix); err != nil || listed {
		return err
	}
	err := d.listLongPrefix(ctx, prefix)
	if err != nil {
		d.longPrefixTries.Failed(prefix, now)
	}
	return err
}

func (d *DB) listLongPrefix(ctx context.Context, prefix string) error {
	ctx, cancel := context.WithTimeout(ctx, mfa.LongPrefixCountTime)
	defer cancel()
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The connection goes, with its busy timeout, when this ends.
	defer conn.Raw(func(any) error { return driver.ErrBadConn })
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", mfa.LongPrefixWait.Milliseconds())); err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO long_prefixes (prefix, head) SELECT ?, substr(?, 1, 5)
		WHERE (SELECT count(*) FROM long_prefixes) < ? ON CONFLICT DO NOTHING`, prefix, prefix, mfa.MaxLongPrefixes)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // listed meanwhile, or enough are
	}
	// A user matches once: one of its terms with lcp under the prefix's length.
	if _, err := tx.ExecContext(ctx, `INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
		SELECT ?, u.account_enabled, u.privileged, u.methods_class, u.ca_covered, u.state, COUNT(*)
		FROM user_terms t CROSS JOIN users u ON u.id = t.user_id
		WHERE t.term >= ? AND t.term < ? AND t.lcp < ?
		GROUP BY u.account_enabled, u.privileged, u.methods_class, u.ca_covered, u.state
		ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = excluded.n`,
		prefix, prefix, prefix+maxPrefixRune, utf8.RuneCountInString(prefix)); err != nil {
		return err
	}
	return tx.Commit()
}
