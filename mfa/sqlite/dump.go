package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// Dump reads the whole store table by table in one transaction, for copying it into another store
// (mfaportal migrate): one consistent state, which no writer changes meanwhile (the transaction is
// immediate: writers wait for Close). Rows are streamed, never held.
type Dump struct{ tx *sql.Tx }

// Dump starts reading the store.
func (d *DB) Dump(ctx context.Context) (*Dump, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Dump{tx: tx}, nil
}

// Close ends the reading (changing nothing).
func (x *Dump) Close() error { return x.tx.Rollback() }

// quote is a table or column name as an SQL identifier.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// Tables lists the store's tables.
func (x *Dump) Tables(ctx context.Context) ([]string, error) {
	return x.strings(ctx, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
}

// Columns lists a table's columns in their order.
func (x *Dump) Columns(ctx context.Context, table string) ([]string, error) {
	return x.strings(ctx, "SELECT name FROM pragma_table_info(?) ORDER BY cid", table)
}

func (x *Dump) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := x.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Count is how many rows a table holds.
func (x *Dump) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	err := x.tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quote(table)).Scan(&n)
	return n, err
}

// Rows reads the columns of a table's rows, one row at a time: Next, then Values (as SQLite holds
// them: int64, float64, string, []byte or nil); Err once Next is false; Close in any case.
func (x *Dump) Rows(ctx context.Context, table string, cols []string) (*DumpRows, error) {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quote(c)
	}
	rows, err := x.tx.QueryContext(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+quote(table))
	if err != nil {
		return nil, err
	}
	r := &DumpRows{rows: rows, vals: make([]any, len(cols)), ptrs: make([]any, len(cols))}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

// DumpRows are a table's rows being read.
type DumpRows struct {
	rows       *sql.Rows
	vals, ptrs []any
}

// Next moves to the next row; false at the end or on an error (Err).
func (r *DumpRows) Next() bool { return r.rows.Next() }

// Values are the row's values, valid until the next call to Next.
func (r *DumpRows) Values() ([]any, error) {
	if err := r.rows.Scan(r.ptrs...); err != nil {
		return nil, err
	}
	return r.vals, nil
}

// Err is the error that ended the rows, if any.
func (r *DumpRows) Err() error { return r.rows.Err() }

// Close releases the rows.
func (r *DumpRows) Close() error { return r.rows.Close() }
