package main

import (
	"context"
	"log/slog"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/auditsink"
)

// auditStore is a store whose audit log can be streamed: its records, the sinks' positions, and a
// wake-up after each commit that appended records.
type auditStore interface {
	mfa.AuditLog
	mfa.AuditPositions
	OnAudited(fn func())
}

// startAuditStream copies the audit log to MFAPORTAL_AUDIT_FILE and MFAPORTAL_AUDIT_SYSLOG as
// records are written (and records written while the portal was stopped, by commands, at start).
// One replica of those sharing a store writes the stream at a time, the holder of its lease; the
// positions are in the store, so another goes on from there (a sink all replicas reach — syslog,
// or a file on shared storage — then gets every record). The returned channel closes once the
// last records are written after ctx ends; nil when neither is configured.
func startAuditStream(ctx context.Context, cfg config, db auditStore, holder *mfa.LeaseHolder, log *slog.Logger) <-chan struct{} {
	var sinks []mfa.AuditSink
	if cfg.AuditFile != "" {
		sinks = append(sinks, auditsink.File{Path: cfg.AuditFile})
	}
	if cfg.AuditSyslog != "" {
		sinks = append(sinks, &auditsink.Syslog{Target: cfg.AuditSyslog})
	}
	if len(sinks) == 0 {
		return nil
	}
	s := &mfa.AuditStreamer{Log: db, Positions: db, Sinks: sinks, OnError: func(sink string, err error) {
		if err != nil {
			log.Error("the audit stream cannot be written; records are kept and written when it works again", "sink", sink, "err", err)
		} else {
			log.Info("the audit stream is written again", "sink", sink)
		}
	}}
	db.OnAudited(s.Wake)
	done := make(chan struct{})
	go func() { holder.Hold(ctx, s.Run); close(done) }()
	return done
}
