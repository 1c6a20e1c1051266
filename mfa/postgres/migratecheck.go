package postgres

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// refuseNonEmpty answers EINVALID, naming the tables that hold rows, unless the database holds
// nothing but its empty schema: migrate never mixes a data folder into a portal's data.
func (d *DB) refuseNonEmpty(ctx context.Context) error {
	rows, err := d.pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT IN ('schema_migrations', 'directory_sync')
		ORDER BY table_name`)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	var full []string
	for _, t := range tables {
		var any bool
		if err := d.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+pgx.Identifier{t}.Sanitize()+")").Scan(&any); err != nil {
			return err
		}
		if any {
			full = append(full, t)
		}
	}
	var synced bool
	if err := d.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM directory_sync WHERE running OR generation <> 0 OR last_sync <> 0)").Scan(&synced); err != nil {
		return err
	}
	if synced {
		full = append(full, "directory_sync")
	}
	if len(full) > 0 {
		return mfa.Errorf(mfa.EINVALID, "the database is not empty (rows in %s): migrate copies a data folder into an empty database only. "+
			"Create a new one (CREATE DATABASE …) and give its URL", strings.Join(full, ", "))
	}
	return nil
}

// checkCopy compares the copy in tx with src before it is committed: as many rows in every table,
// the users' terms and counts all there, and the audit chain verified under key. It answers how
// many audit records verified.
func checkCopy(ctx context.Context, tx pgx.Tx, src Source, tables []string, key []byte) (int64, error) {
	for _, t := range append(append([]string{}, copied...), "user_terms") {
		if !slices.Contains(tables, t) {
			continue
		}
		want, err := src.Count(ctx, t)
		if err != nil {
			return 0, err
		}
		if t == "meta" && slices.Contains(tables, conditionalAccessTable) {
			if n, err := src.Count(ctx, conditionalAccessTable); err != nil {
				return 0, err
			} else if n > 0 {
				want++
			}
		}
		var got int64
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{t}.Sanitize()).Scan(&got); err != nil {
			return 0, err
		}
		if got != want {
			return 0, mfa.Errorf(mfa.EINTERNAL, "the copy of %s holds %d rows, the data folder %d: nothing was copied", t, got, want)
		}
	}
	for _, c := range []string{"user_counts", "prefix_counts"} {
		if !slices.Contains(tables, c) {
			continue
		}
		want, err := sumCounts(ctx, src, c)
		if err != nil {
			return 0, err
		}
		var got int64
		if err := tx.QueryRow(ctx, "SELECT COALESCE(sum(n), 0)::bigint FROM "+c).Scan(&got); err != nil {
			return 0, err
		}
		if got != want {
			return 0, mfa.Errorf(mfa.EINTERNAL, "the copy's %s add up to %d, the data folder's to %d: nothing was copied", c, got, want)
		}
	}
	v := mfa.ChainVerifier{Key: key}
	if err := eachAudit(ctx, tx, 0, v.Check); err != nil {
		return 0, mfa.Errorf(mfa.EINVALID, "the audit log does not verify on the copy (nothing was copied): %s", mfa.ErrorMessage(err))
	}
	return v.Checked, nil
}

// sumCounts adds up the counts (n) of a table of src, but those of long prefixes: the data folder's
// long prefixes (mfa/longprefix.go) are its own workings, not copied (notCopied); the first
// searches for them on PostgreSQL list them again.
func sumCounts(ctx context.Context, src Source, table string) (int64, error) {
	cols := []string{"n"}
	if table == "prefix_counts" {
		cols = append(cols, "prefix")
	}
	rows, err := src.Rows(ctx, table, cols)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var sum int64
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return 0, err
		}
		if len(vals) > 1 {
			prefix, _ := vals[1].(string)
			if b, ok := vals[1].([]byte); ok {
				prefix = string(b)
			}
			if utf8.RuneCountInString(prefix) > prefixIndexes {
				continue
			}
		}
		n, _ := vals[0].(int64)
		sum += n
	}
	return sum, rows.Err()
}
