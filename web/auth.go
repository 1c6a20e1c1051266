package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/mfaportal/mfaportal/handlers"
	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// loadSession puts the signed-in admin, if any, into the request's context.
func (s *Server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.sessions.Get(r, SessionCookie)
		if err != nil {
			s.log.ErrorContext(r.Context(), "session store", "err", err)
			s.h.ErrorPage(w, r, err)
			return
		}
		if account, ok := sess.Values["account"].(string); ok && !sess.IsNew {
			role, _ := sess.Values["role"].(string)
			method, _ := sess.Values["method"].(string)
			ctx := mfa.NewContextWithActor(r.Context(), mfa.Actor{Name: account, Role: mfa.Role(role), Method: method, IP: clientIP(r)})
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// requireSignIn sends a signed-out browser to sign-in (coming back afterwards) and answers an API
// call without credentials with 401.
func (s *Server) requireSignIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := mfa.ActorFromContext(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mfaportal"`)
			handlers.WriteJSON(w, http.StatusUnauthorized, handlers.APIError{Error: "sign in or send an API token (Authorization: Bearer TOKEN)"})
			return
		}
		target := "/signin"
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		if sess, _ := s.sessions.Get(r, SessionCookie); sess != nil && sess.Values["expired"] == true {
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + "expired=1"
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	})
}

// safeNext keeps a return URL only if it is a path on this site: "/x", never "//host" or "/\host"
// or a URL with a scheme. Anything else gives the users page.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/users"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.ContainsAny(next, "\r\n\t") {
		return "/users"
	}
	if u.Path == "/signin" || u.Path == "/signout" {
		return "/users"
	}
	return next
}

// signInPage is GET /signin.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := mfa.ActorFromContext(r.Context()); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	v := templates.SignInView{Next: next}
	if r.URL.Query().Get("expired") == "1" {
		v.Notice = "Your session has expired. Sign in again to continue."
	}
	if r.URL.Query().Get("signedout") == "1" {
		v.Notice = "You have signed out."
	}
	handlers.Render(r.Context(), w, http.StatusOK, templates.SignIn(handlers.PageFor(r, "Sign in", ""), v), s.log)
}

// signIn is POST /signin: check the local account, then start a fresh session.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "The sign-in form could not be read."))
		return
	}
	name, password := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	fail := func(status int, msg string) {
		handlers.Render(r.Context(), w, status, templates.SignIn(handlers.PageFor(r, "Sign in", ""),
			templates.SignInView{Next: next, Username: name, Error: msg}), s.log)
	}
	if name == "" || password == "" {
		fail(http.StatusBadRequest, "Enter your user name and password.")
		return
	}
	ip := clientIP(r)
	if wait := s.throttle.blocked(name, ip); wait > 0 {
		fail(http.StatusTooManyRequests, "Too many failed sign-ins. Try again in "+roundUpMinutes(wait)+".")
		return
	}
	account, err := s.svc.Authenticate(r.Context(), name, password)
	if err != nil {
		if mfa.ErrorCode(err) == mfa.EUNAUTHORIZED {
			s.throttle.fail(name, ip)
			s.log.WarnContext(r.Context(), "sign-in failed", "account", name, "remote", ip)
			fail(http.StatusUnauthorized, mfa.ErrorMessage(err))
			return
		}
		s.h.ErrorPage(w, r, err)
		return
	}
	s.throttle.succeed(name)
	// A fresh session at sign-in: drop whatever the browser had.
	if old, _ := s.sessions.Get(r, SessionCookie); old != nil && old.ID != "" {
		s.sessions.Store.DeleteSession(r.Context(), old.ID)
	}
	sess, _ := s.sessions.New(r, SessionCookie)
	sess.ID = ""
	sess.IsNew = true
	sess.Values = map[any]any{"account": account.Name, "role": string(account.Role), "method": "local"}
	if err := s.sessions.Save(r, w, sess); err != nil {
		s.h.ErrorPage(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "signed in", "account", account.Name, "role", account.Role, "method", "local", "remote", ip)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut is POST /signout: delete the session server-side and clear the cookie.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if sess, _ := s.sessions.Get(r, SessionCookie); sess != nil {
		sess.Options.MaxAge = -1
		if err := s.sessions.Save(r, w, sess); err != nil {
			s.h.ErrorPage(w, r, err)
			return
		}
	}
	http.Redirect(w, r, "/signin?signedout=1", http.StatusSeeOther)
}
