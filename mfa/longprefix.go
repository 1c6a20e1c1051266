package mfa

import (
	"sync"
	"time"
)

// Long search prefixes, as both stores (mfa/sqlite, mfa/postgres) count them. A store keeps the
// number of users under every search prefix of one to four characters by filter columns and state,
// so that the total of a short search is read, not counted. A longer search reads its range of
// search terms, which hold every filter column but the state: with a status filter its total needs
// every match's state (for a common surname at 1,000,000 users, 11,000-12,000 look-ups, 30-70 ms).
// So a store also counts, from the first search that finds it matching LongPrefixMatches users or
// more, the prefix of such a search: it is counted from scratch once, with the other writers held
// off, and from then on by the same upkeep as the short ones (docs/PERFORMANCE.md, "Long searches
// with a status filter").
const (
	// LongPrefixMatches is how many matches make a long search's prefix worth counting: below
	// it, reading every match's state takes a few milliseconds.
	LongPrefixMatches = 2000
	// MaxLongPrefixes bounds how many are counted: each adds to the cost of a change of state of
	// the users it matches, and searches are a stranger's input. There are few prefixes of five
	// characters or more with thousands of users each (542 in the demo tenant of 1,000,000).
	MaxLongPrefixes = 1000
	// LongPrefixWait is how long counting a prefix waits for the other writers (a bulk update's
	// batch holds them for seconds), and LongPrefixCountTime how long it may hold them off (a
	// prefix matching most of a large directory takes seconds to count): it gives up rather than
	// stall them, and is tried again after LongPrefixRetry, the search answered from its range
	// meanwhile.
	LongPrefixWait      = 200 * time.Millisecond
	LongPrefixCountTime = 2 * time.Second
	LongPrefixRetry     = 10 * time.Minute
)

// LongPrefixTries remembers when counting a prefix last failed, so that every search for it does
// not queue behind the writers again.
type LongPrefixTries struct {
	mu     sync.Mutex
	failed map[string]time.Time
}

// MayTry says whether counting prefix may be tried at now.
func (t *LongPrefixTries) MayTry(prefix string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.failed[prefix]
	return !ok || now.Sub(at) >= LongPrefixRetry
}

// Failed notes that counting prefix failed at now.
func (t *LongPrefixTries) Failed(prefix string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == nil || len(t.failed) >= MaxLongPrefixes {
		t.failed = map[string]time.Time{} // bounded: forgetting only means trying again sooner
	}
	t.failed[prefix] = now
}

// Forget forgets every failure (tests: as if LongPrefixRetry had passed).
func (t *LongPrefixTries) Forget() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.failed)
}
