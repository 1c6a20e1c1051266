package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/mfaportal/mfaportal/mfa"
)

const userPassword = "a user's long password"

// setupLink has a helpdesk admin create a setup link on the user's page and answers its path.
func (e *testEnv) setupLink(upn string) string {
	e.t.Helper()
	resp, doc := e.postForm(e.signedIn(mfa.RoleHelpdesk), "/users/"+url.PathEscape(upn)+"/setup-link", nil)
	link, _ := doc.Find("[data-testid=setup-link-url]").Attr("value")
	if resp.StatusCode != 200 || !strings.HasPrefix(link, e.srv.URL+"/my/setup/") || resp.Header.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("setup link: %d %q %q", resp.StatusCode, link, doc.Find("main").Text())
	}
	return strings.TrimPrefix(link, e.srv.URL)
}

// userSignIn gives upn a password and signs them in with a fresh client.
func (e *testEnv) userSignIn(upn string) (*http.Client, *http.Response) {
	e.t.Helper()
	path := e.setupLink(upn)
	c := e.client()
	if resp, doc := e.postForm(c, path, url.Values{"password": {userPassword}, "confirm": {userPassword}}); resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("set password: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	resp, _ := e.postForm(c, "/my/signin", url.Values{"username": {upn}, "password": {userPassword}})
	return c, resp
}

func TestUserPagesRegistrationAndSecurityInfo(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.svc().SetState(context.Background(), mfa.CLIActor, mfa.StateRequest{UPN: "step.user@contoso.com", To: mfa.StateEnabled})

	// A reader may not create a setup link; helpdesk not for an admin.
	if resp, _ := e.postForm(e.signedIn(mfa.RoleReader), "/users/step.user@contoso.com/setup-link", nil); resp.StatusCode != 403 {
		t.Fatalf("reader: %d", resp.StatusCode)
	}
	resp, doc := e.postForm(e.signedIn(mfa.RoleHelpdesk), "/users/step.admin@contoso.com/setup-link", nil)
	if resp.StatusCode != 403 || !strings.Contains(doc.Find("[data-testid=setup-link-error]").Text(), "admin role") || doc.Find("[data-testid=setup-link-url]").Length() != 0 {
		t.Fatalf("helpdesk on an admin: %d %q", resp.StatusCode, doc.Find("main").Text())
	}

	c, resp := e.userSignIn("step.user@contoso.com")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/my/register" {
		t.Fatalf("sign-in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "mfaportal_user" && (ck.Path != "/my" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode) {
			t.Fatalf("user cookie %+v", ck)
		}
	}
	// The user's session opens no admin page; an admin's none of the user's.
	if resp, _ := e.get(c, "/users"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Fatalf("a user's session on /users: %d", resp.StatusCode)
	}
	// At registration, security info sends the user back to registration.
	if resp, _ := e.get(c, "/my"); resp.Header.Get("Location") != "/my/register" {
		t.Fatalf("/my at registration: %q", resp.Header.Get("Location"))
	}
	_, doc = e.get(c, "/my/register")
	if doc.Find("h1").Text() != "More information required" || !strings.Contains(doc.Text(), "Your organization needs more information to keep your account secure") {
		t.Fatalf("more info: %q", doc.Find("main").Text())
	}
	// Bad phone numbers: the field's error, nothing sent.
	resp, doc = e.postForm(c, "/my/register/method", url.Values{"method": {"mobilePhone"}, "phone": {"425 555 0100"}, "channel": {"sms"}})
	if resp.StatusCode != 400 || !strings.Contains(doc.Find("#err-phone-mobilePhone").Text(), "country code") || len(e.sent.msgs) != 0 {
		t.Fatalf("bad phone: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	// The mobile app: a secret under Secret key and a QR code drawn here.
	resp, _ = e.postForm(c, "/my/register/method", url.Values{"method": {"softwareOneTimePasscode"}})
	if resp.Header.Get("Location") != "/my/register/verify" {
		t.Fatalf("choose the app: %d", resp.StatusCode)
	}
	_, doc = e.get(c, "/my/register/verify")
	secret, _ := doc.Find("[data-testid=secret]").Attr("value")
	qr, _ := doc.Find("[data-testid=qr]").Attr("src")
	if len(secret) != 32 || !strings.HasPrefix(qr, "data:image/png;base64,") || !strings.Contains(doc.Text(), "Secret key") {
		t.Fatalf("verify page: %q %q", secret, qr[:min(40, len(qr))])
	}
	if strings.Contains(e.logs.String(), secret) {
		t.Fatal("the secret is in the log")
	}
	resp, doc = e.postForm(c, "/my/register/verify", url.Values{"code": {"12"}})
	if resp.StatusCode != 400 || doc.Find("#err-code").Length() != 1 {
		t.Fatalf("malformed code: %d", resp.StatusCode)
	}
	code, _ := totp.GenerateCode(secret, e.now)
	if resp, _ = e.postForm(c, "/my/register/verify", url.Values{"code": {code}}); resp.Header.Get("Location") != "/my?done=registered" {
		t.Fatalf("verify: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if u := e.user("step.user@contoso.com"); u.State != mfa.StateEnforced {
		t.Fatalf("state %s", u.State)
	}
	_, doc = e.get(c, "/my?done=registered")
	if !strings.Contains(doc.Find("[data-testid=methods]").Text(), "Mobile app") || doc.Find("[data-testid=notice]").Length() != 1 {
		t.Fatalf("security info: %q", doc.Find("main").Text())
	}
	// The only method of an Enforced user cannot be deleted.
	resp, doc = e.postForm(c, "/my/methods/delete", url.Values{"method": {"softwareOneTimePasscode"}})
	if resp.StatusCode != 400 || !strings.Contains(doc.Find("[data-testid=security-error]").Text(), "only sign-in method") {
		t.Fatalf("delete the last method: %d", resp.StatusCode)
	}
	// The admin's user page: the method with when it was added.
	_, doc = e.get(e.signedIn(mfa.RoleReader), "/users/step.user@contoso.com")
	if row := doc.Find("[data-testid=user-methods] tbody tr").Text(); !strings.Contains(row, "Mobile app") || !strings.Contains(row, "2026-11-24 09:00 UTC") {
		t.Fatalf("admin's view: %q", row)
	}
	if doc.Find("form[action$='/setup-link']").Length() != 0 {
		t.Fatal("a reader is offered create setup link")
	}
	for _, leak := range []string{secret, code} {
		if strings.Contains(e.logs.String(), leak) {
			t.Fatalf("%q is in the log", leak)
		}
	}
}

func TestUserSignInRefusals(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	path := e.setupLink("step.user@contoso.com")
	c := e.client()
	for _, tc := range []struct{ pw, confirm, field string }{{"short", "short", "err-password"}, {userPassword, "something else entirely", "err-confirm"}} {
		resp, doc := e.postForm(c, path, url.Values{"password": {tc.pw}, "confirm": {tc.confirm}})
		if resp.StatusCode != 400 || doc.Find("#"+tc.field).Length() != 1 {
			t.Fatalf("%v: %d %q", tc, resp.StatusCode, doc.Find("main").Text())
		}
	}
	e.postForm(c, path, url.Values{"password": {userPassword}, "confirm": {userPassword}})
	for _, p := range []string{path, "/my/setup/nonsense", "/my/setup/" + strings.Repeat("A", 43)} {
		resp, doc := e.get(c, p)
		if resp.StatusCode != 404 || !strings.Contains(doc.Find("[data-testid=setup-gone]").Text(), "expired or was already used") {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	// A wrong password and an unknown user: one answer.
	var answers []string
	for _, name := range []string{"step.user@contoso.com", "nobody@contoso.com", "step.admin@contoso.com"} {
		resp, doc := e.postForm(e.client(), "/my/signin", url.Values{"username": {name}, "password": {"not the password"}})
		answers = append(answers, resp.Status+" "+doc.Find("#signin-error").Text())
	}
	if answers[0] != answers[1] || answers[1] != answers[2] || !strings.HasPrefix(answers[0], "401") {
		t.Fatalf("answers differ: %q", answers)
	}
	// Blocked: said only after the right password, and no session.
	e.svc().ImportUsers(context.Background(), mfa.CLIActor, strings.NewReader("UserPrincipalName,DisplayName,AccountEnabled\nstep.user@contoso.com,Step User,false\n"), mfa.DefaultCSVLimits)
	resp, doc := e.postForm(c, "/my/signin", url.Values{"username": {"step.user@contoso.com"}, "password": {userPassword}})
	if resp.StatusCode != 403 || !strings.Contains(doc.Find("#signin-error").Text(), "blocked") || len(resp.Cookies()) != 0 {
		t.Fatalf("blocked: %d %q", resp.StatusCode, doc.Find("#signin-error").Text())
	}
}

func (e *testEnv) svc() *mfa.Service {
	return mfa.MustNewService(mfa.Deps{Directory: e.db, Importer: e.db, Accounts: e.db, Audit: e.db, Settings: e.db, Jobs: e.db, Now: func() time.Time { return e.now }})
}

// signedInUser enables step.user, who registers an office phone (and becomes Enforced), and answers
// a client signed in to /my.
func (e *testEnv) signedInUser() *http.Client {
	e.t.Helper()
	e.svc().SetState(context.Background(), mfa.CLIActor, mfa.StateRequest{UPN: "step.user@contoso.com", To: mfa.StateEnabled})
	c, _ := e.userSignIn("step.user@contoso.com")
	e.postForm(c, "/my/register/method", url.Values{"method": {"officePhone"}, "phone": {"+1 425 555 0100"}})
	if resp, _ := e.postForm(c, "/my/register/verify", url.Values{"code": {e.sent.last(e.t, "+14255550100")}}); resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("register the phone: %d", resp.StatusCode)
	}
	return c
}

func TestAppPasswordsPageAndLegacyApps(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	c := e.signedInUser()
	_, doc := e.get(c, "/my/app-passwords")
	if !strings.HasPrefix(doc.Find("[data-testid=not-allowed]").Text(), "Your organization does not allow app passwords") || doc.Find("form[action='/my/app-passwords']").Length() != 0 {
		t.Fatalf("not allowed: %q", doc.Find("main").Text())
	}
	s, _ := e.db.LoadSettings(context.Background())
	s.AppPasswordsAllowed = true
	e.svc().SaveSettings(context.Background(), mfa.CLIActor, s, mfa.SourceCLI)
	for _, bad := range []string{"", strings.Repeat("n", 300), "<script>x</script>"} {
		resp, doc := e.postForm(c, "/my/app-passwords", url.Values{"name": {bad}})
		if resp.StatusCode != 400 || doc.Find("#err-name").Length() != 1 || doc.Find("[data-testid=app-password]").Length() != 0 {
			t.Fatalf("name %q: %d", bad, resp.StatusCode)
		}
	}
	resp, doc := e.postForm(c, "/my/app-passwords", url.Values{"name": {"Outlook"}})
	pw, _ := doc.Find("[data-testid=app-password]").Attr("value")
	if resp.StatusCode != 200 || len(pw) != 16 || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(doc.Text(), "Your app password") {
		t.Fatalf("create: %d %q", resp.StatusCode, pw)
	}
	// Shown once: the list has the name, never the password.
	_, doc = e.get(c, "/my/app-passwords")
	if strings.Contains(doc.Text(), pw) || !strings.Contains(doc.Find("[data-testid=app-passwords]").Text(), "Outlook") {
		t.Fatal("the app password is shown again, or not listed")
	}
	legacy := func(user, password string) int {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/legacy/v1/profile", nil)
		req.SetBasicAuth(user, password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	e.now = e.now.Add(time.Hour)
	if got := legacy("step.user@contoso.com", pw); got != 200 {
		t.Fatalf("app password: %d", got)
	}
	if got := legacy("step.user@contoso.com", userPassword); got != 401 {
		t.Fatalf("the password of an Enforced user in a non-browser app: %d", got)
	}
	_, doc = e.get(c, "/my/app-passwords")
	if !strings.Contains(doc.Find("[data-testid=app-passwords] tbody").Text(), "2026-11-24 10:00 UTC") {
		t.Fatalf("last used: %q", doc.Find("[data-testid=app-passwords]").Text())
	}
	// The admin sees it by name, and Manage user settings deletes it for real.
	_, doc = e.get(e.signedIn(mfa.RoleReader), "/users/step.user@contoso.com")
	if !strings.Contains(doc.Find("[data-testid=user-app-passwords]").Text(), "Outlook") {
		t.Fatal("the admin does not see the app password")
	}
	e.svc().ResetUser(context.Background(), mfa.CLIActor, mfa.ResetRequest{UPN: "step.user@contoso.com", Options: mfa.ResetOptions{AppPasswords: true}})
	if got := legacy("step.user@contoso.com", pw); got != 401 {
		t.Fatalf("after the admin deleted it: %d", got)
	}
}

// Wrong codes at sign-in: a clear message, never a 500, then the throttle.
func TestEnterCodeThrottled(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	e.signedInUser()
	c := e.client()
	e.now = e.now.Add(time.Minute)
	resp, _ := e.postForm(c, "/my/signin", url.Values{"username": {"step.user@contoso.com"}, "password": {userPassword}})
	if resp.Header.Get("Location") != "/my/verify" {
		t.Fatalf("second sign-in: %q", resp.Header.Get("Location"))
	}
	_, doc := e.get(c, "/my/verify")
	if !strings.Contains(doc.Find("[data-testid=prompt]").Text(), "+1 ••••••••00") || doc.Find("input[name=remember]").Length() != 0 {
		t.Fatalf("enter code: %q", doc.Find("main").Text())
	}
	var statuses []int
	for range 12 {
		resp, _ := e.postForm(c, "/my/verify", url.Values{"code": {"000000"}})
		statuses = append(statuses, resp.StatusCode)
	}
	if statuses[0] != 401 || statuses[11] != 429 {
		t.Fatalf("statuses %v", statuses)
	}
	for _, s := range statuses {
		if s >= 500 {
			t.Fatalf("statuses %v", statuses)
		}
	}
	if resp, _ := e.get(c, "/my"); resp.Header.Get("Location") != "/my/verify" {
		t.Fatal("signed in without the code")
	}
}
