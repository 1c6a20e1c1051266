package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"

	"github.com/mfaportal/mfaportal/mfa"
)

// code is the authenticator's code for secret (written in groups, as the page shows it) at t.
func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(strings.ReplaceAll(secret, " ", ""), at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol enrols an authenticator for the signed-in client at /account/security and answers its
// secret.
func (e *testEnv) enrol(c *http.Client) string {
	e.t.Helper()
	resp, doc := e.get(c, "/account/security")
	if resp.StatusCode != http.StatusOK || !strings.Contains(doc.Find("[data-testid=totp-status]").Text(), "none") {
		e.t.Fatalf("security page: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	checkQR(e.t, doc)
	secret := doc.Find("[data-testid=totp-secret]").Text()
	resp, doc = e.postForm(c, "/account/security/enrol", url.Values{"code": {"000000"}})
	if resp.StatusCode != http.StatusUnauthorized || doc.Find("#code-error").Length() != 1 {
		e.t.Fatalf("a wrong code: %d", resp.StatusCode)
	}
	resp, _ = e.postForm(c, "/account/security/enrol", url.Values{"code": {code(e.t, secret, e.now)}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("enrol: %d", resp.StatusCode)
	}
	_, doc = e.get(c, "/account/security")
	if !strings.Contains(doc.Find("[data-testid=totp-status]").Text(), "enrolled") || !strings.Contains(doc.Find("[role=status]").Text(), "is enrolled") {
		e.t.Fatalf("after enrolling: %q", doc.Find("main").Text())
	}
	return secret
}

// checkQR checks the page's QR code is a PNG rendered by the server, in an <img> (no script).
func checkQR(t *testing.T, doc *goquery.Document) {
	t.Helper()
	src := doc.Find("img.qr").AttrOr("src", "")
	b64, ok := strings.CutPrefix(src, "data:image/png;base64,")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil {
		t.Fatalf("QR code src %.60q", src)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil || img.Bounds().Dx() != 240 {
		t.Fatalf("QR code image: %v", err)
	}
	if doc.Find("script:not([src])").Length() != 0 {
		t.Fatal("an inline script on the page")
	}
}

// signInWithCode signs in with password then code; it answers the second step's response.
func (e *testEnv) signInWithCode(c *http.Client, name, codeValue string) *http.Response {
	e.t.Helper()
	resp := e.signIn(c, name, testPassword, "/audit")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin/mfa" || sessionCookieSet(resp) {
		e.t.Fatalf("password step: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = e.postForm(c, "/signin/mfa", url.Values{"code": {codeValue}})
	return resp
}

func TestLocalAccountEnrolsAnAuthenticatorAndSignsInWithIt(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleHelpdesk)
	secret := e.enrol(c)

	// Sign-in now takes the code after the password; no session before it.
	c2 := e.client()
	resp := e.signIn(c2, "helpdesk", testPassword, "/audit")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/signin/mfa" || sessionCookieSet(resp) {
		t.Fatalf("password: %d %q", resp.StatusCode, loc)
	}
	if resp, _ := e.get(c2, "/users"); resp.StatusCode != http.StatusSeeOther {
		t.Fatal("signed in before the code")
	}
	if resp, doc := e.get(c2, "/signin/mfa"); resp.StatusCode != http.StatusOK || doc.Find("input#code").Length() != 1 {
		t.Fatalf("code page: %d", resp.StatusCode)
	}
	if resp, _ := e.postForm(c2, "/signin/mfa", url.Values{"code": {"123456"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", resp.StatusCode)
	}
	e.now = e.now.Add(time.Minute) // a new code: the enrolment's was used
	good := code(t, secret, e.now)
	resp, _ = e.postForm(c2, "/signin/mfa", url.Values{"code": {good[:3] + " " + good[3:]}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/audit" || !sessionCookieSet(resp) {
		t.Fatalf("right code: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if who, _ := e.header(c2); who != "helpdesk" {
		t.Fatalf("signed in as %q", who)
	}
	// The same code again (a replay): refused.
	if resp := e.signInWithCode(e.client(), "helpdesk", good); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a used code again: %d", resp.StatusCode)
	}
	page, _ := e.app.svc.FindAudit(context.Background(), mfa.CLIActor, mfa.AuditFilter{Action: mfa.AuditAccountMFAEnrol})
	if len(page.Records) != 1 || page.Records[0].ActorName != "helpdesk" || page.Records[0].Target != "account:helpdesk" {
		t.Fatalf("audit: %+v", page.Records)
	}
	// Removing takes a code; it ends the account's sessions.
	e.now = e.now.Add(time.Minute)
	if resp, _ := e.postForm(c2, "/account/security/remove", url.Values{"code": {code(t, secret, e.now)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", resp.StatusCode)
	}
	if resp := e.signIn(e.client(), "helpdesk", testPassword, ""); resp.Header.Get("Location") != "/users" {
		t.Fatalf("after removing, sign-in still asks for a code: %q", resp.Header.Get("Location"))
	}
}

// The second step cannot be reached without the password, nor with a forged or expired cookie.
func TestSecondStepNeedsThePassword(t *testing.T) {
	e := newTestEnv(t)
	c := e.signedIn(mfa.RoleGlobalAdmin)
	secret := e.enrol(c)
	e.now = e.now.Add(time.Minute)
	stranger := e.client()
	u, _ := url.Parse(e.srv.URL)
	stranger.Jar.SetCookies(u, []*http.Cookie{{Name: "mfaportal_signin", Value: "forged", Path: "/signin"}})
	if resp, _ := e.postForm(stranger, "/signin/mfa", url.Values{"code": {code(t, secret, e.now)}}); resp.StatusCode != http.StatusConflict || sessionCookieSet(resp) {
		t.Fatalf("second step without the password: %d", resp.StatusCode)
	}
	// Codes are throttled like passwords: after 5 wrong codes the account slows down.
	c2 := e.client()
	e.signIn(c2, "global-admin", testPassword, "")
	for range 5 {
		e.postForm(c2, "/signin/mfa", url.Values{"code": {"000000"}})
	}
	resp, _ := e.postForm(c2, "/signin/mfa", url.Values{"code": {code(t, secret, e.now)}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("6th code right after 5 wrong ones: %d", resp.StatusCode)
	}
}

// With MFAPORTAL_REQUIRE_ADMIN_MFA a local account without an authenticator enrols one in its
// sign-in, before any session exists; it cannot remove it afterwards.
func TestRequiredAdminMFAEnrolsAtSignIn(t *testing.T) {
	e := newTestEnv(t)
	e.app.svc.RequireAdminMFA = true
	c := e.client()
	e.signIn(c, "reader", testPassword, "/audit")
	resp, doc := e.get(c, "/signin/mfa")
	if resp.StatusCode != http.StatusOK || doc.Find("input#code").Length() != 1 {
		t.Fatalf("enrol page: %d", resp.StatusCode)
	}
	checkQR(t, doc)
	secret := doc.Find("[data-testid=totp-secret]").Text()
	resp, _ = e.postForm(c, "/signin/mfa", url.Values{"code": {code(t, secret, e.now)}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/audit" {
		t.Fatalf("enrol and sign in: %d", resp.StatusCode)
	}
	_, doc = e.get(c, "/account/security")
	if doc.Find("form[action='/account/security/remove']").Length() != 0 {
		t.Fatal("a required authenticator offers removal")
	}
	e.now = e.now.Add(time.Minute)
	if resp, doc := e.postForm(c, "/account/security/remove", url.Values{"code": {code(t, secret, e.now)}}); resp.StatusCode != http.StatusConflict ||
		!strings.HasPrefix(doc.Find("#code-error").Text(), "This portal requires") || !strings.Contains(doc.Find("#code-error").Text(), "reset-mfa NAME") ||
		strings.Contains(doc.Find("#code-error").Text(), "`") {
		t.Fatalf("removing a required authenticator: %d %q", resp.StatusCode, doc.Find("#code-error").Text())
	}
	// reset-mfa (the command's service call): audited, sessions end, the next sign-in enrols again.
	if err := e.app.svc.ResetAccountMFA(context.Background(), mfa.CLIActor, "reader"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.get(c, "/users"); resp.StatusCode != http.StatusSeeOther {
		t.Fatal("the session outlived reset-mfa")
	}
	page, _ := e.app.svc.FindAudit(context.Background(), mfa.CLIActor, mfa.AuditFilter{Action: mfa.AuditAccountMFAReset})
	if len(page.Records) != 1 || page.Records[0].Target != "account:reader" || page.Records[0].ActorName != "cli" {
		t.Fatalf("reset audit: %+v", page.Records)
	}
	e.signIn(c, "reader", testPassword, "")
	if _, doc := e.get(c, "/signin/mfa"); doc.Find("img.qr").Length() != 1 {
		t.Fatal("after reset-mfa the sign-in does not enrol again")
	}
}

// An enrolment started at sign-in before the account had an app cannot replace the app the
// account enrolled meanwhile: else whoever knows only the password, having started a sign-in
// then, would enrol their own app over the owner's and sign in without the owner's code.
func TestEnrolmentCannotReplaceAnAppEnrolledMeanwhile(t *testing.T) {
	e := newTestEnv(t)
	e.app.svc.RequireAdminMFA = true
	thief, owner := e.client(), e.client()
	e.signIn(thief, "reader", testPassword, "/audit")
	_, doc := e.get(thief, "/signin/mfa")
	thiefSecret := doc.Find("[data-testid=totp-secret]").Text()
	e.signIn(owner, "reader", testPassword, "/audit")
	_, doc = e.get(owner, "/signin/mfa")
	ownerSecret := doc.Find("[data-testid=totp-secret]").Text()
	if thiefSecret == "" || ownerSecret == "" || thiefSecret == ownerSecret {
		t.Fatalf("secrets %q %q", thiefSecret, ownerSecret)
	}
	if resp, _ := e.postForm(owner, "/signin/mfa", url.Values{"code": {code(t, ownerSecret, e.now)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner enrols: %d", resp.StatusCode)
	}
	resp, doc := e.postForm(thief, "/signin/mfa", url.Values{"code": {code(t, thiefSecret, e.now)}})
	if resp.StatusCode == http.StatusSeeOther || sessionCookieSet(resp) || !strings.Contains(doc.Text(), "enrolled") {
		t.Fatalf("an enrolment started before replaced the owner's app: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	if resp, _ := e.get(thief, "/users"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the thief has a session: %d", resp.StatusCode)
	}
	// The owner's app still signs in.
	e.now = e.now.Add(time.Minute)
	if resp := e.signInWithCode(e.client(), "reader", code(t, ownerSecret, e.now)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner's app after the attempt: %d", resp.StatusCode)
	}
}
