package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// MoreInfo is GET /my/register: More information required at sign-in; from security info (add
// method) straight to the choice.
func (m *My) MoreInfo(w http.ResponseWriter, r *http.Request) {
	sess, _ := userFrom(r)
	if sess.Stage == mfa.NeedNothing {
		http.Redirect(w, r, "/my/register/method", http.StatusSeeOther)
		return
	}
	m.render(w, r, http.StatusOK, templates.MoreInfo(m.page(r, "More information required")))
}

func (m *My) renderChoice(w http.ResponseWriter, r *http.Request, status int, v templates.MoreInfoView) {
	sess, _ := userFrom(r)
	settings, err := m.Self.Settings.LoadSettings(r.Context())
	if err != nil {
		m.Error(w, r, err)
		return
	}
	v.Options = mfa.RegistrationOptions(settings.VerificationOptions)
	v.Adding = sess.Stage == mfa.NeedNothing
	title := "Additional security verification"
	if v.Adding {
		title = "add method"
	}
	m.render(w, r, status, templates.ChooseMethod(m.page(r, title), v))
}

// ChooseMethod is GET /my/register/method: the methods the verification options allow.
func (m *My) ChooseMethod(w http.ResponseWriter, r *http.Request) {
	m.renderChoice(w, r, http.StatusOK, templates.MoreInfoView{})
}

// StartMethod is POST /my/register/method: a new authenticator secret, or a code to the phone.
func (m *My) StartMethod(w http.ResponseWriter, r *http.Request) {
	if !m.parseForm(w, r) {
		return
	}
	sess, u := userFrom(r)
	choice := mfa.MethodChoice{Type: mfa.MethodType(r.PostForm.Get("method")), Phone: r.PostForm.Get("phone"),
		Channel: mfa.Channel(r.PostForm.Get("channel"))}
	if _, err := m.Self.StartRegistration(r.Context(), sess, u, choice); err != nil {
		if mfa.ErrorCode(err) == mfa.EINTERNAL || mfa.ErrorCode(err) == mfa.EFORBIDDEN {
			m.Error(w, r, err)
			return
		}
		m.renderChoice(w, r, StatusFor(err), templates.MoreInfoView{Chosen: choice.Type, Phone: strings.TrimSpace(choice.Phone),
			Error: mfa.ErrorMessage(err), ErrorField: mfa.ErrorField(err)})
		return
	}
	http.Redirect(w, r, "/my/register/verify", http.StatusSeeOther)
}

func (m *My) renderVerifyMethod(w http.ResponseWriter, r *http.Request, status int, v templates.CodeView) {
	sess, u := userFrom(r)
	p, err := m.Self.PendingRegistration(r.Context(), sess, u)
	if err != nil {
		if mfa.ErrorCode(err) == mfa.EINVALID { // nothing pending (any more): choose again
			msg := mfa.ErrorMessage(err)
			if v.Error != "" {
				msg = v.Error
			}
			m.renderChoice(w, r, status, templates.MoreInfoView{Error: msg})
			return
		}
		m.Error(w, r, err)
		return
	}
	v.Prompt, v.Adding = p.Prompt, sess.Stage == mfa.NeedNothing
	if p.Secret != "" {
		qr, err := QRDataURL(p.URI)
		if err != nil {
			m.Error(w, r, err)
			return
		}
		v.Secret, v.QR = p.Secret, qr
	}
	m.render(w, r, status, templates.VerifyMethod(m.page(r, "Verify your method"), v))
}

// VerifyMethodPage is GET /my/register/verify: the secret and its QR code, or where the code went.
func (m *My) VerifyMethodPage(w http.ResponseWriter, r *http.Request) {
	m.renderVerifyMethod(w, r, http.StatusOK, templates.CodeView{})
}

// VerifyMethod is POST /my/register/verify: the code, under the users' code throttle. Registration
// at sign-in then signs the user in (and enforces them, SPEC §1).
func (m *My) VerifyMethod(w http.ResponseWriter, r *http.Request) {
	if !m.parseForm(w, r) {
		return
	}
	sess, u := userFrom(r)
	registering := sess.Stage == mfa.NeedRegistration
	err := m.Codes.GuardCode(r.Context(), u.UPN, clientAddr(r), func() error {
		_, err := m.Self.VerifyRegistration(r.Context(), sess, u, r.PostForm.Get("code"), clientAddr(r))
		return err
	})
	if err != nil {
		if mfa.ErrorCode(err) == mfa.EINTERNAL || mfa.ErrorCode(err) == mfa.EFORBIDDEN {
			m.Error(w, r, err)
			return
		}
		SetRetryAfter(w, err)
		m.renderVerifyMethod(w, r, StatusFor(err), templates.CodeView{Error: mfa.ErrorMessage(err), ErrorField: codeField(err)})
		return
	}
	if registering {
		http.Redirect(w, r, "/my?done=registered", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/my?done=added", http.StatusSeeOther)
}

// codeField is the field an error of a code page belongs to: the throttle's refusal and the
// code's errors go next to the code.
func codeField(err error) string {
	if f := mfa.ErrorField(err); f != "" {
		return f
	}
	if mfa.ErrorCode(err) == mfa.ETOOMANY {
		return "code"
	}
	return ""
}

func (m *My) renderEnterCode(w http.ResponseWriter, r *http.Request, status int, v templates.CodeView) {
	sess, u := userFrom(r)
	ctx := r.Context()
	p, err := m.Self.PendingSignInCode(ctx, sess)
	if err != nil && mfa.ErrorCode(err) != mfa.EINVALID {
		m.Error(w, r, err)
		return
	}
	v.Prompt = p
	if p == nil {
		// The code is gone (expired, its last try spent, an app code used before) and the code
		// field with it: the message goes at the top of the page, not under a field not shown.
		v.ErrorField = ""
	}
	methods, err := m.Self.SignInMethods(ctx, u)
	if err != nil {
		m.Error(w, r, err)
		return
	}
	for _, um := range methods {
		if p == nil || um.Type != p.Method {
			v.Methods = append(v.Methods, um)
		}
	}
	switch {
	case len(methods) == 0 && v.Error == "":
		v.Error = mfa.ErrorMessage(mfa.ErrNoUsableMethod)
	case p == nil && v.Error == "":
		v.Notice = "Choose how to get your code."
	}
	if v.Remember, err = m.Self.RememberDays(ctx); err != nil {
		m.Error(w, r, err)
		return
	}
	m.render(w, r, status, templates.EnterCode(m.page(r, "Enter code"), v))
}

// EnterCodePage is GET /my/verify: the sign-in's second step.
func (m *My) EnterCodePage(w http.ResponseWriter, r *http.Request) {
	m.renderEnterCode(w, r, http.StatusOK, templates.CodeView{})
}

// EnterCode is POST /my/verify: the code under the users' code throttle; with "Don't ask again",
// a remembered-device cookie for the days the service settings allow.
func (m *My) EnterCode(w http.ResponseWriter, r *http.Request) {
	if !m.parseForm(w, r) {
		return
	}
	sess, u := userFrom(r)
	var device string
	var maxAge time.Duration
	err := m.Codes.GuardCode(r.Context(), u.UPN, clientAddr(r), func() error {
		var err error
		device, maxAge, err = m.Self.VerifySignInCode(r.Context(), sess, u, r.PostForm.Get("code"), r.PostForm.Get("remember") == "1")
		return err
	})
	if err != nil {
		if mfa.ErrorCode(err) == mfa.EINTERNAL {
			m.Error(w, r, err)
			return
		}
		SetRetryAfter(w, err)
		m.renderEnterCode(w, r, StatusFor(err), templates.CodeView{Error: mfa.ErrorMessage(err), ErrorField: codeField(err)})
		return
	}
	if device != "" {
		http.SetCookie(w, m.cookie(DeviceCookie, device, maxAge))
	}
	http.Redirect(w, r, "/my", http.StatusSeeOther)
}

// SendCode is POST /my/verify/method: a code by another of the user's methods.
func (m *My) SendCode(w http.ResponseWriter, r *http.Request) {
	if !m.parseForm(w, r) {
		return
	}
	sess, u := userFrom(r)
	if _, err := m.Self.StartSignInCode(r.Context(), sess, u, mfa.MethodType(r.PostForm.Get("method"))); err != nil {
		if mfa.ErrorCode(err) == mfa.EINTERNAL {
			m.Error(w, r, err)
			return
		}
		m.renderEnterCode(w, r, StatusFor(err), templates.CodeView{Error: mfa.ErrorMessage(err)})
		return
	}
	http.Redirect(w, r, "/my/verify", http.StatusSeeOther)
}
