package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// auditChain is the key records are sealed with and how the log is chained.
func (d *DB) auditChain() ([]byte, string) {
	d.auditMu.RLock()
	defer d.auditMu.RUnlock()
	return d.auditKey, d.chain
}

// AuditKey is the key UseAuditKey loaded, nil before.
func (d *DB) AuditKey() []byte {
	key, _ := d.auditChain()
	return key
}

// AuditChain is how the log is chained: mfa.AuditChainHMAC once UseAuditKey has run on it, ""
// (the legacy SHA-256 chain) before.
func (d *DB) AuditChain() string {
	_, chain := d.auditChain()
	return chain
}

// OnAudited sets fn to be called after each commit that appended audit records (the audit
// stream's wake-up). fn must not block.
func (d *DB) OnAudited(fn func()) { d.onAudited.Store(&fn) }

func (d *DB) notifyAudited() {
	if d.audited.Swap(false) {
		if fn := d.onAudited.Load(); fn != nil {
			(*fn)()
		}
	}
}

// The triggers that keep the audit table append-only (002_audit.sql), dropped and made again
// around the one re-chaining.
const (
	auditTriggersDrop   = `DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;`
	auditTriggersCreate = `CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;`
)

// UseAuditKey makes the store seal audit records with HMAC-SHA256 under key (at least
// mfa.MinAuditKeyLen bytes). A log chained the legacy way (SHA-256, no key) is re-chained once,
// in one transaction: the old chain is checked first, each record gets its HMAC, and the
// re-chaining is itself recorded (mfa.AuditRechain) with what the check found. For a log already
// chained with an HMAC, the newest record must verify under key: a wrong key is refused before
// any record is chained onto a head it cannot prove. It answers how many records were re-chained.
func (d *DB) UseAuditKey(ctx context.Context, key []byte, now time.Time) (int64, error) {
	if len(key) < mfa.MinAuditKeyLen {
		return 0, fmt.Errorf("the audit key must be at least %d bytes, found %d", mfa.MinAuditKeyLen, len(key))
	}
	var rechained int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var chain, id string
		if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'audit_chain'").Scan(&chain); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// The id of the key the log was first chained with (an HMAC of a fixed text, which does
		// not reveal it): another key is refused even before the log has a record.
		if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'audit_key_id'").Scan(&id); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if id != "" && id != mfa.AuditKeyID(key) {
			return mfa.Errorf(mfa.EINVALID, "the audit key does not match the audit log: it is not the key the log was first chained with. "+
				"Use the key the log was written with (MFAPORTAL_AUDIT_KEY, or DATA/audit.key)")
		}
		if chain == mfa.AuditChainHMAC {
			if err := checkHead(ctx, tx, key); err != nil {
				return err
			}
		} else if id != "" {
			return mfa.ErrAuditMarkedLegacy
		} else {
			var err error
			if rechained, err = rechain(ctx, tx, key, now); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('audit_chain', ?), ('audit_key_id', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, mfa.AuditChainHMAC, mfa.AuditKeyID(key))
		return err
	})
	if err != nil {
		return 0, err
	}
	d.auditMu.Lock()
	d.auditKey, d.chain = key, mfa.AuditChainHMAC
	d.auditMu.Unlock()
	return rechained, nil
}

// checkHead verifies the newest record's HMAC under key.
func checkHead(ctx context.Context, tx *sql.Tx, key []byte) error {
	r, err := scanAudit(tx.QueryRowContext(ctx, "SELECT "+auditColumns+" FROM audit ORDER BY seq DESC LIMIT 1"))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.ComputeHash(key) != r.Hash {
		return mfa.Errorf(mfa.EINVALID, "the audit key does not match the audit log: the newest record (%d) does not verify under it. "+
			"Use the key the log was written with (MFAPORTAL_AUDIT_KEY, or DATA/audit.key), or run `mfaportal audit verify` to look for tampering", r.Seq)
	}
	return nil
}

// rechain seals every record again under key, oldest first, after checking the legacy chain, and
// appends the record of it.
func rechain(ctx context.Context, tx *sql.Tx, key []byte, now time.Time) (int64, error) {
	if _, err := tx.ExecContext(ctx, auditTriggersDrop); err != nil {
		return 0, err
	}
	update, err := tx.PrepareContext(ctx, "UPDATE audit SET actor_key = ?, target_key = ?, prev_hash = ?, hash = ? WHERE seq = ?")
	if err != nil {
		return 0, err
	}
	defer update.Close()
	legacy := mfa.ChainVerifier{}
	var broken error
	var n, after int64
	var prev, oldHead string
	for {
		chunk, scanErr := auditChunk(ctx, tx, after)
		for _, r := range chunk {
			if broken == nil {
				broken = legacy.Check(r)
			}
			oldHead = r.Hash
			r.Seal(key, r.Seq, prev)
			if _, err := update.ExecContext(ctx, r.ActorKey, r.TargetKey, r.PrevHash, r.Hash, r.Seq); err != nil {
				return 0, err
			}
			prev, after = r.Hash, r.Seq
			n++
		}
		if scanErr != nil {
			return 0, fmt.Errorf("re-chaining the audit log: %s (the log is left as it was)", mfa.ErrorMessage(scanErr))
		}
		if len(chunk) < 5000 {
			break
		}
	}
	if _, err := tx.ExecContext(ctx, auditTriggersCreate); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	rec := mfa.NewAuditRecord(mfa.SystemActor, mfa.SourceSystem, "", now)
	rec.Action, rec.Target = mfa.AuditRechain, "audit"
	rec.Before = fmt.Sprintf("%d records chained with SHA-256 (no key); newest hash %s", n, oldHead)
	rec.After = "chained with HMAC-SHA256 under the audit key; the SHA-256 chain was intact"
	if broken != nil {
		rec.After = "chained with HMAC-SHA256 under the audit key; the SHA-256 chain was already broken: " + mfa.ErrorMessage(broken)
		rec.Outcome = mfa.OutcomeFailed
	}
	w := &auditWriter{tx: tx, key: key}
	defer w.close()
	return n, w.append(ctx, &rec)
}
