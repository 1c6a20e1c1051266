package main

import (
	"context"
	"log/slog"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/auditsink"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// startAuditStream copies the audit log to MFAPORTAL_AUDIT_FILE and MFAPORTAL_AUDIT_SYSLOG as
// records are written (and records written while the portal was stopped, by commands, at start).
// The returned channel closes once the last records are written after ctx ends; nil when neither
// is configured.
func startAuditStream(ctx context.Context, cfg config, db *sqlite.DB, log *slog.Logger) <-chan struct{} {
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
	go func() { s.Run(ctx); close(done) }()
	return done
}
