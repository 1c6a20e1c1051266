package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/mfaportal/mfaportal/mfa"
)

var cliActorForTest = mfa.CLIActor

func stateReq(upn, to string) mfa.StateRequest {
	return mfa.StateRequest{UPN: upn, To: mfa.State(to), Source: mfa.SourceCLI}
}

// runCLI runs the command as a user would, with an environment of its own.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := func(string) string { return "" }
	code := run(context.Background(), args, env, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsersImportExport(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(data, "users.csv")
	os.WriteFile(file, []byte("UserPrincipalName;DisplayName;MFA Status\r\nada@contoso.com;Ada Lovelace;Enforced\r\nbob@contoso.com;=2+2;\r\n"), 0o600)
	code, out, errs := runCLI(t, "", "users", "import", file, "--data", data)
	if code != 0 || !strings.Contains(out, "2 created") {
		t.Fatalf("import: %d %q %q", code, out, errs)
	}
	bad := filepath.Join(data, "bad.csv")
	os.WriteFile(bad, []byte("UserPrincipalName,DisplayName,MFA Status\ncarl@contoso.com,Carl,Enabled\nnope,No One,\ndan@contoso.com,Dan,Sometimes\n"), 0o600)
	code, _, errs = runCLI(t, "", "users", "import", "--data", data, bad)
	if code != 1 || !strings.Contains(errs, "line 3:") || !strings.Contains(errs, "line 4:") {
		t.Fatalf("bad import: %d %q", code, errs)
	}
	code, out, _ = runCLI(t, "", "users", "export", "--data", data)
	if code != 0 || !strings.HasPrefix(out, "\ufeffUsername,MFA Status,") || strings.Contains(out, "carl@") ||
		!strings.Contains(out, "ada@contoso.com,Enforced,Ada Lovelace") || !strings.Contains(out, "'=2+2") {
		t.Fatalf("export: %d\n%s", code, out)
	}
	if code, _, errs = runCLI(t, "", "users", "import", "--data", data); code != 2 {
		t.Fatalf("import without a file: %d %q", code, errs)
	}

	// Excel's default "CSV (Comma delimited)" on Windows: read as Windows-1252, and said so.
	excel := filepath.Join(data, "excel.csv")
	os.WriteFile(excel, []byte("UserPrincipalName;DisplayName\r\nelodie@contoso.com;\xC9lodie Lef\xE8vre\r\n"), 0o600)
	code, out, errs = runCLI(t, "", "users", "import", excel, "--data", data)
	if code != 0 || !strings.Contains(out, "1 created") || !strings.Contains(out, "read as Windows-1252") {
		t.Fatalf("Windows-1252 import: %d %q %q", code, out, errs)
	}
	if _, out, _ = runCLI(t, "", "users", "export", "--data", data); !strings.Contains(out, "elodie@contoso.com,Disabled,Élodie Lefèvre") {
		t.Errorf("Windows-1252 import, exported:\n%s", out)
	}
	// A UTF-8 file says nothing of encodings.
	if _, out, _ = runCLI(t, "", "users", "import", file, "--data", data); strings.Contains(out, "Windows-1252") {
		t.Errorf("UTF-8 import: %q", out)
	}
}

func TestAccounts(t *testing.T) {
	data := t.TempDir()
	if code, out, errs := runCLI(t, "a long enough password\n", "accounts", "add", "hd1", "--role", "helpdesk", "--data", data); code != 0 || !strings.Contains(out, "added") {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, "a long enough password\n", "accounts", "add", "HD1", "--role", "helpdesk", "--data", data); code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("duplicate: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "short\n", "accounts", "add", "x", "--role", "reader", "--data", data); code != 1 || !strings.Contains(errs, "12 to 1024") {
		t.Fatalf("short password: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "a long enough password\n", "accounts", "add", "x", "--role", "god", "--data", data); code != 1 || !strings.Contains(errs, "unknown role") {
		t.Fatalf("bad role: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "accounts", "add", "x", "--role", "reader", "--data", data); code != 1 || !strings.Contains(errs, "no password") {
		t.Fatalf("no password: %d %q", code, errs)
	}
	if code, out, _ := runCLI(t, "", "accounts", "list", "--data", data); code != 0 || !strings.Contains(out, "hd1") || !strings.Contains(out, "helpdesk") || strings.Contains(out, "argon2") {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "another long password\n", "accounts", "passwd", "hd1", "--data", data); code != 0 {
		t.Fatal("passwd")
	}
	if code, _, _ := runCLI(t, "", "accounts", "remove", "hd1", "--data", data); code != 0 {
		t.Fatal("remove")
	}
	if code, _, errs := runCLI(t, "", "accounts", "remove", "hd1", "--data", data); code != 1 || !strings.Contains(errs, "no account") {
		t.Fatalf("remove again: %d %q", code, errs)
	}
}

func TestAuditVerifyFindsATamperedRecord(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(data, "users.csv")
	os.WriteFile(file, []byte("UserPrincipalName,DisplayName\nada@contoso.com,Ada\n"), 0o600)
	runCLI(t, "", "users", "import", file, "--data", data)
	// The import (one user: one record), then two changes through the portal's service, as the API
	// would make them.
	db, err := (&cli{getenv: func(string) string { return "" }}).openStore(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(db)
	for _, to := range []string{"enabled", "disabled"} {
		if _, _, err := svc.SetState(context.Background(), cliActorForTest, stateReq("ada@contoso.com", to)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if code, out, errs := runCLI(t, "", "audit", "verify", "--data", data); code != 0 || !strings.Contains(out, "3 records") {
		t.Fatalf("verify: %d %q %q", code, out, errs)
	}
	if code, out, _ := runCLI(t, "", "audit", "export", "--data", data); code != 0 || strings.Count(out, "\n") != 4 {
		t.Fatalf("export: %d %q", code, out)
	}
	raw, err := sql.Open("sqlite", filepath.Join(data, "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	raw.Exec("DROP TRIGGER audit_no_update")
	if _, err := raw.Exec("UPDATE audit SET actor = 'mallory' WHERE seq = 1"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if code, _, errs := runCLI(t, "", "audit", "verify", "--data", data); code != 1 || !strings.Contains(errs, "record 1") {
		t.Fatalf("tampered: %d %q", code, errs)
	}
}

func TestUnknownCommand(t *testing.T) {
	if code, _, errs := runCLI(t, "", "frobnicate"); code != 2 || !strings.Contains(errs, "Usage") {
		t.Fatalf("%d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "", "serve", "--demo-users", "-5", "--data", t.TempDir()); code != 2 {
		t.Fatalf("bad flag value: %d", code)
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	var cfg config
	fs := newFlagSet("serve", &bytes.Buffer{})
	serveFlags(fs, &cfg)
	env := map[string]string{"MFAPORTAL_ADDR": "127.0.0.1:9999", "MFAPORTAL_DEMO_USERS": "42", "MFAPORTAL_DEMO": "false", "MFAPORTAL_DATA": "/srv/mfa"}
	rest, err := parseFlags(fs, []string{"--demo-users", "7"}, func(k string) string { return env[k] })
	if err != nil || len(rest) != 0 {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" || cfg.DemoUsers != 7 || cfg.Demo || cfg.Data != "/srv/mfa" {
		t.Fatalf("config %+v: the environment fills flags, the command line wins", cfg)
	}
	env["MFAPORTAL_DEMO_USERS"] = "many"
	if _, err := parseFlags(newFlagSetWith(&cfg), nil, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "MFAPORTAL_DEMO_USERS") {
		t.Fatalf("bad variable: %v", err)
	}
}

func newFlagSetWith(cfg *config) *flag.FlagSet {
	fs := newFlagSet("serve", &bytes.Buffer{})
	serveFlags(fs, cfg)
	return fs
}

func TestCommandsThatChangeUsersRefuseAGraphDataFolder(t *testing.T) {
	data := t.TempDir()
	db, err := (&cli{getenv: func(string) string { return "" }}).openStore(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMeta(context.Background(), "directory", "graph")
	db.Close()
	file := filepath.Join(data, "f.csv")
	os.WriteFile(file, []byte("Username,MFA Status\nada@contoso.com,Enabled\n"), 0o600)
	for _, args := range [][]string{{"bulk", "apply", file, "--yes"}, {"users", "import", file}} {
		code, _, errs := runCLI(t, "", append(args, "--data", data)...)
		if code != 1 || !strings.Contains(errs, "never Graph") {
			t.Errorf("%v: %d %q", args, code, errs)
		}
	}
}

// serve on a port already in use says so in one line and exits 1: not "An internal error
// occurred" followed by a detail.
func TestServeOnAPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	data := t.TempDir()
	code, out, errs := runCLI(t, "", "serve", "--addr", addr, "--data", data)
	if want := "mfaportal: cannot listen on " + addr + ": address already in use\n"; code != 1 || errs != want || out != "" {
		t.Errorf("exit %d, stderr %q, want %q (stdout %q)", code, errs, want, out)
	}
	// Nothing was made: the first account's password is still to be shown by the first serve.
	if files, _ := os.ReadDir(data); len(files) != 0 {
		t.Errorf("the data folder holds %d files", len(files))
	}
}
