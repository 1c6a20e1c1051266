package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// Source is an embedded store (a data folder's mfaportal.db) to copy from, read in one consistent
// state: its tables, their columns and their rows, streamed (mfa/sqlite's Dump).
type Source interface {
	Tables(ctx context.Context) ([]string, error)
	Columns(ctx context.Context, table string) ([]string, error)
	Count(ctx context.Context, table string) (int64, error)
	Rows(ctx context.Context, table string, cols []string) (SourceRows, error)
}

// SourceRows are a table's rows being read: Next, then Values; Err once Next is false; Close.
type SourceRows interface {
	Next() bool
	Values() ([]any, error)
	Err() error
	Close() error
}

// What each table of the embedded store becomes. The users' search terms and the counts are
// computed here (by this store's code and triggers), not copied; the tables listed in notCopied
// hold what a restart may lose anyway (sessions: their users sign in again) or belong to the other
// store's own workings. A table of the source in neither list is refused: it would be lost.
var (
	// copied are copied row by row, in this order (a table after those it refers to).
	copied = []string{"users", "graph_users", "directory_sync", "user_passwords", "setup_links", "user_methods", "app_passwords",
		"remembered_devices", "accounts", "tokens", "audit", "service_settings", "bulk_jobs", "bulk_rows", "notify_template",
		"exemptions", "overview_days", "signin_throttle", "meta"}
	derived   = []string{"user_terms", "user_counts", "prefix_counts"}
	notCopied = []string{"sessions", "user_sessions", "user_challenges", "leases", "step_results", "work_requests",
		"counts_deferred", "schema_migrations", "long_prefixes"}
)

// conditionalAccessTable is the embedded store's table of the tenant's Conditional Access summary,
// which this store keeps in meta (conditionalAccessKey).
const conditionalAccessTable = "conditional_access"

// TableCopy is one table copied.
type TableCopy struct {
	Table string
	Rows  int64
	Took  time.Duration
}

// CopyReport is what MigrateFrom copied and checked.
type CopyReport struct {
	Tables       []TableCopy
	AuditRecords int64 // the audit records whose chain was verified on the copy
}

// MigrateFrom copies src into this store, which must be empty (EINVALID otherwise, naming what it
// holds), in one transaction: all of it or nothing. Each table is streamed with COPY; the users'
// search terms and the counts are computed as the users arrive (their indexes built once at the
// end). Before the commit the copy is checked: every table holds as many rows as in src, the users
// their terms and counts, and the audit chain verifies under key (the key src's log is chained
// with; nil for a legacy SHA-256 log). progress, if not nil, is told of each table copied.
func (d *DB) MigrateFrom(ctx context.Context, src Source, key []byte, progress func(TableCopy)) (*CopyReport, error) {
	if err := d.refuseNonEmpty(ctx); err != nil {
		return nil, err
	}
	tables, err := src.Tables(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if !slices.Contains(copied, t) && !slices.Contains(derived, t) && !slices.Contains(notCopied, t) && t != conditionalAccessTable {
			return nil, mfa.Errorf(mfa.EINVALID, "the data folder has a table %q that this version cannot copy into PostgreSQL", t)
		}
	}
	rep := &CopyReport{}
	done := func(c TableCopy) {
		rep.Tables = append(rep.Tables, c)
		if progress != nil {
			progress(c)
		}
	}
	err = d.inTx(ctx, func(tx pgx.Tx) error {
		// The baseline's empty sync state makes way for the source's.
		if _, err := tx.Exec(ctx, "DELETE FROM directory_sync"); err != nil {
			return err
		}
		if err := bulkLoad(ctx, tx, func() error { return copyUsers(ctx, tx, src, done) }); err != nil {
			return err
		}
		for _, t := range copied[1:] {
			if !slices.Contains(tables, t) {
				continue
			}
			c, err := copyTable(ctx, tx, src, t, t)
			if err != nil {
				return err
			}
			done(c)
		}
		if slices.Contains(tables, conditionalAccessTable) {
			if err := copyConditionalAccess(ctx, tx, src); err != nil {
				return err
			}
		}
		// New users and app passwords number on after the copied ones.
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM users), false),
			setval(pg_get_serial_sequence('app_passwords', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM app_passwords), false)`); err != nil {
			return err
		}
		rep.AuditRecords, err = checkCopy(ctx, tx, src, tables, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Fresh statistics and visibility maps: plans and index-only scans for the copied rows.
	_, err = d.pool.Exec(ctx, "VACUUM (ANALYZE)")
	return rep, err
}

// copyTable streams the rows of table from src into the table to of tx, column by column as named
// in both (the generated ones of this store computed), converting SQLite's integers to booleans
// where this store's column is one. A column of src with no place here is refused.
func copyTable(ctx context.Context, tx pgx.Tx, src Source, table, to string) (TableCopy, error) {
	start := time.Now()
	cols, err := src.Columns(ctx, table)
	if err != nil {
		return TableCopy{}, err
	}
	target, err := targetColumns(ctx, tx, to)
	if err != nil {
		return TableCopy{}, err
	}
	var names []string
	var bools []bool
	for _, c := range cols {
		t, ok := target[c]
		switch {
		case !ok:
			return TableCopy{}, mfa.Errorf(mfa.EINVALID, "the data folder's %s.%s has no place in PostgreSQL in this version", table, c)
		case t.generated:
			continue
		}
		names, bools = append(names, c), append(bools, t.boolean)
	}
	rows, err := src.Rows(ctx, table, names)
	if err != nil {
		return TableCopy{}, err
	}
	defer rows.Close()
	n, err := tx.CopyFrom(ctx, pgx.Identifier{to}, names, converted{rows, bools})
	if err != nil {
		return TableCopy{}, fmt.Errorf("copying %s: %w", table, err)
	}
	return TableCopy{Table: table, Rows: n, Took: time.Since(start)}, nil
}

// column is what copying needs to know of a column of this store.
type column struct{ boolean, generated bool }

func targetColumns(ctx context.Context, tx pgx.Tx, table string) (map[string]column, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type = 'boolean', is_generated = 'ALWAYS'
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return nil, err
	}
	out := map[string]column{}
	var name string
	var c column
	_, err = pgx.ForEachRow(rows, []any{&name, &c.boolean, &c.generated}, func() error {
		out[name] = c
		return nil
	})
	return out, err
}

// converted are source rows with the integers of boolean columns made booleans.
type converted struct {
	SourceRows
	bools []bool
}

func (c converted) Values() ([]any, error) {
	vals, err := c.SourceRows.Values()
	if err != nil {
		return nil, err
	}
	for i, b := range c.bools {
		if n, ok := vals[i].(int64); b && ok {
			vals[i] = n != 0
		}
	}
	return vals, nil
}

// copyConditionalAccess copies the tenant's Conditional Access summary into meta.
func copyConditionalAccess(ctx context.Context, tx pgx.Tx, src Source) error {
	rows, err := src.Rows(ctx, conditionalAccessTable, []string{"summary"})
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		summary, _ := vals[0].(string)
		if err := setMetaIn(ctx, tx, conditionalAccessKey, summary); err != nil {
			return err
		}
	}
	return rows.Err()
}
