package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// The data folders that predate the baseline: written by the release (schema 11, no
// schema_migrations) or by a development build of the round after it (schema_migrations with some
// of 020–082, applied in whatever order their branches landed). The legacy files bring them to
// the baseline, after which they are recorded as at it, like a folder the baseline created.

// trackedSince lists the legacy migrations that existed when schema_migrations was introduced: a
// data folder without the table has had those up to its user_version, and no others.
var trackedSince = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 20, 21, 30, 40, 41, 50, 51, 52, 53, 54, 55, 56, 80}

// upgradeLegacy brings a data folder that predates the baseline to it: it applies the legacy
// migrations the folder has not had (each in its own transaction, so an upgrade stopped half-way
// goes on where it stopped at the next start), then records the folder as at the baseline. A new
// folder (user_version 0) and one at or past the baseline are left to migrateWith.
func (d *DB) upgradeLegacy(ctx context.Context) error {
	var current int
	if err := d.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return err
	}
	if current == 0 || current >= baselineVersion {
		return nil
	}
	legacy, err := legacyMigrations()
	if err != nil {
		return err
	}
	if err := d.inTx(ctx, func(tx *sql.Tx) error { return legacyRecord(ctx, tx, current) }); err != nil {
		return err
	}
	if err := d.migrateWith(ctx, legacy); err != nil {
		return err
	}
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM schema_migrations"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", baselineVersion, time.Now().UnixMilli()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(baselineVersion))
		return err
	})
}

// legacyRecord creates schema_migrations on a data folder from before it, from its user_version
// and trackedSince.
func legacyRecord(ctx context.Context, tx *sql.Tx, current int) error {
	exists, err := hasTable(ctx, tx, "schema_migrations")
	if err != nil || exists {
		return err
	}
	if current > trackedSince[len(trackedSince)-1] {
		return fmt.Errorf("the data folder was written by a newer mfaportal (schema %d)", current)
	}
	if _, err := tx.ExecContext(ctx, schemaMigrationsTable); err != nil {
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
	return nil
}
