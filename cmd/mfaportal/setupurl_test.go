package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// The registration link (the enable dialog's "security info page", the notifications' link):
// this portal's /my on the embedded directory, Microsoft's on Graph, or MFAPORTAL_SETUP_URL.
func TestSetupURLDefaults(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		env   string
		graph bool
		want  string
	}{
		{"", false, "https://mfa.contoso.com/my"},
		{"", true, "https://aka.ms/MFASetup"},
		{"https://intranet.contoso.com/mfa-help", false, "https://intranet.contoso.com/mfa-help"},
		{"https://intranet.contoso.com/mfa-help", true, "https://intranet.contoso.com/mfa-help"},
	} {
		var cfg config
		fs := newFlagSet("serve", io.Discard)
		serveFlags(fs, &cfg)
		getenv := func(k string) string {
			if k == "MFAPORTAL_SETUP_URL" {
				return c.env
			}
			return ""
		}
		if _, err := parseFlags(fs, nil, getenv); err != nil {
			t.Fatal(err)
		}
		svc := &mfa.Service{}
		if err := useMail(cfg.Mail, "https://mfa.contoso.com", c.graph, nil, svc, log); err != nil {
			t.Fatal(err)
		}
		if got := svc.RegistrationLink(); got != c.want {
			t.Errorf("MFAPORTAL_SETUP_URL=%q, graph=%v: %q, want %q", c.env, c.graph, got, c.want)
		}
	}
}
