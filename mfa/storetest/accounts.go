package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func testAccountsAndSessions(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	a := &mfa.Account{Name: "Helen", Role: mfa.RoleHelpdesk, PasswordHash: "h1", CreatedAt: T0, UpdatedAt: T0}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAccount(ctx, &mfa.Account{Name: "HELEN", Role: mfa.RoleReader, PasswordHash: "x", CreatedAt: T0, UpdatedAt: T0}); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("same name in other case: %v", err)
	}
	db.CreateAccount(ctx, &mfa.Account{Name: "abe", Role: mfa.RoleReader, PasswordHash: "h2", CreatedAt: T0, UpdatedAt: T0})
	got, err := db.FindAccount(ctx, "helen")
	if err != nil || got.Name != "Helen" || got.Role != mfa.RoleHelpdesk || got.PasswordHash != "h1" || !got.CreatedAt.Equal(T0) {
		t.Fatalf("find: %+v %v", got, err)
	}
	if list, err := db.ListAccounts(ctx); err != nil || len(list) != 2 || list[0].Name != "abe" || list[1].Name != "Helen" {
		t.Fatalf("list: %v %v", list, err)
	}
	session := func(id, account string, created, seen time.Time) {
		t.Helper()
		if err := db.CreateSession(ctx, &mfa.Session{ID: id, Account: account, Role: mfa.RoleHelpdesk, Method: "local", CreatedAt: created, LastSeenAt: seen}); err != nil {
			t.Fatal(err)
		}
	}
	session("s1", "Helen", T0, T0)
	session("s2", "abe", T0, T0)
	s, err := db.FindSession(ctx, "s1")
	if err != nil || s.Account != "Helen" || s.Role != mfa.RoleHelpdesk || s.Method != "local" || !s.CreatedAt.Equal(T0) {
		t.Fatalf("session: %+v %v", s, err)
	}
	if err := db.TouchSession(ctx, "s1", T0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if s, _ := db.FindSession(ctx, "s1"); !s.LastSeenAt.Equal(T0.Add(time.Minute)) {
		t.Fatalf("touched: %v", s.LastSeenAt)
	}
	// A new password ends the account's sessions (whatever the case of its name), not others'.
	if err := db.UpdateAccountPassword(ctx, "HELEN", "h3", T0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindSession(ctx, "s1"); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatalf("session after a new password: %v", err)
	}
	if _, err := db.FindSession(ctx, "s2"); err != nil {
		t.Fatalf("another account's session: %v", err)
	}
	// Enrolling or removing an authenticator is not a new password: the accounts list's "password
	// changed" stays the password's time.
	for _, secret := range []string{"JBSWY3DPEHPK3PXP", ""} {
		if err := db.SetAccountTOTP(ctx, "Helen", secret, T0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if a, err := db.FindAccount(ctx, "helen"); err != nil || !a.UpdatedAt.Equal(T0.Add(time.Hour)) {
			t.Fatalf("password changed at %v after an authenticator change (%v), want %v", a.UpdatedAt, err, T0.Add(time.Hour))
		}
	}
	// Enrolling never replaces an app (the one enrolled meanwhile by another sign-in): removing
	// it comes first.
	if err := db.SetAccountTOTP(ctx, "Helen", "JBSWY3DPEHPK3PXP", T0); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAccountTOTP(ctx, "HELEN", "KRSXG5CTMVRXEZLU", T0); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("enrolling over an app: %v", err)
	}
	if s, _, err := db.AccountTOTP(ctx, "helen"); s != "JBSWY3DPEHPK3PXP" || err != nil {
		t.Fatalf("the app after an enrolment over it: %q %v", s, err)
	}
	if err := db.SetAccountTOTP(ctx, "nobody", "KRSXG5CTMVRXEZLU", T0); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatalf("enrolling nobody: %v", err)
	}
	if err := db.SetAccountTOTP(ctx, "Helen", "", T0); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateAccountPassword(ctx, "nobody", "x", T0); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatalf("password of nobody: %v", err)
	}
	session("s3", "Helen", T0, T0)
	if err := db.DeleteAccount(ctx, "helen"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindSession(ctx, "s3"); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatalf("session of a removed account: %v", err)
	}
	if err := db.DeleteAccount(ctx, "helen"); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Fatalf("remove twice: %v", err)
	}
	// Expiry: idle since before, or created before.
	session("old", "abe", T0.Add(-24*time.Hour), T0)
	session("idle", "abe", T0, T0.Add(-2*time.Hour))
	if n, err := db.DeleteExpiredSessions(ctx, T0.Add(-time.Hour), T0.Add(-12*time.Hour)); err != nil || n != 2 {
		t.Fatalf("expired: %d %v", n, err)
	}
	if err := db.DeleteSession(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSession(ctx, "s2"); err != nil {
		t.Fatalf("delete a missing session: %v", err)
	}
}

func testTokens(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Tokens: db, Audit: db, Settings: db, Jobs: db, Now: func() time.Time { return T0 }})
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
	tok, err := svc.AuthenticateToken(ctx, secret)
	if err != nil || tok.Name != "ci" || tok.Role != mfa.RoleAuthAdmin || !tok.LastUsedAt.Equal(T0) || tok.Hash != mfa.HashToken(secret) {
		t.Fatalf("authenticate: %+v %v", tok, err)
	}
	list, err := svc.ListTokens(ctx, mfa.CLIActor)
	if err != nil || len(list) != 2 || list[0].Name != "another" || !list[0].LastUsedAt.IsZero() || !list[1].LastUsedAt.Equal(T0) ||
		!list[1].CreatedAt.Equal(T0) || list[1].CreatedBy != "cli" {
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

func testMeta(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	if v, err := db.Meta(ctx, "directory"); err != nil || v != "" {
		t.Fatalf("unset: %q %v", v, err)
	}
	db.SetMeta(ctx, "directory", "embedded")
	db.SetMeta(ctx, "directory", "graph")
	if v, err := db.Meta(ctx, "directory"); err != nil || v != "graph" {
		t.Fatalf("set twice: %q %v", v, err)
	}
	// Several removed at once, those not there ignored; 600 at once (more than one SQL statement's
	// share of bound values).
	var many []string
	for i := range 600 {
		many = append(many, fmt.Sprintf("k%d", i))
		db.SetMeta(ctx, many[i], "v")
	}
	if err := db.DeleteMeta(ctx, append(many[:599:599], "directory", "missing")...); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"k0": "", "k598": "", "directory": "", "k599": "v"} {
		if v, err := db.Meta(ctx, k); err != nil || v != want {
			t.Errorf("%s after DeleteMeta: %q %v, want %q", k, v, err, want)
		}
	}
	if err := db.DeleteMeta(ctx); err != nil {
		t.Errorf("nothing to delete: %v", err)
	}
}
