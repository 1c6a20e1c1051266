package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// An Enabled user registers the mobile app and becomes Enforced, by themselves; the next sign-in
// asks for a code, which works once.
func testRegistrationWithTheApp(t *testing.T, open Opener) {
	e := newSelfEnv(t, open)
	e.setPassword("ann@contoso.com", "ann's long password")
	in := e.signIn("ann@contoso.com", "ann's long password", "")
	if in.Decision.Need != mfa.NeedRegistration {
		t.Fatalf("decision %+v", in.Decision)
	}
	// Nothing else is open to a session at registration.
	if _, err := e.self.MySecurityInfo(bg, in.Session, in.User); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Fatalf("security info before registering: %v", err)
	}
	if _, err := e.self.StartRegistration(bg, in.Session, in.User, mfa.MethodChoice{Type: mfa.MethodSoftwareOTP}); err != nil {
		t.Fatal(err)
	}
	p, err := e.self.PendingRegistration(bg, in.Session, in.User)
	if err != nil || len(p.Secret) != 32 || !strings.HasPrefix(p.URI, "otpauth://totp/mfaportal:ann@contoso.com?") || !strings.Contains(p.URI, "secret="+p.Secret) {
		t.Fatalf("pending %+v %v", p, err)
	}
	// Malformed and wrong codes: clear messages, nothing registered.
	for _, bad := range []string{"", "12345", "abcdef", "1234567"} {
		_, err := e.self.VerifyRegistration(bg, in.Session, in.User, bad, "")
		wantCode(t, err, mfa.EINVALID, "code")
	}
	good := e.totpCode(p.Secret)
	wrong := "000000"
	if good == wrong {
		wrong = "000001"
	}
	_, err = e.self.VerifyRegistration(bg, in.Session, in.User, wrong, "")
	if wantCode(t, err, mfa.EUNAUTHORIZED, "code"); !strings.Contains(err.Error(), "4 tries left") {
		t.Fatalf("wrong code: %v", err)
	}
	if u := e.user("ann@contoso.com"); u.HasMethods() || u.State != mfa.StateEnabled {
		t.Fatalf("a wrong code registered: %+v", u)
	}
	u, err := e.self.VerifyRegistration(bg, in.Session, in.User, good, "198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	if u.State != mfa.StateEnforced || mfa.FormatMethodList(u.Methods) != "softwareOneTimePasscode" || in.Session.Stage != mfa.NeedNothing {
		t.Fatalf("after registration: %+v, stage %s", u, in.Session.Stage)
	}
	var got []string
	for _, r := range e.audit("ann@contoso.com")[3:] {
		got = append(got, r.Action+" "+r.Before+" → "+r.After+" by "+r.ActorName+" ("+r.Source+", "+r.ClientIP+")")
	}
	want := "method.add  → softwareOneTimePasscode (authenticator app) by ann@contoso.com (registration, 198.51.100.1) | " +
		"state.enforce Enabled → Enforced by ann@contoso.com (registration, 198.51.100.1)"
	if strings.Join(got, " | ") != want {
		t.Fatalf("audit:\n%s\nwant\n%s", strings.Join(got, " | "), want)
	}
	info, err := e.self.MySecurityInfo(bg, in.Session, u)
	if err != nil || len(info.Methods) != 1 || info.Methods[0].Label != "Mobile app" || !info.Methods[0].AddedAt.Equal(T0) {
		t.Fatalf("info %+v %v", info, err)
	}

	// Signing in again: the code, once.
	e.now = e.now.Add(2 * time.Minute)
	in = e.signIn("ann@contoso.com", "ann's long password", "")
	if in.Decision.Need != mfa.NeedCode {
		t.Fatalf("second sign-in: %+v", in.Decision)
	}
	prompt, err := e.self.StartSignInCode(bg, in.Session, in.User, "")
	if err != nil || prompt.Channel != mfa.ChannelApp {
		t.Fatalf("prompt %+v %v", prompt, err)
	}
	code := e.totpCode(p.Secret)
	if _, _, err := e.self.VerifySignInCode(bg, in.Session, in.User, code, false); err != nil {
		t.Fatal(err)
	}
	// The same code on another sign-in in the same 30 seconds: refused.
	again := e.signIn("ann@contoso.com", "ann's long password", "")
	e.self.StartSignInCode(bg, again.Session, again.User, "")
	_, _, err = e.self.VerifySignInCode(bg, again.Session, again.User, code, false)
	if wantCode(t, err, mfa.EINVALID, "code"); !strings.Contains(err.Error(), "already used") {
		t.Fatalf("reused code: %v", err)
	}
	// ... and the session waits for the app's next code (the page keeps its code field).
	if p, err := e.self.PendingSignInCode(bg, again.Session); err != nil || p.Channel != mfa.ChannelApp {
		t.Fatalf("after a reused code: %+v %v", p, err)
	}
	// Five wrong codes end the challenge.
	e.self.StartSignInCode(bg, again.Session, again.User, "")
	for i := 0; i < mfa.MaxCodeAttempts; i++ {
		_, _, err = e.self.VerifySignInCode(bg, again.Session, again.User, "999999", false)
	}
	if !strings.Contains(err.Error(), "last try") {
		t.Fatalf("fifth wrong code: %v", err)
	}
	e.now = e.now.Add(time.Minute)
	_, _, err = e.self.VerifySignInCode(bg, again.Session, again.User, e.totpCode(p.Secret), false)
	if wantCode(t, err, mfa.EINVALID, "code"); !strings.Contains(err.Error(), "no code to enter") {
		t.Fatalf("after the last try: %v", err)
	}
	// Expired after 5 minutes.
	e.self.StartSignInCode(bg, again.Session, again.User, "")
	e.now = e.now.Add(mfa.CodeTTL)
	_, _, err = e.self.VerifySignInCode(bg, again.Session, again.User, e.totpCode(p.Secret), false)
	if wantCode(t, err, mfa.EINVALID, "code"); !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired: %v", err)
	}
}

// A phone gets its code from the sender; numbers are read into E.164.
func testRegistrationWithAPhone(t *testing.T, open Opener) {
	e := newSelfEnv(t, open)
	e.setPassword("ann@contoso.com", "ann's long password")
	in := e.signIn("ann@contoso.com", "ann's long password", "")
	for _, bad := range []string{"", "425 555 0100", "+1 555 0100", "call me maybe", strings.Repeat("1", 50)} {
		_, err := e.self.StartRegistration(bg, in.Session, in.User, mfa.MethodChoice{Type: mfa.MethodMobilePhone, Phone: bad, Channel: mfa.ChannelSMS})
		wantCode(t, err, mfa.EINVALID, "phone")
	}
	_, err := e.self.StartRegistration(bg, in.Session, in.User, mfa.MethodChoice{Type: mfa.MethodMobilePhone, Phone: "+1 425 555 0100"})
	wantCode(t, err, mfa.EINVALID, "channel")
	_, err = e.self.StartRegistration(bg, in.Session, in.User, mfa.MethodChoice{Type: mfa.MethodAuthenticatorPush})
	wantCode(t, err, mfa.EINVALID, "method")
	if len(e.sent.msgs) != 0 {
		t.Fatal("a code was sent for a refused choice")
	}
	e.sent.fail = true
	_, err = e.self.StartRegistration(bg, in.Session, in.User, mfa.MethodChoice{Type: mfa.MethodMobilePhone, Phone: "+1 (425) 555-0100", Channel: mfa.ChannelSMS})
	wantCode(t, err, mfa.EUNAVAILABLE, "phone")
	e.sent.fail = false
	prompt, err := e.self.StartRegistration(bg, in.Session, in.User, mfa.MethodChoice{Type: mfa.MethodMobilePhone, Phone: "0014255550100", Channel: mfa.ChannelSMS})
	if err != nil || prompt.Masked != "+1 ••••••••00" {
		t.Fatalf("prompt %+v %v", prompt, err)
	}
	code := e.sent.lastCode(t, "+14255550100")
	if _, err := e.self.VerifyRegistration(bg, in.Session, in.User, code[:3]+" "+code[3:], ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.self.VerifyRegistration(bg, in.Session, in.User, code, ""); mfa.ErrorCode(err) != mfa.EINVALID {
		t.Fatalf("a code used twice: %v", err)
	}
	// Sign-in: the code goes to the registered phone, by text.
	in = e.signIn("ann@contoso.com", "ann's long password", "")
	prompt, err = e.self.StartSignInCode(bg, in.Session, in.User, "")
	if err != nil || prompt.Channel != mfa.ChannelSMS {
		t.Fatalf("%+v %v", prompt, err)
	}
	// Another code at once: refused, so that no one can flood a phone.
	_, err = e.self.StartSignInCode(bg, in.Session, in.User, "")
	wantCode(t, err, mfa.EINVALID, "phone")
	// With text messages turned off, the same phone gets a call instead.
	e.settings(func(s *mfa.Settings) { s.VerificationOptions.SMS = false })
	e.now = e.now.Add(mfa.ResendInterval)
	prompt, _ = e.self.StartSignInCode(bg, in.Session, in.User, "")
	if prompt.Channel != mfa.ChannelVoice || e.sent.msgs[len(e.sent.msgs)-1].Channel != mfa.ChannelVoice {
		t.Fatalf("with calls only: %+v", prompt)
	}
	if _, _, err := e.self.VerifySignInCode(bg, in.Session, in.User, e.sent.lastCode(t, "+14255550100"), false); err != nil {
		t.Fatal(err)
	}
	// Calls off as well: no method can give a code.
	e.settings(func(s *mfa.Settings) { s.VerificationOptions.Call = false })
	in = e.signIn("ann@contoso.com", "ann's long password", "")
	if _, err := e.self.StartSignInCode(bg, in.Session, in.User, ""); err != mfa.ErrNoUsableMethod {
		t.Fatalf("no usable method: %v", err)
	}
}

// SPEC §1: a user re-enabled while holding registration details stays Enabled until they register
// again; registering again enforces them.
func testReenabledUserRegistersAgain(t *testing.T, open Opener) {
	e := newSelfEnv(t, open)
	e.setPassword("ann@contoso.com", "ann's long password")
	e.registerApp(e.signIn("ann@contoso.com", "ann's long password", ""))
	for _, to := range []mfa.State{mfa.StateDisabled, mfa.StateEnabled} {
		if _, _, err := e.svc.SetState(bg, mfa.CLIActor, mfa.StateRequest{UPN: "ann@contoso.com", To: to, Source: mfa.SourceCLI}); err != nil {
			t.Fatal(err)
		}
	}
	u := e.user("ann@contoso.com")
	if !u.HadMethodsWhenReenabled || u.State != mfa.StateEnabled {
		t.Fatalf("re-enabled: %+v", u)
	}
	in := e.signIn("ann@contoso.com", "ann's long password", "")
	if in.Decision.Need != mfa.NeedRegistration {
		t.Fatalf("re-enabled user's sign-in: %+v", in.Decision)
	}
	e.now = e.now.Add(time.Minute)
	e.registerApp(in)
	if u := e.user("ann@contoso.com"); u.State != mfa.StateEnforced || u.HadMethodsWhenReenabled {
		t.Fatalf("after registering again: %+v", u)
	}
}
