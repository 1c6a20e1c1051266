// Package sqlite is the embedded directory and the portal's own store, in one SQLite file
// (modernc.org/sqlite: pure Go, no cgo). It implements mfa.Directory, mfa.UserImporter,
// mfa.AccountStore, mfa.SessionStore and mfa.TokenStore.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mfaportal/mfaportal/mfa"
)

// The migrations: migrations/*.sql from the baseline on, migrations/legacy/*.sql those before it
// (legacy.go).
//
//go:embed migrations/*.sql migrations/legacy/*.sql
var migrations embed.FS

// DB is the open store.
type DB struct {
	db   *sql.DB
	bulk *sql.DB // one connection for bulk update's writes (bulkPool)
	plan *sql.DB // bulk update's look-ups while planning (planPool)
	Path string

	auditMu   sync.RWMutex
	auditKey  []byte // the audit chain's key (UseAuditKey)
	chain     string // the meta table's audit_chain: how the log is chained
	audited   atomic.Bool
	onAudited atomic.Pointer[func()]

	longPrefixMin   int                 // mfa.LongPrefixMatches if 0; lowered by tests
	longPrefixTries mfa.LongPrefixTries // when counting a long search's prefix last failed
}

var (
	_ mfa.Directory    = (*DB)(nil)
	_ mfa.UserImporter = (*DB)(nil)
	_ mfa.AccountStore = (*DB)(nil)
	_ mfa.SessionStore = (*DB)(nil)
)

// Page cache sizes in KiB: of each pooled connection, of bulk update's connection (bulkPool: 96 MiB
// took a million-row job from 149 s to 69–75 s in session 2, docs/PERFORMANCE.md) and of the
// plan's look-ups (planPool). SQLite's allocator holds a 4 KiB page of cache in about 8 KiB.
const (
	cacheKiB      = 8000
	batchCacheKiB = 96 * 1024
	planCacheKiB  = 32 * 1024
)

// Checkpoints (pages in the write-ahead log that start one, PRAGMA wal_autocheckpoint): a commit
// on the pool's connections checkpoints from 10,000 pages (40 MB) on, one of the bulk connection
// from bulkCheckpointPages (400 MB: four to five batches of a large job, whose pages overlap). A
// commit of another writer during a job (a sign-in) may then run that larger checkpoint itself
// (at 1,000,000 rows about 0.3 s of CPU each), as it may wait for a batch. Once checkpointed, the
// log is cut back to walLimitBytes (PRAGMA journal_size_limit) rather than keeping the size it grew
// to.
const (
	checkpointPages     = 10000
	bulkCheckpointPages = 100000
	walLimitBytes       = 64 << 20
)

// Open opens (creating if needed) the store at path and applies pending migrations. Writers use
// immediate transactions so that a read-then-write never fails with "database is locked".
func Open(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
	// Statement journals (triggers, multi-row updates) in memory rather than in temporary files,
	// and fewer, larger checkpoints: both matter for bulk updates.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", checkpointPages))
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walLimitBytes))
	q.Add("_txlock", "immediate")
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if err := privateFiles(abs); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+abs+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	d := &DB{db: db, bulk: bulkPool(abs, q), plan: planPool(abs, q), Path: abs}
	if err := d.migrate(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("open %s: %w", abs, err)
	}
	if d.chain, err = d.Meta(ctx, "audit_chain"); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// bulkPool is the one connection bulk update writes through (UpdateUsers, RecordOutcomes), with a
// page cache of batchCacheKiB kept from one batch to the next. A batch of a large job touches
// pages all over the state's index and the audit log's by user; SQLite empties a connection's
// cache whenever another connection has written since, and shrinking the cache frees its pages:
// with the cache raised per batch on any pooled connection, every batch read them all again from
// the file (at 1,000,000 rows, a third of the job's CPU time went to reading pages and to
// allocating and freeing them: docs/PERFORMANCE.md). Closed after a minute unused, which gives
// the cache's memory back.
//
// Its commits also checkpoint less often (bulkCheckpointPages): each batch writes the same pages
// of those indexes to the write-ahead log again, and a checkpoint copies a page to the file once
// however many batches wrote it since the last one.
func bulkPool(abs string, q url.Values) *sql.DB {
	db := pool(abs, q, batchCacheKiB, bulkCheckpointPages)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(time.Minute)
	return db
}

// planPool serves the look-ups of planning a bulk file (LookupForPlan, two at a time in mfa), with
// a page cache of planCacheKiB each: a large file's users are looked up all over the user-name
// index (37 MB at 1,000,000 users), which the pool's 8 MB caches read again from the file at
// nearly every look-up. Its connections are closed once a plan is stored (CreateJob), which gives
// the memory back before the job is applied.
func planPool(abs string, q url.Values) *sql.DB {
	db := pool(abs, q, planCacheKiB, checkpointPages)
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(time.Minute)
	return db
}

// pool opens another pool on the file at abs, with the pragmas of q but its own page cache and
// checkpoint size. sql.Open connects lazily: nothing is opened until the pool is used.
func pool(abs string, q url.Values, cacheKiB, checkpoint int) *sql.DB {
	pq := url.Values{}
	// The cache size first: SQLite sizes the cache's first allocation from it.
	pq.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
	for _, p := range q["_pragma"] {
		if !strings.HasPrefix(p, "cache_size(") && !strings.HasPrefix(p, "wal_autocheckpoint(") {
			pq.Add("_pragma", p)
		}
	}
	pq.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", checkpoint))
	pq.Set("_txlock", q.Get("_txlock"))
	db, _ := sql.Open("sqlite", "file:"+abs+"?"+pq.Encode()) // fails only for an unknown driver
	return db
}

// Close closes the store.
func (d *DB) Close() error {
	return errors.Join(d.plan.Close(), d.bulk.Close(), d.db.Close())
}

// Ping answers nil when the store can be read.
func (d *DB) Ping(ctx context.Context) error {
	var n int
	return d.db.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// migration is one file of migrations/: NNN_what.sql, applied in a transaction of its own.
type migration struct {
	version int // NNN: the schema version (PRAGMA user_version) once it is applied
	name    string
}

// embeddedMigrations lists the migrations from the baseline on, in version order. One numbered
// below the baseline (written on a branch from before it) would run before the baseline's tables
// exist: refused, with the number to take instead.
func embeddedMigrations() ([]migration, error) {
	all, err := migrationsIn("migrations")
	if err != nil {
		return nil, err
	}
	if all[0].version != baselineVersion {
		return nil, fmt.Errorf("migration %s is numbered below the baseline (%d): number it %d or above", path.Base(all[0].name), baselineVersion, baselineVersion+1)
	}
	return all, nil
}

// legacyMigrations lists the migrations before the baseline, in version order.
func legacyMigrations() ([]migration, error) { return migrationsIn("migrations/legacy") }

// migrationsIn lists the embedded migrations of dir in version order. The version of a migration
// is the number in its file name, not its position, so a number left free (a migration still being
// written on another branch) does not shift the versions of those after it.
func migrationsIn(dir string) ([]migration, error) {
	names, err := fs.Glob(migrations, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: the file name must start with its number, e.g. 101_tokens.sql", base)
		}
		out = append(out, migration{version: v, name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have the same number", path.Base(out[i-1].name), path.Base(out[i].name))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return out, nil
}

// inTx runs fn in an immediate transaction, committing if it returns nil.
func (d *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return d.inTxOn(ctx, d.db, fn)
}

// inTxOn is inTx on the pool db (d.db or d.bulk).
func (d *DB) inTxOn(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	d.notifyAudited()
	return nil
}

// Meta returns a value of the meta table, "" if unset.
func (d *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := d.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetMeta stores a value in the meta table.
func (d *DB) SetMeta(ctx context.Context, key, value string) error {
	_, err := d.db.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return err
}

// DeleteMeta removes values of the meta table (those not there are fine), in one transaction.
func (d *DB) DeleteMeta(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return d.inTx(ctx, func(tx *sql.Tx) error {
		for len(keys) > 0 {
			n := min(len(keys), 500) // well under SQLite's limit of bound values
			args := make([]any, n)
			for i, k := range keys[:n] {
				args[i] = k
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM meta WHERE key IN (?"+strings.Repeat(", ?", n-1)+")", args...); err != nil {
				return err
			}
			keys = keys[n:]
		}
		return nil
	})
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// InitMeta stores value under key unless one is there already, and returns the stored value.
func (d *DB) InitMeta(ctx context.Context, key, value string) (string, error) {
	if _, err := d.db.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, value); err != nil {
		return "", err
	}
	return d.Meta(ctx, key)
}
