package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The whole lifecycle of SPEC §7 in a browser: setup link → password → registration with the
// mobile app (the code computed here from the secret the page shows) → Enforced on the admin's
// page → sign in again with a code → an app password shown once → the admin resets the contact
// methods → the user must register again.
func TestSecurityInfoLifecycleInBrowser(t *testing.T) {
	base := startPortal(t)
	admin := signInAsAdmin(t, base)
	user := userBrowser(t)
	const upn = "fix.a@contoso.com" // Enabled, no methods

	setPasswordAndSignIn(t, user, setupLinkFor(t, admin, base, upn), upn)
	heading(t, user, "More information required")
	var secret string
	var qrWidth int
	run(t, user, "register the mobile app",
		chromedp.Click(`//a[normalize-space()="Next"]`, chromedp.BySearch),
		chromedp.WaitVisible("[data-testid=method-softwareOneTimePasscode]", chromedp.ByQuery),
		chromedp.Click(`button[aria-label="Next: Mobile app"]`, chromedp.ByQuery),
		chromedp.WaitVisible("[data-testid=secret]", chromedp.ByQuery),
		chromedp.Value("[data-testid=secret]", &secret, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("[data-testid=qr]").naturalWidth`, &qrWidth))
	if len(secret) != 32 || qrWidth < 100 || !strings.Contains(text(t, user, "main"), "Secret key") {
		t.Fatalf("secret %q, QR code %d px wide", secret, qrWidth)
	}
	run(t, user, "verify the app",
		chromedp.SendKeys("#code", totpCode(t, secret, time.Now()), chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="verify"]`, chromedp.BySearch))
	heading(t, user, "Security info")
	if m := text(t, user, "[data-testid=methods] tbody"); !strings.Contains(m, "Mobile app") {
		t.Fatalf("methods %q", m)
	}
	run(t, admin, "the admin's user page", chromedp.Navigate(base+"/users/"+upn), chromedp.WaitVisible("[data-testid=user-state]", chromedp.ByQuery))
	if s := text(t, admin, "[data-testid=user-state]"); s != "Enforced" {
		t.Fatalf("state on the admin's page: %s", s)
	}
	if m := text(t, admin, "[data-testid=user-methods] tbody"); !strings.Contains(m, "Mobile app") {
		t.Fatalf("methods on the admin's page: %q", m)
	}

	// Again, now with a code (the app's next one: the registration's is used up).
	signOutAndIn(t, user, upn)
	heading(t, user, "Enter code")
	run(t, user, "enter the code",
		chromedp.SendKeys("#code", totpCode(t, secret, time.Now().Add(30*time.Second)), chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="verify"]`, chromedp.BySearch))
	heading(t, user, "Security info")

	// App passwords: the admin allows them; the user creates one, shown once.
	run(t, admin, "allow app passwords",
		chromedp.Navigate(base+"/settings"),
		chromedp.Click(`input[name=appPasswords][value=allow]`, chromedp.ByQuery),
		chromedp.Click(`//button[normalize-space()="save"]`, chromedp.BySearch),
		chromedp.WaitVisible(".notice.ok", chromedp.ByQuery))
	var pw string
	run(t, user, "create an app password",
		chromedp.Click(`//a[normalize-space()="app passwords"]`, chromedp.BySearch),
		chromedp.WaitVisible("#name", chromedp.ByID),
		chromedp.SendKeys("#name", "Outlook", chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="create"]`, chromedp.BySearch),
		chromedp.WaitVisible("[data-testid=app-password]", chromedp.ByQuery),
		chromedp.Value("[data-testid=app-password]", &pw, chromedp.ByQuery))
	if len(pw) != 16 || strings.Trim(pw, "abcdefghijklmnopqrstuvwxyz") != "" || !strings.Contains(text(t, user, "[data-testid=created]"), "Your app password") {
		t.Fatalf("app password %q", pw)
	}
	// A reload asks for the page again: it neither shows the password again nor makes another.
	var at string
	run(t, user, "reload", chromedp.Reload(), chromedp.WaitVisible("[data-testid=app-passwords]", chromedp.ByQuery), chromedp.Location(&at))
	if page := text(t, user, "main"); strings.Contains(page, pw) || strings.Count(text(t, user, "[data-testid=app-passwords]"), "Outlook") != 1 ||
		at != base+"/my/app-passwords" {
		t.Fatalf("after a reload at %s: the app password is shown again, or not listed once:\n%s", at, page)
	}

	// The admin requires the contact methods again: the user must register again.
	manageUserSettings(t, admin, base, upn, "provide contact methods again")
	run(t, user, "back to security info", chromedp.Navigate(base+"/my"), chromedp.WaitVisible("header", chromedp.ByQuery))
	signOutAndIn(t, user, upn)
	heading(t, user, "More information required")
}

// The verification options decide what registration offers; "Don't ask again" skips the code
// until the admin restores MFA on remembered devices.
func TestVerificationOptionsAndRememberedDevicesInBrowser(t *testing.T) {
	base := startPortal(t)
	admin := signInAsAdmin(t, base)
	user := userBrowser(t)
	const upn = "fix.a@contoso.com"
	run(t, admin, "text messages only; remember for 7 days",
		chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible("form.settings", chromedp.ByQuery),
		chromedp.Click(`input[name=call]`, chromedp.ByQuery),
		chromedp.Click(`input[name=appCode]`, chromedp.ByQuery),
		chromedp.Click(`input[name=rememberMfa]`, chromedp.ByQuery),
		chromedp.SetValue("#rememberDays", "7", chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="save"]`, chromedp.BySearch),
		chromedp.WaitVisible(".notice.ok", chromedp.ByQuery))

	setPasswordAndSignIn(t, user, setupLinkFor(t, admin, base, upn), upn)
	heading(t, user, "More information required")
	run(t, user, "the choice", chromedp.Click(`//a[normalize-space()="Next"]`, chromedp.BySearch),
		chromedp.WaitVisible("[data-testid=method-mobilePhone]", chromedp.ByQuery))
	sections := strings.Join(texts(t, user, "section.panel h2"), ",")
	if sections != "Authentication phone,Notification through mobile app" {
		t.Fatalf("methods offered: %q", sections)
	}
	if s := text(t, user, "[data-testid=method-microsoftAuthenticatorPush]"); !strings.Contains(s, "not available") {
		t.Fatalf("notification: %q", s)
	}
	if s := text(t, user, "[data-testid=method-mobilePhone]"); strings.Contains(s, "Call me") || !strings.Contains(s, "text message") {
		t.Fatalf("authentication phone: %q", s)
	}
	run(t, user, "register the phone",
		chromedp.SendKeys("#phone-mobilePhone", "+1 425 555 0100", chromedp.ByID),
		chromedp.Click(`button[aria-label="Next: Authentication phone"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#code", chromedp.ByID))
	run(t, user, "verify the phone",
		chromedp.SendKeys("#code", lastCode(t, base), chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="verify"]`, chromedp.BySearch))
	heading(t, user, "Security info")

	// The code, and Don't ask again for 7 days.
	signOutAndIn(t, user, upn)
	heading(t, user, "Enter code")
	run(t, user, "remember this browser",
		chromedp.Click(`//label[normalize-space()="Don't ask again for 7 days"]/input`, chromedp.BySearch),
		chromedp.SendKeys("#code", lastCode(t, base), chromedp.ByID),
		chromedp.Click(`//button[normalize-space()="verify"]`, chromedp.BySearch))
	heading(t, user, "Security info")
	signOutAndIn(t, user, upn)
	heading(t, user, "Security info") // no code asked

	// The admin restores MFA on remembered devices: the code again.
	manageUserSettings(t, admin, base, upn, "remembered devices")
	signOutAndIn(t, user, upn)
	heading(t, user, "Enter code")
}
