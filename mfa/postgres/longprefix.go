package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Searches longer than the prefix indexes (prefixIndexes characters) read their range of
// user_terms, which has every filter column but the state. With a status filter the total then
// needs every match's state: for a common surname at 1,000,000 users, 11,000-12,000 look-ups by
// id. So the prefixes of such searches that match many users are listed in long_prefixes and from
// then on counted in prefix_counts like the short ones, by the same triggers (migration 003): the
// total is read, and the page walks the sorted matches probing each for the state only until it
// is full. Prefixes that match few users are not counted: their range is read fast enough, and
// they cost the writers nothing.
const (
	// longPrefixMatches is how many matches (in the view's other filters) make a long search's
	// prefix worth counting: below it, reading every match's state takes a few milliseconds.
	longPrefixMatches = 2000
	// maxLongPrefixes bounds how many are counted: each adds to the cost of a change of state of
	// the users it matches (a row of prefix_counts moved), and searches are a stranger's input.
	// There are few prefixes of five characters or more with thousands of users each.
	maxLongPrefixes = 1000
	// longPrefixLockWait is how long counting a prefix waits for the writers of users and
	// user_terms (a bulk update's batch holds them for seconds), and longPrefixCountTime how long
	// it may hold them off (a prefix matching most of a large directory takes seconds to count):
	// it gives up rather than stall them, and is tried again after longPrefixRetry.
	longPrefixLockWait  = "200ms"
	longPrefixCountTime = "2s"
	longPrefixRetry     = 10 * time.Minute
)

// longPrefixTries remembers when counting a prefix last failed (its writers busy), so that every
// search does not queue behind them again.
type longPrefixTries struct {
	mu     sync.Mutex
	failed map[string]time.Time
}

func (t *longPrefixTries) mayTry(prefix string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.failed[prefix]
	return !ok || now.Sub(at) >= longPrefixRetry
}

func (t *longPrefixTries) fail(prefix string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == nil || len(t.failed) >= maxLongPrefixes {
		t.failed = map[string]time.Time{} // bounded: forgetting only means trying again sooner
	}
	t.failed[prefix] = now
}

// isLongPrefix reports whether prefix is counted in prefix_counts.
func (d *DB) isLongPrefix(ctx context.Context, prefix string) (bool, error) {
	var ok bool
	err := d.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM long_prefixes WHERE prefix = $1)", prefix).Scan(&ok)
	return ok, err
}

// countLongPrefix lists prefix in long_prefixes and counts its matches into prefix_counts, unless
// maxLongPrefixes are counted already. The writers of users and user_terms are held off meanwhile
// (a SHARE lock: they take ROW EXCLUSIVE), so that no change is counted twice or lost: those
// before it are in the count, those after it are counted by their triggers, which see the listed
// prefix. Waiting for the lock is bounded by longPrefixLockWait, well under deadlock_timeout, so
// that of a writer and this it is always this that gives up.
func (d *DB) countLongPrefix(ctx context.Context, prefix string) error {
	now := time.Now()
	if !d.longPrefixTries.mayTry(prefix, now) {
		return nil
	}
	if listed, err := d.isLongPrefix(ctx, prefix); err != nil || listed {
		return err // listed: no lock taken again
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+longPrefixLockWait+"'"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = '"+longPrefixCountTime+"'"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "LOCK TABLE users, user_terms IN SHARE MODE"); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO long_prefixes (prefix) SELECT $1
			WHERE (SELECT count(*) FROM long_prefixes) < $2 ON CONFLICT DO NOTHING`, prefix, maxLongPrefixes)
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
		d.longPrefixTries.fail(prefix, now)
	}
	return err
}
