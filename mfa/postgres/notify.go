package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.NotifyStore = (*DB)(nil)

// NotifyTemplate returns the saved notification template, or the default.
func (d *DB) NotifyTemplate(ctx context.Context) (mfa.NotifyTemplate, error) {
	var t mfa.NotifyTemplate
	err := d.pool.QueryRow(ctx, "SELECT subject, body, version FROM notify_template WHERE id = 1").Scan(&t.Subject, &t.Body, &t.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return mfa.DefaultNotifyTemplate, nil
	}
	return t, err
}

// SaveNotifyTemplate stores the template if its version is still t.Version, with its audit record.
// The row (or, before the first save, the insert of it) is locked for the transaction, so that of
// two replicas saving from the same version one wins and the other is told.
func (d *DB) SaveNotifyTemplate(ctx context.Context, t mfa.NotifyTemplate, rec *mfa.AuditRecord) (int64, error) {
	var v int64
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO notify_template (id, subject, body, version) VALUES (1, '', '', 0) ON CONFLICT (id) DO NOTHING"); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT version FROM notify_template WHERE id = 1 FOR UPDATE").Scan(&v); err != nil {
			return err
		}
		if v != t.Version {
			return mfa.Errorf(mfa.ECONFLICT, "the template was changed by someone else meanwhile: reload the page and make your change again")
		}
		v++
		if _, err := tx.Exec(ctx, "UPDATE notify_template SET subject = $1, body = $2, version = $3 WHERE id = 1", t.Subject, t.Body, v); err != nil {
			return err
		}
		return d.appendAudit(ctx, tx, []*mfa.AuditRecord{rec})
	})
	return v, err
}
