package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/mailer"
	"github.com/mfaportal/mfaportal/mfa/mailer/mailtest"
)

// withMail gives the test server a mail server of its own and a registration link.
func (e *testEnv) withMail() *mailtest.Server {
	e.t.Helper()
	srv := mailtest.Start(e.t)
	m, err := mailer.New(srv.URL, "helpdesk@contoso.com")
	if err != nil {
		e.t.Fatal(err)
	}
	m.Timeout = 5 * time.Second
	e.app.svc.Mailer, e.app.svc.Notices, e.app.svc.SetupURL = m, e.db, "https://portal.contoso.com/my"
	return srv
}

func (e *testEnv) awaitingUsers(n int) []*mfa.User {
	e.t.Helper()
	page, err := e.db.AwaitingRegistration(context.Background(), mfa.RegistrationFilter{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*mfa.User
	for _, u := range page.Users {
		if !u.Privileged && len(out) < n && strings.HasSuffix(u.UPN, "@contoso.com") {
			out = append(out, u)
		}
	}
	return out
}

func TestNotifyFromTheRegistrationTab(t *testing.T) {
	e := newTestEnv(t)
	hd := e.signedIn(mfa.RoleHelpdesk)
	users := e.awaitingUsers(2)
	op := func(c *http.Client) string {
		_, doc := e.get(c, "/registration")
		v, _ := doc.Find(`#notify-selection input[name="op"]`).Attr("value")
		return v
	}
	// No mail server: the page says so, and a notify sends and records nothing.
	_, doc := e.get(hd, "/registration")
	if n := doc.Find(`[data-testid="mail-unavailable"]`).Text(); !strings.Contains(n, "MFAPORTAL_SMTP_URL") || strings.Contains(n, "nothing was sent") {
		t.Errorf("no notice about the missing mail server: %q", doc.Find("main").Text())
	}
	resp, doc := e.postForm(hd, "/registration/notify", url.Values{"op": {op(hd)}, "sel": {users[0].UPN}})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(doc.Find(".notice").Text(), "nothing was sent") {
		t.Errorf("notify without SMTP: %d %q", resp.StatusCode, doc.Find(".notice").Text())
	}
	srv := e.withMail()
	resp, _ = e.postForm(hd, "/registration/notify", url.Values{"op": {op(hd)}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("notify of nobody: %d", resp.StatusCode)
	}
	form := url.Values{"op": {op(hd)}, "sel": {users[0].UPN, users[1].UPN}}
	resp, _ = e.postForm(hd, "/registration/notify", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("notify: %d", resp.StatusCode)
	}
	_, doc = e.get(hd, resp.Header.Get("Location"))
	if got := doc.Find(`[data-testid="notify-summary"]`).Text(); got != "2 sent, 0 not sent." {
		t.Errorf("result %q", got)
	}
	for _, u := range users {
		m := srv.To(u.UPN)
		if len(m) != 1 || !strings.Contains(m[0].Body, "Hello "+u.DisplayName+",") || !strings.Contains(m[0].Body, "https://portal.contoso.com/my") {
			t.Errorf("%s got %+v", u.UPN, m)
		}
	}
	e.postForm(hd, "/registration/notify", form) // the same form again: sent once
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d messages after the form was sent twice", n)
	}
	rd := e.signedIn(mfa.RoleReader)
	if resp, _ := e.postForm(rd, "/registration/notify", url.Values{"op": {op(rd)}, "sel": {users[0].UPN}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a reader notified: %d", resp.StatusCode)
	}
}

func TestEnableDialogNotifiesByEmail(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	srv := e.withMail()
	c := e.signedIn(mfa.RoleGlobalAdmin)
	u := e.user("step.user@contoso.com")
	sel := []string{strings.Join([]string{"0", u.UPN}, " ")}
	_, doc := e.postForm(c, "/users/confirm", url.Values{"step": {"enable"}, "sel": sel, "return": {"/users"}})
	if doc.Find(`[data-testid="notify-option"]`).Length() != 1 || !strings.Contains(doc.Find("#step-dialog").Text(), "Notify users by email") {
		t.Fatalf("the enable dialog does not offer notify: %q", doc.Find("#step-dialog").Text())
	}
	op, _ := doc.Find(`#step-dialog input[name="op"]`).Attr("value")
	resp, _ := e.postForm(c, "/users/step", url.Values{"step": {"enable"}, "sel": sel, "return": {"/users"}, "op": {op}, "notify": {"true"}})
	_, doc = e.get(c, resp.Header.Get("Location"))
	if got := doc.Find(`[data-testid="notify-summary"]`).Text(); got != "1 sent, 0 not sent." {
		t.Errorf("result: %q", doc.Find("#result-dialog").Text())
	}
	if m := srv.To(u.UPN); len(m) != 1 || m[0].Subject != "Set up multi-factor authentication for step.user@contoso.com" {
		t.Errorf("mail %+v", m)
	}
	page, _ := e.db.FindAudit(context.Background(), mfa.AuditFilter{Target: u.UPN, Limit: 10})
	if len(page.Records) < 2 || page.Records[0].Action != mfa.AuditNotify || page.Records[1].Action != mfa.AuditEnable {
		t.Errorf("audit: %+v", page.Records)
	}
}

func TestNotifyTemplatePage(t *testing.T) {
	e := newTestEnv(t)
	e.withMail()
	rd := e.signedIn(mfa.RoleReader)
	_, doc := e.get(rd, "/registration/template")
	if doc.Find(`[data-testid="preview-subject"]`).Length() != 1 || doc.Find(`button[value="save"]`).Length() != 0 {
		t.Errorf("reader's template page: %q", doc.Find("main").Text())
	}
	form := url.Values{"version": {"0"}, "subject": {"Hi {displayName}"}, "body": {"Register at {link} now."}, "action": {"preview"}}
	_, doc = e.postForm(rd, "/registration/template", form)
	if got := doc.Find(`[data-testid="preview-body"]`).Text(); !strings.Contains(got, "Register at https://portal.contoso.com/my now.") {
		t.Errorf("preview %q", got)
	}
	form.Set("action", "save")
	if resp, _ := e.postForm(rd, "/registration/template", form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a reader saved: %d", resp.StatusCode)
	}
	ga := e.signedIn(mfa.RoleGlobalAdmin)
	form.Set("body", "no link")
	resp, doc := e.postForm(ga, "/registration/template", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(doc.Find("#body-error").Text(), "{link}") {
		t.Errorf("a template without the link: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	form.Set("body", "Register at {link} now.")
	if resp, _ = e.postForm(ga, "/registration/template", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	if got, _ := e.db.NotifyTemplate(context.Background()); got.Subject != "Hi {displayName}" || got.Version != 1 {
		t.Errorf("saved %+v", got)
	}
}
