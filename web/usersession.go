package web

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mfaportal/mfaportal/handlers"
	"github.com/mfaportal/mfaportal/mfa"
)

// The stages of a user's sign-in at which the users' pages are open (SPEC §7).
var (
	signedIn     = []mfa.Need{mfa.NeedNothing}
	registering  = []mfa.Need{mfa.NeedRegistration, mfa.NeedNothing} // More information required, or add method
	enteringCode = []mfa.Need{mfa.NeedCode}
)

// newMy builds the users' pages with their throttles, namespaces "user" (passwords) and
// "user-code" (codes). Without self-service (Microsoft Graph) the pages answer that they are
// not offered.
func newMy(self *mfa.SelfService, stores Stores, secure bool, s *Server) *handlers.My {
	m := &handlers.My{Self: self, Secure: secure, Log: s.log}
	if self == nil {
		return m
	}
	now := func() time.Time { return s.now() }
	m.Passwords = mfa.NewThrottle(stores, "user", mfa.DefaultThrottlePolicy, now)
	m.Codes = mfa.NewThrottle(stores, "user-code", mfa.DefaultThrottlePolicy, now)
	return m
}

// myPublic registers a users' page open to anyone (sign-in, a setup link).
func (s *Server) myPublic(r chi.Router, method, pattern string, h http.HandlerFunc) {
	s.rules[method+" "+pattern] = rule{public: true}
	r.Method(method, pattern, s.offered(h))
}

// myUser registers a users' page open to a signed-in user at one of the stages; userGate
// enforces it before h runs.
func (s *Server) myUser(r chi.Router, method, pattern string, stages []mfa.Need, h http.HandlerFunc) {
	s.rules[method+" "+pattern] = rule{user: stages}
	r.Method(method, pattern, s.offered(s.userGate(stages, h)))
}

// basic registers a route for a user's non-browser app: HTTP Basic, checked by the handler.
func (s *Server) basic(r chi.Router, method, pattern string, h http.HandlerFunc) {
	s.rules[method+" "+pattern] = rule{basic: true}
	r.Method(method, pattern, h)
}

// offered answers the users' pages where there is no self-service (users register with Microsoft).
func (s *Server) offered(h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.my.Self == nil {
			s.my.Error(w, r, handlers.ErrNotOffered)
			return
		}
		h.ServeHTTP(w, r)
	}
}

// userGate lets a request through only with a user's session (the /my cookie; an admin's session
// or API token counts for nothing here) at one of the stages. Without one, the browser goes to the
// users' sign-in; at another stage, to that stage's page.
func (s *Server) userGate(stages []mfa.Need, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c, err := r.Cookie(handlers.UserCookie)
		if err != nil {
			http.Redirect(w, r, "/my/signin", http.StatusSeeOther)
			return
		}
		sess, u, err := s.my.Self.Session(r.Context(), c.Value)
		if mfa.ErrorCode(err) == mfa.EUNAUTHORIZED {
			s.my.ClearUserCookie(w)
			http.Redirect(w, r, "/my/signin?done=expired", http.StatusSeeOther)
			return
		}
		if err != nil {
			s.my.Error(w, r, err)
			return
		}
		if !slices.Contains(stages, sess.Stage) {
			http.Redirect(w, r, stagePage(sess.Stage), http.StatusSeeOther)
			return
		}
		h.ServeHTTP(w, r.WithContext(handlers.NewContextWithUser(r.Context(), sess, u, c.Value)))
	})
}

// stagePage is where a sign-in at a stage continues.
func stagePage(stage mfa.Need) string {
	switch stage {
	case mfa.NeedRegistration:
		return "/my/register"
	case mfa.NeedCode:
		return "/my/verify"
	}
	return "/my"
}

// expireUserSessions deletes the users' expired sessions every ten minutes.
func (s *Server) expireUserSessions(ctx context.Context) {
	if s.my.Self == nil {
		return
	}
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if _, err := s.my.Self.ExpireSessions(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("expiring users' sessions", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
