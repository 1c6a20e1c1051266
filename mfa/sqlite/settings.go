package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.SettingsStore = (*DB)(nil)

// Capabilities: the embedded directory applies every setting itself.
func (d *DB) Capabilities() mfa.Capabilities { return mfa.AllCapabilities() }

func loadSettings(ctx context.Context, q querier) (mfa.Settings, error) {
	var doc string
	err := q.QueryRowContext(ctx, "SELECT document FROM service_settings WHERE id = 1").Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
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

// LoadSettings returns the saved settings, or the defaults.
func (d *DB) LoadSettings(ctx context.Context) (mfa.Settings, error) { return loadSettings(ctx, d.db) }

// SaveSettings stores the settings fn returns, with its audit record, in one transaction.
func (d *DB) SaveSettings(ctx context.Context, fn func(mfa.Settings) (mfa.Settings, *mfa.AuditRecord, error)) (mfa.Settings, error) {
	var out mfa.Settings
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := loadSettings(ctx, tx)
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_settings (id, document, version) VALUES (1, ?, 1)
			ON CONFLICT (id) DO UPDATE SET document = excluded.document, version = version + 1`, string(doc)); err != nil {
			return err
		}
		if err := d.appendAudit(ctx, tx, rec); err != nil {
			return err
		}
		out = next
		return nil
	})
	return out, err
}
