// Package auditsink writes the audit log's records outside the database as they are written
// (SPEC §9): JSON lines appended to a file, and syslog, local (log/syslog) or RFC 5424 over UDP or
// TCP. Each is an mfa.AuditSink driven by mfa.AuditStreamer.
package auditsink

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"syscall"

	"github.com/mfaportal/mfaportal/mfa"
)

// File appends records as JSON lines (one mfa.AuditRecord each) to a file, created 0600. Each
// write opens the file anew (so a rotated file is followed), holds an exclusive lock while it
// appends (so two processes never interleave lines), and syncs before it returns.
type File struct{ Path string }

var _ mfa.AuditSink = File{}

// Name is "file:" and the path.
func (f File) Name() string { return "file:" + f.Path }

// WriteAudit appends the records.
func (f File) WriteAudit(records []*mfa.AuditRecord) error {
	fh, err := os.OpenFile(f.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", f.Path, err)
	}
	w := bufio.NewWriterSize(fh, 64<<10)
	enc := json.NewEncoder(w)
	for _, r := range records {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return fh.Sync()
}
