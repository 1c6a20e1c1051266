package web

import (
	"net/http"
	"time"

	"github.com/mfaportal/mfaportal/handlers"
	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// enrolling is an authenticator secret shown at /account/security and not yet confirmed by a
// code; it lives ten minutes in a sealed cookie, bound to the account.
type enrolling struct {
	Account string `json:"a"`
	Secret  string `json:"s"`
}

const enrollingMaxAge = 10 * time.Minute

// accountSecurityPage is GET /account/security.
func (s *Server) accountSecurityPage(w http.ResponseWriter, r *http.Request) {
	s.renderAccountSecurity(w, r, http.StatusOK, "")
}

func (s *Server) renderAccountSecurity(w http.ResponseWriter, r *http.Request, status int, msg string) {
	actor := handlers.Actor(r)
	v := templates.AccountSecurityView{Local: actor.Method == "local", Required: s.svc.RequireAdminMFA, Error: msg, Notice: s.takeNotice(w, r)}
	if v.Local {
		var err error
		if v.Enrolled, v.EnrolledAt, err = s.svc.AccountTOTP(r.Context(), actor.Name); err != nil {
			s.h.ErrorPage(w, r, err)
			return
		}
		if !v.Enrolled {
			var e enrolling
			if !s.enrolling.get(r, &e) || e.Account != actor.Name {
				secret, _, err := s.svc.NewAccountTOTPSecret(actor.Name)
				if err != nil {
					s.h.ErrorPage(w, r, err)
					return
				}
				e = enrolling{Account: actor.Name, Secret: secret}
				if err := s.enrolling.set(w, e); err != nil {
					s.h.ErrorPage(w, r, err)
					return
				}
			}
			v.Secret = groupSecret(e.Secret)
			if v.QR, err = totpQR(mfa.TOTPURI(actor.Name, e.Secret)); err != nil {
				s.h.ErrorPage(w, r, err)
				return
			}
		}
	}
	handlers.Render(r.Context(), w, status, templates.AccountSecurity(handlers.PageFor(r, "Your sign-in security", ""), v), s.log)
}

// enrolAccountTOTP is POST /account/security/enrol: the code proves the app holds the secret.
func (s *Server) enrolAccountTOTP(w http.ResponseWriter, r *http.Request) {
	actor := handlers.Actor(r)
	var e enrolling
	if !s.enrolling.get(r, &e) || e.Account != actor.Name {
		s.renderAccountSecurity(w, r, http.StatusConflict, "The enrolment took too long: scan the new code below, then enter the code your app shows.")
		return
	}
	s.accountCodeAction(w, r, func(code string) error { return s.svc.EnrolAccountTOTP(r.Context(), actor, e.Secret, code) },
		"Your authenticator app is enrolled: from now on, sign-in asks for its code.")
}

// removeAccountTOTP is POST /account/security/remove, proven by a code of the app.
func (s *Server) removeAccountTOTP(w http.ResponseWriter, r *http.Request) {
	actor := handlers.Actor(r)
	s.accountCodeAction(w, r, func(code string) error { return s.svc.RemoveAccountTOTP(r.Context(), actor, code) },
		"Your authenticator app is removed.")
}

// accountCodeAction runs an action proven by a code, throttled like sign-in codes, then goes
// back to the page with a notice (or shows it again with the error).
func (s *Server) accountCodeAction(w http.ResponseWriter, r *http.Request, do func(code string) error, done string) {
	actor := handlers.Actor(r)
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		s.h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "The form could not be read."))
		return
	}
	code := r.PostForm.Get("code")
	err := s.throttle.GuardCode(r.Context(), "code:"+actor.Name, clientIP(r), func() error { return do(code) })
	switch mfa.ErrorCode(err) {
	case "":
		s.enrolling.clear(w)
		s.setNotice(w, done)
		http.Redirect(w, r, "/account/security", http.StatusSeeOther)
	case mfa.EUNAUTHORIZED, mfa.EINVALID, mfa.ETOOMANY, mfa.ECONFLICT:
		handlers.SetRetryAfter(w, err)
		s.renderAccountSecurity(w, r, handlers.StatusFor(err), mfa.ErrorMessage(err))
	default:
		s.h.ErrorPage(w, r, err)
	}
}

// setNotice keeps a notice for the next page in a sealed cookie: pages never show text taken
// from their URL.
func (s *Server) setNotice(w http.ResponseWriter, msg string) { s.notice.Keep(w, msg) }

// takeNotice reads the notice kept for this page, once.
func (s *Server) takeNotice(w http.ResponseWriter, r *http.Request) string {
	return s.notice.Take(w, r)
}
