package postgres

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// dumpSource is a data folder's store read for copying (as cmd/mfaportal wires it).
type dumpSource struct{ *sqlite.Dump }

func (s dumpSource) Rows(ctx context.Context, table string, cols []string) (SourceRows, error) {
	return s.Dump.Rows(ctx, table, cols)
}

// withTable is a source with one more table than the stores know.
type withTable struct{ Source }

func (w withTable) Tables(ctx context.Context) ([]string, error) {
	ts, err := w.Source.Tables(ctx)
	return append(ts, "made_up"), err
}

// A data folder holding every kind of data is copied whole: what every interface reads is the
// same, the audit chain verifies under the folder's key, the copy takes changes on. Copying again
// into the filled database, copying with another key, or a table this version does not know, is
// refused and changes nothing.
func TestMigrateFromADataFolder(t *testing.T) {
	ctx := context.Background()
	src, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	k := storetest.FillEveryKind(t, src)
	listLongPrefixIn(t, src.Path)
	dump, err := src.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer dump.Close()
	db := openTest(t)
	if _, err := db.MigrateFrom(ctx, withTable{dumpSource{dump}}, k.AuditKey, nil); mfa.ErrorCode(err) != mfa.EINVALID || !strings.Contains(err.Error(), "made_up") {
		t.Fatalf("an unknown table: %v", err)
	}
	if _, err := db.MigrateFrom(ctx, dumpSource{dump}, bytes.Repeat([]byte{7}, 32), nil); mfa.ErrorCode(err) != mfa.EINVALID ||
		!strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("another key: %v", err)
	}
	var copied []string
	rep, err := db.MigrateFrom(ctx, dumpSource{dump}, k.AuditKey, func(c TableCopy) { copied = append(copied, c.Table) })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"users", "user_terms", "audit", "bulk_rows", "user_methods", "app_passwords", "remembered_devices",
		"exemptions", "overview_days", "notify_template", "graph_users", "signin_throttle", "tokens", "accounts", "meta"} {
		if !strings.Contains(" "+strings.Join(copied, " ")+" ", " "+want+" ") {
			t.Errorf("%s was not copied: %v", want, copied)
		}
	}
	if rep.AuditRecords < 10 {
		t.Errorf("%d audit records verified", rep.AuditRecords)
	}
	dump.Close()
	if _, err := db.UseAuditKey(ctx, k.AuditKey, k.Now); err != nil {
		t.Fatalf("the copy refuses the folder's key: %v", err)
	}
	storetest.SameStore(t, k, db)
	if _, err := db.UseAuditKey(ctx, bytes.Repeat([]byte{7}, 32), k.Now); mfa.ErrorCode(err) != mfa.EINVALID {
		t.Errorf("the copy accepts another key: %v", err)
	}
	// The copy is a store like any: a change appends to the copied chain; a new user numbers on.
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Importer: db, Accounts: db, Audit: db, Settings: db, Jobs: db})
	svc.AuditKey = k.AuditKey
	if _, _, err := svc.SetState(ctx, mfa.CLIActor, mfa.StateRequest{UPN: "dan@contoso.com", To: mfa.StateEnabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader("UserPrincipalName,DisplayName\nnew@contoso.com,New\n"), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.VerifyAudit(ctx, mfa.CLIActor); err != nil || n != rep.AuditRecords+2 {
		t.Errorf("the chain after changes: %d %v", n, err)
	}
	again, err := src.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := db.MigrateFrom(ctx, dumpSource{again}, k.AuditKey, nil); mfa.ErrorCode(err) != mfa.EINVALID || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("into a filled database: %v", err)
	}
}

// listLongPrefixIn counts a long prefix in the data folder at path, as its first search matching
// many users would (mfa/longprefix.go): the folder's own workings, not copied, and its counts left
// out of the copy's check.
func listLongPrefixIn(t *testing.T, path string) {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var p string
	if err := raw.QueryRow("SELECT substr(term, 1, 5) FROM user_terms WHERE length(term) >= 5 AND lcp = 0 ORDER BY term LIMIT 1").Scan(&p); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("INSERT INTO long_prefixes (prefix, head) VALUES (?, ?)", p, p); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
		SELECT ?, u.account_enabled, u.privileged, u.methods_class, u.ca_covered, u.state, COUNT(*)
		FROM user_terms t JOIN users u ON u.id = t.user_id WHERE substr(t.term, 1, 5) = ? AND t.lcp < 5 GROUP BY 2, 3, 4, 5, 6`, p, p); err != nil {
		t.Fatal(err)
	}
}
