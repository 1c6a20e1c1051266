package handlers

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// SignInPage is GET /my/signin.
func (m *My) SignInPage(w http.ResponseWriter, r *http.Request) {
	m.render(w, r, http.StatusOK, templates.MySignIn(m.page(r, "Sign in"), templates.MySignInView{Notice: notice(r)}))
}

// SignIn is POST /my/signin: the password under the users' throttle, then a fresh session at the
// stage mfa.Decide gives, and on to that stage's page. With a code to enter, the code of the
// default method is asked for at once (a text or a call to a phone).
func (m *My) SignIn(w http.ResponseWriter, r *http.Request) {
	if !m.parseForm(w, r) {
		return
	}
	name, password := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password")
	fail := func(status int, msg string) {
		m.render(w, r, status, templates.MySignIn(m.page(r, "Sign in"), templates.MySignInView{Username: name, Error: msg}))
	}
	if name == "" || password == "" {
		fail(http.StatusBadRequest, "Enter your user name and password.")
		return
	}
	ip := clientAddr(r)
	device := ""
	if c, err := r.Cookie(DeviceCookie); err == nil {
		device = c.Value
	}
	var in *mfa.UserSignIn
	err := m.Passwords.Guard(r.Context(), name, ip, func() error {
		var err error
		in, err = m.Self.SignIn(r.Context(), name, password, device, mfa.SignIn{IP: clientNetip(r)})
		return err
	})
	switch mfa.ErrorCode(err) {
	case "":
	case mfa.EUNAUTHORIZED, mfa.EFORBIDDEN, mfa.ETOOMANY, mfa.EUNAVAILABLE:
		if m.Log != nil {
			m.Log.WarnContext(r.Context(), "user sign-in refused", "user", name, "remote", ip, "reason", mfa.ErrorCode(err))
		}
		SetRetryAfter(w, err)
		fail(StatusFor(err), mfa.ErrorMessage(err))
		return
	default:
		m.Error(w, r, err)
		return
	}
	// A session the browser came with ends: no session id survives a sign-in.
	if c, err := r.Cookie(UserCookie); err == nil {
		m.Self.SignOut(r.Context(), c.Value)
	}
	http.SetCookie(w, m.cookie(UserCookie, in.Token, 0))
	if m.Log != nil {
		m.Log.InfoContext(r.Context(), "user signed in", "user", in.User.UPN, "remote", ip, "needs", in.Decision.Need, "why", in.Decision.Reason)
	}
	switch in.Decision.Need {
	case mfa.NeedRegistration:
		http.Redirect(w, r, "/my/register", http.StatusSeeOther)
	case mfa.NeedCode:
		// A failure here (no usable method, a gateway down) is shown by the Enter code page.
		if _, err := m.Self.StartSignInCode(r.Context(), in.Session, in.User, ""); err != nil && mfa.ErrorCode(err) == mfa.EINTERNAL {
			m.Error(w, r, err)
			return
		}
		http.Redirect(w, r, "/my/verify", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/my", http.StatusSeeOther)
	}
}

// SignOut is POST /my/signout.
func (m *My) SignOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(UserCookie); err == nil && m.Self != nil {
		if err := m.Self.SignOut(r.Context(), c.Value); err != nil {
			m.Error(w, r, err)
			return
		}
	}
	m.ClearUserCookie(w)
	http.Redirect(w, r, "/my/signin?done=signedout", http.StatusSeeOther)
}

// SetupPage is GET /my/setup/{secret}: Set your password, or why the link no longer works.
func (m *My) SetupPage(w http.ResponseWriter, r *http.Request) {
	secret := chi.URLParam(r, "secret")
	v := templates.SetupView{Action: mfa.SetupPath + secret}
	u, err := m.Self.CheckSetupLink(r.Context(), secret)
	if err != nil {
		if mfa.ErrorCode(err) == mfa.EINTERNAL {
			m.Error(w, r, err)
			return
		}
		v.Gone = mfa.ErrorMessage(err)
		m.render(w, r, StatusFor(err), templates.SetupPage(m.page(r, "Set your password"), v))
		return
	}
	v.UPN = u.UPN
	m.render(w, r, http.StatusOK, templates.SetupPage(m.page(r, "Set your password"), v))
}

// SetPassword is POST /my/setup/{secret}: the password is set and the link used up; then the
// user signs in.
func (m *My) SetPassword(w http.ResponseWriter, r *http.Request) {
	if !m.parseForm(w, r) {
		return
	}
	secret := chi.URLParam(r, "secret")
	v := templates.SetupView{Action: mfa.SetupPath + secret}
	u, err := m.Self.SetPasswordWithLink(r.Context(), secret, r.PostForm.Get("password"), r.PostForm.Get("confirm"), clientAddr(r))
	switch {
	case err == nil:
		if m.Log != nil {
			m.Log.InfoContext(r.Context(), "user set a password with a setup link", "user", u.UPN, "remote", clientAddr(r))
		}
		http.Redirect(w, r, "/my/signin?done=password", http.StatusSeeOther)
		return
	case err == mfa.ErrSetupLinkGone:
		v.Gone = mfa.ErrorMessage(err)
	case mfa.ErrorCode(err) == mfa.EINTERNAL:
		m.Error(w, r, err)
		return
	default:
		v.Error, v.ErrorField = mfa.ErrorMessage(err), mfa.ErrorField(err)
		if lu, lerr := m.Self.CheckSetupLink(r.Context(), secret); lerr == nil {
			v.UPN = lu.UPN
		}
	}
	SetRetryAfter(w, err)
	m.render(w, r, StatusFor(err), templates.SetupPage(m.page(r, "Set your password"), v))
}
