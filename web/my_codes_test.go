package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/mfaportal/mfaportal/mfa"
)

// When the code Enter code waited for is gone (expired, used up by its last wrong try, or an
// authenticator code used before), the page says why next to nothing else: the code form is gone
// with the code, so the message must not be hidden with it.
func TestEnterCodeSaysWhyTheCodeIsGone(t *testing.T) {
	e := newTestEnv(t)
	e.stepUsers()
	own := e.signedInUser()
	signIn := func() *http.Client {
		t.Helper()
		c := e.client()
		e.now = e.now.Add(mfa.ResendInterval)
		if resp, _ := e.postForm(c, "/my/signin", url.Values{"username": {"step.user@contoso.com"}, "password": {userPassword}}); resp.Header.Get("Location") != "/my/verify" {
			t.Fatalf("sign-in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		return c
	}

	c := signIn()
	e.now = e.now.Add(mfa.CodeTTL)
	resp, doc := e.postForm(c, "/my/verify", url.Values{"code": {e.sent.last(t, "+14255550100")}})
	if msg := doc.Find("[role=alert]").Text(); resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "expired") {
		t.Errorf("expired code: %d, alert %q, page %q", resp.StatusCode, msg, strings.Join(strings.Fields(doc.Find("main").Text()), " "))
	}

	c = signIn()
	right := e.sent.last(t, "+14255550100")
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	for range mfa.MaxCodeAttempts - 2 {
		e.postForm(c, "/my/verify", url.Values{"code": {wrong}})
	}
	if _, doc := e.postForm(c, "/my/verify", url.Values{"code": {wrong}}); !strings.Contains(doc.Find("#err-code").Text(), "(1 try left)") {
		t.Errorf("the last but one try: %q", doc.Find("#err-code").Text())
	}
	resp, doc = e.postForm(c, "/my/verify", url.Values{"code": {wrong}})
	if msg := doc.Find("[role=alert]").Text(); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(msg, "last try") {
		t.Errorf("last try: %d, alert %q, page %q", resp.StatusCode, msg, strings.Join(strings.Fields(doc.Find("main").Text()), " "))
	}
	// The way on: another code by the listed method.
	if doc.Find("form[action='/my/verify/method'] button").Length() == 0 {
		t.Errorf("no way to get another code: %q", strings.Join(strings.Fields(doc.Find("main").Text()), " "))
	}
	// A try more, at once: the throttle answers, in words of codes (the password was right; a
	// message about failed sign-ins read as if it had not been).
	resp, doc = e.postForm(c, "/my/verify", url.Values{"code": {wrong}})
	if msg := doc.Find("[role=alert]").Text(); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(msg, "Too many wrong codes") || strings.Contains(msg, "sign-ins") {
		t.Errorf("throttled: %d, alert %q", resp.StatusCode, msg)
	}

	// An authenticator code used once already (the one that registered the app): said so, and
	// the page keeps asking for the app's next code. (After the throttle's window: the wrong
	// codes above count against the user.)
	e.now = e.now.Add(16 * time.Minute)
	e.postForm(own, "/my/register/method", url.Values{"method": {"softwareOneTimePasscode"}})
	_, doc = e.get(own, "/my/register/verify")
	secret, _ := doc.Find("[data-testid=secret]").Attr("value")
	used, _ := totp.GenerateCode(secret, e.now)
	if resp, _ := e.postForm(own, "/my/register/verify", url.Values{"code": {used}}); resp.Header.Get("Location") != "/my?done=added" {
		t.Fatalf("add the app: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c = e.client()
	if resp, _ := e.postForm(c, "/my/signin", url.Values{"username": {"step.user@contoso.com"}, "password": {userPassword}}); resp.Header.Get("Location") != "/my/verify" {
		t.Fatalf("sign-in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	e.postForm(c, "/my/verify/method", url.Values{"method": {"softwareOneTimePasscode"}})
	resp, doc = e.postForm(c, "/my/verify", url.Values{"code": {used}})
	if msg := doc.Find("#err-code").Text(); resp.StatusCode != http.StatusBadRequest || !strings.Contains(msg, "already used") || doc.Find("input[name=code]").Length() != 1 {
		t.Errorf("a code used before: %d, error %q, page %q", resp.StatusCode, msg, strings.Join(strings.Fields(doc.Find("main").Text()), " "))
	}
	e.now = e.now.Add(30 * time.Second)
	next, _ := totp.GenerateCode(secret, e.now)
	if resp, _ := e.postForm(c, "/my/verify", url.Values{"code": {next}}); resp.Header.Get("Location") != "/my" {
		t.Errorf("the app's next code: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
