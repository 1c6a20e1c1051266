package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// Capabilities: the embedded directory applies every setting itself.
func (d *DB) Capabilities() mfa.Capabilities { return mfa.AllCapabilities() }

// loadSettings reads the settings; lock takes the row (or, before the first save, the table's
// insert) for the transaction, so that two replicas saving at once apply one after the other.
func loadSettings(ctx context.Context, q querier, lock bool) (mfa.Settings, error) {
	sql := "SELECT document FROM service_settings WHERE id = 1"
	if lock {
		if _, err := q.Exec(ctx, "INSERT INTO service_settings (id, document, version) VALUES (1, '', 0) ON CONFLICT (id) DO NOTHING"); err != nil {
			return mfa.Settings{}, err
		}
		sql += " FOR UPDATE"
	}
	var doc string
	err := q.QueryRow(ctx, sql).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) || doc == "" {
		return mfa.DefaultSettings(), nil
	}
	if err != nil {
		return mfa.Settings{}, err
	}
	s := mfa.DefaultSettings()
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		return mfa.Settings{}, err
	}
	return s, nil
}

// LoadSettings returns the saved settings, or the defaults. Every call reads the database: a
// change saved on one replica is what the next request on any replica sees.
func (d *DB) LoadSettings(ctx context.Context) (mfa.Settings, error) {
	return loadSettings(ctx, d.pool, false)
}

// SaveSettings stores the settings fn returns, with its audit record, in one transaction.
func (d *DB) SaveSettings(ctx context.Context, fn func(mfa.Settings) (mfa.Settings, *mfa.AuditRecord, error)) (mfa.Settings, error) {
	var out mfa.Settings
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := loadSettings(ctx, tx, true)
		if err != nil {
			return err
		}
		next, rec, err := fn(cur)
		if err != nil {
			return err
		}
		if rec == nil {
			out = cur
			return nil
		}
		doc, err := json.Marshal(next)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE service_settings SET document = $1, version = version + 1 WHERE id = 1", string(doc)); err != nil {
			return err
		}
		if err := d.appendAudit(ctx, tx, []*mfa.AuditRecord{rec}); err != nil {
			return err
		}
		out = next
		return nil
	})
	return out, err
}
