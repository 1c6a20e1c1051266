// Package web is the portal's HTTP server: the router with its permission table, middleware
// (request ids, logs, metrics, security headers, CSRF protection, sessions), sign-in with local
// accounts and with an OpenID Connect provider, and API token authentication. Pages and API
// handlers live in package handlers.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mfaportal/mfaportal/handlers"
	"github.com/mfaportal/mfaportal/mfa"
)

// Config is the web server's part of the portal's configuration.
type Config struct {
	Addr          string
	PublicURL     string        // e.g. https://mfa.contoso.com; https makes cookies Secure
	SessionKey    []byte        // 64 bytes: 32 to sign the session cookie, 32 to encrypt it
	SessionIdle   time.Duration // sign out after this long without a request
	SessionMaxAge time.Duration // sign out this long after sign-in, whatever the activity
	// OIDC is organisation sign-in; off when OIDC.Issuer is "".
	OIDC OIDCConfig
	// NoLocalAccounts turns off sign-in with local accounts (MFAPORTAL_LOCAL_ACCOUNTS=false).
	NoLocalAccounts bool
	// CSVLimits bound bulk update files; zero means mfa.DefaultCSVLimits.
	CSVLimits mfa.CSVLimits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For or Forwarded is believed.
	TrustedProxies TrustedProxies
	// Self is the users' security info (SPEC §7) on the embedded directory; nil turns the /my
	// pages off (Microsoft Graph: users register with Microsoft).
	Self *mfa.SelfService
	// MetricsToken, when set, is the bearer token /metrics asks for (MFAPORTAL_METRICS_TOKEN).
	MetricsToken string
	// Now is the clock of sessions and the sign-in throttle; nil: time.Now (tests inject theirs).
	Now func() time.Time
	// BodyReadTimeout bounds reading a request (but a bulk upload's) from its start; 0: 20 s.
	BodyReadTimeout time.Duration
}

// Stores are the portal's own stores the server keeps state in: sessions, the sign-in throttle's
// counters, and the quick steps' confirmations and results. Nothing of it is kept in memory, so
// that a restart resets none of it and replicas sharing the store serve any request alike.
type Stores interface {
	mfa.SessionStore
	mfa.ThrottleStore
	mfa.StepResultStore
}

// Server is the portal's HTTP server.
type Server struct {
	cfg      Config
	svc      *mfa.Service
	sessions *SessionStore
	log      *slog.Logger
	h        *handlers.Handlers
	reg      *prometheus.Registry
	metrics  *metrics
	leases   *prometheus.GaugeVec // mfaportal_lease_held
	throttle *mfa.Throttle        // the admins' sign-in, namespace "admin"
	// Sealed cookies: a sign-in waiting for its second step, an authenticator being enrolled, a
	// notice for the next page.
	pending, enrolling *sealedCookie
	notice             noticeCookie
	now                func() time.Time
	oidc               *oidcFlow    // nil without organisation sign-in
	my                 *handlers.My // the directory users' pages
	rules              map[string]rule
	ready              func(context.Context) error
	handler            http.Handler
}

// New builds the server. ready is what /readyz checks (the store and the directory). With
// organisation sign-in, the identity provider is discovered here; if it cannot be reached, that is
// logged and discovery is tried again at the next sign-in.
func New(cfg Config, svc *mfa.Service, stores Stores, ready func(context.Context) error, log *slog.Logger) (*Server, error) {
	if len(cfg.SessionKey) != 64 {
		return nil, errors.New("the session key must be 64 bytes")
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = time.Hour
	}
	if cfg.SessionMaxAge <= 0 {
		cfg.SessionMaxAge = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BodyReadTimeout <= 0 {
		cfg.BodyReadTimeout = defaultBodyReadTimeout
	}
	if cfg.NoLocalAccounts && cfg.OIDC.Issuer == "" {
		return nil, errors.New("local accounts are turned off and organisation sign-in is not configured: nobody could sign in")
	}
	if cfg.OIDC.Issuer != "" && cfg.OIDC.ClientID == "" {
		return nil, errors.New("organisation sign-in needs a client id")
	}
	https := strings.HasPrefix(strings.ToLower(cfg.PublicURL), "https://")
	s := &Server{
		cfg:      cfg,
		svc:      svc,
		sessions: NewSessionStore(stores, cfg.SessionKey, https, cfg.SessionIdle, cfg.SessionMaxAge),
		log:      log,
		h:        &handlers.Handlers{Service: svc, Results: handlers.NewResultStore(stores, 30*time.Minute), CSVLimits: cfg.CSVLimits, Log: log},
		reg:      prometheus.NewRegistry(),
		now:      cfg.Now,
		ready:    ready,
	}
	s.pending = newSealedCookie("mfaportal_signin", "/signin", pendingMaxAge, cfg.SessionKey, https)
	s.enrolling = newSealedCookie("mfaportal_enrol", "/account", enrollingMaxAge, cfg.SessionKey, https)
	s.notice = noticeCookie{newSealedCookie("mfaportal_notice", "/", time.Minute, cfg.SessionKey, https)}
	s.h.Notices = s.notice
	s.throttle = mfa.NewThrottle(stores, "admin", mfa.DefaultThrottlePolicy, func() time.Time { return s.now() })
	s.h.Self = cfg.Self
	s.my = newMy(cfg.Self, stores, https, s)
	if cfg.OIDC.Issuer != "" {
		s.oidc = newOIDCFlow(cfg.OIDC, cfg.PublicURL, cfg.SessionKey, https, log)
		s.oidc.discover(context.Background()) // logged if it fails; retried at the next sign-in
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(s.reg)
	s.leases = newLeaseMetric(s.reg)
	s.handler = s.routes()
	return s, nil
}

// Handler is the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers requests on l until ctx is cancelled, then drains requests for up to 20 seconds.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       uploadReadTimeout, // the most; each request gets its own deadline (deadline.go)
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go s.expireSessions(ctx)
	go s.expireUserSessions(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	return nil
}

// expireSessions deletes expired sessions, and verified bulk jobs nobody started in time, every
// ten minutes.
func (s *Server) expireSessions(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		now := time.Now()
		if _, err := s.sessions.Store.DeleteExpiredSessions(ctx, now.Add(-s.cfg.SessionIdle), now.Add(-s.cfg.SessionMaxAge)); err != nil && ctx.Err() == nil {
			s.log.Warn("expiring sessions", "err", err)
		}
		if s.svc.Jobs != nil {
			if n, err := s.svc.ExpireBulkPlans(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("expiring verified bulk updates", "err", err)
			} else if n > 0 {
				s.log.Info("deleted verified bulk updates nobody started in time", "jobs", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
