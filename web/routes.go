package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/static"
)

// routes is the portal's whole URL surface, in one place, and its one permission table: every
// route is registered with public (anyone may call it) or allow (only an admin signed in, or an
// API token, whose role holds the permission of SPEC §3). The check runs before the handler;
// per-user rules (privileged targets) stay in mfa.Service. TestEveryRouteHasARule walks the
// router and fails for a route registered any other way (r.Get, r.Post, r.Route...).
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(requestID, clientAddr(s.cfg.TrustedProxies), observe(s.log, s.metrics, s.h), securityHeaders(s.sessions.Secure),
		readDeadline(s.cfg.BodyReadTimeout))
	// CSRF: browsers say where a request comes from (Sec-Fetch-Site, Origin); a cross-origin
	// POST, PUT, PATCH or DELETE is refused before it reaches a handler. API clients with a
	// token send neither header (and no cookie), so they pass.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte("Forbidden: this request came from another site (cross-origin request refused). Go back to the portal and try again.\n"))
	}))
	// Behind a reverse proxy the Host header may be the proxy's upstream name: the public URL's
	// origin is the portal's own whatever Host says.
	if origin := publicOrigin(s.cfg.PublicURL); origin != "" {
		if err := csrf.AddTrustedOrigin(origin); err != nil {
			s.log.Warn("the public URL cannot be a trusted origin", "url", s.cfg.PublicURL, "err", err)
		}
	}
	r.Use(csrf.Handler)
	// HEAD is answered wherever GET is, without the body.
	r.Use(middleware.GetHead)
	r.NotFound(s.withSession(s.h.NotFound))
	r.MethodNotAllowed(s.h.MethodNotAllowed)
	s.rules = map[string]rule{}
	const get, post, put = http.MethodGet, http.MethodPost, http.MethodPut

	// Outside sign-in: probes, metrics, static files.
	s.public(r, get, "/healthz", s.healthz)
	s.public(r, get, "/readyz", s.readyz)
	s.public(r, get, "/metrics", s.metricsAuth(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}).ServeHTTP))
	s.public(r, get, "/static/*", static.Handler().ServeHTTP)

	r.Group(func(r chi.Router) {
		r.Use(s.loadSession)
		s.public(r, get, "/signin", s.signInPage)
		s.public(r, post, "/signin", s.signIn)
		s.public(r, post, "/signout", s.signOut)
		// The second step of a local sign-in (its authenticator's code, or enrolling one): only
		// after the right password, which leaves a sealed five-minute cookie.
		s.public(r, get, "/signin/mfa", s.secondStepPage)
		s.public(r, post, "/signin/mfa", s.secondStep)
		s.public(r, get, "/auth/login", s.authLogin)
		s.public(r, get, "/auth/callback", s.authCallback)

		s.allow(r, get, "/", mfa.PermView, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/users", http.StatusSeeOther) })
		s.allow(r, get, "/users", mfa.PermView, s.h.UsersPage)
		s.allow(r, get, "/users/export", mfa.PermView, s.h.ExportUsers)
		// A directory synchronized from Microsoft Graph: its progress, and "sync now".
		s.allow(r, get, "/users/sync", mfa.PermView, s.h.SyncStatus)
		s.allow(r, post, "/users/sync", mfa.PermBulkUpdate, s.h.SyncNow)
		s.allow(r, get, "/users/{upn}", mfa.PermView, s.h.UserPage)
		// A one-time setup link with which the user sets their first password (SPEC §7): the
		// Manage user settings roles; the service checks the target.
		s.allow(r, post, "/users/{upn}/setup-link", mfa.PermManageSettings, s.h.CreateSetupLink)
		// Quick steps: Enable/Disable/Enforce or Manage user settings; the weakest role that may
		// take one of them is helpdesk (Manage user settings). The service checks the step itself.
		s.allow(r, post, "/users/confirm", mfa.PermManageSettings, s.h.ConfirmStep)
		s.allow(r, post, "/users/step", mfa.PermManageSettings, s.h.ApplyStep)
		s.allow(r, get, "/audit", mfa.PermView, s.h.AuditPage)
		s.allow(r, get, "/audit/export", mfa.PermView, s.h.ExportAudit)
		s.allow(r, get, "/settings", mfa.PermView, s.h.SettingsPage)
		s.allow(r, post, "/settings", mfa.PermSaveSettings, s.h.SaveSettings)
		s.allow(r, get, "/bulk", mfa.PermBulkUpdate, s.h.BulkStart)
		s.allow(r, post, "/bulk", mfa.PermBulkUpdate, upload(s.h.BulkUpload))
		s.allow(r, get, "/bulk/template.csv", mfa.PermBulkUpdate, s.h.BulkTemplate)
		s.allow(r, get, "/bulk/{id}", mfa.PermBulkUpdate, s.h.BulkJob)
		s.allow(r, get, "/bulk/{id}/status", mfa.PermBulkUpdate, s.h.BulkStatus)
		s.allow(r, get, "/bulk/{id}/errors.csv", mfa.PermBulkUpdate, s.h.BulkErrors)
		s.allow(r, get, "/bulk/{id}/results.csv", mfa.PermBulkUpdate, s.h.BulkResults)
		s.allow(r, post, "/bulk/{id}/start", mfa.PermBulkUpdate, s.h.BulkStartJob)
		s.allow(r, post, "/bulk/{id}/back", mfa.PermBulkUpdate, s.h.BulkBack)
		s.allow(r, post, "/bulk/{id}/cancel", mfa.PermBulkUpdate, s.h.BulkCancel)
		// Undo a finished bulk update (SPEC §10): plans a new job, verified like a file.
		s.allow(r, post, "/bulk/{id}/undo", mfa.PermBulkUpdate, s.h.BulkUndo)
		// The registration tab (SPEC §10): Enabled users who have not registered, oldest first.
		s.allow(r, get, "/registration", mfa.PermView, s.h.RegistrationPage)
		s.allow(r, get, "/registration/export", mfa.PermView, s.h.ExportRegistration)
		s.allow(r, post, "/registration/notify", mfa.PermManageSettings, s.h.Notify)
		s.allow(r, get, "/registration/template", mfa.PermView, s.h.NotifyTemplatePage)
		s.allow(r, post, "/registration/template", mfa.PermView, s.h.SaveNotifyTemplate) // preview for all; save checked by the service
		// The overview tab (SPEC §10): counts now and day by day.
		s.allow(r, get, "/overview", mfa.PermView, s.h.OverviewPage)
		// The move to Conditional Access (SPEC §11, Microsoft Graph): who Conditional Access covers
		// and who not; plans a bulk job (verified like a file) that disables their per-user MFA.
		s.allow(r, get, "/conditional-access", mfa.PermBulkUpdate, s.h.ConversionPage)
		s.allow(r, post, "/conditional-access/plan", mfa.PermBulkUpdate, s.h.PlanConversion)
		// Temporary exemptions (SPEC §10): Disable for a while, end early, the list.
		s.allow(r, post, "/users/{upn}/exemption", mfa.PermChangeState, s.h.Exempt)
		s.allow(r, post, "/users/{upn}/exemption/end", mfa.PermChangeState, s.h.EndExemptionEarly)
		s.allow(r, get, "/exemptions", mfa.PermView, s.h.ExemptionsPage)
		s.allow(r, get, "/accounts", mfa.PermAdminister, s.h.AccountsPage)
		s.allow(r, post, "/accounts", mfa.PermAdminister, s.h.AddAccount)
		s.allow(r, post, "/accounts/remove", mfa.PermAdminister, s.h.RemoveAccount)
		// Every signed-in person's own sign-in security: a local account's authenticator app.
		s.allow(r, get, "/account/security", mfa.PermView, s.accountSecurityPage)
		s.allow(r, post, "/account/security/enrol", mfa.PermView, s.enrolAccountTOTP)
		s.allow(r, post, "/account/security/remove", mfa.PermView, s.removeAccountTOTP)
		s.allow(r, get, "/tokens", mfa.PermAdminister, s.h.TokensPage)
		s.allow(r, post, "/tokens", mfa.PermAdminister, s.h.CreateToken)
		s.allow(r, post, "/tokens/revoke", mfa.PermAdminister, s.h.RevokeToken)

		// The JSON API: a session cookie or Authorization: Bearer TOKEN.
		s.allow(r, get, "/api/v1/users", mfa.PermView, s.h.APIListUsers)
		s.allow(r, get, "/api/v1/users/{upn}", mfa.PermView, s.h.APIGetUser)
		s.allow(r, post, "/api/v1/users/{upn}/state", mfa.PermChangeState, s.h.APISetState)
		s.allow(r, post, "/api/v1/users/{upn}/reset", mfa.PermManageSettings, s.h.APIReset)
		s.allow(r, post, "/api/v1/users/{upn}/exemption", mfa.PermChangeState, s.h.APIExempt)
		s.allow(r, http.MethodDelete, "/api/v1/users/{upn}/exemption", mfa.PermChangeState, s.h.APIEndExemption)
		s.allow(r, get, "/api/v1/audit", mfa.PermView, s.h.APIAudit)
		s.allow(r, get, "/api/v1/settings", mfa.PermView, s.h.APIGetSettings)
		s.allow(r, put, "/api/v1/settings", mfa.PermSaveSettings, s.h.APIPutSettings)
		s.allow(r, post, "/api/v1/bulk", mfa.PermBulkUpdate, upload(s.h.APIBulk))
		s.allow(r, get, "/api/v1/bulk/{id}", mfa.PermBulkUpdate, s.h.APIBulkJob)
		s.allow(r, post, "/api/v1/bulk/{id}/cancel", mfa.PermBulkUpdate, s.h.APIBulkCancel)
		s.allow(r, get, "/api/v1/bulk/{id}/results.csv", mfa.PermBulkUpdate, s.h.BulkResults)
	})

	// The directory users' own pages (SPEC §7, embedded directory): their own session and cookie
	// (path /my), never an admin's session or an API token; each page is open at the stages of
	// the user's sign-in it lists.
	s.myPublic(r, get, "/my/signin", s.my.SignInPage)
	s.myPublic(r, post, "/my/signin", s.my.SignIn)
	s.myPublic(r, post, "/my/signout", s.my.SignOut)
	s.myPublic(r, get, "/my/setup/{secret}", s.my.SetupPage)
	s.myPublic(r, post, "/my/setup/{secret}", s.my.SetPassword)
	s.myUser(r, get, "/my/verify", enteringCode, s.my.EnterCodePage)
	s.myUser(r, post, "/my/verify", enteringCode, s.my.EnterCode)
	s.myUser(r, post, "/my/verify/method", enteringCode, s.my.SendCode)
	s.myUser(r, get, "/my/register", registering, s.my.MoreInfo)
	s.myUser(r, get, "/my/register/method", registering, s.my.ChooseMethod)
	s.myUser(r, post, "/my/register/method", registering, s.my.StartMethod)
	s.myUser(r, get, "/my/register/verify", registering, s.my.VerifyMethodPage)
	s.myUser(r, post, "/my/register/verify", registering, s.my.VerifyMethod)
	s.myUser(r, get, "/my", signedIn, s.my.SecurityPage)
	s.myUser(r, post, "/my/methods/default", signedIn, s.my.SetDefaultMethod)
	s.myUser(r, post, "/my/methods/delete", signedIn, s.my.DeleteMethod)
	s.myUser(r, get, "/my/app-passwords", signedIn, s.my.AppPasswordsPage)
	s.myUser(r, post, "/my/app-passwords", signedIn, s.my.CreateAppPassword)
	s.myUser(r, post, "/my/app-passwords/delete", signedIn, s.my.DeleteAppPassword)
	// Non-browser apps: HTTP Basic with a user's app password (or password until Enforced), which
	// the handler checks and throttles itself.
	s.basic(r, get, "/legacy/v1/profile", s.my.Legacy)
	return r
}

// rule is who may use a route: anyone, a signed-in admin (or API token) whose role holds perm,
// (user) a directory user signed in to their own pages at one of these stages, or (basic) a
// directory user's non-browser app with HTTP Basic.
type rule struct {
	public bool
	perm   mfa.Permission
	user   []mfa.Need
	basic  bool
}

// public registers a route that anyone may call.
func (s *Server) public(r chi.Router, method, pattern string, h http.HandlerFunc) {
	s.rules[method+" "+pattern] = rule{public: true}
	r.Method(method, pattern, h)
}

// allow registers a route for the roles that hold perm; guard enforces it before h runs.
func (s *Server) allow(r chi.Router, method, pattern string, perm mfa.Permission, h http.HandlerFunc) {
	s.rules[method+" "+pattern] = rule{perm: perm}
	r.Method(method, pattern, s.guard(perm, h))
}

// withSession loads the session for handlers outside the signed-in group (the 404 page's header).
func (s *Server) withSession(h http.HandlerFunc) http.HandlerFunc {
	return s.loadSession(h).ServeHTTP
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
