package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/mfaportal/mfaportal/handlers"
	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

func isAPIPath(p string) bool { return p == "/api" || strings.HasPrefix(p, "/api/") }

// loadSession puts the signed-in admin, if any, into the request's context: for an API request
// with an Authorization header the API token's, otherwise the session cookie's.
func (s *Server) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) && r.Header.Get("Authorization") != "" {
			s.bearer(w, r, next)
			return
		}
		sess, err := s.sessions.Get(r, SessionCookie)
		if err != nil {
			if !handlers.ClientGone(r) { // else ErrorPage logs the client's leaving
				s.log.ErrorContext(r.Context(), "session store", "err", err)
			}
			s.h.ErrorPage(w, r, err)
			return
		}
		if account, ok := sess.Values["account"].(string); ok && !sess.IsNew {
			role, _ := sess.Values["role"].(string)
			method, _ := sess.Values["method"].(string)
			ctx := mfa.NewContextWithActor(r.Context(), mfa.Actor{Name: account, Role: mfa.Role(role), Method: method, IP: clientIP(r)})
			ctx = mfa.NewContextWithCapabilities(ctx, s.svc.Capabilities())
			r = r.WithContext(ctx)
			// A signed-in page is never kept by the browser or a proxy (a shared computer's back
			// button, a cache): every answer to a session is no-store.
			w.Header().Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// bearer authenticates an API request by its token (Authorization: Bearer TOKEN). A missing,
// malformed, unknown or revoked token is 401, whatever cookie came with it: an API client that
// sends a token means that token.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request, next http.Handler) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || s.svc.Tokens == nil {
		s.unauthorized(w, "invalid_request", "Send an API token as Authorization: Bearer TOKEN.")
		return
	}
	t, err := s.svc.AuthenticateToken(r.Context(), strings.TrimSpace(token))
	if err != nil {
		if mfa.ErrorCode(err) == mfa.EUNAUTHORIZED {
			s.log.WarnContext(r.Context(), "api token refused", "remote", clientIP(r))
			s.unauthorized(w, "invalid_token", mfa.ErrorMessage(err))
			return
		}
		s.h.APIErrorResponse(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	next.ServeHTTP(w, r.WithContext(mfa.NewContextWithActor(r.Context(), mfa.TokenActor(t, clientIP(r)))))
}

// unauthorized is the API's 401 (RFC 6750's WWW-Authenticate challenge and SPEC §5's JSON).
func (s *Server) unauthorized(w http.ResponseWriter, code, message string) {
	challenge := `Bearer realm="mfaportal"`
	if code != "" {
		challenge += `, error="` + code + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	handlers.WriteJSON(w, http.StatusUnauthorized, handlers.APIError{Error: message})
}

// guard lets a request through to h only when an admin is signed in (or an API token is
// presented) whose role holds perm: a signed-out browser is sent to sign-in, a signed-out API
// call is 401, a role without the permission is 403 and reaches no handler.
func (s *Server) guard(perm mfa.Permission, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := mfa.ActorFromContext(r.Context())
		if !ok {
			s.signInRequired(w, r)
			return
		}
		if !a.Role.Can(perm) {
			err := mfa.Errorf(mfa.EFORBIDDEN, "Your role (%s) may not do this.", a.Role.Label())
			if isAPIPath(r.URL.Path) {
				s.h.APIErrorResponse(w, r, err)
			} else {
				s.h.ErrorPage(w, r, err)
			}
			return
		}
		h.ServeHTTP(w, r)
	})
}

// signInRequired sends a signed-out browser to sign-in (coming back afterwards) and answers an
// API call without credentials with 401.
func (s *Server) signInRequired(w http.ResponseWriter, r *http.Request) {
	if isAPIPath(r.URL.Path) {
		s.unauthorized(w, "", "Sign in or send an API token (Authorization: Bearer TOKEN).")
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
}

// safeNext keeps a return URL only if it is a path on this site: "/x", never "//host" or "/\host"
// or a URL with a scheme, nor the sign-in pages themselves. Anything else gives the users page.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/users"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.ContainsAny(next, "\r\n\t\\") {
		return "/users"
	}
	if u.Path == "/signin" || u.Path == "/signout" || u.Path == "/auth" || strings.HasPrefix(u.Path, "/auth/") {
		return "/users"
	}
	return next
}

// signInView is the sign-in page with the methods configured: organisation sign-in, local
// accounts, or both.
func (s *Server) signInView(next string) templates.SignInView {
	v := templates.SignInView{Next: next, Local: !s.cfg.NoLocalAccounts}
	if s.oidc != nil {
		v.OIDCURL = oidcSignInURL(next)
	}
	return v
}

// signInFailed shows the sign-in page again with a message.
func (s *Server) signInFailed(w http.ResponseWriter, r *http.Request, status int, next, message string) {
	v := s.signInView(next)
	v.Error = message
	handlers.Render(r.Context(), w, status, templates.SignIn(handlers.PageFor(r, "Sign in", ""), v), s.log)
}

// signInPage is GET /signin.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := mfa.ActorFromContext(r.Context()); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	v := s.signInView(next)
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
	if s.cfg.NoLocalAccounts {
		s.signInFailed(w, r, http.StatusForbidden, "/users", "Local accounts are turned off on this portal: sign in with your organisation.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.h.ErrorPage(w, r, mfa.Errorf(mfa.EINVALID, "The sign-in form could not be read."))
		return
	}
	name, password := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	fail := func(status int, msg string) {
		v := s.signInView(next)
		v.Username, v.Error = name, msg
		handlers.Render(r.Context(), w, status, templates.SignIn(handlers.PageFor(r, "Sign in", ""), v), s.log)
	}
	if name == "" || password == "" {
		fail(http.StatusBadRequest, "Enter your user name and password.")
		return
	}
	ip := clientIP(r)
	var account *mfa.Account
	err := s.throttle.Guard(r.Context(), name, ip, func() error {
		var err error
		account, err = s.svc.Authenticate(r.Context(), name, password)
		return err
	})
	switch mfa.ErrorCode(err) {
	case "":
	case mfa.EUNAUTHORIZED:
		s.log.WarnContext(r.Context(), "sign-in failed", "account", name, "remote", ip)
		fail(http.StatusUnauthorized, mfa.ErrorMessage(err))
		return
	case mfa.ETOOMANY, mfa.EUNAVAILABLE:
		s.log.WarnContext(r.Context(), "sign-in refused", "account", name, "remote", ip, "reason", mfa.ErrorCode(err))
		handlers.SetRetryAfter(w, err)
		fail(handlers.StatusFor(err), mfa.ErrorMessage(err))
		return
	default:
		s.h.ErrorPage(w, r, err)
		return
	}
	step, err := s.svc.AccountSecondStep(r.Context(), account.Name)
	if err != nil {
		s.h.ErrorPage(w, r, err)
		return
	}
	if step != mfa.NoSecondStep {
		s.startSecondStep(w, r, account, step, next)
		return
	}
	if err := s.startSession(w, r, account.Name, account.Role, "local"); err != nil {
		s.h.ErrorPage(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "signed in", "account", account.Name, "role", account.Role, "method", "local", "remote", ip)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// dropSession deletes the session the browser came with, if any, server-side.
func (s *Server) dropSession(r *http.Request) error {
	if old, _ := s.sessions.Get(r, SessionCookie); old != nil && old.ID != "" {
		if err := s.sessions.Store.DeleteSession(r.Context(), old.ID); err != nil {
			return err
		}
		old.ID = ""
	}
	return nil
}

// startSession signs a browser in: whatever session it came with is deleted and a new one, with
// a fresh random id, is made (so no session id chosen before sign-in survives it).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, name string, role mfa.Role, method string) error {
	if err := s.dropSession(r); err != nil {
		return err
	}
	sess, _ := s.sessions.New(r, SessionCookie)
	sess.ID = ""
	sess.IsNew = true
	sess.Values = map[any]any{"account": name, "role": string(role), "method": method}
	return s.sessions.Save(r, w, sess)
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
