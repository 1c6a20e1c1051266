package storetest

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// signedIn gives ann a password, registers her app and answers a full session.
func (e *selfEnv) signedIn() (*mfa.UserSignIn, string) {
	e.t.Helper()
	e.setPassword("ann@contoso.com", "ann's long password")
	in := e.signIn("ann@contoso.com", "ann's long password", "")
	secret := e.registerApp(in)
	in.User = e.user("ann@contoso.com")
	return in, secret
}

func testAppPasswords(t *testing.T, open Opener) {
	e := newSelfEnv(t, open)
	in, _ := e.signedIn()
	_, _, err := e.self.CreateAppPassword(bg, in.Session, in.User, "Outlook", "")
	if wantCode(t, err, mfa.EFORBIDDEN, ""); !strings.HasPrefix(err.Error(), "Your organization does not allow app passwords") {
		t.Fatalf("not allowed: %v", err)
	}
	e.settings(func(s *mfa.Settings) { s.AppPasswordsAllowed = true })
	for _, bad := range []string{"", "   ", strings.Repeat("x", 300), "<b>Outlook</b>", "a\x00b"} {
		_, _, err := e.self.CreateAppPassword(bg, in.Session, in.User, bad, "")
		wantCode(t, err, mfa.EINVALID, "name")
	}
	pw, ap, err := e.self.CreateAppPassword(bg, in.Session, in.User, "Outlook", "")
	if err != nil || len(pw) != 16 || strings.Trim(pw, "abcdefghijklmnopqrstuvwxyz") != "" || ap.ID == "" {
		t.Fatalf("%q %+v %v", pw, ap, err)
	}
	_, _, err = e.self.CreateAppPassword(bg, in.Session, in.User, "outlook", "")
	wantCode(t, err, mfa.EINVALID, "name")
	// Non-browser apps: the app password works (and is recorded as used); the account password of
	// an Enforced user does not; a wrong one, or a wrong user, is the same refusal.
	e.now = e.now.Add(time.Hour)
	got, err := e.self.AuthenticateLegacy(bg, "ann@contoso.com", pw[:4]+" "+pw[4:8]+" "+pw[8:12]+" "+pw[12:])
	if err != nil || got.With != "app password" {
		t.Fatalf("app password: %+v %v", got, err)
	}
	if _, err := e.self.AuthenticateLegacy(bg, "ann@contoso.com", "ann's long password"); err != mfa.ErrAppPasswordRequired {
		t.Fatalf("account password of an Enforced user: %v", err)
	}
	for _, c := range [][2]string{{"ann@contoso.com", "abcdefghijklmnop"}, {"nobody@contoso.com", pw}, {"ann@contoso.com", "wrong"}} {
		if _, err := e.self.AuthenticateLegacy(bg, c[0], c[1]); err != mfa.ErrBadCredentials {
			t.Errorf("%v: %v", c, err)
		}
	}
	info, _ := e.self.MySecurityInfo(bg, in.Session, e.user("ann@contoso.com"))
	if len(info.AppPasswords) != 1 || info.AppPasswords[0].Hash != "" || !info.AppPasswords[0].LastUsedAt.Equal(e.now) {
		t.Fatalf("list %+v", info.AppPasswords)
	}
	// Up to 40; the 41st is refused and nothing is stored.
	for i := 2; i <= mfa.MaxAppPasswords; i++ {
		if _, _, err := e.self.CreateAppPassword(bg, in.Session, e.user("ann@contoso.com"), fmt.Sprint("app ", i), ""); err != nil {
			t.Fatal(i, err)
		}
	}
	_, _, err = e.self.CreateAppPassword(bg, in.Session, e.user("ann@contoso.com"), "one too many", "")
	wantCode(t, err, mfa.EINVALID, "")
	if u := e.user("ann@contoso.com"); u.AppPasswords != 40 {
		t.Fatalf("count %d", u.AppPasswords)
	}
	// Not allowed any more: existing ones keep working.
	e.settings(func(s *mfa.Settings) { s.AppPasswordsAllowed = false })
	if _, err := e.self.AuthenticateLegacy(bg, "ann@contoso.com", pw); err != nil {
		t.Fatalf("existing app password after the setting changed: %v", err)
	}
	// Delete: it stops working.
	if err := e.self.DeleteAppPassword(bg, in.Session, e.user("ann@contoso.com"), ap.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.self.AuthenticateLegacy(bg, "ann@contoso.com", pw); err != mfa.ErrBadCredentials {
		t.Fatalf("deleted app password: %v", err)
	}
	wantCode(t, e.self.DeleteAppPassword(bg, in.Session, e.user("ann@contoso.com"), ap.ID, ""), mfa.EINVALID, "id")
	// The admin's "Delete all existing app passwords": gone for real.
	if _, _, err := e.svc.ResetUser(bg, mfa.CLIActor, mfa.ResetRequest{UPN: "ann@contoso.com", Options: mfa.ResetOptions{AppPasswords: true}}); err != nil {
		t.Fatal(err)
	}
	if det, _ := e.db.SecurityDetails(bg, e.user("ann@contoso.com").ID); len(det.AppPasswords) != 0 || e.user("ann@contoso.com").AppPasswords != 0 {
		t.Fatalf("%d app passwords left after the reset", len(det.AppPasswords))
	}
}

func testMethodsAndAdminReset(t *testing.T, open Opener) {
	e := newSelfEnv(t, open)
	in, _ := e.signedIn()
	u := e.user("ann@contoso.com")
	// The only method of an Enforced user cannot go.
	wantCode(t, e.self.DeleteMethod(bg, in.Session, u, mfa.MethodSoftwareOTP, ""), mfa.EINVALID, "method")
	if _, err := e.self.StartRegistration(bg, in.Session, u, mfa.MethodChoice{Type: mfa.MethodOfficePhone, Phone: "+44 20 7946 0958"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.self.VerifyRegistration(bg, in.Session, u, e.sent.lastCode(t, "+442079460958"), ""); err != nil {
		t.Fatal(err)
	}
	u = e.user("ann@contoso.com")
	if mfa.FormatMethodList(u.Methods) != "softwareOneTimePasscode officePhone" || u.State != mfa.StateEnforced {
		t.Fatalf("after add: %+v", u)
	}
	if err := e.self.SetDefaultMethod(bg, in.Session, u, mfa.MethodOfficePhone, ""); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.self.SetDefaultMethod(bg, in.Session, u, mfa.MethodMobilePhone, ""), mfa.EINVALID, "method")
	if err := e.self.DeleteMethod(bg, in.Session, e.user("ann@contoso.com"), mfa.MethodOfficePhone, ""); err != nil {
		t.Fatal(err)
	}
	if u = e.user("ann@contoso.com"); mfa.FormatMethodList(u.Methods) != "softwareOneTimePasscode" {
		t.Fatalf("after delete: %s", mfa.FormatMethodList(u.Methods))
	}
	// The admin's "Require selected users to provide contact methods again": the details go too,
	// and the next sign-in registers again.
	if _, _, err := e.svc.ResetUser(bg, mfa.CLIActor, mfa.ResetRequest{UPN: "ann@contoso.com", Options: mfa.ResetOptions{ContactMethods: true}}); err != nil {
		t.Fatal(err)
	}
	if det, _ := e.db.SecurityDetails(bg, e.user("ann@contoso.com").ID); len(det.Methods) != 0 {
		t.Fatalf("%d method details left after the reset", len(det.Methods))
	}
	if in := e.signIn("ann@contoso.com", "ann's long password", ""); in.Decision.Need != mfa.NeedRegistration {
		t.Fatalf("after the reset: %+v", in.Decision)
	}
	var actions []string
	for _, r := range e.audit("ann@contoso.com") {
		actions = append(actions, r.Action)
	}
	if got := strings.Join(actions, " "); got != "user.import user.setup-link user.password-set method.add state.enforce method.add method.default method.delete user.reset" {
		t.Fatalf("audit: %s", got)
	}
}

func testRememberedDevicesAndTrustedIPs(t *testing.T, open Opener) {
	e := newSelfEnv(t, open)
	_, secret := e.signedIn()
	e.settings(func(s *mfa.Settings) { s.RememberMFA = mfa.RememberMFA{Enabled: true, Days: 14} })
	e.now = e.now.Add(time.Minute)
	in := e.signIn("ann@contoso.com", "ann's long password", "")
	e.self.StartSignInCode(bg, in.Session, in.User, "")
	device, maxAge, err := e.self.VerifySignInCode(bg, in.Session, in.User, e.totpCode(secret), true)
	if err != nil || device == "" || maxAge != 14*24*time.Hour {
		t.Fatalf("remember: %q %v %v", device, maxAge, err)
	}
	e.now = e.now.Add(3 * 24 * time.Hour)
	if in := e.signIn("ann@contoso.com", "ann's long password", device); in.Decision.Need != mfa.NeedNothing {
		t.Fatalf("remembered device: %+v", in.Decision)
	}
	// Another user's cookie is not this user's device.
	e.setPassword("bob@contoso.com", "bob's long password")
	e.svc.SetState(bg, mfa.CLIActor, mfa.StateRequest{UPN: "bob@contoso.com", To: mfa.StateEnabled})
	if in := e.signIn("bob@contoso.com", "bob's long password", device); in.Decision.Need != mfa.NeedRegistration {
		t.Fatalf("bob with ann's device: %+v", in.Decision)
	}
	// Lowering the days ends the trust; so does the admin's restore.
	e.settings(func(s *mfa.Settings) { s.RememberMFA.Days = 2 })
	if in := e.signIn("ann@contoso.com", "ann's long password", device); in.Decision.Need != mfa.NeedCode {
		t.Fatalf("days lowered: %+v", in.Decision)
	}
	e.settings(func(s *mfa.Settings) { s.RememberMFA.Days = 14 })
	e.svc.ResetUser(bg, mfa.CLIActor, mfa.ResetRequest{UPN: "ann@contoso.com", Options: mfa.ResetOptions{RememberedDevices: true}})
	if in := e.signIn("ann@contoso.com", "ann's long password", device); in.Decision.Need != mfa.NeedCode {
		t.Fatalf("after restore: %+v", in.Decision)
	}
	// Trusted ranges skip the code.
	e.settings(func(s *mfa.Settings) {
		s.TrustedIPs = mfa.TrustedIPs{SkipForRanges: true, Ranges: []string{"203.0.113.0/24"}}
	})
	trusted, err := e.self.SignIn(bg, "ann@contoso.com", "ann's long password", "", mfa.SignIn{IP: netip.MustParseAddr("203.0.113.50")})
	if err != nil || trusted.Decision.Need != mfa.NeedNothing {
		t.Fatalf("trusted range: %+v %v", trusted, err)
	}
}
