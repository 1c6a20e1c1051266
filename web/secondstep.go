package web

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/pquerna/otp"

	"github.com/mfaportal/mfaportal/handlers"
	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// pendingSignIn is a local sign-in whose password was right and whose second step (the
// authenticator's code, or enrolling one) is not done yet. It lives five minutes in a sealed
// cookie; no session exists until the second step is done.
type pendingSignIn struct {
	Account string   `json:"a"`
	Role    mfa.Role `json:"r"`
	Next    string   `json:"n"`
	Enrol   bool     `json:"e"`
	Secret  string   `json:"s,omitempty"` // the authenticator secret being enrolled
}

// startSecondStep follows a right password when the account has (or must enrol) an authenticator.
func (s *Server) startSecondStep(w http.ResponseWriter, r *http.Request, account *mfa.Account, step mfa.SecondStep, next string) {
	p := pendingSignIn{Account: account.Name, Role: account.Role, Next: next, Enrol: step == mfa.EnrolStep}
	if p.Enrol {
		secret, _, err := s.svc.NewAccountTOTPSecret(account.Name)
		if err != nil {
			s.h.ErrorPage(w, r, err)
			return
		}
		p.Secret = secret
	}
	if err := s.dropSession(r); err != nil {
		s.h.ErrorPage(w, r, err)
		return
	}
	if err := s.pending.set(w, p); err != nil {
		s.h.ErrorPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/signin/mfa", http.StatusSeeOther)
}

// secondStepPage is GET /signin/mfa: the code form, or the authenticator to enrol.
func (s *Server) secondStepPage(w http.ResponseWriter, r *http.Request) {
	var p pendingSignIn
	if !s.pending.get(r, &p) { // no password checked, or too long ago: the sign-in form again
		s.signInFailed(w, r, http.StatusOK, "/users", "Your sign-in took too long. Sign in again.")
		return
	}
	s.renderSecondStep(w, r, http.StatusOK, p, "")
}

func (s *Server) renderSecondStep(w http.ResponseWriter, r *http.Request, status int, p pendingSignIn, msg string) {
	v := templates.SecondStepView{Account: p.Account, Enrol: p.Enrol, Error: msg}
	if p.Enrol {
		v.Secret = groupSecret(p.Secret)
		var err error
		if v.QR, err = totpQR(mfa.TOTPURI(p.Account, p.Secret)); err != nil {
			s.h.ErrorPage(w, r, err)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	handlers.Render(r.Context(), w, status, templates.SecondStep(handlers.PageFor(r, "Sign in", ""), v), s.log)
}

// secondStep is POST /signin/mfa: check the code (and enrol the authenticator), then sign in.
func (s *Server) secondStep(w http.ResponseWriter, r *http.Request) {
	var p pendingSignIn
	if !s.pending.get(r, &p) {
		s.signInFailed(w, r, http.StatusConflict, "/users", "Your sign-in took too long. Sign in again.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		s.h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "The form could not be read."))
		return
	}
	code, ip := r.PostForm.Get("code"), clientIP(r)
	actor := mfa.Actor{Name: p.Account, Role: p.Role, Method: "local", IP: ip}
	err := s.throttle.GuardCode(r.Context(), "code:"+p.Account, ip, func() error {
		if p.Enrol {
			return s.svc.EnrolAccountTOTP(r.Context(), actor, p.Secret, code)
		}
		return s.svc.CheckAccountCode(r.Context(), p.Account, code)
	})
	switch mfa.ErrorCode(err) {
	case "":
	case mfa.EUNAUTHORIZED, mfa.EINVALID, mfa.ETOOMANY:
		s.log.WarnContext(r.Context(), "sign-in code refused", "account", p.Account, "remote", ip, "reason", mfa.ErrorCode(err))
		handlers.SetRetryAfter(w, err)
		s.renderSecondStep(w, r, handlers.StatusFor(err), p, mfa.ErrorMessage(err))
		return
	case mfa.ECONFLICT: // an app was enrolled since this sign-in began: it asks for that app's code now
		s.log.WarnContext(r.Context(), "sign-in enrolment refused: an authenticator app was enrolled meanwhile", "account", p.Account, "remote", ip)
		s.pending.clear(w)
		s.signInFailed(w, r, http.StatusConflict, p.Next, mfa.ErrorMessage(err))
		return
	default:
		s.h.ErrorPage(w, r, err)
		return
	}
	s.pending.clear(w)
	if err := s.startSession(w, r, p.Account, p.Role, "local"); err != nil {
		s.h.ErrorPage(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "signed in", "account", p.Account, "role", p.Role, "method", "local", "second_step", "totp", "enrolled", p.Enrol, "remote", ip)
	http.Redirect(w, r, safeNext(p.Next), http.StatusSeeOther)
}

// totpQR renders an otpauth:// URI as a QR code, server-side (no script), as a data: URL for an
// <img> (the CSP allows img-src data:).
func totpQR(uri string) (templ.SafeURL, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return templ.SafeURL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// groupSecret writes a base32 secret in groups of four, for typing it into an app.
func groupSecret(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// pendingMaxAge is how long the second step may take.
const pendingMaxAge = 5 * time.Minute
