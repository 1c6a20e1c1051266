package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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

// serve with MFAPORTAL_DATABASE_URL offers the users' security info pages and streams the audit
// log to MFAPORTAL_AUDIT_FILE, which then verifies the database; users setup-link works there too.
func TestServeOnPostgresOffersEverything(t *testing.T) {
	url, data := pgtest.URL(t), t.TempDir()
	stream := filepath.Join(t.TempDir(), "audit.jsonl")
	env := map[string]string{"MFAPORTAL_DATABASE_URL": url, "MFAPORTAL_AUDIT_KEY": testAuditKey, "MFAPORTAL_AUDIT_FILE": stream,
		"MFAPORTAL_ADMIN_PASSWORD": "a long admin password", "MFAPORTAL_DEMO_USERS": "20"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", data}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	}()
	addr := regexp.MustCompile(`"addr":"(127\.0\.0\.1:\d+)"`)
	deadline := time.Now().Add(30 * time.Second)
	for !addr.MatchString(errb.String()) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	m := addr.FindStringSubmatch(errb.String())
	if m == nil {
		t.Fatalf("serve did not start:\n%s", errb.String())
	}
	resp, err := http.Get("http://" + m[1] + "/my/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "password") {
		t.Fatalf("/my/signin: %d %s", resp.StatusCode, body)
	}
	code, linkOut, errs := runCLIEnv(t, env, "", "users", "setup-link", "adele.abara@contoso.com", "--data", data)
	if code != 0 || !strings.Contains(linkOut, "/my/setup/") {
		t.Fatalf("setup-link: %d %q %q", code, linkOut, errs)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: %d\n%s", code, errb.String())
	}
	// The stream caught up before serve stopped (a last pass after the requests and the runner),
	// with the record the command wrote meanwhile.
	if code, verified, errs := runCLIEnv(t, env, "", "audit", "verify", "--against", stream); code != 0 || !strings.Contains(verified, "intact: 1 records") {
		t.Fatalf("verify --against: %d %q %q", code, verified, errs)
	}
	if b, _ := os.ReadFile(stream); !strings.Contains(string(b), `"user.setup-link"`) {
		t.Fatalf("the stream: %s", b)
	}
}

// migrate --to copies a data folder into an empty database: the portal then runs on it with the
// folder's audit key (the same users, the chain intact); an unfilled database only.
func TestMigrateCommand(t *testing.T) {
	data, url := t.TempDir(), pgtest.URL(t)
	file := filepath.Join(t.TempDir(), "users.csv")
	os.WriteFile(file, []byte("UserPrincipalName,DisplayName,MFA Status,Methods\nada@contoso.com,Ada Lovelace,Enforced,mobilePhone\nzoe@contoso.com,Zoë,Enabled,\n"), 0o600)
	runCLI(t, "", "users", "import", file, "--data", data)
	runCLI(t, "password-of-helen\n", "accounts", "add", "helen", "--role", "helpdesk", "--data", data)
	runCLI(t, "", "tokens", "create", "--name", "ci", "--role", "reader", "--data", data)
	_, wantUsers, _ := runCLI(t, "", "users", "export", "--data", data)
	if code, out, errs := runCLI(t, "", "migrate", "--to", url, "--data", data); code != 0 || !strings.Contains(out, "users") ||
		!strings.Contains(out, "the audit chain of 4 records verifies") || !strings.Contains(out, filepath.Join(data, "audit.key")) {
		t.Fatalf("migrate: %d %q %q", code, out, errs)
	}
	key, _ := os.ReadFile(filepath.Join(data, "audit.key"))
	env := map[string]string{"MFAPORTAL_DATABASE_URL": url, "MFAPORTAL_AUDIT_KEY": strings.TrimSpace(string(key))}
	if _, got, _ := runCLIEnv(t, env, "", "users", "export"); got != wantUsers {
		t.Errorf("users on PostgreSQL:\n%s\nin the data folder:\n%s", got, wantUsers)
	}
	if code, out, errs := runCLIEnv(t, env, "", "audit", "verify"); code != 0 || !strings.Contains(out, "intact: 4 records") {
		t.Errorf("audit verify: %d %q %q", code, out, errs)
	}
	if code, out, _ := runCLIEnv(t, env, "", "tokens", "list"); code != 0 || !strings.Contains(out, "ci") {
		t.Errorf("tokens: %q", out)
	}
	if code, _, errs := runCLI(t, "", "migrate", "--to", url, "--data", data); code != 1 || !strings.Contains(errs, "not empty") {
		t.Errorf("into a filled database: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "migrate", "--to", pgtest.URL(t), "--data", filepath.Join(data, "nothing")); code != 1 || !strings.Contains(errs, "no data folder") {
		t.Errorf("no data folder: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "", "migrate", "--data", data); code != 2 {
		t.Errorf("no --to: %d", code)
	}
}
