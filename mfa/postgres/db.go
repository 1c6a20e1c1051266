// Package postgres is the portal's store in PostgreSQL (github.com/jackc/pgx/v5), for several
// replicas serving one database: the embedded directory (or Graph's local index), sessions,
// accounts, tokens, audit, bulk jobs and settings, with the same schema ideas and indexes as
// mfa/sqlite. It implements the same mfa interfaces; the store conformance suite (mfa/storetest)
// runs against both.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mfaportal/mfaportal/mfa"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the open store: a pool of connections to one database.
type DB struct {
	pool      *pgxpool.Pool
	auditKey  []byte // the audit chain's key (UseAuditKey); nil: the legacy SHA-256 chain, in tests
	audited   atomic.Bool
	onAudited atomic.Pointer[func()]

	longPrefixMin   int                 // mfa.LongPrefixMatches if 0; lowered by tests
	longPrefixTries mfa.LongPrefixTries // when counting a long search's prefix last failed
}

var (
	_ mfa.Directory      = (*DB)(nil)
	_ mfa.UserImporter   = (*DB)(nil)
	_ mfa.AccountStore   = (*DB)(nil)
	_ mfa.SessionStore   = (*DB)(nil)
	_ mfa.TokenStore     = (*DB)(nil)
	_ mfa.AuditLog       = (*DB)(nil)
	_ mfa.SettingsStore  = (*DB)(nil)
	_ mfa.JobStore       = (*DB)(nil)
	_ mfa.UserLookup     = (*DB)(nil)
	_ mfa.PlanLookup     = (*DB)(nil)
	_ mfa.BatchUpdater   = (*DB)(nil)
	_ mfa.AuditPositions = (*DB)(nil)
)

// Open connects to the database at url (postgres://...) and applies pending migrations; replicas
// starting together migrate one at a time.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, mfa.Errorf(mfa.EINVALID, "database URL: %v", err)
	}
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	// The portal's queries are short: compiling one (JIT, for queries the planner thinks costly,
	// such as counting a search's range) takes longer than running it.
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	// Nor is one worth parallel workers: starting them costs more than they save, and on a busy
	// server they wait for a CPU (a search's range of 20,000 terms took 1.7 s with two workers
	// under load, 0.1 s without).
	if _, set := cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"]; !set {
		cfg.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d := &DB{pool: pool}
	if err := d.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open %s: %w", cfg.ConnConfig.Database, err)
	}
	return d, nil
}

// Close closes the pool.
func (d *DB) Close() error {
	d.pool.Close()
	return nil
}

// Ping answers nil when the database can be read.
func (d *DB) Ping(ctx context.Context) error {
	var n int
	return d.pool.QueryRow(ctx, "SELECT 1").Scan(&n)
}

// migration is one file of migrations/: NNN_what.sql.
type migration struct {
	version int
	name    string
}

func embeddedMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, name := range names {
		num, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: the file name must start with its number", path.Base(name))
		}
		out = append(out, migration{version: v, name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrationLock is the advisory lock key under which one replica at a time migrates.
const migrationLock = 0x6d66_6170_6d69 // "mfapmi"

// migrate applies the pending migrations, each in a transaction of its own with its version
// recorded in schema_migrations, holding an advisory lock on one connection meanwhile.
func (d *DB) migrate(ctx context.Context) error {
	all, err := embeddedMigrations()
	if err != nil {
		return err
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)"); err != nil {
		return err
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return err
	}
	if latest := all[len(all)-1].version; current > latest {
		return fmt.Errorf("the database was written by a newer mfaportal (schema %d, this binary knows %d)", current, latest)
	}
	for _, m := range all {
		if m.version <= current {
			continue
		}
		body, err := migrations.ReadFile(m.name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", path.Base(m.name), err)
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", m.version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion is the newest migration applied.
func (d *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := d.pool.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}

// inTx runs fn in a transaction, committing if it returns nil (and then waking the audit stream if
// it appended records).
func (d *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, d.pool, fn)
	if err == nil {
		d.notifyAudited()
	}
	return err
}

// Meta returns a value of the meta table, "" if unset.
func (d *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := d.pool.QueryRow(ctx, "SELECT value FROM meta WHERE key = $1", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetMeta stores a value in the meta table.
func (d *DB) SetMeta(ctx context.Context, key, value string) error {
	_, err := d.pool.Exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return err
}

// DeleteMeta removes values of the meta table (those not there are fine), in one statement.
func (d *DB) DeleteMeta(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := d.pool.Exec(ctx, "DELETE FROM meta WHERE key = ANY($1)", keys)
	return err
}

// isUniqueViolation reports a unique constraint's refusal (SQLSTATE 23505).
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
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

// InitMeta stores value under key unless one is there already (another replica's), and returns
// the stored value.
func (d *DB) InitMeta(ctx context.Context, key, value string) (string, error) {
	if _, err := d.pool.Exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", key, value); err != nil {
		return "", err
	}
	return d.Meta(ctx, key)
}
