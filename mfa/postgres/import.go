package postgres

import (
	"context"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// importBatch is how many users of an import are looked up and written at once.
const importBatch = 5000

// ImportUsers creates or updates users in one transaction: all or nothing. record's audit records
// (one per user created or changed) are appended in the same transaction.
func (d *DB) ImportUsers(ctx context.Context, users []mfa.ImportUser, cols mfa.ImportColumns, now time.Time, record mfa.ImportRecorder) (mfa.ImportResult, error) {
	var res mfa.ImportResult
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		for start := 0; start < len(users); start += importBatch {
			batch := users[start:min(start+importBatch, len(users))]
			upns := make([]string, len(batch))
			for i, iu := range batch {
				upns[i] = iu.User.UPN
			}
			existing, err := findRowsByUPN(ctx, tx, upns, true)
			if err != nil {
				return err
			}
			var created []*mfa.User
			var writes []userWrite
			for _, iu := range batch {
				u := iu.User
				r, ok := existing[mfa.NormalizeUPN(u.UPN)]
				if !ok {
					created = append(created, &u)
					continue
				}
				before := *r.user
				e := r.user
				e.UPN, e.DisplayName = u.UPN, u.DisplayName
				if cols.State && e.State != u.State {
					e.State, e.StateReadAt = u.State, now
				}
				if cols.AccountEnabled {
					e.AccountEnabled = u.AccountEnabled
				}
				if cols.Admin {
					e.Privileged = u.Privileged
				}
				if cols.Methods {
					e.Methods = u.Methods
				}
				writes = append(writes, userWrite{id: r.id, before: &before, after: e})
			}
			if err := writeUsers(ctx, tx, writes); err != nil {
				return err
			}
			if _, err := insertUsers(ctx, tx, created, now); err != nil {
				return err
			}
			if err := d.appendAudit(ctx, tx, importRecords(record, created, writes)); err != nil {
				return err
			}
			res.Created += len(created)
			res.Updated += len(writes)
		}
		return nil
	})
	if err != nil {
		return mfa.ImportResult{}, err
	}
	return res, nil
}

// importRecords are the audit records of a batch of users import: created users, then changed ones.
func importRecords(record mfa.ImportRecorder, created []*mfa.User, writes []userWrite) []*mfa.AuditRecord {
	if record == nil {
		return nil
	}
	var out []*mfa.AuditRecord
	for _, u := range created {
		if r := record(nil, u); r != nil {
			out = append(out, r)
		}
	}
	for _, w := range writes {
		if r := record(w.before, w.after); r != nil {
			out = append(out, r)
		}
	}
	return out
}

// seedBatch is how many users SeedUsers inserts a statement (and between progress reports).
const seedBatch = 20000

// SeedUsers inserts users (the demo tenant, benchmarks), seedBatch a statement. Into an empty
// directory it is all or nothing (one transaction, the secondary indexes of users and user_terms
// built once at the end); into one with users already, a transaction per batch. progress, if not
// nil, is called after every batch.
func (d *DB) SeedUsers(ctx context.Context, users iter.Seq[mfa.User], now time.Time, progress func(done int)) (int, error) {
	next, stop := iter.Pull(users)
	defer stop()
	done := 0
	// insertSome inserts up to seedBatch users; it answers false when the users ran out.
	insertSome := func(tx pgx.Tx) (bool, error) {
		batch := make([]*mfa.User, 0, seedBatch)
		for len(batch) < seedBatch {
			u, ok := next()
			if !ok {
				break
			}
			batch = append(batch, &u)
		}
		if _, err := insertUsers(ctx, tx, batch, now); err != nil {
			return false, err
		}
		done += len(batch)
		if progress != nil && len(batch) > 0 {
			progress(done)
		}
		return len(batch) == seedBatch, nil
	}
	var empty bool
	if err := d.pool.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM users)").Scan(&empty); err != nil {
		return 0, err
	}
	if empty {
		err := d.inTx(ctx, func(tx pgx.Tx) error {
			return bulkLoad(ctx, tx, func() error {
				for more := true; more; {
					var err error
					if more, err = insertSome(tx); err != nil {
						return err
					}
				}
				return nil
			})
		})
		if err != nil {
			return 0, err
		}
		// Fresh statistics and visibility map: plans and index-only scans for the new rows.
		_, err = d.pool.Exec(ctx, "VACUUM (ANALYZE) users, user_terms, user_counts, prefix_counts")
		return done, err
	}
	for more := true; more; {
		err := d.inTx(ctx, func(tx pgx.Tx) error {
			var err error
			more, err = insertSome(tx)
			return err
		})
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// bulkLoad runs load with the secondary indexes of users and user_terms dropped, then builds them
// again from their definitions; all in tx.
func bulkLoad(ctx context.Context, tx pgx.Tx, load func() error) error {
	rows, err := tx.Query(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i
		JOIN pg_class c ON c.relname = i.indexname AND c.relnamespace = to_regnamespace(i.schemaname)
		JOIN pg_index x ON x.indexrelid = c.oid
		WHERE i.schemaname = current_schema() AND i.tablename IN ('users', 'user_terms') AND NOT x.indisunique
		ORDER BY i.indexname`)
	if err != nil {
		return err
	}
	type index struct{ Name, Def string }
	indexes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[index])
	if err != nil {
		return err
	}
	for _, ix := range indexes {
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{ix.Name}.Sanitize()); err != nil {
			return err
		}
	}
	if err := load(); err != nil {
		return err
	}
	// Index builds sort in memory up to maintenance_work_mem.
	if _, err := tx.Exec(ctx, "SET LOCAL maintenance_work_mem = '256MB'"); err != nil {
		return err
	}
	for _, ix := range indexes {
		if _, err := tx.Exec(ctx, ix.Def); err != nil {
			return err
		}
	}
	return nil
}

// CountUsers returns the number of users in the directory.
func (d *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := d.pool.QueryRow(ctx, "SELECT COALESCE(sum(n), 0)::bigint FROM user_counts").Scan(&n)
	return n, err
}
