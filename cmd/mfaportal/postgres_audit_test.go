package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/postgres"
	"github.com/mfaportal/mfaportal/mfa/postgres/pgtest"
)

// A PostgreSQL log written before the audit key (an earlier version) verifies as the legacy chain,
// is re-chained once by the first command given the key, and then verifies under the key only.
func TestPostgresLegacyAuditLogIsRechained(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	rec := mfa.NewAuditRecord(mfa.CLIActor, mfa.SourceCLI, "", time.Now())
	rec.Action, rec.Target = mfa.AuditAccountAdd, "account:old"
	if err := db.AppendAudit(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	db.Close()
	plain := map[string]string{"MFAPORTAL_DATABASE_URL": url}
	if code, out, errs := runCLIEnv(t, plain, "", "audit", "verify"); code != 0 || !strings.Contains(out, "intact: 1 records, chain verified (SHA-256") {
		t.Fatalf("legacy log: %d %q %q", code, out, errs)
	}
	keyed := map[string]string{"MFAPORTAL_DATABASE_URL": url, "MFAPORTAL_AUDIT_KEY": testAuditKey}
	if code, _, errs := runCLIEnv(t, keyed, "", "users", "export"); code != 0 {
		t.Fatalf("export with the key: %q", errs)
	}
	if code, out, errs := runCLIEnv(t, keyed, "", "audit", "verify"); code != 0 || !strings.Contains(out, "intact: 2 records, chain verified (HMAC-SHA256") {
		t.Fatalf("re-chained log: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLIEnv(t, plain, "", "audit", "verify"); code != 1 || !strings.Contains(errs, "MFAPORTAL_AUDIT_KEY") {
		t.Fatalf("keyed log without the key: %d %q", code, errs)
	}
}
