package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// The audit chain's key (SPEC §9) is kept outside the database, so each replica is given it
// (MFAPORTAL_AUDIT_KEY). The database keeps how the log is chained (meta audit_chain) and an id of
// the key (meta audit_key_id, mfa.AuditKeyID), so that a replica given another key is refused at
// its start even before the log has a record: two keys would break the one chain the replicas
// append to.

// metaIn reads a value of the meta table inside a transaction, "" if unset.
func metaIn(ctx context.Context, q querier, key string) (string, error) {
	var v string
	err := q.QueryRow(ctx, "SELECT value FROM meta WHERE key = $1", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func setMetaIn(ctx context.Context, q querier, key, value string) error {
	_, err := q.Exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return err
}

// UseAuditKey makes the store seal audit records with HMAC-SHA256 under key (at least
// mfa.MinAuditKeyLen bytes), in one transaction holding the audit lock (so no replica appends
// meanwhile). A key other than the one the log was first keyed with is refused, as is one under
// which the newest record does not verify. A log chained the legacy way (SHA-256 without a key,
// by an earlier version) is re-chained once: the old chain checked, each record given its HMAC,
// and the re-chaining recorded (mfa.AuditRechain) with what the check found. It answers how many
// records were re-chained.
func (d *DB) UseAuditKey(ctx context.Context, key []byte, now time.Time) (int64, error) {
	if len(key) < mfa.MinAuditKeyLen {
		return 0, fmt.Errorf("the audit key must be at least %d bytes, found %d", mfa.MinAuditKeyLen, len(key))
	}
	var rechained int64
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", auditLock); err != nil {
			return err
		}
		id, err := metaIn(ctx, tx, "audit_key_id")
		if err != nil {
			return err
		}
		if id != "" && id != mfa.AuditKeyID(key) {
			return mfa.Errorf(mfa.EINVALID, "the audit key does not match the audit log: it is not the key the log was first chained with. "+
				"Give every replica the same MFAPORTAL_AUDIT_KEY")
		}
		chain, err := metaIn(ctx, tx, "audit_chain")
		if err != nil {
			return err
		}
		if chain == mfa.AuditChainHMAC {
			if err := checkHead(ctx, tx, key); err != nil {
				return err
			}
		} else if id != "" {
			return mfa.ErrAuditMarkedLegacy
		} else if rechained, err = d.rechain(ctx, tx, key, now); err != nil {
			return err
		}
		if err := setMetaIn(ctx, tx, "audit_chain", mfa.AuditChainHMAC); err != nil {
			return err
		}
		return setMetaIn(ctx, tx, "audit_key_id", mfa.AuditKeyID(key))
	})
	if err != nil {
		return 0, err
	}
	d.auditKey = key
	return rechained, nil
}

// AuditKey is the key UseAuditKey set, nil before.
func (d *DB) AuditKey() []byte { return d.auditKey }

// AuditChain is how the log is chained: mfa.AuditChainHMAC once a key was used on it, "" (the
// legacy SHA-256 chain) before.
func (d *DB) AuditChain(ctx context.Context) (string, error) {
	return metaIn(ctx, d.pool, "audit_chain")
}

// checkHead verifies the newest record's HMAC under key.
func checkHead(ctx context.Context, tx pgx.Tx, key []byte) error {
	r, err := scanAudit(tx.QueryRow(ctx, "SELECT "+auditColumns+" FROM audit ORDER BY seq DESC LIMIT 1"))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.ComputeHash(key) != r.Hash {
		return mfa.Errorf(mfa.EINVALID, "the audit key does not match the audit log: the newest record (%d) does not verify under it. "+
			"Use the key the log was written with (MFAPORTAL_AUDIT_KEY), or run `mfaportal audit verify` to look for tampering", r.Seq)
	}
	return nil
}

// rechain seals every record again under key, oldest first, a chunk a statement, after checking the
// legacy chain, and appends the record of it. The append-only trigger is off for this transaction
// only (its lock keeps every other writer out meanwhile).
func (d *DB) rechain(ctx context.Context, tx pgx.Tx, key []byte, now time.Time) (int64, error) {
	var empty bool
	if err := tx.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM audit)").Scan(&empty); err != nil || empty {
		return 0, err
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE audit DISABLE TRIGGER audit_no_change"); err != nil {
		return 0, err
	}
	legacy := mfa.ChainVerifier{}
	var broken error
	var n, after int64
	var prev, oldHead string
	for {
		rows, err := tx.Query(ctx, "SELECT "+auditColumns+" FROM audit WHERE seq > $1 ORDER BY seq LIMIT 5000", after)
		if err != nil {
			return 0, err
		}
		chunk, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mfa.AuditRecord, error) { return scanAudit(r) })
		if err != nil {
			return 0, err
		}
		var seqs []int64
		var actorKeys, targetKeys, prevs, hashes []string
		for _, r := range chunk {
			if broken == nil {
				broken = legacy.Check(r)
			}
			oldHead = r.Hash
			r.Seal(key, r.Seq, prev)
			seqs, actorKeys, targetKeys = append(seqs, r.Seq), append(actorKeys, r.ActorKey), append(targetKeys, r.TargetKey)
			prevs, hashes = append(prevs, r.PrevHash), append(hashes, r.Hash)
			prev, after = r.Hash, r.Seq
		}
		if _, err := tx.Exec(ctx, `UPDATE audit a SET actor_key = v.ak, target_key = v.tk, prev_hash = v.p, hash = v.h
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS v (seq, ak, tk, p, h) WHERE a.seq = v.seq`,
			seqs, actorKeys, targetKeys, prevs, hashes); err != nil {
			return 0, err
		}
		n += int64(len(chunk))
		if len(chunk) < 5000 {
			break
		}
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE audit ENABLE TRIGGER audit_no_change"); err != nil {
		return 0, err
	}
	rec := mfa.NewAuditRecord(mfa.SystemActor, mfa.SourceSystem, "", now)
	rec.Action, rec.Target = mfa.AuditRechain, "audit"
	rec.Before = fmt.Sprintf("%d records chained with SHA-256 (no key); newest hash %s", n, oldHead)
	rec.After = "chained with HMAC-SHA256 under the audit key; the SHA-256 chain was intact"
	if broken != nil {
		rec.After = "chained with HMAC-SHA256 under the audit key; the SHA-256 chain was already broken: " + mfa.ErrorMessage(broken)
		rec.Outcome = mfa.OutcomeFailed
	}
	keyed := &DB{pool: d.pool, auditKey: key}
	return n, keyed.appendAudit(ctx, tx, []*mfa.AuditRecord{&rec})
}
