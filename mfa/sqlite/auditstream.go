package sqlite

import (
	"context"
	"strconv"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.AuditPositions = (*DB)(nil)

// AuditStreamed returns how far the audit stream sink has been written (meta audit_stream:NAME).
func (d *DB) AuditStreamed(ctx context.Context, sink string) (int64, error) {
	v, err := d.Meta(ctx, "audit_stream:"+sink)
	if err != nil || v == "" {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// SetAuditStreamed moves a sink's position from old to new, if nobody moved it meanwhile.
func (d *DB) SetAuditStreamed(ctx context.Context, sink string, old, new int64) (bool, error) {
	key := "audit_stream:" + sink
	res, err := d.db.ExecContext(ctx, "UPDATE meta SET value = ? WHERE key = ? AND value = ?", strconv.FormatInt(new, 10), key, strconv.FormatInt(old, 10))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	if old != 0 {
		return false, nil
	}
	res, err = d.db.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, strconv.FormatInt(new, 10))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
