package sqlite

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// openRelease opens a copy of testdata/v11.db.gz: the data folder written by the release before
// round 2 (commit 0f60518, schema 11; testdata/make-v11.sh made it), upgraded by Open.
func openRelease(t *testing.T) *DB {
	t.Helper()
	f, err := os.Open("testdata/v11.db.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mfaportal.db")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	out.Close()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("upgrading the release's data folder: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The release's data folder opens with everything in it: users and their searches, the audit
// chain, accounts, tokens, jobs, settings, sessions.
func TestUpgradeFromRelease(t *testing.T) {
	db := openRelease(t)
	ctx := context.Background()
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Tokens: db, Audit: db, Settings: db, Jobs: db})
	if n, err := db.CountUsers(ctx); err != nil || n != 123 {
		t.Fatalf("users: %d %v", n, err)
	}
	if p, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Query: "andre mu", Limit: 10}); err != nil || p.Total != 1 || p.Users[0].DisplayName != "André Müller" {
		t.Fatalf("search: %+v %v", p, err)
	}
	if u, err := db.FindUser(ctx, "zoe.oconnor@contoso.example"); err != nil || u.State != mfa.StateDisabled || u.Version != 3 {
		t.Fatalf("zoe: %+v %v", u, err)
	}
	if n, err := svc.VerifyAudit(ctx, mfa.CLIActor); err != nil || n != 14 {
		t.Fatalf("audit chain: %d %v", n, err)
	}
	if a, err := db.FindAccount(ctx, "helen"); err != nil || a.Role != mfa.RoleHelpdesk {
		t.Fatalf("account: %+v %v", a, err)
	}
	if toks, err := db.ListTokens(ctx); err != nil || len(toks) != 1 || toks[0].Name != "automation" {
		t.Fatalf("tokens: %v %v", toks, err)
	}
	if jobs, err := db.ListJobs(ctx, 10); err != nil || len(jobs) != 2 || jobs[0].Status != mfa.JobDone {
		t.Fatalf("jobs: %v %v", jobs, err)
	}
	if s, err := db.LoadSettings(ctx); err != nil || !s.AppPasswordsAllowed || s.RememberMFA.Days != 30 || len(s.TrustedIPs.Ranges) != 2 {
		t.Fatalf("settings: %+v %v", s, err)
	}
	if v, _ := db.Meta(ctx, "directory"); v != "embedded" {
		t.Fatalf("meta directory %q", v)
	}
	// And it keeps working: a change is chained after the release's records.
	if _, _, err := svc.SetState(ctx, mfa.CLIActor, mfa.StateRequest{UPN: "zoe.oconnor@contoso.example", To: mfa.StateEnabled}); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.VerifyAudit(ctx, mfa.CLIActor); err != nil || n != 15 {
		t.Fatalf("audit chain after a change: %d %v", n, err)
	}
}
