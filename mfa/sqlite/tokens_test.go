package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func TestTokens(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Tokens: db, Audit: db, Settings: db, Jobs: db, Now: func() time.Time { return t0 }})
	secret, _, err := svc.CreateToken(ctx, mfa.CLIActor, "ci", mfa.RoleAuthAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateToken(ctx, mfa.CLIActor, "CI", mfa.RoleReader); mfa.ErrorCode(err) != mfa.EINVALID || mfa.ErrorField(err) != "name" {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, _, err := svc.CreateToken(ctx, mfa.CLIActor, "another", mfa.RoleReader); err != nil {
		t.Fatal(err)
	}
	// The file holds the hash, never the token.
	var n int
	db.db.QueryRowContext(ctx, "SELECT count(*) FROM tokens WHERE hash = ? AND instr(hash, ?) = 0", mfa.HashToken(secret), secret[5:]).Scan(&n)
	if n != 1 {
		t.Fatal("the token's hash is not stored as expected")
	}
	tok, err := svc.AuthenticateToken(ctx, secret)
	if err != nil || tok.Name != "ci" || tok.Role != mfa.RoleAuthAdmin || !tok.LastUsedAt.Equal(t0) {
		t.Fatalf("authenticate: %+v %v", tok, err)
	}
	list, err := svc.ListTokens(ctx, mfa.CLIActor)
	if err != nil || len(list) != 2 || list[0].Name != "another" || !list[0].LastUsedAt.IsZero() || !list[1].LastUsedAt.Equal(t0) ||
		!list[1].CreatedAt.Equal(t0) || list[1].CreatedBy != "cli" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := svc.RevokeToken(ctx, mfa.CLIActor, "CI"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateToken(ctx, secret); mfa.ErrorCode(err) != mfa.EUNAUTHORIZED {
		t.Fatalf("revoked: %v", err)
	}
	if err := db.DeleteToken(ctx, "ci"); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatalf("delete twice: %v", err)
	}
	page, _ := db.FindAudit(ctx, mfa.AuditFilter{Target: "token:ci", Limit: 10})
	if len(page.Records) != 2 || page.Records[0].Action != mfa.AuditTokenRevoke || page.Records[1].Action != mfa.AuditTokenCreate {
		t.Fatalf("audit: %+v", page.Records)
	}
}

// The schema version is the number in the last migration's file name, so that a number left free
// by a migration written elsewhere does not shift the others.
func TestMigrationsAreNumberedByFileName(t *testing.T) {
	all, err := embeddedMigrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range all {
		if i > 0 && m.version <= all[i-1].version {
			t.Fatalf("migrations out of order: %+v", all)
		}
	}
	path := filepath.Join(t.TempDir(), "mfaportal.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	db.db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != all[len(all)-1].version {
		t.Fatalf("user_version %d, want %d", v, all[len(all)-1].version)
	}
	db.Close()
	// Opening again applies nothing; a newer schema is refused.
	if db, err = Open(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, _ := sql.Open("sqlite", path)
	raw.Exec("PRAGMA user_version = 999")
	raw.Close()
	if _, err := Open(context.Background(), path); err == nil || !strings.Contains(err.Error(), "newer mfaportal") {
		t.Fatalf("newer schema: %v", err)
	}
}
