package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/auditsink"
)

// auditFolder makes a data folder whose audit log holds the import of a user and then n state
// changes, 6 records in all (the tests name records by number), streamed as they were to
// DATA/audit.jsonl, as MFAPORTAL_AUDIT_FILE would have them.
func auditFolder(t *testing.T, total int) (data, stream string) {
	t.Helper()
	data = t.TempDir()
	file := filepath.Join(data, "users.csv")
	os.WriteFile(file, []byte("UserPrincipalName,DisplayName\nAda@Contoso.com,Ada\n"), 0o600)
	if code, _, errs := runCLI(t, "", "users", "import", file, "--data", data); code != 0 {
		t.Fatal(errs)
	}
	db, err := openStore(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(db)
	var imported int64
	db.EachAudit(context.Background(), 0, func(*mfa.AuditRecord) error { imported++; return nil })
	for i := range total - int(imported) {
		to := []string{"enabled", "disabled"}[i%2]
		if _, _, err := svc.SetState(context.Background(), cliActorForTest, stateReq("ada@contoso.com", to)); err != nil {
			t.Fatal(err)
		}
	}
	stream = filepath.Join(data, "audit.jsonl")
	s := &mfa.AuditStreamer{Log: db, Positions: db, Sinks: []mfa.AuditSink{auditsink.File{Path: stream}}}
	if err := s.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return data, stream
}

// tamper runs SQL on the data folder's database as someone with the file would (the append-only
// triggers dropped first).
func tamper(t *testing.T, data string, stmts ...string) {
	t.Helper()
	raw, err := sql.Open("sqlite", filepath.Join(data, "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Exec("DROP TRIGGER audit_no_update")
	raw.Exec("DROP TRIGGER audit_no_delete")
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// verify runs `audit verify` (with --against FILE when given) and answers its exit code and output.
func verify(t *testing.T, data, against string) (int, string) {
	t.Helper()
	args := []string{"audit", "verify", "--data", data}
	if against != "" {
		args = append(args, "--against", against)
	}
	code, out, errs := runCLI(t, "", args...)
	return code, out + errs
}

func TestAuditVerifyIntact(t *testing.T) {
	data, stream := auditFolder(t, 6)
	if code, out := verify(t, data, ""); code != 0 || !strings.Contains(out, "intact: 6 records") || !strings.Contains(out, "HMAC") {
		t.Fatalf("verify: %d %q", code, out)
	}
	if code, out := verify(t, data, stream); code != 0 || !strings.Contains(out, "the same as the 6 records") {
		t.Fatalf("verify --against: %d %q", code, out)
	}
	info, err := os.Stat(filepath.Join(data, "audit.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("audit.key: %v %v", info, err)
	}
}

// legacySHA256 is a record's hash in the chain of the versions before the audit key: what anyone
// with the database can recompute.
func legacySHA256(r *mfa.AuditRecord) string {
	b, _ := json.Marshal([]any{r.Seq, r.Time.UnixMilli(), r.ActorName, string(r.ActorRole), r.ActorMethod, r.Action, r.Target,
		r.Before, r.After, r.Source, r.Reason, r.ClientIP, r.Outcome, r.PrevHash})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Each way issue 12 found `audit verify` saying "intact" is now reported as tampering, naming the
// first bad record, with exit code 1 (never an internal error).
func TestAuditVerifyFindsTampering(t *testing.T) {
	tests := []struct {
		name     string
		tamper   func(t *testing.T, data string)
		against  bool   // only the stream finds it
		want     string // in the output
		wantSeqs string
	}{
		{"the newest records deleted", func(t *testing.T, data string) {
			tamper(t, data, "DELETE FROM audit WHERE seq > 4")
		}, true, "2 record(s) missing from the database", "5, 6"},
		{"the chain recomputed with plain SHA-256", func(t *testing.T, data string) {
			db, _ := sql.Open("sqlite", filepath.Join(data, "mfaportal.db"))
			defer db.Close()
			db.Exec("DROP TRIGGER audit_no_update")
			prev := ""
			for seq := 1; seq <= 6; seq++ {
				r := readRecord(t, db, seq)
				r.After, r.PrevHash = "Enforced", prev
				r.Hash = legacySHA256(r)
				if _, err := db.Exec("UPDATE audit SET after = ?, prev_hash = ?, hash = ? WHERE seq = ?", r.After, r.PrevHash, r.Hash, seq); err != nil {
					t.Fatal(err)
				}
				prev = r.Hash
			}
		}, false, "record 1: its content does not match its HMAC", ""},
		{"a record's target lookup key changed", func(t *testing.T, data string) {
			tamper(t, data, "UPDATE audit SET target_key = 'nobody@contoso.com' WHERE seq = 3")
		}, false, "record 3: its lookup key", ""},
		{"a record's actor changed", func(t *testing.T, data string) {
			tamper(t, data, "UPDATE audit SET actor = 'mallory', actor_key = 'mallory' WHERE seq = 2")
		}, false, "record 2: its content does not match its HMAC", ""},
		{"a record deleted from the middle", func(t *testing.T, data string) {
			tamper(t, data, "DELETE FROM audit WHERE seq = 3")
		}, false, "record 4: expected record 3 here", ""},
		{"a column made unreadable", func(t *testing.T, data string) {
			tamper(t, data, "UPDATE audit SET time = 'yesterday' WHERE seq = 5")
		}, false, "record 5: its time column holds a value the portal never writes", ""},
		{"a record added at the end", func(t *testing.T, data string) {
			tamper(t, data, `INSERT INTO audit SELECT 7, time, actor, actor_key, actor_role, actor_method, action, target, target_key,
				before, after, source, reason, client_ip, outcome, hash, hash FROM audit WHERE seq = 6`)
		}, false, "record 7: its content does not match its HMAC", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, stream := auditFolder(t, 6)
			tt.tamper(t, data)
			code, out := verify(t, data, "")
			if tt.against {
				if code != 0 {
					t.Fatalf("without the stream: %d %q", code, out)
				}
				code, out = verify(t, data, stream)
			}
			if code != 1 || !strings.Contains(out, "tampered") || !strings.Contains(out, tt.want) || !strings.Contains(out, tt.wantSeqs) ||
				strings.Contains(out, "internal") {
				t.Fatalf("exit %d, output %q; want 1 and %q", code, out, tt.want)
			}
			if !tt.against {
				if code, out := verify(t, data, stream); code != 1 || !strings.Contains(out, "TAMPERED") {
					t.Fatalf("against the stream: %d %q", code, out)
				}
			}
		})
	}
}

// The stream file is checked too: a line changed in it, or lines removed from it, are found.
func TestAuditVerifyAgainstATamperedFile(t *testing.T) {
	data, stream := auditFolder(t, 4)
	b, _ := os.ReadFile(stream)
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(stream, []byte(lines[0]+strings.Replace(lines[1], `"actor":"cli"`, `"actor":"eve"`, 1)+lines[2]+lines[3]), 0o600)
	if code, out := verify(t, data, stream); code != 1 || !strings.Contains(out, "TAMPERED FILE") || !strings.Contains(out, "record 2") {
		t.Fatalf("a changed line: %d %q", code, out)
	}
	os.WriteFile(stream, []byte(lines[0]+lines[1]), 0o600)
	if code, out := verify(t, data, stream); code != 1 || !strings.Contains(out, "2 record(s) added to the database") {
		t.Fatalf("a shortened file: %d %q", code, out)
	}
	os.WriteFile(stream, []byte("not json\n"), 0o600)
	if code, out := verify(t, data, stream); code != 1 || !strings.Contains(out, "line 1 is not an audit record") {
		t.Fatalf("a file of something else: %d %q", code, out)
	}
}

func readRecord(t *testing.T, db *sql.DB, seq int) *mfa.AuditRecord {
	t.Helper()
	var r mfa.AuditRecord
	var at int64
	var role string
	err := db.QueryRow(`SELECT seq, time, actor, actor_role, actor_method, action, target, before, after, source, reason,
		client_ip, outcome, prev_hash, hash FROM audit WHERE seq = ?`, seq).Scan(&r.Seq, &at, &r.ActorName, &role, &r.ActorMethod,
		&r.Action, &r.Target, &r.Before, &r.After, &r.Source, &r.Reason, &r.ClientIP, &r.Outcome, &r.PrevHash, &r.Hash)
	if err != nil {
		t.Fatal(err)
	}
	r.Time, r.ActorRole = time.UnixMilli(at).UTC(), mfa.Role(role)
	return &r
}

// A data folder of an earlier version (SHA-256 chain, no key) is re-chained once when opened with
// the key; the re-chaining is itself a record, and the log then verifies under the key.
func TestAuditLegacyLogIsRechainedOnce(t *testing.T) {
	data := t.TempDir()
	db, err := openPlainStore(context.Background(), data) // an earlier version: no key
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		rec := mfa.NewAuditRecord(mfa.CLIActor, mfa.SourceCLI, "", time.Now())
		rec.Action, rec.Target, rec.After = mfa.AuditAccountAdd, fmt.Sprintf("account:Op%d", i), "reader"
		if err := db.AppendAudit(context.Background(), &rec); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if code, out := verify(t, data, ""); code != 0 || !strings.Contains(out, "not yet upgraded") {
		t.Fatalf("verify before the upgrade: %d %q", code, out)
	}
	for range 2 { // opened twice: re-chained once
		if code, _, errs := runCLI(t, "", "accounts", "list", "--data", data); code != 0 {
			t.Fatal(errs)
		}
	}
	code, out, _ := runCLI(t, "", "audit", "export", "--action", "audit.rechain", "--data", data)
	if code != 0 || strings.Count(out, "audit.rechain") != 1 || !strings.Contains(out, "3 records chained with SHA-256") || !strings.Contains(out, "was intact") {
		t.Fatalf("the re-chaining record: %d %q", code, out)
	}
	if code, out := verify(t, data, ""); code != 0 || !strings.Contains(out, "intact: 4 records") || !strings.Contains(out, "HMAC") {
		t.Fatalf("verify after the upgrade: %d %q", code, out)
	}
	// A wrong key is refused rather than chained onto.
	_, _, errs := runCLI(t, "", "accounts", "list", "--data", data)
	os.WriteFile(filepath.Join(data, "audit.key"), []byte(strings.Repeat("ab", 32)), 0o600)
	if code, _, errs = runCLI(t, "", "accounts", "list", "--data", data); code != 1 || !strings.Contains(errs, "does not match the audit log") {
		t.Fatalf("a wrong key: %d %q", code, errs)
	}
}

// A legacy log already tampered with is re-chained all the same (the portal must go on), but the
// re-chaining record says where the old chain was broken, under the new chain's protection.
func TestAuditLegacyTamperingIsRecordedWhenRechained(t *testing.T) {
	data := t.TempDir()
	db, err := openPlainStore(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		rec := mfa.NewAuditRecord(mfa.CLIActor, mfa.SourceCLI, "", time.Now())
		rec.Action, rec.Target = mfa.AuditAccountAdd, fmt.Sprintf("account:op%d", i)
		db.AppendAudit(context.Background(), &rec)
	}
	db.Close()
	tamper(t, data, "UPDATE audit SET target_key = 'hidden' WHERE seq = 2")
	if code, out := verify(t, data, ""); code != 1 || !strings.Contains(out, "record 2: its lookup key") {
		t.Fatalf("verify the legacy log: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, "", "accounts", "list", "--data", data); code != 0 {
		t.Fatal(errs)
	}
	_, out, errs := runCLI(t, "", "audit", "export", "--action", "audit.rechain", "--data", data)
	if !strings.Contains(out, "already broken: record 2: its lookup key") || !strings.Contains(out, "failed") {
		t.Fatalf("the re-chaining record: %q %q", out, errs)
	}
}

// `accounts reset-mfa NAME` removes a lost authenticator, audited; with none it says so.
func TestAccountsResetMFA(t *testing.T) {
	data := t.TempDir()
	if code, _, errs := runCLI(t, "correct horse battery\n", "accounts", "add", "ops", "--role", "helpdesk", "--data", data); code != 0 {
		t.Fatal(errs)
	}
	db, err := openStore(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetAccountTOTP(context.Background(), "ops", "JBSWY3DPEHPK3PXP", time.Now()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, out, _ := runCLI(t, "", "accounts", "list", "--data", data); !strings.Contains(out, "enrolled") {
		t.Fatalf("list: %q", out)
	}
	if code, out, errs := runCLI(t, "", "accounts", "reset-mfa", "OPS", "--data", data); code != 0 || !strings.Contains(out, "removed the authenticator app of OPS") {
		t.Fatalf("reset-mfa: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, "", "accounts", "reset-mfa", "ops", "--data", data); code != 1 || !strings.Contains(errs, "no authenticator app") {
		t.Fatalf("reset-mfa again: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "accounts", "reset-mfa", "nobody", "--data", data); code != 1 || !strings.Contains(errs, "no account") {
		t.Fatalf("reset-mfa of nobody: %d %q", code, errs)
	}
	_, out, _ := runCLI(t, "", "audit", "export", "--action", "account.mfa-reset", "--data", data)
	if strings.Count(out, "account.mfa-reset") != 1 || !strings.Contains(out, "account:ops") {
		t.Fatalf("audit: %q", out)
	}
}

// The audit key moved out of the data folder as README advises, or another key given: `audit
// verify` says the key is missing or not the log's, creates no key, and never calls the log
// tampered for it; a key written wrong is named as that, not as an internal error.
func TestAuditVerifyWithoutTheRightKey(t *testing.T) {
	data, _ := auditFolder(t, 4)
	keyFile := filepath.Join(data, "audit.key")
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(keyFile)
	code, out := verify(t, data, "")
	if code != 1 || !strings.Contains(out, "MFAPORTAL_AUDIT_KEY") || strings.Contains(out, "tampered") {
		t.Fatalf("without the key: %d %q", code, out)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("verify made a key: %v", err)
	}
	withEnv := func(k string, args ...string) (int, string) {
		var out, errb strings.Builder
		env := func(name string) string {
			if name == "MFAPORTAL_AUDIT_KEY" {
				return k
			}
			return ""
		}
		code := run(context.Background(), args, env, strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := withEnv(strings.TrimSpace(string(key)), "audit", "verify", "--data", data); code != 0 || !strings.Contains(out, "intact: 4 records") {
		t.Fatalf("with the key in MFAPORTAL_AUDIT_KEY: %d %q", code, out)
	}
	code, out = withEnv(strings.Repeat("ab", 32), "audit", "verify", "--data", data)
	if code != 1 || !strings.Contains(out, "not the key the log was chained with") || strings.Contains(out, "record 1") {
		t.Fatalf("another key: %d %q", code, out)
	}
	for _, args := range [][]string{{"audit", "verify", "--data", data}, {"accounts", "list", "--data", data}} {
		code, out = withEnv("short", args...)
		if code != 1 || !strings.Contains(out, "MFAPORTAL_AUDIT_KEY: expected at least 32 bytes") || strings.Contains(out, "internal error") {
			t.Fatalf("%v with a key written wrong: %d %q", args, code, out)
		}
	}
}

// A keyed log downgraded: the chain recomputed with plain SHA-256 (a record forged) and the log
// marked as chained the legacy way again. The id of the key it was chained with, kept beside it,
// shows it was keyed: verify reports tampering, and opening the store refuses to re-chain it
// (which would have sealed the forgery under the key, recorded as "the old chain was intact").
func TestAuditDowngradeToSHA256IsTampering(t *testing.T) {
	data, _ := auditFolder(t, 6)
	db, err := sql.Open("sqlite", filepath.Join(data, "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Exec("DROP TRIGGER audit_no_update")
	prev := ""
	for seq := 1; seq <= 6; seq++ {
		r := readRecord(t, db, seq)
		r.PrevHash = prev
		if seq == 3 {
			r.After = "Enforced"
		}
		r.Hash = legacySHA256(r)
		if _, err := db.Exec("UPDATE audit SET after = ?, prev_hash = ?, hash = ? WHERE seq = ?", r.After, r.PrevHash, r.Hash, seq); err != nil {
			t.Fatal(err)
		}
		prev = r.Hash
	}
	if _, err := db.Exec("UPDATE meta SET value = '' WHERE key = 'audit_chain'"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if code, out := verify(t, data, ""); code != 1 || !strings.Contains(out, "tampered") || !strings.Contains(out, "plain SHA-256") {
		t.Fatalf("verify: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, "", "accounts", "list", "--data", data); code != 1 || !strings.Contains(errs, "plain SHA-256") {
		t.Fatalf("opening the store: %d %q", code, errs)
	}
	if _, out, _ := runCLI(t, "", "audit", "export", "--action", "audit.rechain", "--data", data); strings.Contains(out, "audit.rechain") {
		t.Fatalf("the forgery was re-chained: %q", out)
	}
	if code, out := verify(t, data, ""); code != 1 || !strings.Contains(out, "tampered") {
		t.Fatalf("verify after opening: %d %q", code, out)
	}
}

// A rotated stream (logrotate moved the file away; the portal started a new one) begins after
// record 1: the records before its first are not compared, and are not reported as added to the
// database. Deleting the newest records is still found.
func TestAuditVerifyAgainstARotatedFile(t *testing.T) {
	data, stream := auditFolder(t, 6)
	b, err := os.ReadFile(stream)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	rotated := filepath.Join(data, "audit.jsonl.new")
	os.WriteFile(rotated, []byte(strings.Join(lines[2:], "")), 0o600) // records 3 to 6
	code, out := verify(t, data, rotated)
	if code != 0 || !strings.Contains(out, "intact") || !strings.Contains(out, "records 1 to 2") || strings.Contains(out, "TAMPERED") {
		t.Fatalf("against a rotated file: %d %q", code, out)
	}
	tamper(t, data, "DELETE FROM audit WHERE seq = 6")
	if code, out := verify(t, data, rotated); code != 1 || !strings.Contains(out, "1 record(s) missing from the database") || strings.Contains(out, "added") {
		t.Fatalf("the newest record deleted, against a rotated file: %d %q", code, out)
	}
}
