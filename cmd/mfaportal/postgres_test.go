package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// runCLIEnv runs the command with environment variables.
func runCLIEnv(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// testAuditKey is MFAPORTAL_AUDIT_KEY in the tests on PostgreSQL.
const testAuditKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// With MFAPORTAL_DATABASE_URL every command keeps its state in PostgreSQL, not in the data folder.
func TestCommandsOnPostgres(t *testing.T) {
	url := pgtest.URL(t)
	// Without the audit key (kept outside the database, the same on every replica) nothing starts.
	if code, _, errs := runCLIEnv(t, map[string]string{"MFAPORTAL_DATABASE_URL": url}, "", "users", "export"); code != 1 || !strings.Contains(errs, "MFAPORTAL_AUDIT_KEY") {
		t.Fatalf("without the audit key: %d %q", code, errs)
	}
	env := map[string]string{"MFAPORTAL_DATABASE_URL": url, "MFAPORTAL_AUDIT_KEY": testAuditKey}
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "users.csv")
	os.WriteFile(file, []byte("UserPrincipalName,DisplayName,MFA Status\nada@contoso.com,Ada Lovelace,Enforced\nzoe@contoso.com,Zoë,\n"), 0o600)
	if code, out, errs := runCLIEnv(t, env, "", "users", "import", file, "--data", data); code != 0 || !strings.Contains(out, "2 created") {
		t.Fatalf("import: %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLIEnv(t, env, "", "users", "export", "--data", data); code != 0 || !strings.Contains(out, "ada@contoso.com,Enforced,Ada Lovelace") {
		t.Fatalf("export: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLIEnv(t, env, "password-of-helen\n", "accounts", "add", "helen", "--role", "helpdesk", "--data", data); code != 0 {
		t.Fatalf("accounts add: %s", errs)
	}
	if code, out, _ := runCLIEnv(t, env, "", "accounts", "list", "--data", data); code != 0 || !strings.Contains(out, "helen") {
		t.Fatalf("accounts list: %q", out)
	}
	if code, out, errs := runCLIEnv(t, env, "", "audit", "verify", "--data", data); code != 0 || !strings.Contains(out, "intact: 3 records, chain verified (HMAC-SHA256 under the audit key)") {
		t.Fatalf("audit verify: %d %q %q", code, out, errs)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Fatalf("the data folder was written: %v", entries)
	}
	// The same commands without the URL work on the data folder, which knows none of it.
	if _, out, _ := runCLIEnv(t, nil, "", "users", "export", "--data", data); strings.Contains(out, "ada@contoso.com") {
		t.Fatal("the data folder holds the database's users")
	}
	// A URL that is not PostgreSQL's is refused with the reason.
	// Another key is refused: it does not verify the log.
	other := map[string]string{"MFAPORTAL_DATABASE_URL": url, "MFAPORTAL_AUDIT_KEY": strings.Repeat("ab", 32)}
	if code, _, errs := runCLIEnv(t, other, "", "users", "export"); code != 1 || !strings.Contains(errs, "does not match the audit log") {
		t.Fatalf("another audit key: %d %q", code, errs)
	}
	bad := map[string]string{"MFAPORTAL_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", "MFAPORTAL_AUDIT_KEY": testAuditKey}
	if code, _, errs := runCLIEnv(t, bad, "", "users", "export", "--data", data); code != 1 || !strings.Contains(errs, "127.0.0.1") {
		t.Fatalf("unreachable database: %d %q", code, errs)
	}
}
