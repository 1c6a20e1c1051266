package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func testSetupLink(t *testing.T, open Opener) {
	e := newSelfEnv(t, open)
	helpdesk := mfa.Actor{Name: "hd", Role: mfa.RoleHelpdesk, Method: "local"}
	first, err := e.self.CreateSetupLink(bg, helpdesk, "ANN@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.URL, "https://mfa.example/my/setup/") || first.UPN != "ann@contoso.com" || !first.Expires.Equal(T0.Add(72*time.Hour)) {
		t.Fatalf("link %+v", first)
	}
	// One live link per user: a second one makes the first stop working.
	second, err := e.self.CreateSetupLink(bg, helpdesk, "ann@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.self.CheckSetupLink(bg, secretOf(first.URL)); err != mfa.ErrSetupLinkGone {
		t.Fatalf("the first link still works: %v", err)
	}
	if u, err := e.self.CheckSetupLink(bg, secretOf(second.URL)); err != nil || u.UPN != "ann@contoso.com" {
		t.Fatalf("second link: %v %v", u, err)
	}
	// Roles: helpdesk and authentication admins not on admins; readers never.
	_, err = e.self.CreateSetupLink(bg, helpdesk, "eve@contoso.com")
	wantCode(t, err, mfa.EFORBIDDEN, "")
	_, err = e.self.CreateSetupLink(bg, mfa.Actor{Name: "r", Role: mfa.RoleReader}, "ann@contoso.com")
	wantCode(t, err, mfa.EFORBIDDEN, "")
	if _, err := e.self.CreateSetupLink(bg, mfa.Actor{Name: "ga", Role: mfa.RoleGlobalAdmin}, "eve@contoso.com"); err != nil {
		t.Fatal(err)
	}
	_, err = e.self.CreateSetupLink(bg, helpdesk, "nobody@contoso.com")
	wantCode(t, err, mfa.ENOTFOUND, "")

	// Bad passwords change nothing and keep the link.
	secret := secretOf(second.URL)
	_, err = e.self.SetPasswordWithLink(bg, secret, "short", "short", "")
	wantCode(t, err, mfa.EINVALID, "password")
	_, err = e.self.SetPasswordWithLink(bg, secret, "a long enough password", "another long password", "")
	wantCode(t, err, mfa.EINVALID, "confirm")
	if _, err := e.self.SetPasswordWithLink(bg, secret, "a long enough password", "a long enough password", "192.0.2.4"); err != nil {
		t.Fatal(err)
	}
	// Used once: a second use, junk and an expired link all get the same answer.
	if _, err := e.self.SetPasswordWithLink(bg, secret, "another long password", "another long password", ""); err != mfa.ErrSetupLinkGone {
		t.Fatalf("link used twice: %v", err)
	}
	for _, junk := range []string{"", "x", strings.Repeat("A", 43), "../../etc/passwd"} {
		if _, err := e.self.CheckSetupLink(bg, junk); err != mfa.ErrSetupLinkGone {
			t.Fatalf("junk %q: %v", junk, err)
		}
	}
	old, _ := e.self.CreateSetupLink(bg, helpdesk, "bob@contoso.com")
	e.now = e.now.Add(72*time.Hour + time.Millisecond)
	if _, err := e.self.SetPasswordWithLink(bg, secretOf(old.URL), "a long enough password", "a long enough password", ""); err != mfa.ErrSetupLinkGone {
		t.Fatalf("expired link: %v", err)
	}
	// The password works; the audit log has the link (by the admin) and the password (by the user).
	if in := e.signIn("ann@contoso.com", "a long enough password", ""); in.Decision.Need != mfa.NeedRegistration {
		t.Fatalf("ann: %+v", in.Decision)
	}
	var got []string
	for _, r := range e.audit("ann@contoso.com") {
		got = append(got, r.Action+" by "+r.ActorName+" ("+string(r.ActorRole)+", "+r.Source+")")
	}
	want := "user.import by cli (global-admin, cli) | user.setup-link by hd (helpdesk, page) | user.setup-link by hd (helpdesk, page) | user.password-set by ann@contoso.com (user, setup-link)"
	if strings.Join(got, " | ") != want {
		t.Fatalf("audit:\n%s\nwant\n%s", strings.Join(got, " | "), want)
	}
	for _, r := range e.audit("ann@contoso.com") {
		if strings.Contains(r.After, secret) || strings.Contains(r.After, "a long enough password") {
			t.Fatal("a secret in the audit log")
		}
	}
}

func testUserSignIn(t *testing.T, open Opener) {
	e := newSelfEnv(t, open)
	e.setPassword("bob@contoso.com", "bob's long password")
	e.setPassword("dan@contoso.com", "dan's long password")
	// Unknown user, no password yet, wrong password: the same answer; nothing made.
	for _, c := range [][2]string{{"nobody@contoso.com", "whatever password"}, {"ann@contoso.com", "whatever password"},
		{"bob@contoso.com", "wrong password!!"}, {"bob@contoso.com", ""}, {strings.Repeat("a", 300), "x"}} {
		if _, err := e.self.SignIn(bg, c[0], c[1], "", mfa.SignIn{}); err != mfa.ErrBadCredentials {
			t.Errorf("%s: %v", c[0], err)
		}
	}
	// Blocked: told so only with the right password.
	if _, err := e.self.SignIn(bg, "dan@contoso.com", "dan's long password", "", mfa.SignIn{}); err != mfa.ErrUserBlocked {
		t.Fatalf("blocked: %v", err)
	}
	in := e.signIn("BOB@contoso.com", "bob's long password", "")
	if in.Decision.Need != mfa.NeedNothing || in.Session.Stage != mfa.NeedNothing {
		t.Fatalf("disabled user: %+v", in.Decision)
	}
	sess, u, err := e.self.Session(bg, in.Token)
	if err != nil || u.UPN != "bob@contoso.com" || sess.UserID != u.ID {
		t.Fatalf("session: %v %v %v", sess, u, err)
	}
	// Idle for longer than an hour: signed out.
	e.now = e.now.Add(61 * time.Minute)
	if _, _, err := e.self.Session(bg, in.Token); err != mfa.ErrSignedOut {
		t.Fatalf("idle session: %v", err)
	}
	// Blocked meanwhile: the session ends.
	in = e.signIn("bob@contoso.com", "bob's long password", "")
	if _, err := e.svc.ImportUsers(bg, mfa.CLIActor, strings.NewReader("UserPrincipalName,DisplayName,AccountEnabled\nbob@contoso.com,Bob,false\n"), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.self.Session(bg, in.Token); err != mfa.ErrSignedOut {
		t.Fatalf("blocked user's session: %v", err)
	}
	if _, _, err := e.self.Session(bg, "junk"); err != mfa.ErrSignedOut {
		t.Fatal(err)
	}
}

// users import is audited per user created or changed, in its transaction; importing the same
// file again changes nothing and records nothing.
func testImportIsAudited(t *testing.T, open Opener) {
	e := newSelfEnv(t, open)
	page, _ := e.db.FindAudit(bg, mfa.AuditFilter{Action: mfa.AuditUserImport, Limit: 100})
	if len(page.Records) != 5 || page.Records[0].Before != "" || !strings.Contains(page.Records[0].After, "status: Enabled") {
		t.Fatalf("first import: %d records, %+v", len(page.Records), page.Records[0])
	}
	if _, err := e.svc.ImportUsers(bg, mfa.CLIActor, strings.NewReader(selfUsers), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ImportUsers(bg, mfa.CLIActor, strings.NewReader("UserPrincipalName,DisplayName,Methods\ncat@contoso.com,Cat,officePhone\n"), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	page, _ = e.db.FindAudit(bg, mfa.AuditFilter{Action: mfa.AuditUserImport, Limit: 100})
	if len(page.Records) != 6 || page.Records[0].Target != "cat@contoso.com" || !strings.Contains(page.Records[0].Before, "methods: mobilePhone") ||
		!strings.Contains(page.Records[0].After, "methods: officePhone") || page.Records[0].Source != mfa.SourceCLI {
		t.Fatalf("re-import: %d records, %+v", len(page.Records), page.Records[0])
	}
	if _, err := e.svc.VerifyAudit(bg, mfa.CLIActor); err != nil {
		t.Fatal(err)
	}
}
