package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// auditLock is the advisory lock key that serializes appends to the audit log: each record's hash
// covers the one before, so two transactions (on two replicas) must not read the same head.
const auditLock = 0x6d66_6170_6175 // "mfapau"

const auditColumns = `seq, time, actor, actor_key, actor_role, actor_method, action, target, target_key, before, after,
	source, reason, client_ip, outcome, prev_hash, hash`

var auditCopyColumns = []string{"seq", "time", "actor", "actor_key", "actor_role", "actor_method", "action", "target", "target_key",
	"before", "after", "source", "reason", "client_ip", "outcome", "prev_hash", "hash"}

func auditValues(r *mfa.AuditRecord) []any {
	return []any{r.Seq, r.Time.UnixMilli(), r.ActorName, r.ActorKey, string(r.ActorRole),
		r.ActorMethod, r.Action, r.Target, r.TargetKey, r.Before, r.After, r.Source, r.Reason, r.ClientIP, r.Outcome,
		r.PrevHash, r.Hash}
}

// appendAudit seals records after the last one and appends them, inside tx (which holds the
// audit lock until it ends): one INSERT for one record, COPY for a batch.
func (d *DB) appendAudit(ctx context.Context, tx pgx.Tx, records []*mfa.AuditRecord) error {
	if len(records) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", auditLock); err != nil {
		return err
	}
	if d.auditKey == nil {
		// A process without the key (a test, an older binary) must not chain onto a keyed log.
		if chain, err := metaIn(ctx, tx, "audit_chain"); err != nil {
			return err
		} else if chain == mfa.AuditChainHMAC {
			return mfa.Errorf(mfa.EUNAVAILABLE, "the audit log is chained with the audit key, which this process has not loaded (MFAPORTAL_AUDIT_KEY)")
		}
	}
	d.audited.Store(true)
	var seq int64
	var prev string
	err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").Scan(&seq, &prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	for _, r := range records {
		r.Seal(d.auditKey, seq+1, prev)
		seq, prev = r.Seq, r.Hash
	}
	if len(records) == 1 {
		_, err := tx.Exec(ctx, `INSERT INTO audit (`+strings.Join(auditCopyColumns, ", ")+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`, auditValues(records[0])...)
		return err
	}
	i := 0
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"audit"}, auditCopyColumns, pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(records) {
			return nil, nil
		}
		i++
		return auditValues(records[i-1]), nil
	}))
	return err
}

// AppendAudit appends a record in its own transaction.
func (d *DB) AppendAudit(ctx context.Context, r *mfa.AuditRecord) error {
	return d.inTx(ctx, func(tx pgx.Tx) error { return d.appendAudit(ctx, tx, []*mfa.AuditRecord{r}) })
}

func scanAudit(sc pgx.Row) (*mfa.AuditRecord, error) {
	var r mfa.AuditRecord
	var at int64
	var role string
	if err := sc.Scan(&r.Seq, &at, &r.ActorName, &r.ActorKey, &role, &r.ActorMethod, &r.Action, &r.Target, &r.TargetKey, &r.Before, &r.After,
		&r.Source, &r.Reason, &r.ClientIP, &r.Outcome, &r.PrevHash, &r.Hash); err != nil {
		return nil, err
	}
	r.Time = fromMillis(at)
	r.ActorRole = mfa.Role(role)
	return &r, nil
}

// FindAudit returns a page of records, newest first, by keyset on seq.
func (d *DB) FindAudit(ctx context.Context, f mfa.AuditFilter) (*mfa.AuditPage, error) {
	a := &args{}
	var where []string
	if f.Target != "" {
		where = append(where, "target_key = "+a.add(mfa.AuditLookupKey(f.Target)))
	}
	if f.Actor != "" {
		where = append(where, "actor_key = "+a.add(mfa.AuditLookupKey(f.Actor)))
	}
	if f.Action != "" {
		where = append(where, "action = "+a.add(f.Action))
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= "+a.add(f.Since.UnixMilli()))
	}
	if !f.Until.IsZero() {
		where = append(where, "time < "+a.add(f.Until.UnixMilli()))
	}
	if f.Before > 0 {
		where = append(where, "seq < "+a.add(f.Before))
	}
	q := "SELECT " + auditColumns + " FROM audit"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT " + a.add(f.Limit+1)
	rows, err := d.pool.Query(ctx, q, a.vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := &mfa.AuditPage{}
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		page.Records = append(page.Records, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(page.Records) > f.Limit {
		page.Records = page.Records[:f.Limit]
		page.NextBefore = page.Records[f.Limit-1].Seq
	}
	return page, nil
}

// EachAudit calls fn for every record, oldest first, reading in chunks of 5,000 so that a long
// log never sits in memory nor holds a snapshot open for long.
func (d *DB) EachAudit(ctx context.Context, after int64, fn func(*mfa.AuditRecord) error) error {
	return eachAudit(ctx, d.pool, after, fn)
}

func eachAudit(ctx context.Context, q querier, after int64, fn func(*mfa.AuditRecord) error) error {
	for {
		rows, err := q.Query(ctx, "SELECT "+auditColumns+" FROM audit WHERE seq > $1 ORDER BY seq LIMIT 5000", after)
		if err != nil {
			return err
		}
		chunk, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mfa.AuditRecord, error) { return scanAudit(r) })
		if err != nil {
			return err
		}
		for _, r := range chunk {
			if err := fn(r); err != nil {
				return err
			}
			after = r.Seq
		}
		if len(chunk) < 5000 {
			return nil
		}
	}
}
