package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mfaportal/mfaportal/handlers"
	"github.com/mfaportal/mfaportal/static"
	"github.com/mfaportal/mfaportal/templates"
)

// routes is the portal's whole URL surface, in one place.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(requestID, observe(s.log, s.metrics, s.h), securityHeaders(s.sessions.Secure))
	// CSRF: browsers say where a request comes from (Sec-Fetch-Site, Origin); a cross-origin
	// POST, PUT, PATCH or DELETE is refused before it reaches a handler.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte("Forbidden: this request came from another site (cross-origin request refused). Go back to the portal and try again.\n"))
	}))
	r.Use(csrf.Handler)
	r.NotFound(s.withSession(s.h.NotFound))
	r.MethodNotAllowed(s.h.MethodNotAllowed)

	// Outside sign-in: probes, metrics, static files.
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	r.Method(http.MethodGet, "/static/*", static.Handler())

	r.Group(func(r chi.Router) {
		r.Use(s.loadSession)
		r.Get("/signin", s.signInPage)
		r.Post("/signin", s.signIn)
		r.Post("/signout", s.signOut)

		r.Group(func(r chi.Router) {
			r.Use(s.requireSignIn)
			r.Get("/", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/users", http.StatusSeeOther) })
			r.Get("/users", s.h.UsersPage)
			r.Get("/users/export", s.h.ExportUsers)
			r.Get("/users/{upn}", s.h.UserPage)
			r.Post("/users/confirm", s.h.ConfirmStep)
			r.Post("/users/step", s.h.ApplyStep)
			r.Get("/audit", s.h.AuditPage)
			r.Get("/audit/export", s.h.ExportAudit)
			r.Get("/settings", s.h.SettingsPage)
			r.Post("/settings", s.h.SaveSettings)
			r.Get("/bulk", s.placeholder("bulk update", "users", "Bulk update from a CSV file is not built yet."))

			r.Route("/api/v1", func(r chi.Router) {
				r.Get("/users", s.h.APIListUsers)
				r.Get("/users/{upn}", s.h.APIGetUser)
				r.Post("/users/{upn}/state", s.h.APISetState)
				r.Post("/users/{upn}/reset", s.h.APIReset)
				r.Get("/audit", s.h.APIAudit)
				r.Get("/settings", s.h.APIGetSettings)
				r.Put("/settings", s.h.APIPutSettings)
			})
		})
	})
	return r
}

// withSession loads the session for handlers outside the signed-in group (the 404 page's header).
func (s *Server) withSession(h http.HandlerFunc) http.HandlerFunc {
	return s.loadSession(h).ServeHTTP
}

func (s *Server) placeholder(heading, tab, message string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		handlers.Render(r.Context(), w, http.StatusOK, templates.Placeholder(handlers.PageFor(r, heading, tab), heading, message), s.log)
	}
}

// healthz says the process is up; it does no I/O.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz says whether the store and the directory answer.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.ready(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready\n"))
		return
	}
	w.Write([]byte("ready\n"))
}
