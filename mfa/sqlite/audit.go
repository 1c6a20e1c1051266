package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.AuditLog = (*DB)(nil)

const auditColumns = `seq, time, actor, actor_role, actor_method, action, target, before, after, source, reason,
	client_ip, outcome, prev_hash, hash`

// auditWriter appends records inside one immediate transaction (so no other writer can take the
// same sequence numbers): it reads the chain's head once and keeps it, with a prepared insert.
//
// A batch writer (bulk update) holds the sealed records back and inserts them 100 to a statement,
// the fields that are the same for all of them (actor, source, reason, ...) bound once; flush must
// run before the commit.
type auditWriter struct {
	tx     *sql.Tx
	insert *sql.Stmt
	seq    int64
	prev   string
	loaded bool

	batch     bool
	held      []any     // heldCommon's values, then heldPerRecord values a held record
	heldKey   [7]string // the common fields of the held records
	heldCount int
	heldStmt  *sql.Stmt
}

func newAuditWriter(tx *sql.Tx) *auditWriter { return &auditWriter{tx: tx} }

// auditPerInsert is how many held records one statement inserts; heldCommon how many values they
// share, heldPerRecord how many each has.
const (
	auditPerInsert = 100
	heldCommon     = 8
	heldPerRecord  = 9
)

// auditInsert stores one record (outside a batch).
const auditInsert = `INSERT INTO audit (seq, time, actor, actor_key, actor_role, actor_method, action, target, target_key, before, after,
	source, reason, client_ip, outcome, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// heldInsertSQL inserts n held records: the common values are ?1..?8, each record's follow.
func heldInsertSQL(n int) string {
	return `INSERT INTO audit (actor, actor_key, actor_role, actor_method, source, reason, client_ip, outcome,
		seq, time, action, target, target_key, before, after, prev_hash, hash)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, column1, column2, column3, column4, column5, column6, column7, column8, column9
		FROM (VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ",") + `)`
}

func auditValues(r *mfa.AuditRecord) []any {
	return []any{r.Seq, r.Time.UnixMilli(), r.ActorName, strings.ToLower(r.ActorName), string(r.ActorRole),
		r.ActorMethod, r.Action, r.Target, strings.ToLower(r.Target), r.Before, r.After, r.Source, r.Reason, r.ClientIP, r.Outcome,
		r.PrevHash, r.Hash}
}

// hold adds a sealed record to the held ones, flushing first if its common fields differ.
func (w *auditWriter) hold(ctx context.Context, r *mfa.AuditRecord) error {
	key := [7]string{r.ActorName, string(r.ActorRole), r.ActorMethod, r.Source, r.Reason, r.ClientIP, r.Outcome}
	if w.heldCount > 0 && key != w.heldKey {
		if err := w.flush(ctx); err != nil {
			return err
		}
	}
	if w.heldCount == 0 {
		w.heldKey = key
		w.held = append(w.held[:0], r.ActorName, strings.ToLower(r.ActorName), string(r.ActorRole), r.ActorMethod, r.Source,
			r.Reason, r.ClientIP, r.Outcome)
	}
	w.held = append(w.held, r.Seq, r.Time.UnixMilli(), r.Action, r.Target, strings.ToLower(r.Target), r.Before, r.After,
		r.PrevHash, r.Hash)
	if w.heldCount++; w.heldCount == auditPerInsert {
		return w.flush(ctx)
	}
	return nil
}

// flush inserts the held records.
func (w *auditWriter) flush(ctx context.Context) error {
	if w.heldCount == 0 {
		return nil
	}
	var err error
	if w.heldCount == auditPerInsert {
		if w.heldStmt == nil {
			if w.heldStmt, err = w.tx.PrepareContext(ctx, heldInsertSQL(auditPerInsert)); err != nil {
				return err
			}
		}
		_, err = w.heldStmt.ExecContext(ctx, w.held...)
	} else {
		_, err = w.tx.ExecContext(ctx, heldInsertSQL(w.heldCount), w.held...)
	}
	w.held, w.heldCount = w.held[:0], 0
	return err
}

func (w *auditWriter) append(ctx context.Context, r *mfa.AuditRecord) error {
	if !w.loaded {
		err := w.tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").Scan(&w.seq, &w.prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		w.loaded = true
	}
	r.Seal(w.seq+1, w.prev)
	w.seq, w.prev = r.Seq, r.Hash
	if w.batch {
		return w.hold(ctx, r)
	}
	if w.insert == nil {
		var err error
		if w.insert, err = w.tx.PrepareContext(ctx, auditInsert); err != nil {
			return err
		}
	}
	_, err := w.insert.ExecContext(ctx, auditValues(r)...)
	return err
}

func (w *auditWriter) close() {
	if w.insert != nil {
		w.insert.Close()
	}
	if w.heldStmt != nil {
		w.heldStmt.Close()
	}
}

// appendAudit seals r after the last record and inserts it, inside tx.
func appendAudit(ctx context.Context, tx *sql.Tx, r *mfa.AuditRecord) error {
	w := newAuditWriter(tx)
	defer w.close()
	return w.append(ctx, r)
}

// AppendAudit appends a record in its own transaction.
func (d *DB) AppendAudit(ctx context.Context, r *mfa.AuditRecord) error {
	return d.inTx(ctx, func(tx *sql.Tx) error { return appendAudit(ctx, tx, r) })
}

func scanAudit(sc interface{ Scan(...any) error }) (*mfa.AuditRecord, error) {
	var r mfa.AuditRecord
	var at int64
	var role string
	if err := sc.Scan(&r.Seq, &at, &r.ActorName, &role, &r.ActorMethod, &r.Action, &r.Target, &r.Before, &r.After,
		&r.Source, &r.Reason, &r.ClientIP, &r.Outcome, &r.PrevHash, &r.Hash); err != nil {
		return nil, err
	}
	r.Time = fromMillis(at)
	r.ActorRole = mfa.Role(role)
	return &r, nil
}

// FindAudit returns a page of records, newest first, by keyset on seq.
func (d *DB) FindAudit(ctx context.Context, f mfa.AuditFilter) (*mfa.AuditPage, error) {
	var where []string
	var args []any
	if f.Target != "" {
		where, args = append(where, "target_key = ?"), append(args, strings.ToLower(f.Target))
	}
	if f.Actor != "" {
		where, args = append(where, "actor_key = ?"), append(args, strings.ToLower(f.Actor))
	}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "time < ?"), append(args, f.Until.UnixMilli())
	}
	if f.Before > 0 {
		where, args = append(where, "seq < ?"), append(args, f.Before)
	}
	q := "SELECT " + auditColumns + " FROM audit"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT ?"
	args = append(args, f.Limit+1)
	rows, err := d.db.QueryContext(ctx, q, args...)
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

// EachAudit calls fn for every record, oldest first, reading in chunks so that a long log never
// sits in memory or holds a read transaction open for long.
func (d *DB) EachAudit(ctx context.Context, fn func(*mfa.AuditRecord) error) error {
	var after int64
	for {
		rows, err := d.db.QueryContext(ctx, "SELECT "+auditColumns+" FROM audit WHERE seq > ? ORDER BY seq LIMIT 5000", after)
		if err != nil {
			return err
		}
		var chunk []*mfa.AuditRecord
		for rows.Next() {
			r, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return err
			}
			chunk = append(chunk, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
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

// UpdateUser runs fn on the user's current record inside an immediate transaction and stores the
// change and its audit record together.
func (d *DB) UpdateUser(ctx context.Context, upn string, fn mfa.UserUpdate) (*mfa.User, error) {
	var out *mfa.User
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		r, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.upn_key = ?", mfa.NormalizeUPN(upn)))
		if errors.Is(err, sql.ErrNoRows) {
			return mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", upn)
		}
		if err != nil {
			return err
		}
		u := r.user
		before := *u
		rec, err := fn(u)
		if err != nil {
			return err
		}
		if rec == nil {
			out = r.user
			return nil
		}
		if err := writeUser(ctx, tx, r.id, &before, u); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, rec); err != nil {
			return err
		}
		u.Version++
		out = u
		return nil
	})
	return out, err
}
