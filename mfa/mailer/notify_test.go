package mailer_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/mailer"
	"github.com/mfaportal/mfaportal/mfa/mailer/mailtest"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

var (
	admin    = mfa.Actor{Name: "alice", Role: mfa.RoleGlobalAdmin, Method: "local"}
	helpdesk = mfa.Actor{Name: "hugo", Role: mfa.RoleHelpdesk, Method: "local"}
	reader   = mfa.Actor{Name: "rita", Role: mfa.RoleReader, Method: "local"}
)

func notifyService(t *testing.T) (*mfa.Service, *sqlite.DB, *mailtest.Server) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := t0
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Importer: db, Accounts: db, Audit: db, Settings: db, Jobs: db,
		Registrations: db, Now: func() time.Time { return now }})
	svc.Notices, svc.SetupURL = db, "https://portal.contoso.com/my"
	in := "UserPrincipalName,DisplayName,MFA Status,Admin,Methods\n" +
		"ada@contoso.com,Ada Lovelace,Enabled,false,\n" +
		"bob@contoso.com,Bob <b>Builder</b>,Enabled,false,\n" +
		"refused@contoso.com,Refused Mailbox,Enabled,false,\n" +
		"boss@contoso.com,Big Boss,Enabled,true,\n" +
		"done@contoso.com,Done Already,Enforced,false,mobilePhone\n" +
		"off@contoso.com,Off Person,Disabled,false,\n"
	if _, err := svc.ImportUsers(context.Background(), mfa.CLIActor, strings.NewReader(in), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(5 * 24 * time.Hour)
	srv := mailtest.Start(t)
	m, err := mailer.New(srv.URL, "IT Helpdesk <helpdesk@contoso.com>")
	if err != nil {
		t.Fatal(err)
	}
	m.Timeout = 5 * time.Second
	svc.Mailer = m
	return svc, db, srv
}

func notifyRecords(t *testing.T, db *sqlite.DB) []*mfa.AuditRecord {
	t.Helper()
	page, err := db.FindAudit(context.Background(), mfa.AuditFilter{Action: mfa.AuditNotify, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Records
}

// TestNotifySendsEachUserTheirMessage sends through a real SMTP conversation with an in-process
// server and asserts the message each user got, the per-user results and the audit records.
func TestNotifySendsEachUserTheirMessage(t *testing.T) {
	svc, db, srv := notifyService(t)
	ctx := context.Background()
	srv.Refuse("refused@contoso.com")
	results, err := svc.NotifyUsers(ctx, helpdesk, []string{"ada@contoso.com", "BOB@contoso.com", "refused@contoso.com",
		"boss@contoso.com", "done@contoso.com", "off@contoso.com", "ghost@contoso.com"}, mfa.SourcePage)
	if err != nil {
		t.Fatal(err)
	}
	want := []mfa.Outcome{mfa.OutcomeChanged, mfa.OutcomeChanged, mfa.OutcomeError, mfa.OutcomeRefused, mfa.OutcomeUnchanged,
		mfa.OutcomeUnchanged, mfa.OutcomeNotFound}
	for i, r := range results {
		if r.Outcome != want[i] || r.Message == "" {
			t.Errorf("%s: %s %q, want %s", r.UPN, r.Outcome, r.Message, want[i])
		}
	}
	if !strings.Contains(results[2].Message, "550") && !strings.Contains(results[2].Message, "mailbox unavailable") {
		t.Errorf("the refusal does not say what the server answered: %q", results[2].Message)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Fatalf("%d messages accepted, want 2", n)
	}
	ada := srv.To("ada@contoso.com")
	if len(ada) != 1 {
		t.Fatalf("ada got %d messages", len(ada))
	}
	m := ada[0]
	if m.Subject != "Set up multi-factor authentication for ada@contoso.com" || m.From != "helpdesk@contoso.com" ||
		!strings.Contains(m.Header.Get("From"), "IT Helpdesk") {
		t.Errorf("ada's message: from %q (%q), subject %q", m.From, m.Header.Get("From"), m.Subject)
	}
	for _, part := range []string{"Hello Ada Lovelace,", "account ada@contoso.com", "enabled 5 days ago", "\nhttps://portal.contoso.com/my\n"} {
		if !strings.Contains(m.Body, part) {
			t.Errorf("ada's message lacks %q:\n%s", part, m.Body)
		}
	}
	if bob := srv.To("bob@contoso.com"); len(bob) != 1 || !strings.Contains(bob[0].Body, "Hello Bob <b>Builder</b>,") {
		t.Errorf("bob's message: %+v", bob)
	}
	recs := notifyRecords(t, db)
	if len(recs) != 2 {
		t.Fatalf("%d user.notify records, want 2 (sent messages only)", len(recs))
	}
	for _, r := range recs {
		if r.ActorName != "hugo" || r.Source != mfa.SourcePage || !strings.Contains(r.After, "registration email sent to") {
			t.Errorf("record %+v", r)
		}
	}
	// Nothing else changed: versions and states as before.
	for _, upn := range []string{"ada@contoso.com", "refused@contoso.com"} {
		if u, _ := db.FindUser(ctx, upn); u.Version != 1 || u.State != mfa.StateEnabled {
			t.Errorf("%s changed: version %d, %s", upn, u.Version, u.State)
		}
	}
}

func TestNotifyRefusals(t *testing.T) {
	svc, db, srv := notifyService(t)
	ctx := context.Background()
	if _, err := svc.NotifyUsers(ctx, reader, []string{"ada@contoso.com"}, mfa.SourcePage); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Errorf("reader: %v", err)
	}
	svc.Mailer = nil
	_, err := svc.NotifyUsers(ctx, admin, []string{"ada@contoso.com"}, mfa.SourcePage)
	if mfa.ErrorCode(err) != mfa.EUNAVAILABLE || !strings.Contains(mfa.ErrorMessage(err), "MFAPORTAL_SMTP_URL") {
		t.Errorf("no SMTP: %v", err)
	}
	// A server that cannot be reached: every user's result says so, nothing is recorded.
	m, _ := mailer.New("smtp://127.0.0.1:1?tls=opportunistic", "helpdesk@contoso.com")
	m.Timeout = 2 * time.Second
	svc.Mailer = m
	results, err := svc.NotifyUsers(ctx, admin, []string{"ada@contoso.com", "bob@contoso.com"}, mfa.SourcePage)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.Outcome != mfa.OutcomeError || !strings.Contains(r.Message, "could not be reached") {
			t.Errorf("%s: %s %q", r.UPN, r.Outcome, r.Message)
		}
	}
	if len(srv.Messages()) != 0 || len(notifyRecords(t, db)) != 0 {
		t.Errorf("something was sent or recorded")
	}
}

func TestNotifyTemplate(t *testing.T) {
	svc, db, srv := notifyService(t)
	ctx := context.Background()
	bad := []struct {
		t     mfa.NotifyTemplate
		field string
	}{
		{mfa.NotifyTemplate{Subject: "", Body: "{link}"}, "subject"},
		{mfa.NotifyTemplate{Subject: "a\nBcc: x@evil.com", Body: "{link}"}, "subject"},
		{mfa.NotifyTemplate{Subject: "Hi", Body: "no link here"}, "body"},
		{mfa.NotifyTemplate{Subject: "Hi {name}", Body: "{link}"}, "subject"},
		{mfa.NotifyTemplate{Subject: "Hi", Body: "{link} {userName} {nope}"}, "body"},
		{mfa.NotifyTemplate{Subject: strings.Repeat("x", 201), Body: "{link}"}, "subject"},
	}
	for _, b := range bad {
		if _, err := svc.SaveNotifyTemplate(ctx, admin, b.t); mfa.ErrorField(err) != b.field {
			t.Errorf("%+v: %v, want a %s error", b.t, err, b.field)
		}
	}
	if _, err := svc.SaveNotifyTemplate(ctx, helpdesk, mfa.NotifyTemplate{Subject: "x", Body: "{link}"}); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Errorf("helpdesk saved the template: %v", err)
	}
	saved, err := svc.SaveNotifyTemplate(ctx, admin, mfa.NotifyTemplate{Subject: "Action needed, {displayName}", Body: "Go to {link} ({days} days).\r\nThanks {a b}"})
	if err != nil || saved.Version != 1 {
		t.Fatalf("save: %+v %v", saved, err)
	}
	if _, err := svc.SaveNotifyTemplate(ctx, admin, mfa.NotifyTemplate{Subject: "stale", Body: "{link}"}); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Errorf("a save from an old version: %v", err)
	}
	got, _ := svc.NotifyTemplate(ctx, reader)
	if got.Subject != "Action needed, {displayName}" || got.Body != "Go to {link} ({days} days).\nThanks {a b}\n" {
		t.Errorf("template read back: %+v", got)
	}
	if _, err := svc.NotifyUsers(ctx, admin, []string{"ada@contoso.com"}, mfa.SourceAPI); err != nil {
		t.Fatal(err)
	}
	if m := srv.To("ada@contoso.com"); len(m) != 1 || m[0].Subject != "Action needed, Ada Lovelace" ||
		m[0].Body != "Go to https://portal.contoso.com/my (5 days).\nThanks {a b}\n" {
		t.Errorf("the saved template was not used: %+v", m)
	}
	page, _ := db.FindAudit(ctx, mfa.AuditFilter{Action: mfa.AuditNotifyTemplate, Limit: 10})
	if len(page.Records) != 1 || !strings.Contains(page.Records[0].After, "Action needed") {
		t.Errorf("template records: %+v", page.Records)
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	for _, c := range []struct{ url, from, want string }{
		{"http://smtp.contoso.com", "a@contoso.com", "scheme"},
		{"smtp://", "a@contoso.com", "no host"},
		{"smtp://smtp.contoso.com:99999", "a@contoso.com", "port"},
		{"smtp://u:secret@smtp.contoso.com?tls=opportunistic", "a@contoso.com", "unencrypted"},
		{"smtp://smtp.contoso.com?tls=maybe", "a@contoso.com", "tls="},
		{"smtp://smtp.contoso.com", "", "MFAPORTAL_MAIL_FROM"},
		{"smtp://smtp.contoso.com", "not an address", "not an email address"},
	} {
		_, err := mailer.New(c.url, c.from)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("New(%q, %q) = %v, want an error about %q", c.url, c.from, err, c.want)
		}
	}
	m, err := mailer.New("smtps://u:secret@smtp.contoso.com", "a@contoso.com")
	if err != nil || m.String() != "smtps://smtp.contoso.com:465" {
		t.Errorf("smtps: %v %v", m, err)
	}
}
