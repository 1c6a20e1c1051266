package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// openStore opens the data folder's store with the audit key of the data folder (DATA/audit.key,
// generated on first use); commands use (*cli).openStore, which honours MFAPORTAL_AUDIT_KEY.
func openStore(ctx context.Context, data string) (*sqlite.DB, error) {
	return openKeyedStore(ctx, data, "")
}

// openKeyedStore opens the embedded directory in the data folder (created 0700) and loads the
// audit key: envKey when set, else DATA/audit.key. A log chained before the key existed is
// re-chained once (and that is recorded); a key that does not verify the log is refused.
func openKeyedStore(ctx context.Context, data, envKey string) (*sqlite.DB, error) {
	db, err := openPlainStore(ctx, data)
	if err != nil {
		return nil, err
	}
	key, err := auditKey(data, envKey)
	if err == nil {
		_, err = db.UseAuditKey(ctx, key, time.Now())
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openPlainStore opens the embedded directory in the data folder, creating the folder (0700).
func openPlainStore(ctx context.Context, data string) (*sqlite.DB, error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("data folder %s: %w", data, err)
	}
	return sqlite.Open(ctx, filepath.Join(data, "mfaportal.db"))
}

// auditKey is MFAPORTAL_AUDIT_KEY (hex or base64, at least 32 bytes), or the key generated once
// into DATA/audit.key (0600). Keep a copy of it outside the data folder, or better move it out
// into MFAPORTAL_AUDIT_KEY: whoever holds it can recompute the chain.
func auditKey(data, envKey string) ([]byte, error) {
	k, err := existingAuditKey(data, envKey)
	if k != nil || err != nil {
		return k, err
	}
	k = make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	path := filepath.Join(data, "audit.key")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // made meanwhile by another process
		return auditKey(data, "")
	}
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(f, "%x\n", k); err != nil {
		f.Close()
		return nil, err
	}
	return k, f.Close()
}

// existingAuditKey is MFAPORTAL_AUDIT_KEY, or DATA/audit.key, or nil when there is neither:
// `audit verify` must not make a key (it would call every record tampered).
func existingAuditKey(data, envKey string) ([]byte, error) {
	if envKey != "" {
		k, err := decodeAuditKey(envKey)
		if err != nil {
			return nil, mfa.Errorf(mfa.EINVALID, "MFAPORTAL_AUDIT_KEY: %v", err)
		}
		return k, nil
	}
	path := filepath.Join(data, "audit.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	k, err := decodeAuditKey(string(b))
	if err != nil {
		return nil, mfa.Errorf(mfa.EINVALID, "%s: %v", path, err)
	}
	return k, nil
}

// decodeAuditKey reads a key of at least mfa.MinAuditKeyLen bytes written in hex or base64.
func decodeAuditKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) >= mfa.MinAuditKeyLen {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) >= mfa.MinAuditKeyLen {
			return b, nil
		}
	}
	return nil, fmt.Errorf("expected at least %d bytes written in hex (%d digits) or base64", mfa.MinAuditKeyLen, 2*mfa.MinAuditKeyLen)
}
