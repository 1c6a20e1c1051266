package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// TestUsersOneLiners runs get, set and reset as an admin would from a shell: the API's JSON, the
// page's rules and roles, and one audit record per change naming the actor.
func TestUsersOneLiners(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(data, "users.csv")
	os.WriteFile(file, []byte("UserPrincipalName,DisplayName,MFA Status,Admin,Methods\nada@contoso.com,Ada,Disabled,false,mobilePhone\nboss@contoso.com,Boss,Enabled,true,\n"), 0o600)
	if code, _, errs := runCLI(t, "", "users", "import", file, "--data", data); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := runCLI(t, "a long enough password\n", "accounts", "add", "hd", "--role", "helpdesk", "--data", data); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := runCLI(t, "a long enough password\n", "accounts", "add", "aa", "--role", "authentication-admin", "--data", data); code != 0 {
		t.Fatal(errs)
	}

	code, out, errs := runCLI(t, "", "users", "get", "ADA@contoso.com", "--data", data)
	var got struct {
		UPN     string       `json:"userPrincipalName"`
		State   string       `json:"perUserMfaState"`
		Methods []mfa.Method `json:"methods"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.UPN != "ada@contoso.com" || got.State != "disabled" || len(got.Methods) != 1 {
		t.Fatalf("get: %d %q %q", code, out, errs)
	}

	code, out, errs = runCLI(t, "", "users", "set", "ada@contoso.com", "--state", "Enabled", "--reason", "ticket 42", "--as", "aa", "--data", data)
	var set struct {
		User    struct{ PerUserMfaState string } `json:"user"`
		Changed bool                             `json:"changed"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &set) != nil || !set.Changed || set.User.PerUserMfaState != "enabled" {
		t.Fatalf("set: %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "", "users", "set", "ada@contoso.com", "--state", "enabled", "--data", data)
	if code != 0 || !strings.Contains(out, `"changed": false`) {
		t.Fatalf("set again: %d %q", code, out)
	}

	// Refused, with a clear message and nothing changed.
	refused := []struct {
		name string
		args []string
		want string
	}{
		{"bad state", []string{"users", "set", "ada@contoso.com", "--state", "maybe"}, "invalid MFA status"},
		{"no state", []string{"users", "set", "ada@contoso.com"}, "--state"},
		{"helpdesk may not change states", []string{"users", "set", "ada@contoso.com", "--state", "disabled", "--as", "hd"}, "may not"},
		{"authentication admin on an admin", []string{"users", "set", "boss@contoso.com", "--state", "disabled", "--as", "aa"}, "admin role"},
		{"unknown account", []string{"users", "set", "ada@contoso.com", "--state", "disabled", "--as", "nobody"}, "no local account"},
		{"unknown user", []string{"users", "set", "ghost@contoso.com", "--state", "disabled"}, "ghost@contoso.com"},
		{"reset without an option", []string{"users", "reset", "ada@contoso.com"}, "--contact-methods"},
		{"helpdesk reset on an admin", []string{"users", "reset", "boss@contoso.com", "--remembered-devices", "--as", "hd"}, "admin role"},
		{"required reason", []string{"users", "set", "ada@contoso.com", "--state", "disabled", "--require-reason"}, "reason is required"},
	}
	before := auditCount(t, data)
	for _, r := range refused {
		code, _, errs := runCLI(t, "", append(r.args, "--data", data)...)
		if code == 0 || !strings.Contains(errs, r.want) {
			t.Errorf("%s: exit %d, %q; want a failure saying %q", r.name, code, errs, r.want)
		}
	}
	if n := auditCount(t, data); n != before {
		t.Errorf("refused commands recorded %d audit records", n-before)
	}

	code, out, errs = runCLI(t, "", "users", "reset", "ada@contoso.com", "--contact-methods", "--as", "hd", "--data", data)
	if code != 0 || !strings.Contains(out, `"methods": []`) {
		t.Fatalf("reset: %d %q %q", code, out, errs)
	}
	// Enforcing warns on stderr as the page's dialog does (SPEC §1): ada has no methods now;
	// boss holds an admin role and has none either.
	for upn, want := range map[string][]string{"ada@contoso.com": {"no registered verification methods"},
		"boss@contoso.com": {"no registered verification methods", "administrator role"}} {
		runCLI(t, "", "users", "set", upn, "--state", "enabled", "--data", data)
		code, out, errs := runCLI(t, "", "users", "set", upn, "--state", "enforced", "--data", data)
		for _, w := range want {
			if code != 0 || !strings.Contains(out, `"perUserMfaState": "enforced"`) || !strings.Contains(errs, "warning: "+upn) || !strings.Contains(errs, w) {
				t.Errorf("enforce %s: %d %q, stderr %q, want %q", upn, code, out, errs, w)
			}
		}
	}
	if _, _, errs := runCLI(t, "", "users", "set", "ada@contoso.com", "--state", "disabled", "--data", data); strings.Contains(errs, "warning") {
		t.Errorf("disabling warned: %q", errs)
	}
	code, out, _ = runCLI(t, "", "audit", "export", "--data", data)
	if code != 0 || !strings.Contains(out, ",aa,authentication-admin,cli,state.enable,ada@contoso.com,Disabled,Enabled,cli,ticket 42,") ||
		!strings.Contains(out, ",hd,helpdesk,cli,user.reset,ada@contoso.com,") {
		t.Errorf("audit export lacks the changes:\n%s", out)
	}
}

func auditCount(t *testing.T, data string) int {
	t.Helper()
	db, err := (&cli{getenv: func(string) string { return "" }}).openStore(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	db.EachAudit(context.Background(), 0, func(*mfa.AuditRecord) error { n++; return nil })
	return n
}
