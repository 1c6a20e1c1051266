package handlers

import (
	"net/http"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

func (m *My) renderSecurity(w http.ResponseWriter, r *http.Request, status int, v templates.SecurityView) {
	sess, u := userFrom(r)
	info, err := m.Self.MySecurityInfo(r.Context(), sess, u)
	if err != nil {
		m.Error(w, r, err)
		return
	}
	v.Info = info
	m.render(w, r, status, templates.Security(m.page(r, "Security info"), v))
}

// SecurityPage is GET /my: the user's security info.
func (m *My) SecurityPage(w http.ResponseWriter, r *http.Request) {
	m.renderSecurity(w, r, http.StatusOK, templates.SecurityView{Notice: notice(r)})
}

// methodChange is a POST of the security info page that names one of the user's methods.
func (m *My) methodChange(w http.ResponseWriter, r *http.Request, done string,
	change func(sess *mfa.UserSession, u *mfa.User, t mfa.MethodType, ip string) error) {
	if !m.parseForm(w, r) {
		return
	}
	sess, u := userFrom(r)
	if err := change(sess, u, mfa.MethodType(r.PostForm.Get("method")), clientAddr(r)); err != nil {
		if mfa.ErrorCode(err) == mfa.EINTERNAL {
			m.Error(w, r, err)
			return
		}
		m.renderSecurity(w, r, StatusFor(err), templates.SecurityView{Error: mfa.ErrorMessage(err), ErrorField: mfa.ErrorField(err)})
		return
	}
	http.Redirect(w, r, "/my?done="+done, http.StatusSeeOther)
}

// SetDefaultMethod is POST /my/methods/default.
func (m *My) SetDefaultMethod(w http.ResponseWriter, r *http.Request) {
	m.methodChange(w, r, "default", func(sess *mfa.UserSession, u *mfa.User, t mfa.MethodType, ip string) error {
		return m.Self.SetDefaultMethod(r.Context(), sess, u, t, ip)
	})
}

// DeleteMethod is POST /my/methods/delete.
func (m *My) DeleteMethod(w http.ResponseWriter, r *http.Request) {
	m.methodChange(w, r, "deleted", func(sess *mfa.UserSession, u *mfa.User, t mfa.MethodType, ip string) error {
		return m.Self.DeleteMethod(r.Context(), sess, u, t, ip)
	})
}

func (m *My) renderAppPasswords(w http.ResponseWriter, r *http.Request, status int, v templates.AppPasswordsView) {
	sess, u := userFrom(r)
	ctx := r.Context()
	info, err := m.Self.MySecurityInfo(ctx, sess, u)
	if err != nil {
		m.Error(w, r, err)
		return
	}
	settings, err := m.Self.Settings.LoadSettings(ctx)
	if err != nil {
		m.Error(w, r, err)
		return
	}
	v.List, v.Allowed = info.AppPasswords, settings.AppPasswordsAllowed
	m.render(w, r, status, templates.AppPasswords(m.page(r, "app passwords"), v))
}

// AppPasswordsPage is GET /my/app-passwords.
func (m *My) AppPasswordsPage(w http.ResponseWriter, r *http.Request) {
	m.renderAppPasswords(w, r, http.StatusOK, templates.AppPasswordsView{Notice: notice(r)})
}

// CreateAppPassword is POST /my/app-passwords: the new password is shown on this response only
// (no redirect: it exists nowhere to be shown again).
func (m *My) CreateAppPassword(w http.ResponseWriter, r *http.Request) {
	if !m.parseForm(w, r) {
		return
	}
	sess, u := userFrom(r)
	name := r.PostForm.Get("name")
	pw, _, err := m.Self.CreateAppPassword(r.Context(), sess, u, name, clientAddr(r))
	if err != nil {
		if mfa.ErrorCode(err) == mfa.EINTERNAL {
			m.Error(w, r, err)
			return
		}
		SetRetryAfter(w, err)
		m.renderAppPasswords(w, r, StatusFor(err), templates.AppPasswordsView{Name: name, Error: mfa.ErrorMessage(err), ErrorField: mfa.ErrorField(err)})
		return
	}
	m.renderAppPasswords(w, r, http.StatusOK, templates.AppPasswordsView{Created: pw})
}

// DeleteAppPassword is POST /my/app-passwords/delete.
func (m *My) DeleteAppPassword(w http.ResponseWriter, r *http.Request) {
	if !m.parseForm(w, r) {
		return
	}
	sess, u := userFrom(r)
	if err := m.Self.DeleteAppPassword(r.Context(), sess, u, r.PostForm.Get("id"), clientAddr(r)); err != nil {
		if mfa.ErrorCode(err) == mfa.EINTERNAL {
			m.Error(w, r, err)
			return
		}
		m.renderAppPasswords(w, r, StatusFor(err), templates.AppPasswordsView{Error: mfa.ErrorMessage(err)})
		return
	}
	http.Redirect(w, r, "/my/app-passwords?done=removed", http.StatusSeeOther)
}
