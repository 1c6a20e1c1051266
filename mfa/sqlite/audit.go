package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.AuditLog = (*DB)(nil)

const auditColumns = `seq, time, actor, actor_key, actor_role, actor_method, action, target, target_key, before, after,
	source, reason, client_ip, outcome, prev_hash, hash`

// auditWriter appends records inside one immediate transaction (so no other writer can take the
// same sequence numbers): it reads the chain's head once and keeps it, with a prepared insert.
//
// A batch writer (bulk update) holds the sealed records back and inserts them 100 to a statement,
// the fields that are the same for all of them (actor, source, reason, ...) bound once; flush must
// run before the commit.
type auditWriter struct {
	tx     *sql.Tx
	key    []byte // the chain's key (nil: the legacy chain of a store opened without one)
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

// newAuditWriter starts appending inside tx. It refuses when the log is chained with an HMAC and
// this store was opened without the key (UseAuditKey): a record sealed without it would break
// the chain.
func (d *DB) newAuditWriter(tx *sql.Tx) (*auditWriter, error) {
	key, chain := d.auditChain()
	if key == nil && chain != mfa.AuditChainHMAC {
		// Another process sharing the file may have keyed the log since this one opened it.
		if err := tx.QueryRow("SELECT value FROM meta WHERE key = 'audit_chain'").Scan(&chain); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	if key == nil && chain == mfa.AuditChainHMAC {
		return nil, mfa.Errorf(mfa.EUNAVAILABLE, "the audit log is chained with the audit key, which this process has not loaded (MFAPORTAL_AUDIT_KEY or DATA/audit.key)")
	}
	d.audited.Store(true)
	return &auditWriter{tx: tx, key: key}, nil
}

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
	return []any{r.Seq, r.Time.UnixMilli(), r.ActorName, r.ActorKey, string(r.ActorRole),
		r.ActorMethod, r.Action, r.Target, r.TargetKey, r.Before, r.After, r.Source, r.Reason, r.ClientIP, r.Outcome,
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
		w.held = append(w.held[:0], r.ActorName, r.ActorKey, string(r.ActorRole), r.ActorMethod, r.Source,
			r.Reason, r.ClientIP, r.Outcome)
	}
	w.held = append(w.held, r.Seq, r.Time.UnixMilli(), r.Action, r.Target, r.TargetKey, r.Before, r.After,
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
	r.Seal(w.key, w.seq+1, w.prev)
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
func (d *DB) appendAudit(ctx context.Context, tx *sql.Tx, r *mfa.AuditRecord) error {
	w, err := d.newAuditWriter(tx)
	if err != nil {
		return err
	}
	defer w.close()
	return w.append(ctx, r)
}

// AppendAudit appends a record in its own transaction.
func (d *DB) AppendAudit(ctx context.Context, r *mfa.AuditRecord) error {
	return d.inTx(ctx, func(tx *sql.Tx) error { return d.appendAudit(ctx, tx, r) })
}

// scanAudit reads a record. The columns are read as whatever they hold, so that a value the
// portal never writes (text for a number, a NULL) is reported as tampering with that record.
func scanAudit(sc interface{ Scan(...any) error }) (*mfa.AuditRecord, error) {
	var v [17]any
	ptrs := make([]any, len(v))
	for i := range v {
		ptrs[i] = &v[i]
	}
	if err := sc.Scan(ptrs...); err != nil {
		return nil, err
	}
	var r mfa.AuditRecord
	seq, ok := v[0].(int64)
	if !ok {
		return nil, mfa.AuditTampered(0, "seq")
	}
	r.Seq = seq
	at, ok := v[1].(int64)
	if !ok {
		return nil, mfa.AuditTampered(seq, "time")
	}
	r.Time = fromMillis(at)
	texts := []*string{&r.ActorName, &r.ActorKey, nil, &r.ActorMethod, &r.Action, &r.Target, &r.TargetKey, &r.Before, &r.After,
		&r.Source, &r.Reason, &r.ClientIP, &r.Outcome, &r.PrevHash, &r.Hash}
	var role string
	texts[2] = &role
	names := strings.Fields("actor actor_key actor_role actor_method action target target_key before after source reason client_ip outcome prev_hash hash")
	for i, dst := range texts {
		s, ok := v[i+2].(string)
		if !ok {
			return nil, mfa.AuditTampered(seq, names[i])
		}
		*dst = s
	}
	r.ActorRole = mfa.Role(role)
	return &r, nil
}

// FindAudit returns a page of records, newest first, by keyset on seq.
func (d *DB) FindAudit(ctx context.Context, f mfa.AuditFilter) (*mfa.AuditPage, error) {
	var where []string
	var args []any
	if f.Target != "" {
		where, args = append(where, "target_key = ?"), append(args, mfa.AuditLookupKey(f.Target))
	}
	if f.Actor != "" {
		where, args = append(where, "actor_key = ?"), append(args, mfa.AuditLookupKey(f.Actor))
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

// EachAudit calls fn for every record after seq after, oldest first, reading in chunks so that a
// long log never sits in memory or holds a read transaction open for long.
func (d *DB) EachAudit(ctx context.Context, after int64, fn func(*mfa.AuditRecord) error) error {
	for {
		chunk, scanErr := auditChunk(ctx, d.db, after)
		for _, r := range chunk {
			if err := fn(r); err != nil {
				return err
			}
			after = r.Seq
		}
		// A record that cannot be read is reported after the good ones before it, so that a
		// break earlier in the chain is named first.
		if scanErr != nil || len(chunk) < 5000 {
			return scanErr
		}
	}
}

// auditChunk reads up to 5,000 records after seq after; with a record that cannot be read, the
// ones before it and the error.
func auditChunk(ctx context.Context, q querier, after int64) ([]*mfa.AuditRecord, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+auditColumns+" FROM audit WHERE seq > ? ORDER BY seq LIMIT 5000", after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var chunk []*mfa.AuditRecord
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return chunk, err
		}
		chunk = append(chunk, r)
	}
	return chunk, rows.Err()
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
		if err := d.appendAudit(ctx, tx, rec); err != nil {
			return err
		}
		u.Version++
		out = u
		return nil
	})
	return out, err
}
