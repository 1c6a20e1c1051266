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

// Which migrations a data folder has had is recorded one by one in schema_migrations (besides
// PRAGMA user_version, the highest): numbers are reserved for work on several branches at once, so
// a migration can land after one with a higher number (061 after 080) and must still run on a data
// folder that already has the higher one.

// trackedSince lists the migrations that existed when schema_migrations was introduced: a data
// folder without the table has had those up to its user_version, and no others.
var trackedSince = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 20, 21, 30, 40, 41, 50, 51, 52, 53, 54, 55, 56, 80}

// migrationTimed, when set (by a benchmark), is told how long each migration applied took.
var migrationTimed func(name string, d time.Duration)

func (d *DB) migrate(ctx context.Context) error {
	all, err := embeddedMigrations()
	if err != nil {
		return err
	}
	return d.migrateWith(ctx, all)
}

// migrateWith applies the migrations of all that the data folder has not had, in number order,
// each in its own transaction with its record.
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

// appliedMigrations reads schema_migrations, creating it on a data folder that predates it from its
// user_version and trackedSince.
func (d *DB) appliedMigrations(ctx context.Context) (map[int]bool, error) {
	out := map[int]bool{}
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations')").Scan(&exists); err != nil {
			return err
		}
		if !exists {
			var current int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
				return err
			}
			if current > trackedSince[len(trackedSince)-1] {
				return fmt.Errorf("the data folder was written by a newer mfaportal (schema %d)", current)
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE schema_migrations (
				version    INTEGER PRIMARY KEY,
				applied_at INTEGER NOT NULL
			)`); err != nil {
				return err
			}
			for _, v := range trackedSince {
				if v > current {
					break
				}
				if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)", v); err != nil {
					return err
				}
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
