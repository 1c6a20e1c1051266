package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path"
	"slices"
	"strconv"
	"time"
)

// The schema starts at migrations/100_baseline.sql: the whole schema as the migrations of the first
// release and of the round after it (migrations/legacy, edited and renumbered before any release)
// left it. Later migrations are numbered from 101; a migration's number is its version.
//
// Which migrations a data folder has had is recorded one by one in schema_migrations (besides
// PRAGMA user_version, the highest): numbers are reserved for work on several branches at once, so
// a migration can land after one with a higher number and must still run on a data folder that
// already has the higher one.
//
// The baseline's version is 100, higher than every legacy number (up to 83) and than the release's
// schema 11: the release refuses a folder whose user_version is higher than the schema it knows
// ("the data folder was written by a newer mfaportal (schema 100, this binary knows 11)"), and so
// does a development build of the round (it knows 82), rather than taking a baselined folder for
// one of its own and applying legacy files to it.
const baselineVersion = 100

// migrationTimed, when set (by a benchmark), is told how long each migration applied took.
var migrationTimed func(name string, d time.Duration)

func (d *DB) migrate(ctx context.Context) error {
	all, err := embeddedMigrations()
	if err != nil {
		return err
	}
	if err := d.upgradeLegacy(ctx); err != nil {
		return err
	}
	return d.migrateWith(ctx, all)
}

// migrateWith applies the migrations of all that the data folder has not had, in number order,
// each in its own transaction with its record. A folder with a higher user_version than the last
// of all, or with a migration recorded that all lacks, was written by a newer binary: refused,
// unchanged.
func (d *DB) migrateWith(ctx context.Context, all []migration) error {
	var current int
	if err := d.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return err
	}
	if latest := all[len(all)-1].version; current > latest {
		return fmt.Errorf("the data folder was written by a newer mfaportal (schema %d, this binary knows %d)", current, latest)
	}
	applied, err := d.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	for v := range applied {
		if !slices.ContainsFunc(all, func(m migration) bool { return m.version == v }) {
			return fmt.Errorf("the data folder was written by a newer mfaportal (it has schema migration %d, which this binary does not know)", v)
		}
	}
	for _, m := range all {
		if applied[m.version] {
			continue
		}
		body, err := migrations.ReadFile(m.name)
		if err != nil {
			return err
		}
		start := time.Now()
		err = d.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", path.Base(m.name), err)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", m.version, time.Now().UnixMilli()); err != nil {
				return err
			}
			var top int
			if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&top); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(top))
			return err
		})
		if err != nil {
			return err
		}
		if migrationTimed != nil {
			migrationTimed(path.Base(m.name), time.Since(start))
		}
	}
	return nil
}

// schemaMigrationsTable is the migrator's own table, created before the first migration (and, on a
// data folder from before it, by legacyRecord).
const schemaMigrationsTable = `CREATE TABLE schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at INTEGER NOT NULL
)`

// appliedMigrations reads schema_migrations, creating it on a new data folder.
func (d *DB) appliedMigrations(ctx context.Context) (map[int]bool, error) {
	out := map[int]bool{}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		exists, err := hasTable(ctx, tx, "schema_migrations")
		if err != nil {
			return err
		}
		if !exists {
			if _, err := tx.ExecContext(ctx, schemaMigrationsTable); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return err
			}
			out[v] = true
		}
		return rows.Err()
	})
	return out, err
}

func hasTable(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	var exists bool
	err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?)", name).Scan(&exists)
	return exists, err
}
