package postgres

import (
	"context"
	"strconv"
)

// The audit stream's positions (mfa.AuditPositions), in the meta table as audit_stream:SINK, shared
// by the replicas: the one that holds the stream's lease writes, and another goes on from there.

// AuditStreamed returns how far the audit stream sink has been written.
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
	tag, err := d.pool.Exec(ctx, "UPDATE meta SET value = $1 WHERE key = $2 AND value = $3", strconv.FormatInt(new, 10), key, strconv.FormatInt(old, 10))
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	if old != 0 {
		return false, nil
	}
	tag, err = d.pool.Exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", key, strconv.FormatInt(new, 10))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// OnAudited sets fn to be called after each commit of this process that appended audit records
// (the audit stream's wake-up; records other replicas append are read at its next tick). fn must
// not block.
func (d *DB) OnAudited(fn func()) { d.onAudited.Store(&fn) }

func (d *DB) notifyAudited() {
	if d.audited.Swap(false) {
		if fn := d.onAudited.Load(); fn != nil {
			(*fn)()
		}
	}
}
