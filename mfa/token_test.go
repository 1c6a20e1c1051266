package mfa

import (
	"context"
	"strings"
	"testing"
	"time"
)

// memTokens is an in-memory TokenStore for the service's tests (mfa/sqlite tests the real one).
type memTokens struct{ byName map[string]*Token }

func (m *memTokens) CreateToken(_ context.Context, t *Token) error {
	if _, ok := m.byName[strings.ToLower(t.Name)]; ok {
		return Errorf(ECONFLICT, "taken")
	}
	c := *t
	m.byName[strings.ToLower(t.Name)] = &c
	return nil
}

func (m *memTokens) FindTokenByHash(_ context.Context, hash string) (*Token, error) {
	for _, t := range m.byName {
		if t.Hash == hash {
			c := *t
			return &c, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "no token")
}

func (m *memTokens) TouchToken(_ context.Context, name string, at time.Time) error {
	if t, ok := m.byName[strings.ToLower(name)]; ok {
		t.LastUsedAt = at
	}
	return nil
}

func (m *memTokens) DeleteToken(_ context.Context, name string) error {
	if _, ok := m.byName[strings.ToLower(name)]; !ok {
		return Errorf(ENOTFOUND, "no token")
	}
	delete(m.byName, strings.ToLower(name))
	return nil
}

func (m *memTokens) ListTokens(context.Context) ([]*Token, error) {
	var out []*Token
	for _, t := range m.byName {
		c := *t
		out = append(out, &c)
	}
	return out, nil
}

// memAudit records appended audit records.
type memAudit struct{ records []*AuditRecord }

func (m *memAudit) AppendAudit(_ context.Context, r *AuditRecord) error {
	m.records = append(m.records, r)
	return nil
}
func (m *memAudit) FindAudit(context.Context, AuditFilter) (*AuditPage, error) {
	return &AuditPage{}, nil
}
func (m *memAudit) EachAudit(context.Context, int64, func(*AuditRecord) error) error { return nil }

func TestTokenLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	store, audit := &memTokens{byName: map[string]*Token{}}, &memAudit{}
	svc := &Service{Deps: Deps{Tokens: store, Audit: audit, Now: func() time.Time { return now }}}
	admin := Actor{Name: "admin", Role: RoleGlobalAdmin, Method: "local", IP: "192.0.2.1"}

	secret, tok, err := svc.CreateToken(ctx, admin, " ci-bot ", "HELPDESK")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) != len(TokenPrefix)+43 || tok.Name != "ci-bot" || tok.Role != RoleHelpdesk {
		t.Fatalf("created %q %+v", secret, tok)
	}
	// Only the hash is stored, and it is not the secret.
	stored := store.byName["ci-bot"]
	if stored.Hash != HashToken(secret) || strings.Contains(stored.Hash, secret[len(TokenPrefix):]) || stored.CreatedBy != "admin" {
		t.Fatalf("stored %+v", stored)
	}
	if s2, _ := NewTokenSecret(); s2 == secret {
		t.Fatal("two tokens are equal")
	}
	if len(audit.records) != 1 || audit.records[0].Action != AuditTokenCreate || audit.records[0].Target != "token:ci-bot" ||
		audit.records[0].After != "helpdesk" || audit.records[0].Source != SourcePage || strings.Contains(audit.records[0].After+audit.records[0].Before, secret) {
		t.Fatalf("audit %+v", audit.records)
	}

	// Using it: the token's role, use recorded at most once a minute.
	got, err := svc.AuthenticateToken(ctx, secret)
	if err != nil || got.Role != RoleHelpdesk || !got.LastUsedAt.Equal(now) {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	if a := TokenActor(got, "198.51.100.2"); a.Name != "token:ci-bot" || a.Role != RoleHelpdesk || a.Method != "token" || a.IP != "198.51.100.2" {
		t.Fatalf("actor %+v", a)
	}
	now = now.Add(30 * time.Second)
	svc.AuthenticateToken(ctx, secret)
	if !store.byName["ci-bot"].LastUsedAt.Equal(now.Add(-30 * time.Second)) {
		t.Fatal("use recorded twice within a minute")
	}
	for _, bad := range []string{"", "mfap_", secret[:len(secret)-1], secret + "x", strings.ToUpper(secret), "Bearer " + secret, strings.Repeat("a", len(secret))} {
		if _, err := svc.AuthenticateToken(ctx, bad); ErrorCode(err) != EUNAUTHORIZED {
			t.Errorf("%q: %v", bad, err)
		}
	}

	// Names are unique (case-insensitively) and checked; roles are checked; only global admins.
	if _, _, err := svc.CreateToken(ctx, admin, "CI-BOT", RoleReader); ErrorField(err) != "name" || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate: %v", err)
	}
	if _, _, err := svc.CreateToken(ctx, admin, "bad name!", RoleReader); ErrorField(err) != "name" || !strings.Contains(err.Error(), "token name") {
		t.Fatalf("bad name: %v", err)
	}
	if _, _, err := svc.CreateToken(ctx, admin, "x", "root"); ErrorField(err) != "role" {
		t.Fatalf("bad role: %v", err)
	}
	for _, r := range []Role{RoleAuthAdmin, RoleHelpdesk, RoleReader} {
		a := Actor{Name: "x", Role: r}
		if _, _, err := svc.CreateToken(ctx, a, "y", RoleReader); ErrorCode(err) != EFORBIDDEN {
			t.Errorf("%s creates: %v", r, err)
		}
		if err := svc.RevokeToken(ctx, a, "ci-bot"); ErrorCode(err) != EFORBIDDEN {
			t.Errorf("%s revokes: %v", r, err)
		}
		if _, err := svc.ListTokens(ctx, a); ErrorCode(err) != EFORBIDDEN {
			t.Errorf("%s lists: %v", r, err)
		}
	}

	// Revoked: refused at once, audited from the CLI.
	if err := svc.RevokeToken(ctx, CLIActor, "Ci-Bot"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateToken(ctx, secret); ErrorCode(err) != EUNAUTHORIZED {
		t.Fatalf("revoked token: %v", err)
	}
	if r := audit.records[len(audit.records)-1]; r.Action != AuditTokenRevoke || r.Target != "token:ci-bot" || r.Before != "helpdesk" || r.Source != SourceCLI {
		t.Fatalf("revoke audit %+v", r)
	}
	if err := svc.RevokeToken(ctx, CLIActor, "ci-bot"); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("revoke twice: %v", err)
	}
}
