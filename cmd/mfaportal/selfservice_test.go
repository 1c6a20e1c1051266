package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsersSetupLink(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(data, "users.csv")
	os.WriteFile(file, []byte("UserPrincipalName,DisplayName,MFA Status\nada@contoso.com,Ada,Enabled\n"), 0o600)
	runCLI(t, "", "users", "import", file, "--data", data)
	code, out, errs := runCLI(t, "", "users", "setup-link", "ADA@contoso.com", "--data", data, "--public-url", "https://mfa.contoso.com/")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(last, "https://mfa.contoso.com/my/setup/") || len(last) != len("https://mfa.contoso.com/my/setup/")+43 {
		t.Fatalf("setup-link: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, "", "users", "setup-link", "nobody@contoso.com", "--data", data); code != 1 || !strings.Contains(errs, "nobody@contoso.com") {
		t.Fatalf("unknown user: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "", "users", "setup-link", "--data", data); code != 2 {
		t.Fatalf("no UPN: %d", code)
	}
	// Recorded in the audit log, by the CLI.
	if code, out, _ := runCLI(t, "", "audit", "export", "--data", data); code != 0 || !strings.Contains(out, "user.setup-link") || strings.Contains(out, last[len(last)-43:]) {
		t.Fatalf("audit: %q", out)
	}
}

func TestSMSSenderFlags(t *testing.T) {
	for _, tc := range []struct {
		s    smsSettings
		want string
	}{
		{smsSettings{}, "log"},
		{smsSettings{WebhookURL: "https://sms.example/send"}, "webhook"},
		{smsSettings{Sender: "webhook"}, "error"},
		{smsSettings{Sender: "webhook", WebhookURL: "ftp://x"}, "error"},
		{smsSettings{Sender: "log", WebhookURL: "https://sms.example/send"}, "error"},
		{smsSettings{Sender: "pigeon"}, "error"},
	} {
		err := tc.s.validate()
		if got := tc.s.Sender; err != nil {
			got = "error"
		} else if got != tc.want {
			t.Errorf("%+v: %s", tc.s, got)
		}
		if (err != nil) != (tc.want == "error") {
			t.Errorf("%+v: %v", tc.s, err)
		}
	}
}
