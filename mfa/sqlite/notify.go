package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.NotifyStore = (*DB)(nil)

// NotifyTemplate returns the saved notification template, or the default.
func (d *DB) NotifyTemplate(ctx context.Context) (mfa.NotifyTemplate, error) {
	var t mfa.NotifyTemplate
	err := d.db.QueryRowContext(ctx, "SELECT subject, body, version FROM notify_template WHERE id = 1").Scan(&t.Subject, &t.Body, &t.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return mfa.DefaultNotifyTemplate, nil
	}
	return t, err
}

// SaveNotifyTemplate stores the template if its version is still t.Version, with its audit record.
func (d *DB) SaveNotifyTemplate(ctx context.Context, t mfa.NotifyTemplate, rec *mfa.AuditRecord) (int64, error) {
	var v int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT version FROM notify_template WHERE id = 1").Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if v != t.Version {
			return mfa.Errorf(mfa.ECONFLICT, "the template was changed by someone else meanwhile: reload the page and make your change again")
		}
		v++
		if _, err := tx.ExecContext(ctx, `INSERT INTO notify_template (id, subject, body, version) VALUES (1, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET subject = excluded.subject, body = excluded.body, version = excluded.version`,
			t.Subject, t.Body, v); err != nil {
			return err
		}
		return d.appendAudit(ctx, tx, rec)
	})
	return v, err
}
